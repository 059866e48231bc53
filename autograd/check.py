"""Finite differences against the engine, and your own gradient function against both."""

from __future__ import annotations

import math
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
    failing_band,
    relative_error,
    rounding_tolerance,
    step_sweep,
    taylor_test,
)
from autograd.graph import roundings, walk
from autograd.progress import steps
from autograd.tensor import Tensor, as_float_array, no_grad


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6, indices: Any = None) -> np.ndarray:
    """Central differences of the scalar f() with respect to x, perturbing x in place and restoring it.

    `indices` limits the work to some flat positions (the rest stay NaN), for large tensors. Elements are
    addressed by their index, not through a flattened view, which for a transposed or otherwise non-contiguous
    array would be a copy that f() never reads.
    """
    grad = np.full(x.shape, np.nan)
    for flat in steps(range(x.size) if indices is None else indices, "finite differences"):
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
    """True when the engine's gradient of `fn(*inputs)`, in the inputs' own dtype, matches central differences in
    float64 within atol + rtol·|fd|, plus the rounding a float32 engine may carry (`rounding_tolerance`).

    Raises AssertionError naming the input, the worst element's index, both values and the tolerance, followed
    by the diagnosis: the relative error's band, the Taylor remainder test and a sweep of step sizes.
    """
    _require_a_list(inputs, "gradcheck")
    _require_numbers("gradcheck", positive={"eps": eps}, non_negative={"atol": atol, "rtol": rtol})
    inputs = [Tensor(x.data.copy(), requires_grad=x.requires_grad, name=x.name) if isinstance(x, Tensor) else x
              for x in inputs]  # copies in their own dtype: the caller's tensors keep their .grad
    out = fn(*inputs)
    if not isinstance(out, Tensor) or out.data.size != 1:
        got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"gradcheck: fn must return a one-element Tensor, got {got}")
    if not out.requires_grad:  # backward would say so in its own words, naming no input
        raise ValueError("gradcheck: no input requires grad; give the inputs to check as Tensors with "
                         "requires_grad=True")
    rounding = rounding_tolerance(out.dtype, roundings([out])) if out.dtype != np.float64 else 0.0
    out.backward()
    checked = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    point = [inputs[k].data.astype(np.float64) for k in checked]
    engine = [np.zeros(inputs[k].shape) if inputs[k].grad is None else inputs[k].grad.astype(np.float64)
              for k in checked]

    def scalar(arrays: list[np.ndarray]) -> float:
        """fn in float64 at other values of the checked inputs; a step out of its domain shows as a value that is
        not finite."""
        args = [Tensor(x.data.astype(np.float64)) if isinstance(x, Tensor) else x for x in inputs]
        for k, a in zip(checked, arrays, strict=True):
            args[k] = Tensor(a)
        with no_grad(), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return fn(*args).item()

    for j, k in enumerate(checked):
        label = inputs[k].name or f"input {k}"
        numeric = numerical_gradient(lambda: scalar(point), point[j], eps)
        if not np.all(np.isfinite(numeric)):
            worst = tuple(int(i) for i in np.argwhere(~np.isfinite(numeric))[0])
            raise AssertionError(
                f"gradcheck: {label} at index {worst}: the finite difference is not finite "
                f"({numeric[worst]}); fn is not differentiable there, or eps={eps} steps out of its domain"
            )
        analytic = engine[j]
        allowed = atol + rtol * np.abs(numeric) + rounding * np.maximum(1, np.abs(numeric))
        excess = np.abs(analytic - numeric) - allowed
        if np.any(excess > 0) or not np.all(np.isfinite(analytic)):
            worst = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf))), point[j].shape)
            worst = tuple(int(i) for i in worst)
            raise AssertionError("\n".join([
                f"gradcheck: {label} at index {worst}: engine {analytic[worst]:.10g}, finite difference "
                f"{numeric[worst]:.10g}; tolerance atol={atol} + rtol={rtol}·|finite difference|"
                + (f" + {rounding:.1e}·max(1, |finite difference|) for {out.dtype} rounding" if rounding else ""),
                *([f"the engine ran in {out.dtype}, the finite differences in float64"] if rounding else []),
                describe_relative(float(relative_error(analytic[worst], numeric[worst])), failed=True),
                taylor_test(scalar, point, engine, tolerance=rounding).format(),
                step_sweep(scalar, point, j, worst, analytic[worst]).format(),
            ]))
    return True


