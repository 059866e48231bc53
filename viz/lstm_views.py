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
from lstm.derivation.compare import disagreeing
from lstm.derivation.hand import Derivation
from lstm.names import CELL_STATE, GATES, HIDDEN_STATE, HOME, INPUT, NAMES, SECTIONS, STATE_SYMBOLS, STATES, NodeName
from viz import graph
from viz.graph import Cluster, Graph, Look, checked_roots, edge_width, gradient_colour, legend, new_graph, plain
from viz.labels import plain_text, rich
from viz.render import DPI, check_dpi, prepare_folder, write

KINDS = {
    "parameter": ("#c6dbef", "parameter (W, b)"),
    "input": ("#e0e0e0", "input x_t or constant"),
    "state": ("#c7e9c0", "state h, c"),
    "intermediate": ("#ffffff", "intermediate"),
}
# render_gate's names → the derivation's sections, by their first word (None: the whole cell)
SECTION_OF = {**{section.split()[0]: section for section in SECTIONS}, "all": None}
UNROLLED = 3  # the longest sequence drawn term by term by default; longer ones are collapsed to one node per step
ROOTS = "hs or h_T of a model's call"  # what a picture of an LSTM starts from
# the loss the worked examples differentiate: R_t is a fixed random array of h_t's shape, the gradient that
# reaches h_t from outside (the upstream gradient); "last" keeps only the last step's term
LOSSES = {
    "sum": ("Σ_t h_t·R_t", "every step's h_t weighted by R_t, a fixed random array of h_t's shape (seed + 1)"),
    "last": ("h_T·R_T", "the last step's h_T alone, weighted by R_T, a fixed random array of its shape (seed + 1): "
                        "every other ∇h_t comes back through time"),
}


def _step(t: int) -> Cluster:
    return Cluster(f"t{t}", f"t = {t}", t, outline=True)


def describe(tensor: Tensor) -> Look:
    """A tensor of the derivation in its step's box and its section's box, called by its symbol (as step t + 1
    reads it, for the states); parameters blue, inputs grey, states green."""
    if not tensor.name:
        return plain(tensor)
    name = NodeName.parse(tensor.name)
    clusters = [] if name.step is None else [_step(name.step)]
    if name.section is not None:
        rank = SECTIONS.index(name.section) if name.section in SECTIONS else len(SECTIONS)
        clusters.append(Cluster(name.section, name.section, rank))
    read_as = {} if name.step is None else {_step(name.step + 1).key: state.previous for state in STATES
                                           if state.before(name.step + 1) == name}
    return Look(name.symbol, tuple(clusters), _kind(name, tensor), read_as, name.indexed)


def _kind(name: NodeName, tensor: Tensor) -> str | None:
    if name.symbol in STATE_SYMBOLS:
        return "state"
    if name.symbol in NAMES and name.step is None:
        return "parameter"
    if name.symbol == INPUT or tensor.op is None:  # x_t is drawn as the input it is, not as a slice of xs
        return "input"
    return None


def sections_named(sections: str | Iterable[str] | None) -> list[str] | None:
    """The derivation's sections that `sections` names, by full name ("forget gate") or first word ("forget"),
    one string or several; None or "all": every section."""
    if sections is None:
        return None
    chosen = []
    for given in [sections] if isinstance(sections, str) else sections:
        if given in SECTIONS:
            chosen.append(given)
        elif given in SECTION_OF:
            if SECTION_OF[given] is None:
                return None
            chosen.append(SECTION_OF[given])
        else:
            raise ValueError(f"viz.draw: no section {given!r}; the sections are {', '.join(map(repr, SECTIONS))}, "
                             f"or by first word {', '.join(map(repr, SECTION_OF))}")
    return chosen


