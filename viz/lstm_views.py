"""What the pictures know of LSTMs: where a tensor of the derivation goes (its step, its section), the states,
the worked examples drawn one section at a time, and the sequence collapsed to one node per step.

Everything here reads the derivation's names from `lstm.names`; the renderer in `viz.graph` stays generic.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.graph import walk
from lstm import LSTM, hand
from lstm.compare import disagreeing
from lstm.hand import Derivation
from lstm.names import CELL_STATE, GATES, HIDDEN_STATE, NAMES, SECTIONS, STATE_SYMBOLS, STATES, NodeName
from viz import graph
from viz.graph import Cluster, Graph, Look, checked_roots, edge_width, gradient_colour, legend, new_graph, plain
from viz.labels import rich
from viz.render import prepare_folder, write

KINDS = {
    "parameter": ("#c6dbef", "parameter (W, b)"),
    "input": ("#e0e0e0", "input x_t or constant"),
    "state": ("#c7e9c0", "state h, c"),
    "intermediate": ("#ffffff", "intermediate"),
}
# render_gate's names → the derivation's sections, by their first word (None: the whole cell)
SECTION_OF = {**{section.split()[0]: section for section in SECTIONS}, "all": None}


def describe(tensor: Tensor) -> Look:
    """A tensor of the derivation in its step's box and its section's box, called by its symbol; states green."""
    if not tensor.name:
        return plain(tensor)
    name = NodeName.parse(tensor.name)
    clusters = []
    if name.step is not None:
        clusters.append(Cluster(f"t{name.step}", f"t = {name.step}", name.step, outline=True))
    if name.section is not None:
        rank = SECTIONS.index(name.section) if name.section in SECTIONS else len(SECTIONS)
        clusters.append(Cluster(name.section, name.section, rank))
    return Look(name.symbol, tuple(clusters), "state" if name.symbol in STATE_SYMBOLS else None)


def draw(
    *roots: Tensor,
    sections: Iterable[str] | None = None,
    highlight: Iterable[str] = (),
    max_elements: int = 8,
    title: str | None = None,
) -> Graph:
    """The graph that computed `roots`, after a backward with `retain_grads=True` if gradients should show.

    Clusters: one per time step, and inside it one per section of the derivation. `sections` keeps only the
    tensors of those sections (and the tensors they read); `highlight` names tensors (full names) to outline
    in red, e.g. where a hand-derived gradient disagrees with the engine.
    """
    return graph.draw(*roots, describe=describe, kinds=KINDS, only=sections, highlight=highlight,
                      max_elements=max_elements, title=title)


def render_gate(
    name: str,
    *,
    input_size: int = 2,
    hidden_size: int = 2,
    batch: int | None = None,
    length: int = 1,
    seed: int = 0,
    collapse: bool | None = None,
    derivation: Derivation | None = None,
    highlight: tuple[str, ...] = (),
) -> Graph:
    """A seeded LSTM on a random sequence of `length` steps, loss Σ_t h_t·R_t, backward, and the graph of one
    section (`name`, a key of `SECTION_OF`).

    With `collapse` (by default when length > 3) the sequence is drawn one node per step instead. With a
    `derivation` (a hand BPTT: a bug's, `lstm.bugs.BUGS[name].derivation`, or any variant of
    `lstm.hand.DERIVATION`) the nodes where its gradient disagrees with the engine's are outlined in red, as are
    the tensors `highlight` names.
    """
    if name not in SECTION_OF:
        raise ValueError(f"render_gate: gate must be one of {', '.join(SECTION_OF)}, got {name!r}")
    for label, size in (("length", length), ("batch", 1 if batch is None else batch)):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"render_gate: {label} must be a positive integer, got {size!r}")
    model = LSTM(input_size, hidden_size, seed=seed)
    rng = np.random.default_rng(seed + 1)
    batch_shape = () if batch is None else (batch,)
    xs = rng.standard_normal((length, *batch_shape, input_size))
    # a state from earlier steps, so that no gradient in the picture is zero merely because h_0 = 0
    state = tuple(Tensor(rng.uniform(-0.5, 0.5, (*batch_shape, hidden_size)), requires_grad=True) for _ in STATES)
    hs, (h_T, c_T) = model(xs, state)
    u = rng.standard_normal(hs.shape)  # R_t, the upstream gradient at every h_t
    (hs * u).sum().backward(retain_grads=True)
    section = SECTION_OF[name]
    if derivation is not None:
        highlight = (*highlight, *_disagreements(derivation, model, xs, state, u, [hs]))
    title = f"{section or 'LSTM cell'}: X={input_size} H={hidden_size}" + (f" B={batch}" if batch else "") + \
        (f" T={length}" if length > 1 else "") + "; loss Σ_t h_t·R_t"
    if derivation is not None:
        title += f"; derivation {derivation.name or 'given'}: red = the hand gradient disagrees"
    if collapse or (collapse is None and length > 3):
        return draw_timeline(hs, title=title)
    roots = [h_T, c_T] if length == 1 else [hs]
    return draw(*roots, sections=None if section is None else [section], highlight=highlight, title=title)


def _disagreements(derivation: Derivation, model: LSTM, xs: np.ndarray, state: tuple[Tensor, Tensor],
                   u: np.ndarray, roots: list[Tensor]) -> list[str]:
    """Full names of the tensors whose gradient the hand BPTT by `derivation` gets wrong."""
    grads, trace = hand.bptt(model.arrays(), xs, state[0].data, state[1].data, u, derivation=derivation)
    engine = {tensor.name: tensor.grad for tensor in walk(roots) if tensor.name and tensor.grad is not None}
    return disagreeing(engine, {**trace, **{name: grads[name] for name in NAMES}})


def render_all(folder: str | os.PathLike, fmt: str = "svg", **options: Any) -> list[Path]:
    """One file per section (input.svg … hidden.svg) and the whole cell (all.svg) into `folder`; `options` are
    render_gate's."""
    folder = prepare_folder(folder)
    return [write(render_gate(name, **options), folder / f"{name}.{fmt}", fmt) for name in SECTION_OF]


