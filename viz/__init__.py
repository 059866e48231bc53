"""Pictures of the computational graph: values, gradients and the local partials on every edge.

`viz.graph` draws any engine graph; `viz.lstm_views` knows the LSTM's steps, sections and states and draws its
worked examples; `viz.render` lays pictures out without a system Graphviz.
"""

from viz.graph import Graph
from viz.lstm_views import LOSSES, SECTION_OF, draw, draw_timeline, render_all, render_gate
from viz.render import RenderError, RenderWarning, to_svg, write

__all__ = ["LOSSES", "SECTION_OF", "Graph", "RenderError", "RenderWarning", "draw", "draw_timeline", "render_all",
           "render_gate", "to_svg", "write"]
