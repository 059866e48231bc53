"""The comparison: the engine's gradients, the hand-derived BPTT and finite differences, row by row.

Three tables. *Gradients*: one row per parameter and per input (xs, h0, c0). *Partials*: every local partial
of the derivation, the hand line against the engine's own vector-Jacobian product along that edge of the
graph, at every step. *Through time*: ∇h_t and ∇c_t at every step, after both paths have met.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, numerical_gradient
from lstm import hand
from lstm.names import GATES, node_name
from lstm.sequence import LSTM

# Stated tolerances: |hand − engine| ≤ HAND·max(1, |engine|);  |engine − finite difference| ≤ FD·max(1, |fd|)
TOLERANCES = {"float64": {"hand": 1e-10, "fd": 1e-6}, "float32": {"hand": 1e-4, "fd": 2e-3}}
SECTION_OF_GATE = {k: section for k, section, _ in GATES}


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
class Report:
    settings: dict[str, Any]
    tolerances: dict[str, float]
    rows: list[Row]

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def failing(self) -> list[Row]:
        return [row for row in self.rows if not row.passed]

    def to_json(self) -> str:
        return json.dumps({"passed": self.passed, "settings": self.settings, "tolerances": self.tolerances,
                           "rows": [asdict(row) for row in self.rows]}, indent=2, ensure_ascii=False)

    def format(self) -> str:
        s = self.settings
        lines = [
            f"LSTM gradient comparison: T={s['steps']} B={s['batch']} X={s['input_size']} H={s['hidden_size']} "
            f"{s['dtype']} seed={s['seed']}" + (f"  [bug: {s['bug']}]" if s.get("bug") else ""),
            f"tolerance: |hand − engine| ≤ {self.tolerances['hand']:g}·max(1, |engine|), "
            f"|engine − finite difference| ≤ {self.tolerances['fd']:g}·max(1, |fd|)",
        ]
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
        failing = self.failing()
        lines += ["", f"{len(self.rows) - len(failing)} passed, {len(failing)} failed"]
        return "\n".join(lines)


@dataclass
class Problem:
    """One sequence, its parameters and the upstream gradients that define the loss."""

    params: dict[str, np.ndarray]
    xs: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    dhs: np.ndarray
    dh_T: np.ndarray
    dc_T: np.ndarray

    @classmethod
    def random(cls, input_size: int, hidden_size: int, batch: int, steps: int, seed: int, dtype: Any) -> Problem:
        model = LSTM(input_size, hidden_size, dtype=dtype, seed=seed)
        rng = np.random.default_rng(seed + 1)
        draw = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
        return cls(model.arrays(), draw(steps, batch, input_size), draw(batch, hidden_size),
                   draw(batch, hidden_size), draw(steps, batch, hidden_size), draw(batch, hidden_size),
                   draw(batch, hidden_size))

    def astype(self, dtype: Any) -> Problem:
        return Problem({k: v.astype(dtype) for k, v in self.params.items()},
                       *(getattr(self, f).astype(dtype) for f in ("xs", "h0", "c0", "dhs", "dh_T", "dc_T")))

    def loss(self) -> float:
        """Σ_t hs_t·dhs_t + h_T·dh_T + c_T·dc_T, by the plain numpy forward pass."""
        seq = hand.forward(self.params, self.xs, self.h0, self.c0)
        return float((seq.h * self.dhs).sum() + (seq.h[-1] * self.dh_T).sum() + (seq.c[-1] * self.dc_T).sum())


@dataclass
class EngineRun:
    grads: dict[str, np.ndarray]
    nodes: dict[str, Tensor]  # every named tensor of the graph, by its full name
    leaves: dict[str, Tensor]  # the parameters, h0 and c0


def run_engine(problem: Problem) -> EngineRun:
    model = LSTM.from_arrays(problem.params, dtype=problem.xs.dtype)
    xs = Tensor(problem.xs, requires_grad=True, name="xs")
    h0 = Tensor(problem.h0, requires_grad=True, name="t0/h_{t-1}")
    c0 = Tensor(problem.c0, requires_grad=True, name="t0/c_{t-1}")
    hs, (h_T, c_T) = model(xs, (h0, c0))
    loss = (hs * problem.dhs).sum() + (h_T * problem.dh_T).sum() + (c_T * problem.dc_T).sum()
    loss.backward(retain_graph=True, retain_grads=True)
    params = model.parameters()
    grads = {name: t.grad for name, t in params.items()} | {"xs": xs.grad, "h0": h0.grad, "c0": c0.grad}
    return EngineRun(grads, named_nodes(loss), params | {"h0": h0, "c0": c0})


def named_nodes(root: Tensor) -> dict[str, Tensor]:
    nodes, stack, seen = {}, [root], {id(root)}
    while stack:
        node = stack.pop()
        if node.name:
            nodes[node.name] = node
        for parent in node.parents or ():
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return nodes


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
            if p.op is not None and not (p.name or "").endswith(("h_t", "c_t")):  # stay inside this step
                stack.append((p, [*path, (node, k)]))
    raise LookupError(f"no path from {child.name} to {parent.name} in the engine's graph")


def resolve(run: EngineRun, symbol: str, section: str, t: int, k: str | None) -> Tensor:
    """The engine tensor that the derivation's symbol means in `section` of step t (gate k)."""
    if k is not None and symbol in ("W_x", "W_h"):
        return run.leaves[f"{symbol}{k}"]
    if k is not None and symbol == "b":
        return run.leaves[f"b_{k}"]
    if symbol in ("h_{t-1}", "c_{t-1}"):
        if t == 0:
            return run.leaves[symbol[0] + "0"]
        if symbol[0] == "h":
            return run.nodes[node_name(t - 1, "hidden state update", "h_t")]
        return run.nodes[node_name(t - 1, "cell state update", "c_t")]
    for name in (node_name(t, section, symbol), f"t{t}/{symbol}"):
        if name in run.nodes:
            return run.nodes[name]
    owners = [name for name in run.nodes if name.startswith(f"t{t}/") and name.endswith(f"/{symbol}")]
    if len(owners) != 1:
        raise LookupError(f"symbol {symbol} of {section} at step {t} names {owners or 'no tensor'}")
    return run.nodes[owners[0]]


