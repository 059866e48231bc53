"""Finite differences against the engine, and your own gradient function against both."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd.diagnostics import (
    Sweep,
    Taylor,
    band,
    beyond_tolerance,
    describe_relative,
    relative_error,
    step_sweep,
    taylor_test,
)
from autograd.graph import walk
from autograd.tensor import Tensor, as_float_array, no_grad


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6, indices: Any = None) -> np.ndarray:
    """Central differences of the scalar f() with respect to x, perturbing x in place and restoring it.

    `indices` limits the work to some flat positions (the rest stay NaN), for large tensors. Elements are
    addressed by their index, not through a flattened view, which for a transposed or otherwise non-contiguous
    array would be a copy that f() never reads.
    """
    grad = np.full(x.shape, np.nan)
    for flat in range(x.size) if indices is None else indices:
        i = np.unravel_index(flat, x.shape)
        kept = x[i]
        x[i] = kept + eps
        up = f()
        x[i] = kept - eps
        down = f()
        x[i] = kept
        grad[i] = (up - down) / (2 * eps)
    return grad


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """True when the engine's gradient of `fn(*inputs)` matches central differences in float64.

    Raises AssertionError naming the input, the worst element's index, both values and the tolerance, followed
    by the diagnosis: the relative error's band, the Taylor remainder test and a sweep of step sizes.
    """
    _require_a_list(inputs, "gradcheck")
    single = any(isinstance(x, Tensor) and x.dtype == np.float32 for x in inputs)
    inputs64 = [
        Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad, name=x.name) if isinstance(x, Tensor) else x
        for x in inputs
    ]
    out = fn(*inputs64)
    if not isinstance(out, Tensor) or out.data.size != 1:
        got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"gradcheck: fn must return a one-element Tensor, got {got}")
    out.backward()
    checked = [k for k, x in enumerate(inputs64) if isinstance(x, Tensor) and x.requires_grad]
    point = [inputs64[k].data for k in checked]
    engine = [np.zeros_like(inputs64[k].data) if inputs64[k].grad is None else inputs64[k].grad for k in checked]

    def scalar(arrays: list[np.ndarray]) -> float:
        """fn at other values of the checked inputs; a step out of its domain shows as a value that is not finite."""
        args = list(inputs64)
        for k, a in zip(checked, arrays, strict=True):
            args[k] = Tensor(a)
        with no_grad(), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return fn(*args).item()

    for j, k in enumerate(checked):
        label = inputs64[k].name or f"input {k}"
        numeric = numerical_gradient(lambda: scalar(point), point[j], eps)
        if not np.all(np.isfinite(numeric)):
            worst = tuple(int(i) for i in np.argwhere(~np.isfinite(numeric))[0])
            raise AssertionError(
                f"gradcheck: {label} at index {worst}: the finite difference is not finite "
                f"({numeric[worst]}); fn is not differentiable there, or eps={eps} steps out of its domain"
            )
        analytic = engine[j]
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(excess > 0) or not np.all(np.isfinite(analytic)):
            worst = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf))), point[j].shape)
            worst = tuple(int(i) for i in worst)
            raise AssertionError("\n".join([
                f"gradcheck: {label} at index {worst}: engine {analytic[worst]:.10g}, finite difference "
                f"{numeric[worst]:.10g}; tolerance atol={atol} + rtol={rtol}·|finite difference|",
                *(["the check ran in float64: the float32 inputs were converted first"] if single else []),
                describe_relative(float(relative_error(analytic[worst], numeric[worst]))),
                taylor_test(scalar, point, engine).format(),
                step_sweep(scalar, point, j, worst, analytic[worst]).format(),
            ]))
    return True


@dataclass
class Row:
    """One gradient: the hand-written one against the engine's, and the engine's against finite differences."""

    name: str
    shape: tuple[int, ...]
    hand_vs_engine: float  # max |hand − engine|
    relative: float  # the relative error |hand − engine| / max(|hand|, |engine|) at the worst element
    worst: tuple[int, ...]
    engine_vs_fd: float | None  # max |engine − finite difference| over the sampled elements; None for intermediates
    passed: bool

    @property
    def band(self) -> str:
        return band(self.relative)


@dataclass
class GradientReport:
    inputs: list[Row]
    nodes: list[Row]  # intermediate tensors the hand function gave gradients for, walking back from the output
    taylor: Taylor  # of the hand-written gradient
    tolerance: float
    departure_feeds: list[str]  # the named tensors the first departure feeds, whose gradients are right
    sweep: Sweep | None = None  # when an input fails: finite differences by step size at its worst element

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.inputs + self.nodes)

    def failing(self) -> list[Row]:
        return [row for row in self.inputs + self.nodes if not row.passed]

    def diagnosis(self) -> list[str]:
        """When a check fails: the worst row's relative-error band, the Taylor remainder test in full and the
        step-size sweep at the worst element, all in float64."""
        failing = [row for row in self.inputs if not row.passed] or self.failing()
        worst = max(failing, key=lambda row: row.relative)
        lines = ["diagnosis (the engine and finite differences in float64)",
                 f"{worst.name} at index {worst.worst}: {describe_relative(worst.relative)}",
                 self.taylor.format()]
        return lines + ([self.sweep.format()] if self.sweep else [])

    @property
    def first_departure(self) -> str | None:
        """The first intermediate, walking back from the output, where the hand gradient departs from the engine's."""
        return next((row.name for row in self.nodes if not row.passed), None)

    def header(self) -> str:
        return (f"hand-written gradients against the engine; pass: |hand − engine| ≤ {self.tolerance:g}·max(1, "
                "|engine|), and the engine within 1e-6 of central finite differences (float64)")

    def tables(self, most_nodes: int | None = None) -> list[str]:
        """The inputs' table and the intermediates'. With `most_nodes`, a longer list of intermediates is cut
        after the first departure (or left out when all pass), and what is cut is counted."""
        nodes, cut = self.nodes, []
        if most_nodes is not None and len(nodes) > most_nodes:
            shown = 0 if self.first_departure is None else [r.name for r in nodes].index(self.first_departure) + 1
            nodes, cut = nodes[:shown], nodes[shown:]
        lines = []
        for title, rows in (("inputs", self.inputs), ("intermediates, walking back from the output", nodes)):
            if not rows:
                continue
            width = max(len(r.name) for r in rows)
            lines += ["", title, f"{'':{width}}  {'shape':>10}  {'|hand−engine|':>13}  {'relative':>8}  "
                                 f"{'|engine−fd|':>11}  result"]
            for r in rows:
                fd = "—" if r.engine_vs_fd is None else f"{r.engine_vs_fd:.2e}"
                verdict = "pass" if r.passed else f"FAIL: {r.band}, worst at index {r.worst}"
                lines.append(f"{r.name:{width}}  {str(r.shape):>10}  {r.hand_vs_engine:13.2e}  {r.relative:8.1e}  "
                             f"{fd:>11}  {verdict}")
        if cut:
            failed = sum(not r.passed for r in cut)
            lines += [f"… {'and ' if nodes else ''}{len(cut)} {'more ' if nodes else ''}intermediates"
                      f"{' further back' if nodes else ''}: {len(cut) - failed} pass, {failed} fail"]
        return lines

    def departure(self) -> list[str]:
        if not self.first_departure:
            return []
        lines = [f"first departure, walking back from the output: {self.first_departure}"]
        if self.departure_feeds:
            lines.append(f"the gradient at {', '.join(self.departure_feeds)}, which it feeds, is right: the "
                         "mistake is in the partial between them")
        return lines

    def count(self) -> str:
        failing = len(self.failing())
        return f"{len(self.inputs) + len(self.nodes) - failing} passed, {failing} failed"

    def format(self) -> str:
        departure = self.departure()
        lines = [self.header(), *self.tables(), *([""] + departure if departure else [])]
        lines += ["", *(self.diagnosis() if not self.passed else [self.taylor.format().splitlines()[0]])]
        return "\n".join([*lines, "", self.count()])


