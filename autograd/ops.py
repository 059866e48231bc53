"""The table of primitives.

Each primitive is declared once: its forward in numpy, and for every operand the local partial, both as the
formula the derivation writes (``{0}``, ``{1}`` stand for the operands' names, so the renderer can print
``∇_p i_t = (1−σ(p))σ(p)``) and as the vector-Jacobian product the reverse pass runs. Broadcasting is
undone once, in ``tensor.unbroadcast``, not here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd.tensor import Tensor, as_float_array, result

Array = np.ndarray


@dataclass(frozen=True)
class Partial:
    """∂(result)/∂(operand): `formula` as the derivation writes it; `vjp(g, ans, *operands, **params)`."""

    formula: str
    vjp: Callable[..., Array]
    # For a partial that scatters into a mostly-zero gradient (indexing): `accumulate(into, g, ans, *operands,
    # **params)` adds the contribution into an array the engine owns, in place. Its vjp then returns a fresh
    # array, which the engine may own. So T slices of one input cost one buffer, not T full-size sums.
    accumulate: Callable[..., None] | None = None


@dataclass(frozen=True)
class Primitive:
    name: str
    symbol: str
    forward: Callable[..., Array]
    partials: tuple[Partial, ...]
    # One partial serves any number of operands; its vjp is told which by `argnum`. A variadic primitive also
    # gives `joint`, so the reverse pass makes one call for all its operands, not one per operand (each of which
    # would be handed all of them: quadratic for a stack of T steps).
    variadic: bool = False
    # For a primitive whose partials share most of their work (a fused LSTM): all operands' gradients at once,
    # `joint(g, ans, *operands, **params)` → one gradient per operand. Each Partial still gives its own.
    joint: Callable[..., Sequence[Array]] | None = None
    # When set, forward returns (result, saved): what backward needs beyond the operands and the result,
    # handed to the partials as the keyword `saved`.
    saves: bool = False

    def __call__(self, *operands: Any, **params: Any) -> Tensor:
        for x in operands:
            if type(x) is not Tensor:
                operands = lift(operands)
                break
        try:
            data = self.forward(*[t.data for t in operands], **params)
        except (ValueError, IndexError) as error:
            shapes = f" {self.symbol} ".join(str(np.shape(t.data)) for t in operands)
            raise type(error)(f"{self.name}: {shapes}: {error}") from None
        if self.saves:
            data, saved = data
            params = {**params, "saved": saved}
        return result(data, self, operands, params)

    def __post_init__(self) -> None:
        if self.variadic and self.joint is None:
            raise ValueError(f"{self.name}: a variadic primitive must give `joint`")
        object.__setattr__(self, "_vjps", tuple(p.vjp for p in self.partials))  # read on every backward step

    def partial(self, k: int) -> Partial:
        return self.partials[0 if self.variadic else k]

    def vjp(self, k: int, g: Array, ans: Array, operands: Sequence[Array], params: dict[str, Any]) -> Array:
        """The gradient for operand k alone (the reverse pass asks `gradients` for all at once)."""
        if self.variadic:
            return self.partials[0].vjp(g, ans, *operands, argnum=k, **params)
        return self.partials[k].vjp(g, ans, *operands, **params)

    def gradients(self, g: Array, ans: Array, parents: Sequence[Tensor], params: dict[str, Any]) -> list:
        """Each operand's gradient, None where the operand does not require one."""
        operands = [p.data for p in parents]
        if self.joint is not None:
            return [pg if p.requires_grad else None
                    for p, pg in zip(parents, self.joint(g, ans, *operands, **params), strict=True)]
        return [vjp(g, ans, *operands, **params) if p.requires_grad else None
                for vjp, p in zip(self._vjps, parents, strict=True)]

    def formula(self, k: int, operand_names: Sequence[str]) -> str:
        """The partial of operand k with the operands' names filled in, e.g. `(1−σ(p))σ(p)`."""
        return self.partial(k).formula.format(*operand_names)