def _label(formula: hand.Formula, k: str | None) -> str:
    text = f"{formula.key} = {formula.text}"
    if k is not None:
        text = text.replace("W_x", f"W_x{k}").replace("W_h", f"W_h{k}").replace("∇_b", f"∇_{{b_{k}}}")
    section = SECTION_OF_GATE[k] if k else formula.section
    return f"{section}: {text}"


def _exceeds(diff: np.ndarray, reference: np.ndarray, tol: float) -> np.ndarray:
    return diff > tol * np.maximum(1.0, np.abs(reference))


def _relative(diff: np.ndarray, reference: np.ndarray) -> float:
    return float((diff / np.maximum(np.abs(reference), 1e-300)).max()) if diff.size else 0.0


def compare(
    input_size: int = 3,
    hidden_size: int = 4,
    batch: int = 2,
    steps: int = 5,
    seed: int = 0,
    dtype: Any = np.float64,
    *,
    fd_samples: int = 24,
    lines: dict[str, hand.Formula] = hand.LINES,
    flow: hand.Flow = hand.FLOW,
    bug: str | None = None,
) -> Report:
    """Run one random sequence through the engine and the hand BPTT and check both; see the module doc.

    `bug` names a mistake of the bug zoo (`lstm.bugs.BUGS`) to switch into the hand BPTT.
    """
    if bug is not None:
        from lstm.bugs import BUGS

        if bug not in BUGS:
            raise ValueError(f"compare: no bug named {bug!r}; the bug zoo has {', '.join(BUGS)}")
        lines, flow = BUGS[bug].hand_lines(), BUGS[bug].hand_flow()
    dtype = np.dtype(dtype)
    if dtype.name not in TOLERANCES:
        raise ValueError(f"compare: dtype must be float32 or float64, got {dtype}")
    for label, size in (("input_size", input_size), ("hidden_size", hidden_size), ("batch", batch),
                        ("steps", steps)):
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"compare: {label} must be a positive integer, got {size!r}")
    tol = TOLERANCES[dtype.name]
    problem = Problem.random(input_size, hidden_size, batch, steps, seed, dtype)
    run = run_engine(problem)
    hand_grads, trace = hand.bptt(problem.params, problem.xs, problem.h0, problem.c0, problem.dhs, problem.dh_T,
                                  problem.dc_T, lines=lines, flow=flow)
    rows = _gradient_rows(problem, run, hand_grads, tol, fd_samples, seed)
    rows += _partial_rows(problem, run, lines, tol, seed)
    rows += _time_rows(run, trace, steps, tol)
    settings = {"input_size": input_size, "hidden_size": hidden_size, "batch": batch, "steps": steps, "seed": seed,
                "dtype": dtype.name, "bug": bug}
    return Report(settings, tol, rows)