def _require_numbers(who: str, positive: dict[str, Any] | None = None,
                     non_negative: dict[str, Any] | None = None) -> None:
    """Tolerances and steps are finite real numbers, positive (or at least 0) as named: a NaN tolerance would
    pass every comparison, a zero step divide by zero."""
    for names, least, kind in ((positive or {}, 0, "positive"), (non_negative or {}, None, "non-negative")):
        for name, value in names.items():
            real = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)
            if not real or not math.isfinite(value) or value < 0 or value == least:
                raise ValueError(f"{who}: {name} must be a finite {kind} number, got {value!r}")


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
        """The relative error's band, as the verdict allows: a failing row never reads "right"."""
        return band(self.relative) if self.passed else failing_band(self.relative)


@dataclass
class GradientReport:
    inputs: list[Row]
    nodes: list[Row]  # intermediate tensors the hand function gave gradients for, walking back from the output
    taylor: Taylor  # of the hand-written gradient
    tolerance: float
    departure_feeds: list[str]  # the named tensors the first departure feeds, whose gradients are right
    sweep: Sweep | None = None  # when an input fails: finite differences by step size at its worst element
    dtype: str = "float64"  # the engine's, the inputs' own

    @property
    def fd_tolerance(self) -> float:
        return max(FD_TOLERANCE, self.tolerance)

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
                 f"{worst.name} at index {worst.worst}: {describe_relative(worst.relative, not worst.passed)}",
                 self.taylor.format()]
        return lines + ([self.sweep.format()] if self.sweep else [])

    @property
    def first_departure(self) -> str | None:
        """The first intermediate, walking back from the output, where the hand gradient departs from the engine's."""
        return next((row.name for row in self.nodes if not row.passed), None)

    def header(self) -> str:
        return (f"hand-written gradients against the engine in {self.dtype}; pass: |hand − engine| ≤ "
                f"{self.tolerance:.2g}·max(1, |engine|), and the engine within {self.fd_tolerance:.2g}·max(1, |fd|) "
                "of central finite differences (float64)")

    def tables(self, most_nodes: int | None = None, most_rows: int | None = None) -> list[str]:
        """The inputs' table and the intermediates'. With `most_nodes`, a longer list of intermediates is cut
        after the first departure (or left out when all pass), and what is cut is counted. With `most_rows`, a
        table of more rows shows only its failing rows, at most `most_rows` of them, and counts the rest."""
        nodes, cut = self.nodes, []
        if most_nodes is not None and len(nodes) > most_nodes:
            shown = 0 if self.first_departure is None else [r.name for r in nodes].index(self.first_departure) + 1
            nodes, cut = nodes[:shown], nodes[shown:]
        lines = []
        for title, rows in (("inputs", self.inputs), ("intermediates, walking back from the output", nodes)):
            if not rows:
                continue
            left = []
            if most_rows is not None and len(rows) > most_rows:
                failing = [r for r in rows if not r.passed]
                left = [r for r in rows if r.passed] + failing[most_rows:]
                rows = failing[:most_rows]
            if not rows:  # a long table, and every row passes
                lines += ["", title, f"… all {len(left):,} rows pass"]
                continue
            width = max(len(r.name) for r in rows)
            lines += ["", title, f"{'':{width}}  {'shape':>10}  {'|hand−engine|':>13}  {'relative':>8}  "
                                 f"{'|engine−fd|':>11}  result"]
            for r in rows:
                fd = "—" if r.engine_vs_fd is None else f"{r.engine_vs_fd:.2e}"
                verdict = "pass" if r.passed else f"FAIL: {r.band}, worst at index {r.worst}"
                lines.append(f"{r.name:{width}}  {str(r.shape):>10}  {r.hand_vs_engine:13.2e}  {r.relative:8.1e}  "
                             f"{fd:>11}  {verdict}")
            if left:
                failed = sum(not r.passed for r in left)
                lines.append(f"… {len(left):,} more {'row passes' if len(left) == 1 else 'rows pass'}" if not failed
                             else f"… {len(left):,} more rows: {len(left) - failed:,} pass, {failed:,} fail")
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

    def format(self, full: bool = False) -> str:
        """The report as text. A table of more than `MOST_ROWS` rows shows only its failing rows (at most
        `MOST_ROWS` of them) and counts the rows left out; `full=True` shows every row."""
        departure = self.departure()
        tables = self.tables() if full else self.tables(most_rows=MOST_ROWS)
        lines = [self.header(), *tables, *([""] + departure if departure else [])]
        lines += ["", *(self.diagnosis() if not self.passed else [self.taylor.format().splitlines()[0]])]
        return "\n".join([*lines, "", self.count()])


MOST_ROWS = 20  # a longer table shows only its failing rows, at most this many, unless the full report is asked for
FD_TOLERANCE = 1e-6  # the engine against float64 central differences: their truncation and rounding, and more
FLOAT64_TOLERANCE = 1e-8  # the stated default in float64, far above its rounding rule