def lift(operands: Sequence[Any]) -> tuple[Tensor, ...]:
    """Tensors as they are; arrays and numbers as constants, numbers in the tensors' dtype so float32 stays."""
    if all(type(x) is Tensor for x in operands):
        return tuple(operands)
    arrays = [x.data if isinstance(x, Tensor) else x for x in operands if isinstance(x, (Tensor, np.ndarray))]
    dtype = np.result_type(*arrays) if arrays else np.float64
    if dtype not in (np.float32, np.float64):
        dtype = np.float64
    return tuple(
        x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=dtype) if _is_number(x) else as_float_array(x))
        for x in operands
    )


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.number))


def _matmul(a: Array, b: Array) -> Array:
    if a.ndim == 0 or b.ndim == 0 or a.ndim > 2 or b.ndim > 2:
        raise ValueError("operands must be 1-D or 2-D")
    if a.shape[-1] != b.shape[0]:
        raise ValueError(f"inner dimensions differ: {a.shape[-1]} vs {b.shape[0]}")
    return a @ b


def _sigmoid(x: Array) -> Array:
    # Accurate on both tails; e^−x overflows to inf below x = −709 and 1/(1 + inf) is exactly 0, as it should be.
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _sum_back(g: Array, x: Array, axis: Any, keepdims: bool) -> Array:
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, x.shape)


def _mean_back(g: Array, x: Array, axis: Any, keepdims: bool) -> Array:
    count = x.size if axis is None else np.prod([x.shape[a] for a in np.atleast_1d(axis)])
    return _sum_back(g, x, axis, keepdims) / count


def _getitem_into(into: Array, g: Array, ans: Array, x: Array, index: Any) -> None:
    basic = index if isinstance(index, tuple) else (index,)
    if all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in basic):
        into[index] += g  # basic indexing selects each element at most once
    else:
        np.add.at(into, index, g)  # an index array may repeat an element: its gradients add up


def _getitem_back(g: Array, ans: Array, x: Array, index: Any) -> Array:
    out = np.zeros_like(x)
    _getitem_into(out, g, ans, x, index)
    return out


def _concat_blocks(g: Array, ans: Array, *xs: Array, axis: int = 0) -> list[Array]:
    """g cut back into the operands' blocks along `axis`."""
    return np.split(g, np.cumsum([x.shape[axis] for x in xs])[:-1], axis)


def _transpose_back(g: Array, ans: Array, x: Array, axes: Any) -> Array:
    return np.transpose(g, None if axes is None else np.argsort(axes))


def _log_softmax(x: Array, axis: int) -> Array:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------------------------------------------------
# The table. One row a primitive: name, symbol, forward, then one Partial per operand.
# ---------------------------------------------------------------------------------------------------------