def draw(
    *roots: Tensor,
    sections: str | Iterable[str] | None = None,
    highlight: Iterable[str] = (),
    max_elements: int = 8,
    title: str | None = None,
    collapse: bool | None = None,
) -> Graph:
    """The graph that computed `roots`, after a backward with `retain_grads=True` if gradients should show.

    Clusters: one per time step, and inside it one per section of the derivation. `sections` keeps only the
    tensors of those sections (and the tensors they read): "forget gate" or "forget", one or a list; `highlight`
    names tensors (full names) to outline in red, e.g. where a hand-derived gradient disagrees with the engine.
    A sequence of more than three steps is collapsed to one node per step (`draw_timeline`) unless `collapse`
    is False.
    """
    only = sections_named(sections)
    if collapse is None:
        collapse = len({NodeName.parse(t.name).step for t in walk(checked_roots(roots, "draw", ROOTS)) if t.name}
                       - {None}) > UNROLLED
    if collapse:
        return draw_timeline(*roots, sections=only, highlight=highlight, title=title)
    # a tensor read by sections not drawn (h_{t−1} and x_t by every gate) shows its total and the drawn share
    share = "through the sections drawn" if only is None or len(only) > 1 else f"through the {only[0]} alone"
    return graph.draw(*roots, describe=describe, kinds=KINDS, only=only, highlight=highlight,
                      max_elements=max_elements, title=title, share=share)


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
    loss: str = "sum",
) -> Graph:
    """A seeded LSTM on a random sequence of `length` steps, a loss (`LOSSES`: Σ_t h_t·R_t, or h_T·R_T with
    "last"), backward, and the graph of one section (`name`, a key of `SECTION_OF`).

    With `collapse` (by default when length > 3) the sequence is drawn one node per step instead. With a
    `derivation` (a hand BPTT: a bug's, `lstm.derivation.bugs.BUGS[name].derivation`, or any variant of
    `lstm.hand.DERIVATION`) the nodes where its gradient disagrees with the engine's are outlined in red, as are
    the tensors `highlight` names.
    """
    if name not in SECTION_OF:
        raise ValueError(f"render_gate: gate must be one of {', '.join(SECTION_OF)}, got {name!r}")
    if loss not in LOSSES:
        raise ValueError(f"render_gate: loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    for label, size in (("length", length), ("batch", 1 if batch is None else batch)):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"render_gate: {label} must be a positive integer, got {size!r}")
    model, xs, state, u, hs, h_T, c_T = _worked_example(input_size, hidden_size, batch, length, seed, loss)
    section = SECTION_OF[name]
    found = []
    if derivation is not None:
        found = _disagreements(derivation, model, xs.data, state, u, [hs])
        highlight = (*highlight, *found)
    formula, meaning = LOSSES[loss]
    title = (f"{section or 'LSTM cell'}: X={input_size} H={hidden_size}" + (f" B={batch}" if batch else "") +
             (f" T={length}" if length > 1 else "") + f"\nloss {formula}: {meaning}")
    if derivation is not None:
        title += f"\nderivation {derivation.name or 'given'}: red = its hand gradient disagrees with the engine's"
    roots = [h_T, c_T] if length == 1 else [hs]
    picture = draw(*roots, sections=section, highlight=highlight, title=title, collapse=collapse)
    if derivation is not None and MARK not in picture.source:  # a red mark nowhere: say why, and where it shows
        first = length if found else departs(derivation, input_size=input_size, hidden_size=hidden_size,
                                             batch=batch, length=length, seed=seed, loss=loss)
        picture.attr(label=f"<{graph.title_label(title + chr(10) + quiet_note(derivation, length, first))}>")
    return picture


def _worked_example(input_size: int, hidden_size: int, batch: int | None, length: int, seed: int,
                    loss: str) -> tuple:
    """render_gate's seeded LSTM, sequence, state and upstream gradient R_t, after the backward: (model, xs,
    state, R, hs, h_T, c_T)."""
    model = LSTM(input_size, hidden_size, seed=seed)
    rng = np.random.default_rng(seed + 1)
    batch_shape = () if batch is None else (batch,)
    xs = Tensor(rng.standard_normal((length, *batch_shape, input_size)), requires_grad=True, name="xs")
    # a state from earlier steps, so that no gradient in the picture is zero merely because h_0 = 0
    state = tuple(Tensor(rng.uniform(-0.5, 0.5, (*batch_shape, hidden_size)), requires_grad=True) for _ in STATES)
    hs, (h_T, c_T) = model(xs, state)
    u = rng.standard_normal(hs.shape)  # R_t, the upstream gradient at every h_t
    if loss == "last":
        u[:-1] = 0
    (hs * u).sum().backward(retain_grads=True)
    return model, xs, state, u, hs, h_T, c_T


LONGEST = 8  # how long a sequence `departs` tries before it says a derivation agrees at every length


def departs(derivation: Derivation, *, length: int = 1, input_size: int = 2, hidden_size: int = 2,
            batch: int | None = None, seed: int = 0, loss: str = "sum", longest: int = LONGEST) -> int | None:
    """The shortest sequence, of `length` steps or more (up to `longest`), whose worked example (render_gate's,
    with these sizes, seed and loss) shows the hand gradient of `derivation` departing from the engine's; None
    when it agrees at every length tried.

    Some mistakes show only through time: one that drops the gradient c_t passes back to c_{t−1} changes
    nothing in a sequence of one step, so a picture of one step marks nothing although the derivation is wrong.
    The sequences are tried one length at a time, each a few milliseconds at these sizes.
    """
    for steps in range(length, max(length, longest) + 1):
        model, xs, state, u, hs, _, _ = _worked_example(input_size, hidden_size, batch, steps, seed, loss)
        if _disagreements(derivation, model, xs.data, state, u, [hs]):
            return steps
    return None


def quiet_note(derivation: Derivation, length: int, first: int | None) -> str:
    """What a bug's picture says when nothing in it departs: the length where the bug shows first, if any."""
    name = derivation.name or "the given derivation"
    if first is None:
        return (f"nothing is red: {name} agrees with the engine here at every length up to {LONGEST} steps "
                "(another loss or size may show it)")
    if first == length:
        return f"nothing in this section is red: {name} departs elsewhere in the cell"
    return (f"nothing is red: {name} departs first in a sequence of {first} steps; at length {length} nothing "
            f"differs (draw length {first} to see it)")


def _disagreements(derivation: Derivation, model: LSTM, xs: np.ndarray, state: tuple[Tensor, Tensor],
                   u: np.ndarray, roots: list[Tensor]) -> list[str]:
    """Full names of the tensors whose gradient the hand BPTT by `derivation` gets wrong: every step's tensors,
    the parameters, x_t, and the initial state."""
    engine = {tensor.name: tensor.grad for tensor in walk(roots) if tensor.name and tensor.grad is not None}
    return disagreeing(engine, hand_gradients(derivation, model.arrays(), xs, state[0].data, state[1].data, u))


def hand_gradients(derivation: Derivation, params: dict[str, np.ndarray], xs: np.ndarray, h0: np.ndarray,
                   c0: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    """The hand BPTT by `derivation` of Σ_t h_t·u_t, by the full names the engine's tensors carry: every step's
    tensors, the parameters, x_t, and the initial state."""
    grads, trace = hand.bptt(params, xs, h0, c0, u, derivation=derivation)
    return {**trace, **{name: grads[name] for name in NAMES},
            **{str(NodeName(t, None, INPUT)): grads["xs"][t] for t in range(len(xs))},
            str(HIDDEN_STATE.before(0)): grads["h0"], str(CELL_STATE.before(0)): grads["c0"]}


def render_all(folder: str | os.PathLike, fmt: str = "svg", dpi: float = DPI, **options: Any) -> list[Path]:
    """One file per section (input.svg … hidden.svg) and the whole cell (all.svg) into `folder`, a PNG at `dpi`;
    `options` are render_gate's."""
    check_dpi(dpi)
    folder = prepare_folder(folder)
    return [write(render_gate(name, **options), folder / f"{name}.{fmt}", fmt, dpi) for name in SECTION_OF]


# ---------------------------------------------------------------------------------------------------------
# The sequence collapsed to one node per step: where gradients vanish or explode through time.
# ---------------------------------------------------------------------------------------------------------

# What a step's node reports: its state, its input and, of the whole cell, the gates.
STEP_OUTPUTS = (HIDDEN_STATE, CELL_STATE, *GATES)
MARK = "#d62728"  # where a hand gradient disagrees with the engine's


def draw_timeline(*roots: Tensor, title: str | None = None, per_row: int = 10,
                  sections: Iterable[str] | None = None, highlight: Iterable[str] = ()) -> Graph:
    """One node per step with ‖∇‖ of h_t, c_t and x_t, and of the four gates, or with `sections` (the
    derivation's section names) of every tensor of those sections; steps in rows of `per_row`. The tensors
    `highlight` names (full names) are marked in red, and the steps and the parameters that hold them outlined.

    A graph of T steps has T + 4 nodes at most (the steps, the initial state, the parameters, the legend).
    """
    highlight = set(highlight)
    wanted = None if sections is None else set(sections_named(sections) or SECTIONS)
    steps: dict[int, dict[str, Tensor]] = {}
    marked: dict[int, list[str]] = {}
    parameters: dict[str, Tensor] = {}
    initial: dict[str, Tensor] = {}
    tensors = walk(checked_roots(roots, "draw_timeline", ROOTS))
    for tensor in tensors:
        name = NodeName.parse(tensor.name) if tensor.name else None
        if name is None:
            continue
        if name.step is not None and tensor.name in highlight:
            marked.setdefault(name.step, []).append(tensor.name)
        if name.step is not None and _shown(name, wanted):
            steps.setdefault(name.step, {})[_row_name(name, wanted)] = tensor
        elif name.step is None and name.symbol in NAMES and _read_by(tensor, tensors, wanted):
            parameters[name.symbol] = tensor
        elif tensor.op is None and name.symbol in STATE_SYMBOLS:
            initial[name.symbol] = tensor
    first = [state.symbol for state in STATES] + [INPUT]
    steps = {t: dict(sorted(rows.items(), key=lambda row: first.index(row[0]) if row[0] in first else len(first)))
             for t, rows in steps.items()}

    timeline = new_graph(title, rankdir="TB")
    timeline.attr(nodesep="0.15", ranksep="0.5")
    order = sorted(steps)
    colour = {kind: KINDS[kind][0] for kind in ("state", "parameter")}
    for row_start in range(0, len(order), per_row):
        with timeline.subgraph(name=f"row{row_start}") as row:
            row.attr(rank="same")
            for t in order[row_start:row_start + per_row]:
                row.node(f"t{t}", f"<{_norms_table(f't = {t}', colour['state'], steps[t], highlight, t in marked)}>",
                         tooltip=plain_text(_step_tooltip(t, steps[t], marked.get(t, []))))
    if initial and order:
        timeline.node("initial", f"<{_norms_table('initial state', colour['state'], initial, highlight)}>")
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
        table = _norms_table("parameters, shared by every step", colour["parameter"], parameters, highlight)
        timeline.node("parameters", f"<{table}>")
    timeline.node("legend", f"<{legend(KINDS, edge='step t → t + 1, its width ‖∇h_t‖ at t + 1')}>")
    return timeline


def _shown(name: NodeName, wanted: set[str] | None) -> bool:
    """Whether a step's tensor has a row: h_t, c_t and x_t always; then the gates, or every tensor of `wanted`."""
    if name.symbol == INPUT or (name.section, name.symbol) in {(s.section, s.symbol) for s in STATES}:
        return True
    if wanted is None:
        return (name.section, name.symbol) in {(o.section, o.symbol) for o in STEP_OUTPUTS}
    return name.section in wanted


def _row_name(name: NodeName, wanted: set[str] | None) -> str:
    """A row's title: the symbol, with its section's first word where several sections have one of that name."""
    if wanted is None or len(wanted) == 1 or name.symbol == INPUT or name.symbol in HOME:
        return name.symbol
    return f"{name.symbol} ({name.section.split()[0]})"


def _read_by(parameter: Tensor, tensors: list[Tensor], wanted: set[str] | None) -> bool:
    """Whether the chosen sections (None: any) read the parameter, directly or through its transpose."""
    if wanted is None:
        return True
    readers = [t for t in tensors if t.name and NodeName.parse(t.name).section in wanted]
    reads = {id(p) for t in readers for p in t.parents or ()}
    reads |= {id(p.parents[0]) for t in readers for p in t.parents or () if p.op is not None and p.parents}
    return id(parameter) in reads


def _norm(tensor: Tensor) -> str:
    if tensor.grad is None:
        return "—"
    if not np.isfinite(tensor.grad).all():
        return "NaN" if np.isnan(tensor.grad).any() else "∞"
    with np.errstate(over="ignore"):
        return f"{np.linalg.norm(tensor.grad):.2e}"


def _norms_table(title: str, colour: str, tensors: dict[str, Tensor], highlight: set[str],
                 outlined: bool = False) -> str:
    rows = "".join(
        f'<TR><TD ALIGN="LEFT">{_marked(f"‖∇{rich(name)}‖", tensor.name in highlight)}</TD>'
        f'<TD ALIGN="RIGHT" BGCOLOR="{gradient_colour(tensor.grad) or "white"}">{_norm(tensor)}</TD></TR>'
        for name, tensor in tensors.items()
    )
    border = f'BORDER="3" COLOR="{MARK}"' if outlined or highlight & {t.name for t in tensors.values()} else \
        'BORDER="1"'
    return (f'<TABLE {border} CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">'
            f'<TR><TD COLSPAN="2" BGCOLOR="{colour}"><B>{rich(title)}</B></TD></TR>{rows}</TABLE>')


def _marked(text: str, disagrees: bool) -> str:
    return f'<FONT COLOR="{MARK}"><B>✗ {text}</B></FONT>' if disagrees else text


def _step_tooltip(t: int, tensors: dict[str, Tensor], marked: list[str]) -> str:
    lines = [f"step {t} {symbol}: ‖value‖ {np.linalg.norm(tensor.data):.4g}, ‖∇‖ {_norm(tensor)}"
             for symbol, tensor in tensors.items()]
    if marked:
        lines.append("the hand gradient disagrees at: " + ", ".join(marked))
    return "\n".join(lines)
