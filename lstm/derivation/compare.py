"""The comparison: the engine's gradients, the hand-derived BPTT and finite differences, row by row.

Three tables. *Gradients*: one row per parameter and per input (xs, h0, c0). *Partials*: every local partial
of the derivation, the hand line against the engine's own vector-Jacobian product along that edge of the
graph, at every step. *Through time*: ∇h_t and ∇c_t at every step, after both paths have met. When a row
fails, the diagnosis follows (`Diagnosis`: the error's band, the Taylor remainder test, a step-size sweep).

Your own backward is checked by `lstm.check_backward` (`lstm.own_backward.check`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, numerical_gradient, taylor_test
from autograd.diagnostics import Sweep, Taylor, band, beyond_tolerance, describe_relative, relative_error, step_sweep
from autograd.files import strict_json
from autograd.graph import named
from autograd.progress import estimate, steps
from lstm.derivation import hand
from lstm.derivation.hand import DERIVATION, EVERY_GATE, GRADIENTS, Derivation, Formula, bptt
from lstm.derivation.problem import Problem, checked_sizes, tolerances
from lstm.model.sequence import LSTM
from lstm.names import CELL_STATE, GATES, HIDDEN_STATE, NAMES, STATES, Gate, NodeName, locate

THROUGH_TIME = (HIDDEN_STATE, CELL_STATE, *GATES)  # the outputs whose ∇ the "through time" table follows


@dataclass
class Row:
    table: str
    name: str
    shape: tuple[int, ...]
    hand_vs_engine: float
    relative: float
    engine_vs_fd: float | None
    passed: bool
    failing_steps: list[int] = field(default_factory=list)


@dataclass
class Diagnosis:
    """When the comparison fails: how wrong the worst gradient is by the usual bands, the Taylor remainder test of
    the hand gradients (a verdict with no tolerance), and finite differences by step size at the worst element;
    all in float64, of the same numbers."""

    name: str | None  # the gradient of the worst element, None when every gradient row passes
    index: tuple[int, ...]
    relative: float
    taylor: Taylor
    sweep: Sweep | None

    def format(self) -> list[str]:
        lines = ["Diagnosis (the engine and finite differences in float64)"]
        if self.name is not None:
            lines.append(f"{self.name} at index {self.index}: {describe_relative(self.relative)}")
        return lines + [self.taylor.format(), *([self.sweep.format()] if self.sweep else [])]


@dataclass
class Report:
    settings: dict[str, Any]
    tolerances: dict[str, float]
    rows: list[Row]
    diagnosis: Diagnosis | None = None  # when a row fails

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def failing(self) -> list[Row]:
        return [row for row in self.rows if not row.passed]

    def to_json(self) -> str:
        d = self.diagnosis
        diagnosis = None if d is None else {
            "worst": d.name, "index": d.index, "relative": d.relative, "band": None if d.name is None else
            band(d.relative), "taylor": {"verdict": d.taylor.verdict, "order": d.taylor.order,
                                         "symmetric_order": d.taylor.symmetric_order}}
        return strict_json({"passed": self.passed, "settings": self.settings, "tolerances": self.tolerances,
                            "rows": [asdict(row) for row in self.rows], "diagnosis": diagnosis}, indent=2,
                           ensure_ascii=False)

    def format(self) -> str:
        s = self.settings
        lines = [
            f"LSTM gradient comparison: T={s['length']} B={s['batch']} X={s['input_size']} H={s['hidden_size']} "
            f"{s['dtype']} seed={s['seed']}" + (f"  [derivation: {s['derivation']}]" if s["derivation"] else ""),
            f"tolerance: |hand − engine| ≤ {self.tolerances['hand']:g}·max(1, |engine|), "
            f"|engine − finite difference| ≤ {self.tolerances['fd']:g}·max(1, |fd|)",
        ]
        if s["dtype"] == "float32":
            lines.append("float32: the engine and the hand BPTT run in float32; finite differences in float64, of the "
                         "same numbers")
        for table, title in (("gradients", "Gradients"), ("partials", "Local partials of the derivation"),
                             ("through time", "Through time")):
            rows = [r for r in self.rows if r.table == table]
            width = max(len(r.name) for r in rows)
            lines += ["", title, f"{'':{width}}  {'shape':>12}  {'|hand−engine|':>13}  {'relative':>9}  "
                                 f"{'|engine−fd|':>11}  result"]
            for r in rows:
                fd = "—" if r.engine_vs_fd is None else f"{r.engine_vs_fd:.2e}"
                steps = f" at t = {', '.join(map(str, r.failing_steps))}" if r.failing_steps else ""
                lines.append(f"{r.name:{width}}  {str(r.shape):>12}  {r.hand_vs_engine:13.2e}  {r.relative:9.2e}  "
                             f"{fd:>11}  {'pass' if r.passed else 'FAIL' + steps}")
        if self.diagnosis is not None:
            lines += ["", *self.diagnosis.format()]
        failing = self.failing()
        lines += ["", f"{len(self.rows) - len(failing)} passed, {len(failing)} failed"]
        return "\n".join(lines)


@dataclass
class EngineRun:
    grads: dict[str, np.ndarray]
    nodes: dict[str, Tensor]  # every named tensor of the graph, by its full name


def run_engine(problem: Problem) -> EngineRun:
    model = LSTM.from_arrays(problem.params, dtype=problem.xs.dtype)
    xs = Tensor(problem.xs, requires_grad=True, name="xs")
    h0 = Tensor(problem.h0, requires_grad=True, name=str(HIDDEN_STATE.before(0)))
    c0 = Tensor(problem.c0, requires_grad=True, name=str(CELL_STATE.before(0)))
    hs, (h_T, c_T) = model(xs, (h0, c0))
    loss = (hs * problem.dhs).sum() + (h_T * problem.dh_T).sum() + (c_T * problem.dc_T).sum()
    loss.backward(retain_graph=True, retain_grads=True)
    params = model.parameters()
    grads = {name: p.grad for name, p in params.items()} | {"xs": xs.grad, "h0": h0.grad, "c0": c0.grad}
    return EngineRun(grads, named([loss]))


def engine_vjp(child: Tensor, parent: Tensor, u: np.ndarray) -> np.ndarray:
    """The engine's own partial along the path child → … → parent, applied to u (vjp by vjp)."""
    path = _path(child, parent)
    for node, k in path:
        u = node.op.vjp(k, u, node)
    return u


