"""The explorer for LSTMs: the derivation's names and boxes (`viz.lstm_views.describe`, which also says that
step t reads step t − 1's h_t as h_{t−1}), and the worked example `lstm-autograd explore` writes, every ledger
holding the three-way check of `lstm.compare` (hand BPTT, engine, finite differences) and, with a bug's
derivation, the tensors where its hand gradient departs from the engine marked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from autograd.graph import walk
from lstm import LSTM
from lstm.derivation.compare import THROUGH_TIME, Report, Row, agreement, compare, disagreeing
from lstm.derivation.hand import DERIVATION, EVERY_GATE, Derivation
from lstm.derivation.problem import Problem
from lstm.names import GATES, NAMES, SECTIONS, STATES, NodeName, locate
from viz import explorer
from viz.explorer import Audit, Check, Explorer
from viz.explorer.layout import SHARED
from viz.lstm_views import KINDS, LOSSES, SECTION_OF, UNROLLED, departs, describe, hand_gradients, quiet_note

INITIAL = {str(state.before(0)): name for state, name in zip(STATES, ("h0", "c0"), strict=True)}


def explore(*roots: Tensor, **options: Any) -> Explorer:
    """`viz.explorer.explore` with the LSTM's names, boxes and kinds: the explorer of the graph that computed
    `roots` (the tensor backward was called on), after `backward(retain_grads=True)`; `options` are its."""
    return explorer.explore(*roots, **{"describe": describe, "kinds": KINDS, "hint": "t0/input gate/p", **options})


def explore_gate(
    name: str = "all",
    *,
    input_size: int = 2,
    hidden_size: int = 2,
    batch: int | None = None,
    length: int = 1,
    seed: int = 0,
    loss: str = "sum",
    collapse: bool | None = None,
    derivation: Derivation | None = None,
) -> Explorer:
    """The worked example, explored: a seeded LSTM on a random sequence of `length` steps (`lstm.compare`'s
    problem for these sizes and seed), the loss `loss` (a key of LOSSES), backward, and the page.

    `name` (a key of `viz.SECTION_OF`) is the section that opens; the others open shut ("all": every one open).
    The steps open shut with `collapse`, by default when there are more than three. With a `derivation` (a
    bug's, `lstm.derivation.bugs.BUGS[name].derivation`) the tensors where its gradient departs from the engine
    are marked.
    """
    if name not in SECTION_OF:
        raise ValueError(f"explore: gate must be one of {', '.join(SECTION_OF)}, got {name!r}")
    if loss not in LOSSES:
        raise ValueError(f"explore: loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    for label, size in (("input_size", input_size), ("hidden_size", hidden_size), ("length", length),
                        ("batch", 1 if batch is None else batch)):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"explore: {label} must be a positive integer, got {size!r}")
    problem = Problem.random(input_size, hidden_size, batch or 1, length, seed, np.float64)
    weights = problem.dhs.copy()
    if loss == "last":
        weights[:-1] = 0
    problem = problem.replace(dhs=weights, dh_T=0 * problem.dh_T, dc_T=0 * problem.dc_T)
    arrays = _unbatched(problem) if batch is None else problem
    model = LSTM.from_arrays(problem.params)
    state = tuple(Tensor(a, requires_grad=True) for a in (arrays.h0, arrays.c0))
    hs, (h_T, _) = model(arrays.xs, state)
    if loss == "sum":
        total = (hs * Tensor(arrays.dhs, name="R_t")).sum().named("L")
    else:
        total = (h_T * Tensor(arrays.dhs[-1], name="R_T")).sum().named("L")
    total.backward(retain_grads=True)

    derivation = derivation or DERIVATION
    report = compare(derivation=derivation, problem=problem, seed=seed)
    mine = hand_gradients(derivation, arrays.params, arrays.xs, arrays.h0, arrays.c0, arrays.dhs)
    engine = {t.name: t.grad for t in walk([total]) if t.name and t.grad is not None}
    checks = _checks(engine, mine, report, derivation)
    marks = disagreeing(engine, mine) if derivation is not DERIVATION else []

    section = SECTION_OF[name]
    title = (f"{section or 'LSTM cell'}: X={input_size} H={hidden_size}" + (f" B={batch}" if batch else "")
             + f" T={length}; loss L = {LOSSES[loss][0]}, R_t fixed random weights")
    if derivation is not DERIVATION:
        title += f"; derivation {derivation.name or 'given'}"
        if not marks:  # nothing marked: say why, and at which length the mistake shows
            first = departs(derivation, input_size=input_size, hidden_size=hidden_size, batch=batch, length=length,
                            seed=seed, loss=loss)
            title += "; " + quiet_note(derivation, length, first)
    shut = [SHARED.key] if section is None else [SHARED.key, *(s for s in SECTIONS if s != section)]
    if collapse or (collapse is None and length > UNROLLED):
        shut += [f"t{t}" for t in range(length)]
    note = (f"the {derivation.name or 'given'} derivation's hand gradient departs from the engine's here"
            if derivation is not DERIVATION else "")
    return explore(total, title=title, checks=checks, marks=marks, mark_note=note, collapsed=shut)


def _unbatched(problem: Problem) -> Problem:
    """The batch of one as one unbatched sequence: xs (T, X), the states (H,)."""
    return problem.replace(xs=problem.xs[:, 0], h0=problem.h0[0], c0=problem.c0[0], dhs=problem.dhs[:, 0],
                           dh_T=problem.dh_T[0], dc_T=problem.dc_T[0])


def _checks(engine: dict[str, np.ndarray], mine: dict[str, np.ndarray], report: Report,
            derivation: Derivation) -> dict[str, Check]:
    """Every named tensor's check: the hand BPTT's gradient against the engine's by the report's rule, and the
    report's own row for it (Gradients: with finite differences; Through time: at its step)."""
    rows = {(row.table, row.name): row for row in report.rows}
    tol = report.tolerances
    audits = _audits(report, derivation)
    checks = {}
    for full, gradient in mine.items():
        if full not in engine:
            continue
        worst, relative, passed = agreement(engine[full], gradient)
        measures = [("|hand − engine|", f"{worst:.2e}"), ("relative", f"{relative:.2e}"),
                    ("tolerance", f"{tol['hand']:g}·max(1, |engine|)")]
        source = "hand BPTT (lstm.hand) at this tensor, by lstm.compare's rule"
        row = _row(rows, full)
        if row is not None and row.table == "gradients":
            measures.append(("|engine − finite difference|", f"{row.engine_vs_fd:.2e} (≤ {tol['fd']:g}·max(1, |fd|))"))
            passed = passed and row.passed
            source = f"lstm.compare on this sequence, Gradients row {row.name}: {'pass' if row.passed else 'FAIL'}"
        elif row is not None:
            step = NodeName.parse(full).step
            source = (f"lstm.compare on this sequence, Through time row {row.name}: "
                      + ("pass" if step not in row.failing_steps else f"FAIL at t = {step}"))
        checks[full] = Check("hand BPTT", gradient, tuple(measures), passed, source, tuple(audits.get(full, ())))
    return checks


def _row(rows: dict[tuple[str, str], Row], full: str) -> Row | None:
    name = NodeName.parse(full)
    if full in NAMES or full in INITIAL:
        return rows.get(("gradients", INITIAL.get(full, full)))
    if name.step is not None and any((o.section, o.symbol) == (name.section, name.symbol) for o in THROUGH_TIME):
        return rows.get(("through time", f"∇{name.symbol}"))
    return None


def _audits(report: Report, derivation: Derivation) -> dict[str, list[Audit]]:
    """The report's audits of the derivation's partials, by the tensor each partial brings a gradient to."""
    partials = [row for row in report.rows if row.table == "partials"]
    lines = [(formula, k) for formula in derivation.formulas()
             for k in (GATES if formula.section == EVERY_GATE else [None])]
    if len(lines) != len(partials):
        raise RuntimeError("explore: the report's partials no longer follow the derivation's lines")
    found: dict[str, dict[str, Audit]] = {}
    for (formula, k), row in zip(lines, partials, strict=True):
        section = k.section if k else formula.section
        label = row.name.split(": ", 1)[1]
        for t in range(report.settings["length"]):
            parent = str(locate(formula.parent, section, t, k))
            steps = range(report.settings["length"]) if NodeName.parse(parent).step is None else [t]
            failing = [s for s in steps if s in row.failing_steps]
            where = f"t = {', '.join(map(str, failing))}" if failing else \
                ("every step" if len(steps) > 1 else f"t = {t}")
            detail = f"at {where}: the hand line against the engine's vjp (worst over the steps " \
                f"{row.hand_vs_engine:.1e})"
            found.setdefault(parent, {})[label] = Audit(label, not failing, detail)
    return {parent: list(audits.values()) for parent, audits in found.items()}