def check_gradients(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    hand: Callable[..., Sequence[np.ndarray] | dict[str, np.ndarray]],
    *,
    tolerance: float | None = None,
    fd_samples: int = 24,
    seed: int = 0,
) -> GradientReport:
    """Check your own gradient function against the engine, for any scalar function built from the primitives.

    `fn(*tensors)` returns a one-element Tensor; `inputs` are arrays or Tensors (a Tensor's name names its input,
    the others are `input k`). `hand(*arrays)` returns the gradient of fn's value: one array per input, or a
    dict by input name that may also hold gradients at intermediate tensors under the names fn gives them
    (`.named("h")`); those locate the first place, walking back from the output, where the hand gradient goes
    wrong. The engine and `hand` run in the inputs' dtype (float32 when every input is float32); the
    tolerance, unless given, is the float rule for that dtype and the size of fn's graph (docs/testing.md),
    at least 1e-8 in float64. Finite differences and the Taylor test run in float64.
    """
    _require_a_list(inputs, "check_gradients")
    if not inputs:
        raise ValueError("check_gradients: got no inputs; expected at least one array or Tensor to differentiate by")
    if tolerance is not None:
        _require_numbers("check_gradients", non_negative={"tolerance": tolerance})
    if not isinstance(fd_samples, int | np.integer) or isinstance(fd_samples, bool) or fd_samples < 1:
        raise ValueError(f"check_gradients: fd_samples must be a positive integer, got {fd_samples!r}")
    names = [x.name if isinstance(x, Tensor) and x.name else f"input {k}" for k, x in enumerate(inputs)]
    given = [x.data if isinstance(x, Tensor) else as_float_array(x, "check_gradients") for x in inputs]
    dtype = np.result_type(*given)
    here = [np.array(a, dtype) for a in given]
    leaves = [Tensor(a, requires_grad=True, name=n) for a, n in zip(here, names, strict=True)]
    out = fn(*leaves)
    if not isinstance(out, Tensor) or out.data.size != 1:
        raise ValueError(f"check_gradients: fn must return a one-element Tensor, got "
                         f"{f'shape {out.shape}' if isinstance(out, Tensor) else type(out).__name__}")
    if tolerance is None:
        floor = FLOAT64_TOLERANCE if dtype == np.float64 else 0.0
        tolerance = rounding_tolerance(dtype, roundings([out]), floor)
    out.backward(retain_grads=True)
    engine = {n: np.zeros(a.shape) if t.grad is None else t.grad.astype(np.float64)
              for n, a, t in zip(names, here, leaves, strict=True)}
    mine = _hand_gradients(hand, here, names)
    point = [a.astype(np.float64) for a in here]

    def scalar(arrays: list[np.ndarray]) -> float:
        with no_grad():
            return fn(*[Tensor(a) for a in arrays]).item()

    rng = np.random.default_rng(seed)
    fd_tolerance = max(FD_TOLERANCE, tolerance)
    rows = []
    for j, name in enumerate(names):
        sample = None if point[j].size <= fd_samples else rng.choice(point[j].size, fd_samples, replace=False)
        fd = numerical_gradient(lambda: scalar(point), point[j], indices=sample)
        sampled = np.zeros(fd.shape, bool)  # the elements differenced; one whose finite difference is not finite
        sampled.flat[slice(None) if sample is None else sample] = True  # (a step out of fn's domain) fails
        fd_error = float(np.abs(engine[name][sampled] - fd[sampled]).max(initial=0.0))
        row = _row(name, mine[name], engine[name], tolerance, fd_error)
        row.passed = row.passed and fd_error <= fd_tolerance * max(1.0, float(np.abs(fd[sampled]).max(initial=0.0)))
        rows.append(row)
    inside = {t.name: t for t in reversed(walk([out])) if t.name in mine and t.name not in names}
    nodes = [_row(name, mine[name], t.grad.astype(np.float64), tolerance, None) for name, t in inside.items()]
    unknown = sorted(set(mine) - set(names) - set(inside))
    if unknown:
        raise ValueError(f"check_gradients: hand returned gradients for {', '.join(unknown)}, which name neither an "
                         f"input ({', '.join(names)}) nor a named tensor of fn's graph")
    first = next((t for name, t in inside.items() if not next(r for r in nodes if r.name == name).passed), None)
    feeds = [] if first is None else [t.name for t in _nearest_consumers(first, out, set(inside.values()))]
    # the hand within `tolerance` of the engine, the engine within its own rounding of the truth: twice the tolerance
    taylor = taylor_test(scalar, point, [mine[n] for n in names], seed, tolerance=2 * tolerance)
    report = GradientReport(rows, nodes, taylor, tolerance, feeds, dtype=np.dtype(dtype).name)
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