def _path(child: Tensor, parent: Tensor) -> list[tuple[Tensor, int]]:
    stack = [(child, [])]
    while stack:
        node, path = stack.pop()
        for k, p in enumerate(node.parents or ()):
            if p is parent:
                return [*path, (node, k)]
            if p.op is not None and not _step_output(p):
                stack.append((p, [*path, (node, k)]))
    raise LookupError(f"no path from {child.name} to {parent.name} in the engine's graph")


def _step_output(tensor: Tensor) -> bool:
    """h_t or c_t: where a path inside one step ends."""
    return tensor.name is not None and NodeName.parse(tensor.name).symbol in {state.symbol for state in STATES}


def resolve(run: EngineRun, symbol: str, section: str, t: int, k: Gate | None) -> Tensor:
    """The engine tensor that the derivation's symbol means in `section` of step t (gate k)."""
    name = str(locate(symbol, section, t, k))
    if name not in run.nodes:
        raise LookupError(f"symbol {symbol} of {section} at step {t}: no tensor {name} in the engine's graph")
    return run.nodes[name]


def _label(formula: Formula, k: Gate | None) -> str:
    """The report's row name: the section, then the line as the derivation writes it for gate k."""
    text = f"{formula.key} = {formula.text}"
    if k is None:
        return f"{formula.section}: {text}"
    text = text.replace("W_x", k.W_x).replace("W_h", k.W_h).replace("∇_b", f"∇_{{{k.b}}}")
    return f"{k.section}: {text}"