# ---------------------------------------------------------------------------------------------------------
# The sequence collapsed to one node per step: where gradients vanish or explode through time.
# ---------------------------------------------------------------------------------------------------------

# What a step's node reports: its state and its gates, by the derivation's symbols.
STEP_OUTPUTS = (HIDDEN_STATE, CELL_STATE, *GATES)


def draw_timeline(*roots: Tensor, title: str | None = None, per_row: int = 10) -> Graph:
    """One node per step with ‖∇‖ of h_t, c_t and the four gates, steps in rows of `per_row`.

    A graph of T steps has T + 3 nodes (the steps, the initial state, the parameters and the legend).
    """
    outputs = {(output.section, output.symbol) for output in STEP_OUTPUTS}
    initial_names = {str(state.before(0)): state.previous for state in STATES}
    steps: dict[int, dict[str, Tensor]] = {}
    parameters: dict[str, Tensor] = {}
    initial: dict[str, Tensor] = {}
    for tensor in walk(checked_roots(roots, "draw_timeline")):
        name = NodeName.parse(tensor.name) if tensor.name else None
        if name is not None and name.step is not None and (name.section, name.symbol) in outputs:
            steps.setdefault(name.step, {})[name.symbol] = tensor
        elif tensor.op is None and tensor.requires_grad and name is not None and name.step is None:
            parameters[tensor.name] = tensor
        elif tensor.name in initial_names:
            initial[initial_names[tensor.name]] = tensor

    timeline = new_graph(title, rankdir="TB")
    timeline.attr(nodesep="0.15", ranksep="0.5")
    order = sorted(steps)
    colour = {kind: KINDS[kind][0] for kind in ("state", "parameter")}
    for row_start in range(0, len(order), per_row):
        with timeline.subgraph(name=f"row{row_start}") as row:
            row.attr(rank="same")
            for t in order[row_start:row_start + per_row]:
                ordered = {output.symbol: steps[t][output.symbol] for output in STEP_OUTPUTS
                           if output.symbol in steps[t]}
                row.node(f"t{t}", f"<{_norms_table(f't = {t}', colour['state'], ordered)}>",
                         tooltip=_step_tooltip(t, ordered))
    if initial:
        timeline.node("initial", f"<{_norms_table('initial state', colour['state'], initial)}>")
        timeline.edge("initial", f"t{order[0]}")
    for a, b in zip(order, order[1:], strict=False):
        h = steps[b].get(HIDDEN_STATE.symbol)
        wraps = order.index(b) % per_row == 0
        # a wrapping edge must not pull the next row to the right; the invisible one stacks the rows
        timeline.edge(f"t{a}", f"t{b}", penwidth=edge_width(h.grad if h is not None else None),
                      constraint="false" if wraps else "true")
        if wraps:
            timeline.edge(f"t{order[order.index(b) - per_row]}", f"t{b}", style="invis", weight="10")
    if parameters:
        timeline.node("parameters",
                      f"<{_norms_table('parameters, shared by every step', colour['parameter'], parameters)}>")
    timeline.node("legend", f"<{legend(KINDS)}>")
    return timeline


def _norm(tensor: Tensor) -> str:
    return "—" if tensor.grad is None else f"{np.linalg.norm(tensor.grad):.2e}"


def _norms_table(title: str, colour: str, tensors: dict[str, Tensor]) -> str:
    rows = "".join(
        f'<TR><TD ALIGN="LEFT">‖∇{rich(name)}‖</TD>'
        f'<TD ALIGN="RIGHT" BGCOLOR="{gradient_colour(tensor.grad) or "white"}">{_norm(tensor)}</TD></TR>'
        for name, tensor in tensors.items()
    )
    return (f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
            f'<TR><TD COLSPAN="2" BGCOLOR="{colour}"><B>{rich(title)}</B></TD></TR>{rows}</TABLE>')


def _step_tooltip(t: int, tensors: dict[str, Tensor]) -> str:
    return "\n".join(f"step {t} {symbol}: ‖value‖ {np.linalg.norm(tensor.data):.4g}, ‖∇‖ {_norm(tensor)}"
                     for symbol, tensor in tensors.items())
