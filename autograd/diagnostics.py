"""When a gradient check fails: how wrong by the usual bands, whether finite differences can be trusted at this
step size, and a verdict that needs no tolerance at all (the Taylor remainder test)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# CS231n's rule of thumb for the relative error |a − b| / max(|a|, |b|) of a float64 gradient check.
BANDS = ((1e-2, "wrong"), (1e-4, "suspect"), (1e-7, "acceptable only in float32 or at a kink"), (0.0, "right"))


# How many unit roundoffs per √(operation) a correct result may carry, measured 16 times above what the LSTM's
# hand and engine gradients show from T = 1 to 500 and H = 4 to 128 (docs/testing.md, "The float32 rule").
ROUNDING_MARGIN = 16.0


def rounding_tolerance(dtype: Any, size: int, floor: float = 0.0) -> float:
    """The largest difference, relative to max(1, |value|), that rounding alone puts between two correct
    computations of `size` operations in `dtype`: ROUNDING_MARGIN·ε·√size (independent roundings add like a
    random walk), and never less than `floor`."""
    return max(floor, ROUNDING_MARGIN * float(np.finfo(dtype).eps) * math.sqrt(max(size, 1)))


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a − b| / max(|a|, |b|) elementwise, 0 where both are 0, NaN where either is NaN or infinite: a value that
    is not finite agrees with nothing."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore"):  # inf − inf and inf / inf: the NaN is the answer
        return np.divide(np.abs(a - b), scale, out=np.zeros(np.broadcast(a, b).shape), where=scale != 0)


def beyond_tolerance(diff: np.ndarray, reference: np.ndarray, tolerance: float) -> np.ndarray:
    """Where |a − reference| = `diff` exceeds tolerance·max(1, |reference|): every check's rule. A NaN (from a value
    that is not finite, on either side) is beyond any tolerance; compared with `>` it would pass."""
    return ~(diff <= tolerance * np.maximum(1.0, np.abs(reference)))


def band(relative: float) -> str:
    """The band a relative error falls in: wrong, suspect, acceptable only in float32 or at a kink, right. NaN, the
    relative error of a value that is not finite, is wrong."""
    return next(name for bound, name in BANDS if not relative <= bound or bound == 0.0)


def failing_band(relative: float) -> str:
    """The band of a check that failed: never one that reads as a pass ("right", or "acceptable only in float32"),
    since the check found the difference beyond what rounding explains."""
    named = band(relative)
    return named if named in ("wrong", "suspect") else "beyond rounding, though small"


def describe_relative(relative: float, failed: bool = False) -> str:
    named = failing_band(relative) if failed else band(relative)
    return f"relative error {relative:.1e}: {named} (above 1e-2 wrong, below 1e-7 right, in float64)"


Scalar = Callable[[list[np.ndarray]], float]


@dataclass
class Taylor:
    """The Taylor remainder test along a random direction d. The one-sided remainder
    r(ε) = |f(x + εd) − f(x) − ε ∇f·d| falls like ε² when ∇f is right and only like ε when it is wrong, whatever
    the size of the error, so the verdict needs no tolerance. The symmetric remainder
    |f(x + εd) − f(x − εd) − 2ε ∇f·d| cancels the ε² term (it falls like ε³ when right), so a small error shows as
    a slope of 1 at larger ε, before rounding takes over: the verdict reads both."""

    epsilons: list[float]
    remainders: list[float]  # one-sided
    symmetric: list[float]
    order: float | None  # the slope of log r against log ε as ε → 0, before rounding; None: all rounding
    symmetric_order: float | None
    verdict: str  # "right", "wrong" or "inconclusive"
    tolerance: float = 0.0  # the gradient's rounding allowed for, relative to max(1, |g|)

    def format(self) -> str:
        def shown(order: float | None) -> str:
            return "—" if order is None else f"{order:.2f}"

        lines = [f"Taylor remainder test: r(ε) falls like ε^{shown(self.order)} (ε² when right, ε when wrong), "
                 f"the symmetric one like ε^{shown(self.symmetric_order)} (ε³ when right, ε when wrong) → the "
                 f"gradient is {self.verdict}"
                 + (f" (allowing {self.tolerance:.1e} relative for its rounding)" if self.tolerance else "")]
        every_third = list(zip(self.epsilons, self.remainders, self.symmetric, strict=True))[::3]
        lines += [f"  ε = {e:.2e}   r = {r:.3e}   symmetric {c:.3e}" for e, r, c in every_third]
        return "\n".join(lines)


def taylor_test(f: Scalar, point: Sequence[np.ndarray], gradient: Sequence[np.ndarray], seed: int = 0,
                halvings: int = 40, tolerance: float = 0.0) -> Taylor:
    """The Taylor remainder test of `gradient` (one array per input) for the scalar f(inputs) at `point`.

    `tolerance` is the rounding the gradient may carry, relative to max(1, |element|) (a float32 gradient's):
    a remainder within ε·tolerance·Σ max(1, |g|)·|d| of zero is read as that rounding, not as a wrong slope."""
    rng = np.random.default_rng(seed)
    point = [np.array(x, np.float64) for x in point]
    direction = [rng.standard_normal(x.shape) * max(1.0, float(np.abs(x).mean() if x.size else 0)) for x in point]
    gradient = [np.asarray(g, np.float64) for g in gradient]
    slope = sum(float(np.vdot(g, d)) for g, d in zip(gradient, direction, strict=True))
    allowance = tolerance * sum(float(np.sum(np.maximum(1, np.abs(g)) * np.abs(d)))
                                for g, d in zip(gradient, direction, strict=True))
    f0 = f(point)
    epsilons = [0.1 * 2.0**-k for k in range(halvings + 1)]
    ahead = [f([x + e * d for x, d in zip(point, direction, strict=True)]) for e in epsilons]
    behind = [f([x - e * d for x, d in zip(point, direction, strict=True)]) for e in epsilons]
    remainders = [abs(a - f0 - e * slope) for a, e in zip(ahead, epsilons, strict=True)]
    symmetric = [abs(a - b - 2 * e * slope) for a, b, e in zip(ahead, behind, epsilons, strict=True)]
    noise = 1e-14 * (abs(f0) + abs(slope) * epsilons[0])  # tens of roundings of f's largest value, to 1st order
    order = _order(remainders, _floors(remainders, noise, epsilons, allowance))
    symmetric_order = _order(symmetric, _floors(symmetric, noise, epsilons, 2 * allowance))
    if not np.isfinite(f0):
        verdict = "inconclusive"  # f itself is not finite at the point: there is no slope to hold the gradient to
    elif not np.isfinite(slope):
        verdict = "wrong"  # a gradient that is not finite, of a function that is: its remainders are all NaN
    else:
        verdict = _verdict(order, symmetric_order)
    return Taylor(epsilons, remainders, symmetric, order, symmetric_order, verdict, tolerance)


def _verdict(order: float | None, symmetric_order: float | None) -> str:
    """Wrong when either remainder falls like ε; right when both fall as a right gradient's do (ε², ε³), or are
    rounding alone (None); else inconclusive. The bounds leave room for the slopes' measuring noise."""
    if any(o is not None and o <= 1.2 for o in (order, symmetric_order)):
        return "wrong"
    if (order is None or order >= 1.8) and (symmetric_order is None or symmetric_order >= 2.5):
        return "right"
    return "inconclusive"


def _floors(remainders: list[float], noise: float, epsilons: list[float], allowance: float) -> list[float]:
    """The rounding floor of a series of remainders, at each step: at the smallest steps a right gradient's
    remainder is rounding alone, which scales with the terms f sums, not with f's value (they may cancel to a
    small f), so it is read there too: a hundred times the median of the last five, when that is above `noise`
    (rounding scatters them by a factor of ten); and the gradient's own rounding, ε·allowance, which falls like
    ε as a wrong slope does."""
    floor = max(noise, 100 * float(np.median(remainders[-5:])))
    return [floor + e * allowance for e in epsilons]


def _order(remainders: list[float], floors: list[float]) -> float | None:
    """The slope of log r against log ε at the small end, where an error in the gradient dominates; None when
    every remainder is rounding (f linear along d and the gradient exact to the last digits or its tolerance)."""
    steps = zip(remainders, remainders[1:], floors, floors[1:], strict=False)
    orders = [float(np.log2(a / b)) for a, b, fa, fb in steps if b > fb and a > fa]
    return float(np.median(orders[-3:])) if orders else None


@dataclass
class Sweep:
    """Central differences at one element for step sizes by decade: where the truncation error (large steps) and
    rounding (small steps) are both small, the difference to the claimed value is real."""

    index: tuple[int, ...]
    claimed: float
    rows: list[tuple[float, float]]  # (step, finite difference)
    of: str | None = None  # the input's name

    def format(self) -> str:
        where = f"of {self.of} " if self.of else ""
        lines = [f"finite differences {where}at index {self.index} by step size (claimed {self.claimed:.10g}):"]
        lines += [f"  eps = {eps:.0e}   fd = {fd:.10g}   |fd − claimed| = {abs(fd - self.claimed):.2e}"
                  for eps, fd in self.rows]
        return "\n".join(lines)


def step_sweep(f: Scalar, point: Sequence[np.ndarray], which: int, index: tuple[int, ...], claimed: float,
               steps: Sequence[float] = tuple(10.0**-k for k in range(1, 11)), of: str | None = None) -> Sweep:
    """Central differences of f with respect to element `index` of input `which`, for each step size."""
    point = [np.array(x, np.float64) for x in point]
    rows = []
    for eps in steps:
        values = []
        for sign in (1, -1):
            moved = [x.copy() for x in point]
            moved[which][index] += sign * eps
            values.append(f(moved))
        rows.append((eps, (values[0] - values[1]) / (2 * eps)))
    return Sweep(index, float(claimed), rows, of)
