"""Pictures of the computational graph: values, gradients and the local partials on every edge."""

from viz.gates import SECTIONS, render_all, render_gate
from viz.graph import Graph, draw
from viz.render import RenderError, to_svg, write
from viz.timeline import draw_timeline

__all__ = ["SECTIONS", "Graph", "RenderError", "draw", "draw_timeline", "render_all", "render_gate", "to_svg", "write"]