def check_gradients(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    hand: Callable[..., Sequence[np.ndarray] | dict[str, np.ndarray]],
    *,
    tolerance: float = 1e-8,
    fd_samples: int = 24,
    seed: int = 0,
) -> GradientReport:
    """Check your own gradient function against the engine, for any scalar function built from the primitives.

    `fn(*tensors)` returns a one-element Tensor; `inputs` are arrays or Tensors (a Tensor's name names its input,
    the others are `input k`). `hand(*arrays)` returns the gradient of fn's value: one array per input, or a
    dict by input name that may also hold gradients at intermediate tensors under the names fn gives them
    (`.named("h")`); those locate the first place, walking back from the output, where the hand gradient goes
    wrong. Everything runs in float64.
    """
    _require_a_list(inputs, "check_gradients")
    if not inputs:
        raise ValueError("check_gradients: got no inputs; expected at least one array or Tensor to differentiate by")
    names = [x.name if isinstance(x, Tensor) and x.name else f"input {k}" for k, x in enumerate(inputs)]
    point = [np.array(x.data if isinstance(x, Tensor) else as_float_array(x, "check_gradients"), np.float64)
             for x in inputs]
    leaves = [Tensor(a, requires_grad=True, name=n) for a, n in zip(point, names, strict=True)]
    out = fn(*leaves)
    if not isinstance(out, Tensor) or out.data.size != 1:
        raise ValueError(f"check_gradients: fn must return a one-element Tensor, got "
                         f"{f'shape {out.shape}' if isinstance(out, Tensor) else type(out).__name__}")
    out.backward(retain_grads=True)
    engine = {n: np.zeros_like(a) if t.grad is None else t.grad for n, a, t in zip(names, point, leaves, strict=True)}
    mine = _hand_gradients(hand, point, names)

    def scalar(arrays: list[np.ndarray]) -> float:
        with no_grad():
            return fn(*[Tensor(a) for a in arrays]).item()

    rng = np.random.default_rng(seed)
    rows = []
    for j, name in enumerate(names):
        sample = None if point[j].size <= fd_samples else rng.choice(point[j].size, fd_samples, replace=False)
        fd = numerical_gradient(lambda: scalar(point), point[j], indices=sample)
        sampled = np.zeros(fd.shape, bool)  # the elements differenced; one whose finite difference is not finite
        sampled.flat[slice(None) if sample is None else sample] = True  # (a step out of fn's domain) fails
        fd_error = float(np.abs(engine[name][sampled] - fd[sampled]).max(initial=0.0))
        row = _row(name, mine[name], engine[name], tolerance, fd_error)
        row.passed = row.passed and fd_error <= 1e-6 * max(1.0, float(np.abs(fd[sampled]).max(initial=0.0)))
        rows.append(row)
    inside = {t.name: t for t in reversed(walk([out])) if t.name in mine and t.name not in names}
    nodes = [_row(name, mine[name], t.grad, tolerance, None) for name, t in inside.items()]
    unknown = sorted(set(mine) - set(names) - set(inside))
    if unknown:
        raise ValueError(f"check_gradients: hand returned gradients for {', '.join(unknown)}, which name neither an "
                         f"input ({', '.join(names)}) nor a named tensor of fn's graph")
    first = next((t for name, t in inside.items() if not next(r for r in nodes if r.name == name).passed), None)
    feeds = [] if first is None else [t.name for t in _nearest_consumers(first, out, set(inside.values()))]
    report = GradientReport(rows, nodes, taylor_test(scalar, point, [mine[n] for n in names], seed), tolerance, feeds)
    failing = [j for j, row in enumerate(rows) if not row.passed]
    if failing:
        j = max(failing, key=lambda j: rows[j].relative)
        report.sweep = step_sweep(scalar, point, j, rows[j].worst, float(mine[names[j]][rows[j].worst]), of=names[j])
    return report