def _relative(diff: np.ndarray, reference: np.ndarray) -> float:
    return float((diff / np.maximum(np.abs(reference), 1e-300)).max()) if diff.size else 0.0


def compare(
    input_size: int = 3,
    hidden_size: int = 4,
    batch: int = 2,
    length: int = 5,
    seed: int = 0,
    dtype: Any = np.float64,
    *,
    fd_samples: int = 24,
    derivation: Derivation = DERIVATION,
    problem: Problem | None = None,
) -> Report:
    """Run one random sequence of `length` steps through the engine and the hand BPTT and check both; see the
    module doc. `derivation` is the hand BPTT's lines and flow: the correct one, or a variant such as a bug's.
    `problem`: this sequence and loss instead of a random one (the sizes and dtype are then its own). Your own
    backward is checked by `lstm.check_backward` instead."""
    dtype = checked_sizes("compare", dtype, input_size=input_size, hidden_size=hidden_size, batch=batch,
                          length=length)
    if problem is None:
        problem = Problem.random(input_size, hidden_size, batch, length, seed, dtype)
    else:
        (length, batch, input_size), hidden_size = problem.xs.shape, problem.h0.shape[-1]
        dtype = problem.xs.dtype
    tol = problem.tolerances()
    run = run_engine(problem)
    hand_grads, trace = bptt(problem.params, problem.xs, problem.h0, problem.c0, problem.dhs, problem.dh_T,
                             problem.dc_T, derivation=derivation)
    rows = _gradient_rows(problem, run, hand_grads, tol, fd_samples, seed)
    rows += _partial_rows(problem, run, derivation, tol, seed)
    rows += _time_rows(run, trace, length, tol)
    settings = {"input_size": input_size, "hidden_size": hidden_size, "batch": batch, "length": length, "seed": seed,
                "dtype": dtype.name, "derivation": derivation.name}
    report = Report(settings, tol, rows)
    if not report.passed:
        report.diagnosis = diagnose(problem, run, hand_grads, [r.name for r in report.failing()], seed)
    return report


def diagnose(problem: Problem, run: EngineRun, hand_grads: dict[str, np.ndarray], failing: list[str],
             seed: int) -> Diagnosis:
    """The diagnosis of a failed comparison, in float64 of the same numbers: the worst element among the failing
    gradients (by the CS231n relative error), the Taylor test of all fifteen hand gradients, the sweep there."""
    exact = problem.astype(np.float64)
    point = [exact.params[name] if name in exact.params else getattr(exact, name) for name in GRADIENTS]

    def loss(arrays: list[np.ndarray]) -> float:
        params = dict(zip(NAMES, arrays[:len(NAMES)], strict=True))
        return exact.replace(params=params, xs=arrays[-3], h0=arrays[-2], c0=arrays[-1]).loss()

    mine = [hand_grads[name].astype(np.float64) for name in GRADIENTS]
    worst, index, relative = None, (), 0.0
    for name, grad in zip(GRADIENTS, mine, strict=True):
        if name in failing:
            at = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(grad - run.grads[name]))), grad.shape))
            error = float(relative_error(grad[at], run.grads[name][at]))
            if worst is None or error > relative:
                worst, index, relative = name, at, error
    sweep = None if worst is None else step_sweep(loss, point, GRADIENTS.index(worst), index,
                                                  float(hand_grads[worst][index]), of=worst)
    return Diagnosis(worst, index, relative, taylor_test(loss, point, mine, seed), sweep)


def agreement(engine: np.ndarray, mine: np.ndarray, dtype: Any = np.float64,
              size: int = 1) -> tuple[float, float, bool]:
    """max |mine − engine|, the largest relative error, and whether the two agree within the tolerance for a
    computation of `size` roundings: the rule of every row of the report, for one array."""
    diff = np.abs(mine - engine) if np.shape(mine) == np.shape(engine) else np.full(np.shape(engine), np.inf)
    tol = tolerances(dtype, size)["hand"]
    agrees = not beyond_tolerance(diff, engine, tol).any()
    return float(diff.max()) if diff.size else 0.0, _relative(diff, engine), agrees


