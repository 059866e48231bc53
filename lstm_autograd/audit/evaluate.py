"""Formulas evaluated with the engine's primitives, and Jacobians from the engine's vector-Jacobian products.

Building every formula from `autograd`'s primitives makes the engine's declared partials (formula text and
vjp, `autograd/ops.py`) the reference the audit holds a derivation to; each Jacobian is also checked against
central finite differences in float64, so the reference is witnessed independently at every point.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autograd as ag
from autograd import Tensor, no_grad, numerical_gradient
from lstm_autograd.audit.latex import (
    Apply,
    Expr,
    Hadamard,
    Nabla,
    Negate,
    Number,
    Power,
    Product,
    Sum,
    Symbol,
    Transpose,
    children,
)
from lstm_autograd.audit.shapes import ShapeError

Lookup = Callable[[Symbol | Nabla], Tensor]
FD_TOLERANCE = 1e-6  # |engine − finite difference| ≤ FD_TOLERANCE·max(1, |finite difference|)


def _scalar_like(t: Tensor) -> bool:
    return t.ndim == 0 or t.shape == (1, 1)


def juxtapose(a: Tensor, b: Tensor, left: Expr, right: Expr) -> Tensor:
    """The product written by juxtaposition: a scaling, a matrix product, or elementwise between equal shapes."""
    if _scalar_like(a) or _scalar_like(b):
        return ag.hadamard(a, b)
    if a.shape[1] == b.shape[0]:
        return ag.matmul(a, b)
    if a.shape == b.shape:
        return ag.hadamard(a, b)
    raise ShapeError(f"{left.show()} {a.shape} and {right.show()} {b.shape} do not multiply")


def _elementwise(parts: list[Tensor], exprs: tuple[Expr, ...], op: str) -> None:
    shapes = {p.shape for p in parts if not _scalar_like(p)}
    if len(shapes) > 1:
        listed = ", ".join(f"{e.show()} {p.shape}" for e, p in zip(exprs, parts, strict=True))
        raise ShapeError(f"cannot {op} {listed}: the shapes differ")


def evaluate(e: Expr, lookup: Lookup, named: bool = False) -> Tensor:
    """e as a graph of the engine's primitives; `lookup` gives each symbol's and each ∇'s tensor. With `named`,
    every node is named by the formula it computes, for the engine's partials to be written out with them."""
    result = _node(e, lookup, named)
    if named and result.name is None:
        result.name = e.show()
    return result


def _node(e: Expr, lookup: Lookup, named: bool) -> Tensor:
    if isinstance(e, Number):
        return Tensor(np.array(e.value))
    if isinstance(e, (Symbol, Nabla)):
        return lookup(e)
    parts = [evaluate(c, lookup, named) for c in children(e)]
    if isinstance(e, Apply):
        if e.function == "sigma":
            s = ag.sigmoid(parts[0])
            return s * (1 - s) if e.derivative else s
        t = ag.tanh(parts[0])
        return 1 - t * t if e.derivative else t
    if isinstance(e, Power):
        result = parts[0]
        for _ in range(e.exponent - 1):
            result = result * parts[0]
        return result
    if isinstance(e, Transpose):
        return parts[0] if parts[0].ndim == 0 else ag.transpose(parts[0])
    if isinstance(e, Negate):
        return ag.neg(parts[0])
    if isinstance(e, Sum):
        _elementwise(parts, e.parts, "add")
        return ag.add(*parts)
    if isinstance(e, Hadamard):
        _elementwise(parts, e.parts, "multiply elementwise")
        result = parts[0]
        for p in parts[1:]:
            result = ag.hadamard(result, p)
        return result
    result = parts[0]
    for k in range(1, len(parts)):
        result = juxtapose(result, parts[k], Product(e.parts[:k]) if k > 1 else e.parts[0], e.parts[k])
    return result


def value(e: Expr, lookup: Lookup) -> np.ndarray:
    """e's value. Not under `no_grad`: the operands are constants, so nothing is recorded anyway, and a lookup
    may need a Jacobian (a ∇ inside a side), whose reverse passes need a recorded graph."""
    return evaluate(e, lookup).data


def jacobian(build: Callable[[Tensor], Tensor], at: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The Jacobian ∂out/∂x, (out.size, x.size), of out = build(x) at x = `at`: one reverse pass of the engine per
    element of out. Witnessed by a central difference along a random direction d, projected on a random w
    (wᵀJd for every w and d is J itself); a disagreement is the engine's fault, not the derivation's: it raises."""
    x = Tensor(np.array(at, dtype=np.float64), requires_grad=True)
    out = build(x)
    rows = np.zeros((out.data.size, x.data.size))
    if out.requires_grad:
        for i in range(out.data.size):
            seed = np.zeros(out.shape)
            seed.flat[i] = 1.0
            x.grad = None
            out.backward(seed, retain_graph=True)
            rows[i] = x.grad.ravel()
    w, d = rng.standard_normal(out.data.size), rng.standard_normal(x.data.size)
    step = np.zeros(1)

    def along() -> float:
        with no_grad():
            return float(w @ build(Tensor(x.data + step[0] * d.reshape(x.shape))).data.ravel())

    numeric = float(numerical_gradient(along, step)[0])
    if abs(w @ rows @ d - numeric) > FD_TOLERANCE * max(1.0, abs(numeric)):
        raise RuntimeError("the engine's vector-Jacobian products disagree with finite differences; please report it")
    return rows