def _nearest_consumers(tensor: Tensor, out: Tensor, named: set[Tensor]) -> list[Tensor]:
    """The tensors of `named` that `tensor` feeds, through any unnamed tensors between."""
    consumers: dict[Tensor, list[Tensor]] = {}
    for t in walk([out]):
        for p in t.parents or ():
            consumers.setdefault(p, []).append(t)
    found, frontier, seen = [], list(consumers.get(tensor, ())), set()
    while frontier:
        t = frontier.pop()
        if t in seen:
            continue
        seen.add(t)
        if t in named:
            found.append(t)
        else:
            frontier.extend(consumers.get(t, ()))
    return found


def _require_a_list(inputs: Any, who: str) -> None:
    """fn's arguments come as a list: one Tensor or array on its own would be taken apart row by row."""
    if isinstance(inputs, Tensor | np.ndarray):
        raise TypeError(f"{who}: inputs must be a list of fn's arguments, got a {type(inputs).__name__}; "
                        "pass [x] for one")


def _hand_gradients(hand: Callable[..., Any], point: list[np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    given = hand(*[a.copy() for a in point])
    if isinstance(given, list | tuple):
        if len(given) != len(names):
            raise ValueError(f"check_gradients: hand returned {len(given)} gradients for {len(names)} inputs")
        given = dict(zip(names, given, strict=True))
    elif not isinstance(given, dict):  # an array alone would count as one gradient per row
        raise TypeError(f"check_gradients: hand must return a list of {len(names)} arrays, one per input, or a "
                        f"dict by input name; got {type(given).__name__}")
    missing = [n for n in names if n not in given]
    if missing:
        others = [repr(key) for key in given if key not in names]
        instead = f" (it returned {', '.join(others)})" if others else ""
        raise ValueError(f"check_gradients: hand returned no gradient for {', '.join(missing)}{instead}")
    out = {}
    for name, g in given.items():
        out[name] = np.asarray(as_float_array(g, f"check_gradients: hand's gradient for {name}"), np.float64)
    for name, a in zip(names, point, strict=True):
        if out[name].shape != a.shape:
            raise ValueError(f"check_gradients: hand's gradient for {name} has shape {out[name].shape}, expected "
                             f"{a.shape}")
    return out


def _row(name: str, mine: np.ndarray, engine: np.ndarray, tolerance: float, fd_error: float | None) -> Row:
    if mine.shape != engine.shape:
        raise ValueError(f"check_gradients: the gradient for {name} has shape {mine.shape}, expected {engine.shape}")
    diff = np.abs(mine - engine)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.size else ()
    relative = float(relative_error(mine[worst], engine[worst])) if diff.size else 0.0
    passed = not beyond_tolerance(diff, engine, tolerance).any()
    return Row(name, engine.shape, float(diff.max(initial=0.0)), relative, worst, fd_error, passed)
