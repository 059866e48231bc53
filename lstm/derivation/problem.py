"""One checking problem: a sequence, its parameters, and the upstream gradients that define the loss; and the
parts of it the per-step localisation runs (the sequence from step t on, or its first steps)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd.diagnostics import rounding_tolerance
from lstm.derivation import hand
from lstm.model.sequence import LSTM

# |hand − engine| ≤ hand·max(1, |engine|) and |engine − finite difference| ≤ fd·max(1, |fd|), where hand is the
# float rule for the dtype and the problem's size (docs/testing.md), at least these floors
FLOORS = {"float64": {"hand": 1e-10, "fd": 1e-6}, "float32": {"hand": 0.0, "fd": 2e-3}}


def checked_sizes(who: str, dtype: Any, **sizes: Any) -> np.dtype:
    """The problem's dtype, once it and every size are refused or accepted in one line naming `who`."""
    dtype = np.dtype(dtype)
    if dtype.name not in FLOORS:
        raise ValueError(f"{who}: dtype must be float32 or float64, got {dtype}")
    for label, size in sizes.items():
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{who}: {label} must be a positive integer, got {size!r}")
    return dtype


def tolerances(dtype: Any, size: int) -> dict[str, float]:
    """The hand and finite-difference tolerances for a computation of `size` roundings in `dtype`."""
    floor = FLOORS[np.dtype(dtype).name]
    rule = rounding_tolerance(dtype, size, floor["hand"])
    return {"hand": rule, "fd": max(floor["fd"], rule)}


@dataclass
class Problem:
    """params (the twelve), xs (T, B, X), h0 and c0 (B, H), and the loss Σ_t hs_t·dhs_t + h_T·dh_T + c_T·dc_T."""

    params: dict[str, np.ndarray]
    xs: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    dhs: np.ndarray
    dh_T: np.ndarray
    dc_T: np.ndarray

    @classmethod
    def random(cls, input_size: int, hidden_size: int, batch: int, length: int, seed: int, dtype: Any) -> Problem:
        model = LSTM(input_size, hidden_size, dtype=dtype, seed=seed)
        rng = np.random.default_rng(seed + 1)
        draw = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
        return cls(model.arrays(), draw(length, batch, input_size), draw(batch, hidden_size),
                   draw(batch, hidden_size), draw(length, batch, hidden_size), draw(batch, hidden_size),
                   draw(batch, hidden_size))

    @property
    def length(self) -> int:
        return len(self.xs)

    def astype(self, dtype: Any) -> Problem:
        return Problem({k: v.astype(dtype) for k, v in self.params.items()},
                       *(getattr(self, f).astype(dtype) for f in ("xs", "h0", "c0", "dhs", "dh_T", "dc_T")))

    def replace(self, **changes: Any) -> Problem:
        return dataclasses.replace(self, **changes)

    def roundings(self) -> int:
        """The size of the computation: the roundings of the engine's per-gate graph of the loss, counted
        without building it (tests/test_verdicts.py holds the count to the graph's): per step four gates'
        matmuls over X and H, 14 more nodes and the loss's products; the three sums of the loss."""
        (T, B, X), H = self.xs.shape, self.h0.shape[-1]
        return T * (4 * X + 4 * H + 14 + B * H) + 2 * B * H + 14

    def tolerances(self) -> dict[str, float]:
        return tolerances(self.xs.dtype, self.roundings())

    def loss(self) -> float:
        """Σ_t hs_t·dhs_t + h_T·dh_T + c_T·dc_T, by the plain numpy forward pass."""
        seq = hand.forward(self.params, self.xs, self.h0, self.c0)
        return float((seq.h * self.dhs).sum() + (seq.h[-1] * self.dh_T).sum() + (seq.c[-1] * self.dc_T).sum())

    def from_step(self, t: int) -> Problem:
        """Steps t … T−1 alone, starting from the state h_{t−1}, c_{t−1} that the forward pass reaches, with the
        same loss terms: its gradients at h0 and c0 are what step t passes back to h_{t−1} and c_{t−1} (the whole
        problem's gradients there from the loss read at steps t … T−1), and its parameters' gradients hold
        the contributions of steps t … T−1 only."""
        if t == 0:
            return self
        seq = hand.forward(self.params, self.xs[:t], self.h0, self.c0)
        return self.replace(xs=self.xs[t:], h0=seq.h[-1], c0=seq.c[-1], dhs=self.dhs[t:])

    def first_steps(self, n: int) -> Problem:
        """Steps 0 … n−1 alone, with the loss read at those steps only (no h_T, c_T terms)."""
        zero = np.zeros_like(self.h0)
        return self.replace(xs=self.xs[:n], dhs=self.dhs[:n], dh_T=zero, dc_T=zero)

    def step_alone(self, t: int) -> Problem:
        """Steps 0 … t with x_0 … x_{t−1} set to 0 and the loss read at step t alone: the gradient of each W_x is
        then step t's own ∇p_tᵀ x_t, with nothing of the steps before it."""
        part = self.first_steps(t + 1)
        xs, dhs = part.xs.copy(), part.dhs.copy()
        xs[:t], dhs[:t] = 0, 0
        return part.replace(xs=xs, dhs=dhs)