def disagreeing(engine: dict[str, np.ndarray], mine: dict[str, np.ndarray], dtype: Any = np.float64) -> list[str]:
    """The names whose hand gradient differs from the engine's beyond the stated tolerance."""
    tol = TOLERANCES[np.dtype(dtype).name]["hand"]
    return [name for name, g in mine.items() if name in engine and _exceeds(np.abs(g - engine[name]), engine[name],
                                                                              tol).any()]


def _gradient_rows(problem, run, hand_grads, tol, fd_samples, seed) -> list[Row]:
    # Finite differences always in float64, of the same numbers, so float32 is judged against the true gradient.
    exact = problem.astype(np.float64)
    rng = np.random.default_rng(seed + 2)
    rows = []
    for name in (*hand.NAMES, "xs", "h0", "c0"):
        engine, mine = run.grads[name], hand_grads[name]
        diff = np.abs(mine.astype(np.float64) - engine)
        array = exact.params[name] if name in exact.params else getattr(exact, name)
        sample = None if array.size <= fd_samples else rng.choice(array.size, fd_samples, replace=False)
        fd = numerical_gradient(exact.loss, array, indices=sample).reshape(-1)
        where = np.isfinite(fd)
        fd_diff = np.abs(engine.reshape(-1)[where] - fd[where])
        ok = not _exceeds(diff, engine, tol["hand"]).any() and not _exceeds(fd_diff, fd[where], tol["fd"]).any()
        rows.append(Row("gradients", name, engine.shape, float(diff.max()), _relative(diff, engine),
                        float(fd_diff.max()), ok))
    return rows


def _partial_rows(problem, run, lines, tol, seed) -> list[Row]:
    seq = hand.forward(problem.params, problem.xs, problem.h0, problem.c0)
    rng = np.random.default_rng(seed + 3)
    rows = []
    for formula in lines.values():
        for k in [k for k, _, _ in GATES] if formula.section == "gate" else [None]:
            section = SECTION_OF_GATE[k] if k else formula.section
            worst, relative, failing, shape = 0.0, 0.0, [], ()
            for t in range(len(problem.xs)):
                s = seq.at(t)
                child = resolve(run, formula.child, section, t, k)
                parent = resolve(run, formula.parent, section, t, k)
                u = rng.standard_normal(child.shape).astype(child.dtype)
                engine = engine_vjp(child, parent, u)
                mine = formula.line(u, s, problem.params, k)
                diff = np.abs(mine - engine) if mine.shape == engine.shape else np.full(engine.shape, np.inf)
                worst, relative = max(worst, float(diff.max())), max(relative, _relative(diff, engine))
                shape = engine.shape
                if _exceeds(diff, engine, tol["hand"]).any():
                    failing.append(t)
            rows.append(Row("partials", _label(formula, k), shape, worst, relative, None, not failing, failing))
    return rows


def _time_rows(run, trace, steps, tol) -> list[Row]:
    """∇ at h_t, c_t and each gate's output, step by step: where through time a derivation goes wrong."""
    rows = []
    for section, symbol in (("hidden state update", "h_t"), ("cell state update", "c_t"),
                            *((section, symbol) for _, section, symbol in GATES)):
        worst, relative, failing = 0.0, 0.0, []
        for t in range(steps):
            engine = run.nodes[node_name(t, section, symbol)].grad
            diff = np.abs(trace[node_name(t, section, symbol)] - engine)
            worst, relative = max(worst, float(diff.max())), max(relative, _relative(diff, engine))
            if _exceeds(diff, engine, tol["hand"]).any():
                failing.append(t)
        rows.append(Row("through time", f"∇{symbol}", engine.shape, worst, relative, None, not failing, failing))
    return rows