def disagreeing(engine: dict[str, np.ndarray], mine: dict[str, np.ndarray], dtype: Any = np.float64) -> list[str]:
    """The names whose hand gradient differs from the engine's beyond the stated tolerance."""
    return [name for name, grad in mine.items() if name in engine and not agreement(engine[name], grad, dtype)[2]]


def _gradient_rows(problem, run, hand_grads, tol, fd_samples, seed) -> list[Row]:
    # Finite differences always in float64, of the same numbers, so float32 is judged against the true gradient.
    exact = problem.astype(np.float64)
    rng = np.random.default_rng(seed + 2)
    rows = []
    started = time.perf_counter()
    exact.loss()
    count = sum(2 * min(fd_samples, (exact.params[n] if n in exact.params else getattr(exact, n)).size)
                for n in GRADIENTS)
    estimate("finite differences", count, time.perf_counter() - started)
    for name in steps(GRADIENTS, "finite differences, by array"):
        engine, mine = run.grads[name], hand_grads[name]
        diff = np.abs(mine.astype(np.float64) - engine)
        array = exact.params[name] if name in exact.params else getattr(exact, name)
        sample = None if array.size <= fd_samples else rng.choice(array.size, fd_samples, replace=False)
        fd = numerical_gradient(exact.loss, array, indices=sample).reshape(-1)
        where = np.isfinite(fd)
        fd_diff = np.abs(engine.reshape(-1)[where] - fd[where])
        ok = not (beyond_tolerance(diff, engine, tol["hand"]).any()
                  or beyond_tolerance(fd_diff, fd[where], tol["fd"]).any())
        rows.append(Row("gradients", name, engine.shape, float(diff.max()), _relative(diff, engine),
                        float(fd_diff.max()), ok))
    return rows


def _partial_rows(problem, run, derivation, tol, seed) -> list[Row]:
    seq = hand.forward(problem.params, problem.xs, problem.h0, problem.c0)
    rng = np.random.default_rng(seed + 3)
    rows = []
    for formula in derivation.formulas():
        for k in GATES if formula.section == EVERY_GATE else [None]:
            section = k.section if k else formula.section
            worst, relative, failing, shape = 0.0, 0.0, [], ()
            for t in range(len(problem.xs)):
                s = seq.at(t)
                child = resolve(run, formula.child, section, t, k)
                parent = resolve(run, formula.parent, section, t, k)
                u = rng.standard_normal(child.shape).astype(child.dtype)
                engine = engine_vjp(child, parent, u)
                mine = formula(u, s, problem.params, k)
                diff = np.abs(mine - engine) if mine.shape == engine.shape else np.full(engine.shape, np.inf)
                worst, relative = max(worst, float(diff.max())), max(relative, _relative(diff, engine))
                shape = engine.shape
                if beyond_tolerance(diff, engine, tol["hand"]).any():
                    failing.append(t)
            rows.append(Row("partials", _label(formula, k), shape, worst, relative, None, not failing, failing))
    return rows


def _time_rows(run, trace, length, tol) -> list[Row]:
    """∇ at h_t, c_t and each gate's output, step by step: where through time a derivation goes wrong."""
    rows = []
    for output in THROUGH_TIME:
        worst, relative, failing = 0.0, 0.0, []
        for t in range(length):
            engine = run.nodes[str(output.at(t))].grad
            diff = np.abs(trace[str(output.at(t))] - engine)
            worst, relative = max(worst, float(diff.max())), max(relative, _relative(diff, engine))
            if beyond_tolerance(diff, engine, tol["hand"]).any():
                failing.append(t)
        rows.append(Row("through time", f"∇{output.symbol}", engine.shape, worst, relative, None, not failing, failing))
    return rows
