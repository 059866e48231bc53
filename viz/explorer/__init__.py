"""The explorer: watch backpropagation happen, one node at a time, in one self-contained HTML page.

`page` reads the graph and writes the page's data, `layout` places every tensor with Graphviz; the page's
template, script, style and math font (package data) sit beside them and travel inside every page saved.
"""

from viz.explorer.page import ASSETS, Audit, Check, Explorer, explore, page_destination

__all__ = ["ASSETS", "Audit", "Check", "Explorer", "explore", "page_destination"]
