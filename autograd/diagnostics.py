"""When a gradient check fails: how wrong by the usual bands, whether finite differences can be trusted at this
step size, and a verdict that needs no tolerance at all (the Taylor remainder test)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# CS231n's rule of thumb for the relative error |a − b| / max(|a|, |b|) of a float64 gradient check.
BANDS = ((1e-2, "wrong"), (1e-4, "suspect"), (1e-7, "acceptable only in float32 or at a kink"), (0.0, "right"))


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


def describe_relative(relative: float) -> str:
    return f"relative error {relative:.1e}: {band(relative)} (above 1e-2 wrong, below 1e-7 right, in float64)"


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

    def format(self) -> str:
        def shown(order: float | None) -> str:
            return "—" if order is None else f"{order:.2f}"

        lines = [f"Taylor remainder test: r(ε) falls like ε^{shown(self.order)} (ε² when right, ε when wrong), "
                 f"the symmetric one like ε^{shown(self.symmetric_order)} (ε³ when right, ε when wrong) → the "
                 f"gradient is {self.verdict}"]
        every_third = list(zip(self.epsilons, self.remainders, self.symmetric, strict=True))[::3]
        lines += [f"  ε = {e:.2e}   r = {r:.3e}   symmetric {c:.3e}" for e, r, c in every_third]
        return "\n".join(lines)


def taylor_test(f: Scalar, point: Sequence[np.ndarray], gradient: Sequence[np.ndarray], seed: int = 0,
                halvings: int = 40) -> Taylor:
    """The Taylor remainder test of `gradient` (one array per input) for the scalar f(inputs) at `point`."""
    rng = np.random.default_rng(seed)
    point = [np.array(x, np.float64) for x in point]
    direction = [rng.standard_normal(x.shape) * max(1.0, float(np.abs(x).mean() if x.size else 0)) for x in point]
    slope = sum(float(np.vdot(np.asarray(g, np.float64), d)) for g, d in zip(gradient, direction, strict=True))
    f0 = f(point)
    epsilons = [0.1 * 2.0**-k for k in range(halvings + 1)]
    ahead = [f([x + e * d for x, d in zip(point, direction, strict=True)]) for e in epsilons]
    behind = [f([x - e * d for x, d in zip(point, direction, strict=True)]) for e in epsilons]
    remainders = [abs(a - f0 - e * slope) for a, e in zip(ahead, epsilons, strict=True)]
    symmetric = [abs(a - b - 2 * e * slope) for a, b, e in zip(ahead, behind, epsilons, strict=True)]
    noise = 1e-14 * (abs(f0) + abs(slope) * epsilons[0])  # tens of roundings of f's largest value, to 1st order
    order, symmetric_order = _order(remainders, _floor(remainders, noise)), _order(symmetric, _floor(symmetric, noise))
    if not np.isfinite(f0):
        verdict = "inconclusive"  # f itself is not finite at the point: there is no slope to hold the gradient to
    elif not np.isfinite(slope):
        verdict = "wrong"  # a gradient that is not finite, of a function that is: its remainders are all NaN
    else:
        verdict = _verdict(order, symmetric_order)
    return Taylor(epsilons, remainders, symmetric, order, symmetric_order, verdict)


def _verdict(order: float | None, symmetric_order: float | None) -> str:
    """Wrong when either remainder falls like ε; right when both fall as a right gradient's do (ε², ε³), or are
    rounding alone (None); else inconclusive. The bounds leave room for the slopes' measuring noise."""
    if any(o is not None and o <= 1.2 for o in (order, symmetric_order)):
        return "wrong"
    if (order is None or order >= 1.8) and (symmetric_order is None or symmetric_order >= 2.5):
        return "right"
    return "inconclusive"


def _floor(remainders: list[float], noise: float) -> float:
    """The rounding floor of a series of remainders: at the smallest steps a right gradient's remainder is rounding
    alone, which scales with the terms f sums, not with f's value (they may cancel to a small f), so the floor is
    read there too: ten times the median of the last five, when that is above `noise`."""
    return max(noise, 10 * float(np.median(remainders[-5:])))


def _order(remainders: list[float], noise: float) -> float | None:
    """The slope of log r against log ε at the small end, where an error in the gradient dominates; None when
    every remainder is rounding (f linear along d and the gradient exact to the last digits)."""
    pairs = zip(remainders, remainders[1:], strict=False)
    orders = [float(np.log2(a / b)) for a, b in pairs if b > noise and a > noise]
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
