"""The unrolled sequence collapsed to one node per time step: where gradients vanish or explode through time."""

from __future__ import annotations

import numpy as np

from autograd import Tensor
from lstm.names import CELL_STATE, GATES, HIDDEN_STATE
from viz.graph import Graph, collect, edge_width, gradient_colour, legend, new_graph, parse_name
from viz.labels import rich

# What a step's node reports: its state and its gates, by the derivation's symbols.
SYMBOLS = tuple(output.symbol for output in (HIDDEN_STATE, CELL_STATE, *GATES))


def draw_timeline(*roots: Tensor, title: str | None = None, per_row: int = 10) -> Graph:
    """One node per step with ‖∇‖ of h_t, c_t and the four gates, steps in rows of `per_row`.

    A graph of T steps has T + 3 nodes (the steps, the initial state, the parameters and the legend).
    """
    steps: dict[int, dict[str, Tensor]] = {}
    parameters: dict[str, Tensor] = {}
    initial: dict[str, Tensor] = {}
    for t in collect(roots):
        step, section, symbol = parse_name(t)
        if step is not None and section is not None and symbol in SYMBOLS:
            steps.setdefault(step, {})[symbol] = t
        elif t.op is None and t.requires_grad and step is None and t.name:
            parameters[t.name] = t
        elif step == 0 and section is None and symbol in ("h_{t-1}", "c_{t-1}"):
            initial[symbol] = t

    graph = new_graph(title, rankdir="TB")
    graph.attr(nodesep="0.15", ranksep="0.5")
    order = sorted(steps)
    for row_start in range(0, len(order), per_row):
        with graph.subgraph(name=f"row{row_start}") as row:
            row.attr(rank="same")
            for t in order[row_start:row_start + per_row]:
                ordered = {symbol: steps[t][symbol] for symbol in SYMBOLS if symbol in steps[t]}
                row.node(f"t{t}", f"<{_norms_table(f't = {t}', '#c7e9c0', ordered)}>",
                         tooltip=_step_tooltip(t, ordered))
    if initial:
        graph.node("initial", f"<{_norms_table('initial state', '#c7e9c0', initial)}>")
        graph.edge("initial", f"t{order[0]}")
    for a, b in zip(order, order[1:], strict=False):
        h = steps[b].get("h_t")
        wraps = order.index(b) % per_row == 0
        # a wrapping edge must not pull the next row to the right; the invisible one stacks the rows
        graph.edge(f"t{a}", f"t{b}", penwidth=edge_width(h.grad if h is not None else None),
                   constraint="false" if wraps else "true")
        if wraps:
            graph.edge(f"t{order[order.index(b) - per_row]}", f"t{b}", style="invis", weight="10")
    if parameters:
        graph.node("parameters", f"<{_norms_table('parameters, shared by every step', '#c6dbef', parameters)}>")
    graph.node("legend", f"<{legend()}>")
    return graph


def _norm(t: Tensor) -> str:
    return "—" if t.grad is None else f"{np.linalg.norm(t.grad):.2e}"


def _norms_table(title: str, colour: str, tensors: dict[str, Tensor]) -> str:
    rows = "".join(
        f'<TR><TD ALIGN="LEFT">‖∇{rich(name)}‖</TD><TD ALIGN="RIGHT" BGCOLOR="{gradient_colour(x.grad) or "white"}">'
        f"{_norm(x)}</TD></TR>"
        for name, x in tensors.items()
    )
    return (f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
            f'<TR><TD COLSPAN="2" BGCOLOR="{colour}"><B>{rich(title)}</B></TD></TR>{rows}</TABLE>')


def _step_tooltip(t: int, tensors: dict[str, Tensor]) -> str:
    return "\n".join(f"step {t} {symbol}: ‖value‖ {np.linalg.norm(x.data):.4g}, ‖∇‖ {_norm(x)}"
                     for symbol, x in tensors.items())