add = Primitive("add", "+", lambda *xs: functools.reduce(np.add, xs), (  # p = q + v + b_k is one node
    Partial("1", lambda g, ans, *xs, argnum: g),
), variadic=True, joint=lambda g, ans, *xs: [g] * len(xs))
sub = Primitive("sub", "−", np.subtract, (
    Partial("1", lambda g, ans, a, b: g),
    Partial("−1", lambda g, ans, a, b: -g),
))
neg = Primitive("neg", "−", np.negative, (
    Partial("−1", lambda g, ans, a: -g),
))
hadamard = Primitive("hadamard", "⊙", np.multiply, (
    Partial("{1}", lambda g, ans, a, b: g * b),
    Partial("{0}", lambda g, ans, a, b: g * a),
))
div = Primitive("div", "/", np.divide, (
    Partial("1/{1}", lambda g, ans, a, b: g / b),
    Partial("−{0}/{1}²", lambda g, ans, a, b: -g * ans / b),
))
matmul = Primitive("matmul", "@", _matmul, (
    Partial("{1}ᵀ", lambda g, ans, a, b: np.multiply.outer(g, b) if b.ndim == 1 else g @ b.T),
    Partial("{0}ᵀ", lambda g, ans, a, b: np.multiply.outer(a, g) if a.ndim == 1 else a.T @ g),
))
sigmoid = Primitive("sigmoid", "σ", _sigmoid, (
    # g·σ − g·σ·σ: the same product without a Python scalar, which costs numpy more than an array operand
    Partial("(1−σ({0}))σ({0})", lambda g, ans, p: (ga := g * ans) - ga * ans),
))
tanh = Primitive("tanh", "tanh", np.tanh, (
    Partial("1−tanh²({0})", lambda g, ans, p: g - g * ans * ans),
))
exp = Primitive("exp", "exp", np.exp, (
    Partial("exp({0})", lambda g, ans, x: g * ans),
))
log = Primitive("log", "log", np.log, (
    Partial("1/{0}", lambda g, ans, x: g / x),
))
sum = Primitive("sum", "Σ", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims), (
    Partial("1", lambda g, ans, x, axis=None, keepdims=False: _sum_back(g, x, axis, keepdims)),
))
mean = Primitive("mean", "mean", lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims), (
    Partial("1/n", lambda g, ans, x, axis=None, keepdims=False: _mean_back(g, x, axis, keepdims)),
))
reshape = Primitive("reshape", "reshape", lambda x, shape: np.reshape(x, shape), (
    Partial("1", lambda g, ans, x, shape: g.reshape(x.shape)),
))
transpose = Primitive("transpose", "ᵀ", lambda x, axes=None: np.transpose(x, axes), (
    Partial("(·)ᵀ", lambda g, ans, x, axes=None: _transpose_back(g, ans, x, axes)),
))
getitem = Primitive("getitem", "[]", lambda x, index: x[index], (
    Partial("1 at [index]", _getitem_back, accumulate=_getitem_into),
))
concat = Primitive("concat", "‖", lambda *xs, axis=0: np.concatenate(xs, axis=axis), (
    Partial("1 on its block", lambda g, ans, *xs, argnum, axis=0: _concat_blocks(g, ans, *xs, axis=axis)[argnum]),
), variadic=True, joint=_concat_blocks)
stack = Primitive("stack", "stack", lambda *xs, axis=0: np.stack(xs, axis=axis), (
    Partial("1 on its slice", lambda g, ans, *xs, argnum, axis=0: np.take(g, argnum, axis=axis)),
), variadic=True, joint=lambda g, ans, *xs, axis=0: [np.take(g, k, axis=axis) for k in range(len(xs))])
log_softmax = Primitive("log_softmax", "log softmax", lambda x, axis=-1: _log_softmax(x, axis), (
    Partial("I − softmax({0})",
            lambda g, ans, x, axis=-1: g - np.exp(ans) * g.sum(axis=axis, keepdims=True)),
))

PRIMITIVES: dict[str, Primitive] = {
    p.name: p for p in (add, sub, neg, hadamard, div, matmul, sigmoid, tanh, exp, log, sum, mean, reshape,
                        transpose, getitem, concat, stack, log_softmax)
}


# The Tensor's operators and methods are these primitives, so `a @ b + c` records the same graph as the calls.
def _reflected(op: Primitive) -> Callable[[Tensor, Any], Tensor]:
    return lambda self, other: op(other, self)


Tensor.__add__ = lambda self, other: add(self, other)
Tensor.__radd__ = _reflected(add)
Tensor.__sub__ = lambda self, other: sub(self, other)
Tensor.__rsub__ = _reflected(sub)
Tensor.__mul__ = lambda self, other: hadamard(self, other)
Tensor.__rmul__ = _reflected(hadamard)
Tensor.__truediv__ = lambda self, other: div(self, other)
Tensor.__rtruediv__ = _reflected(div)
Tensor.__matmul__ = lambda self, other: matmul(self, other)
Tensor.__rmatmul__ = _reflected(matmul)
Tensor.__neg__ = lambda self: neg(self)
Tensor.__getitem__ = lambda self, index: getitem(self, index=index)
Tensor.sum = lambda self, axis=None, keepdims=False: sum(self, axis=axis, keepdims=keepdims)
Tensor.mean = lambda self, axis=None, keepdims=False: mean(self, axis=axis, keepdims=keepdims)
Tensor.reshape = lambda self, *shape: reshape(self, shape=shape[0] if len(shape) == 1 else shape)
Tensor.T = property(lambda self: transpose(self))
