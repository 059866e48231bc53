"""The table of primitives.

Each primitive is declared once: its forward in numpy, and for every operand the local partial, both as the
formula the derivation writes (``{0}``, ``{1}`` stand for the operands' names, so the renderer can print
``∇_p i_t = (1−σ(p))σ(p)``) and as the vector-Jacobian product the reverse pass runs: given ``u``, the gradient
at the result, ``vjp(u, ans, *operands, **params)`` is the gradient at that operand. Broadcasting is undone
once, by the primitive for every operand, not in the table.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd.graph import Gradient, Scatter, unbroadcast
from autograd.tensor import Tensor, as_float_array, result

Array = np.ndarray


@dataclass(frozen=True)
class Partial:
    """∂(result)/∂(operand): `formula` as the derivation writes it, and the `vjp` that applies it. A primitive
    whose `joint` computes every operand's gradient at once declares the formula alone."""

    formula: str
    vjp: Callable[..., Gradient] | None = None


@dataclass(frozen=True, eq=False)
class Primitive:
    """An operation the engine differentiates: its forward, parameters by keyword, and one Partial per operand
    (a variadic primitive, which takes any number of operands, declares one Partial that serves them all)."""

    name: str
    symbol: str
    forward: Callable[..., Array]
    partials: tuple[Partial, ...]
    # Every operand's gradient in one call, `joint(u, ans, *operands, **params)`, for primitives whose partials
    # share their work: cutting one gradient into blocks (concat, stack), or the fused LSTM's BPTT.
    joint: Callable[..., Sequence[Gradient]] | None = None
    # When set, forward returns (result, saved): what backward needs beyond the operands and the result, handed
    # to it as the keyword `saved`, with `last`: whether this is the last backward through the node, so that it
    # may overwrite what was saved.
    saves: bool = False
    variadic: bool = False
    # How many roundings one element of the result goes through, `roundings(ans, *operands, **params)`: the
    # length of a sum for reductions; one, unless given. The float32 rule counts them (rounding_tolerance).
    roundings: Callable[..., int] | None = None
    # What the node keeps of the parameters, `keep(**params)`, where not as given (a copy of a mutable index).
    keep: Callable[..., dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.joint is None and any(p.vjp is None for p in self.partials):
            raise ValueError(f"{self.name}: every Partial needs a vjp unless the primitive gives `joint`")

    def __call__(self, *operands: Any, **params: Any) -> Tensor:
        if not self.variadic and len(operands) != len(self.partials):
            raise TypeError(f"{self.name}: takes {len(self.partials)} operand(s), got {len(operands)}; "
                            "give its parameters by keyword, e.g. transpose(x, axes=(1, 0))")
        for x in operands:
            if type(x) is not Tensor:
                operands = lift(operands, self.name)
                break
        if self.keep is not None:
            params = self.keep(**params)
        try:
            data = self.forward(*[t.data for t in operands], **params)
        except (ValueError, IndexError) as error:
            shapes = f" {self.symbol} ".join(str(t.shape) for t in operands)
            raise type(error)(f"{self.name}: {shapes}: {error}") from None
        if self.saves:
            data, saved = data
            params = {**params, "saved": saved}
        return result(data, self, operands, params)

    def partial(self, k: int) -> Partial:
        return self.partials[0 if self.variadic else k]

    def formula(self, k: int, operand_names: Sequence[str]) -> str:
        """The partial of operand k with the operands' names filled in, e.g. `(1−σ(p))σ(p)`."""
        return self.partial(k).formula.format(*operand_names)

    def gradients(self, u: Array, node: Tensor, last: bool = False) -> list[Gradient | None]:
        """Each operand's gradient, in its shape and dtype; None where the operand does not require one."""
        parents = node.parents
        operands = [p.data for p in parents]
        params = {**node.params, "last": last} if self.saves else node.params
        joint = None if self.joint is None else self.joint(u, node.data, *operands, **params)
        grads: list[Gradient | None] = []
        for k, p in enumerate(parents):
            if not p.requires_grad:
                grads.append(None)
                continue
            g = self.partial(k).vjp(u, node.data, *operands, **params) if joint is None else joint[k]
            grads.append(_conform(g, operands[k], self, k))
        return grads

    def rounds(self, node: Tensor) -> int:
        """How many roundings one element of the node's value went through in this primitive."""
        if self.roundings is None:
            return 1
        return max(1, int(self.roundings(node.data, *[p.data for p in node.parents], **node.params)))

    def vjp(self, k: int, u: Array, node: Tensor) -> Array:
        """Operand k's gradient alone, as a dense array: the partial along one edge of the graph (for the
        comparison and the pictures; the reverse pass asks `gradients` for all operands at once)."""
        operands = [p.data for p in node.parents]
        params = {**node.params, "last": False} if self.saves else node.params
        if self.joint is not None:
            g = self.joint(u, node.data, *operands, **params)[k]
        else:
            g = self.partial(k).vjp(u, node.data, *operands, **params)
        g = _conform(g, operands[k], self, k)
        return g.dense() if type(g) is Scatter else g


def _conform(g: Gradient, x: Array, op: Primitive, k: int) -> Gradient:
    """An operand's gradient as an ndarray of the operand's shape and dtype: broadcasting undone, float32 kept.
    A gradient of another shape or of no real dtype is the primitive's mistake, refused naming it."""
    if type(g) is Scatter:
        if g.shape != x.shape:
            raise ValueError(f"{op.name}: the gradient for operand {k} has shape {g.shape}, expected {x.shape}")
        return g
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.shape != x.shape:
        given = g.shape
        if g.ndim >= x.ndim:
            g = unbroadcast(g, x.shape)
        if g.shape != x.shape:
            raise ValueError(f"{op.name}: the gradient for operand {k} has shape {given}, expected {x.shape} "
                             "like the operand (or a shape that broadcasts from it)")
    if type(g) is not np.ndarray or g.dtype is not x.dtype:  # identity: the cheap test, and enough for numpy's
        if g.dtype.kind not in "biuf":
            raise TypeError(f"{op.name}: the gradient for operand {k} has dtype {g.dtype}, expected {x.dtype}")
        g = np.asarray(g, x.dtype)  # also a reduction's numpy scalar, as an array
    return g


def lift(operands: Sequence[Any], who: str) -> tuple[Tensor, ...]:
    """Tensors as they are; float arrays as constants of their own dtype; numbers, lists and integer arrays as
    constants of the tensors' dtype, so that float32 stays float32."""
    tensors = [x.dtype for x in operands if isinstance(x, Tensor)]
    dtype = np.result_type(*tensors) if tensors else np.dtype(np.float64)
    return tuple(x if isinstance(x, Tensor) else Tensor(as_float_array(x, who, dtype)) for x in operands)


def _matmul(a: Array, b: Array) -> Array:
    if a.ndim == 0 or b.ndim == 0 or a.ndim > 2 or b.ndim > 2:
        raise ValueError("operands must be 1-D or 2-D")
    if a.shape[-1] != b.shape[0]:
        raise ValueError(f"inner dimensions differ: {a.shape[-1]} vs {b.shape[0]}")
    return a @ b


def _sigmoid(x: Array) -> Array:
    # Accurate on both tails: e^−x overflows to inf below x = −709, and 1/(1 + inf) is exactly 0, as it should be.
    with np.errstate(over="ignore", under="ignore"):
        return 1 / (1 + np.exp(-x))


def _exp(x: Array) -> Array:
    with np.errstate(under="ignore"):  # e^−1000 is 0: an answer, not an error; overflow to inf still is one
        return np.exp(x)


def _frozen(index: Any) -> Any:
    """An index as the node keeps it: lists and arrays copied, so changing them after the forward moves nothing."""
    if isinstance(index, tuple):
        return tuple(_frozen(i) for i in index)
    return np.array(index) if isinstance(index, list | np.ndarray) else index


def _sum_back(u: Array, x: Array, axis: Any, keepdims: bool) -> Array:
    if axis is not None and not keepdims:
        u = np.expand_dims(u, axis)
    return np.broadcast_to(u, x.shape)


def _mean_back(u: Array, x: Array, axis: Any, keepdims: bool) -> Array:
    count = x.size if axis is None else math.prod(x.shape[a] for a in np.atleast_1d(axis))
    return _sum_back(u, x, axis, keepdims) / count  # a Python int, so float32 stays float32


def _blocks(u: Array, ans: Array, *xs: Array, axis: int = 0) -> list[Array]:
    """u cut back into the operands' blocks along `axis`."""
    return np.split(u, np.cumsum([x.shape[axis] for x in xs])[:-1], axis)


def _transpose_back(u: Array, x: Array, axes: Any) -> Array:
    return np.transpose(u, None if axes is None else np.argsort([a % x.ndim for a in axes]))


def _log_softmax(x: Array, axis: int) -> Array:
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)  # initial: a zero-length axis is empty
    # the far tail's e^shifted is 0, and the log of the sum is still exact; a sum is 0 only over no elements
    with np.errstate(under="ignore", divide="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax_back(u: Array, ans: Array, axis: int) -> Array:
    with np.errstate(under="ignore"):
        return u - np.exp(ans) * u.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------------------
# The table. One row a primitive: name, symbol, forward, then one Partial per operand.
# ---------------------------------------------------------------------------------------------------------

add = Primitive("add", "+", lambda *xs: functools.reduce(np.add, xs), (  # p = q + v + b_k is one node
    Partial("1", lambda u, ans, *xs: u),
), variadic=True)
sub = Primitive("sub", "−", np.subtract, (
    Partial("1", lambda u, ans, a, b: u),
    Partial("−1", lambda u, ans, a, b: -u),
))
neg = Primitive("neg", "−", np.negative, (
    Partial("−1", lambda u, ans, a: -u),
))
hadamard = Primitive("hadamard", "⊙", np.multiply, (
    Partial("{1}", lambda u, ans, a, b: u * b),
    Partial("{0}", lambda u, ans, a, b: u * a),
))
div = Primitive("div", "/", np.divide, (
    Partial("1/{1}", lambda u, ans, a, b: u / b),
    Partial("−{0}/{1}²", lambda u, ans, a, b: -u * (ans / b)),  # ans/b first: u·ans alone may overflow
))
matmul = Primitive("matmul", "@", _matmul, (
    Partial("{1}ᵀ", lambda u, ans, a, b: np.multiply.outer(u, b) if b.ndim == 1 else u @ b.T),
    Partial("{0}ᵀ", lambda u, ans, a, b: np.multiply.outer(a, u) if a.ndim == 1 else a.T @ u),
), roundings=lambda ans, a, b: a.shape[-1])
sigmoid = Primitive("sigmoid", "σ", _sigmoid, (
    # u·σ − u·σ·σ: the same product without a Python scalar, which costs numpy more than an array operand
    Partial("(1−σ({0}))σ({0})", lambda u, ans, p: (ua := u * ans) - ua * ans),
))
tanh = Primitive("tanh", "tanh", np.tanh, (
    Partial("1−tanh²({0})", lambda u, ans, p: u - u * ans * ans),
))
exp = Primitive("exp", "exp", _exp, (
    Partial("exp({0})", lambda u, ans, x: u * ans),
))
log = Primitive("log", "log", np.log, (
    Partial("1/{0}", lambda u, ans, x: u / x),
))
sum = Primitive("sum", "Σ", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims), (
    Partial("1", lambda u, ans, x, axis=None, keepdims=False: _sum_back(u, x, axis, keepdims)),
), roundings=lambda ans, x, **params: x.size // max(ans.size, 1))
mean = Primitive("mean", "mean", lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims), (
    Partial("1/n", lambda u, ans, x, axis=None, keepdims=False: _mean_back(u, x, axis, keepdims)),
), roundings=lambda ans, x, **params: x.size // max(ans.size, 1) + 1)
reshape = Primitive("reshape", "reshape", lambda x, shape: np.reshape(x, shape), (
    Partial("1", lambda u, ans, x, shape: u.reshape(x.shape)),
))
transpose = Primitive("transpose", "ᵀ", lambda x, axes=None: np.transpose(x, axes), (
    Partial("(·)ᵀ", lambda u, ans, x, axes=None: _transpose_back(u, x, axes)),
))
getitem = Primitive("getitem", "[]", lambda x, index: x[index], (
    Partial("1 at [index]", lambda u, ans, x, index: Scatter(index, u, x.shape)),
), keep=lambda index: {"index": _frozen(index)})
concat = Primitive("concat", "‖", lambda *xs, axis=0: np.concatenate(xs, axis=axis), (
    Partial("1 on its block"),
), joint=_blocks, variadic=True)
stack = Primitive("stack", "stack", lambda *xs, axis=0: np.stack(xs, axis=axis), (
    Partial("1 on its slice"),
), joint=lambda u, ans, *xs, axis=0: [np.take(u, k, axis=axis) for k in range(len(xs))], variadic=True)
relu = Primitive("relu", "relu", lambda x: np.maximum(x, 0), (  # 0 at the kink x = 0, as torch takes it
    Partial("1[{0} > 0]", lambda u, ans, x: u * (x > 0)),
))
log_softmax = Primitive("log_softmax", "log softmax", lambda x, axis=-1: _log_softmax(x, axis), (
    Partial("I − softmax({0})", lambda u, ans, x, axis=-1: _softmax_back(u, ans, axis)),
), roundings=lambda ans, x, axis=-1: 3 + (x.shape[axis] if x.ndim else 1))

# relu (the Elman RNN's other nonlinearity, lstm/cells.py) is not in PRIMITIVES yet: the fuzzer promises every
# primitive there in its programs (tests/test_fuzz.py), and its generator (tests/support/programs.py) has to learn it.
PRIMITIVES: dict[str, Primitive] = {
    p.name: p for p in (add, sub, neg, hadamard, div, matmul, sigmoid, tanh, exp, log, sum, mean, reshape,
                        transpose, getitem, concat, stack, log_softmax)
}
