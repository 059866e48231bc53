"""Finite differences against the engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd.tensor import Tensor, no_grad


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

    Raises AssertionError naming the input, the worst element's index, both values and the tolerance.
    """
    inputs64 = [
        Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad, name=x.name) if isinstance(x, Tensor) else x
        for x in inputs
    ]
    out = fn(*inputs64)
    if not isinstance(out, Tensor) or out.data.size != 1:
        got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"gradcheck: fn must return a one-element Tensor, got {got}")
    out.backward()

    def value() -> float:
        # a step out of fn's domain is reported below as a finite difference that is not finite
        with no_grad(), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return fn(*inputs64).item()

    for k, x in enumerate(inputs64):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        label = x.name or f"input {k}"
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        numeric = numerical_gradient(value, x.data, eps)
        if not np.all(np.isfinite(numeric)):
            worst = tuple(int(i) for i in np.argwhere(~np.isfinite(numeric))[0])
            raise AssertionError(
                f"gradcheck: {label} at index {worst}: the finite difference is not finite "
                f"({numeric[worst]}); fn is not differentiable there, or eps={eps} steps out of its domain"
            )
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(excess > 0) or not np.all(np.isfinite(analytic)):
            worst = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf))), x.shape)
            worst = tuple(int(i) for i in worst)
            raise AssertionError(
                f"gradcheck: {label} at index {worst}: engine {analytic[worst]:.10g}, finite difference "
                f"{numeric[worst]:.10g}; tolerance atol={atol} + rtol={rtol}·|finite difference|"
            )
    return True
