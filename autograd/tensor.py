"""The Tensor: an ndarray that remembers which primitive made it from which tensors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd.graph import backward_pass

if TYPE_CHECKING:
    from autograd.ops import Primitive

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# How many no_grad blocks are open in this thread (or task). A count, not a flag, so blocks that exit out of
# order still leave recording on once all have exited; a context variable, so another thread's block is not ours.
_no_grad_depth: ContextVar[int] = ContextVar("no_grad_depth", default=0)


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block no op records a graph (evaluation, optimizer steps, finite differences)."""
    _no_grad_depth.set(_no_grad_depth.get() + 1)
    try:
        yield
    finally:
        _no_grad_depth.set(_no_grad_depth.get() - 1)


def as_float_array(data: Any, who: str = "Tensor", dtype: np.dtype | None = None) -> np.ndarray:
    """float32 and float64 arrays stay as they are; numbers, lists, integers and booleans become `dtype`
    (float64 unless given). Anything else, complex numbers included, is refused with one TypeError."""
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise TypeError(f"{who}: expected numeric data of a regular shape, got {type(data).__name__}: {error}") \
            from None
    if array.dtype.kind == "c":
        raise TypeError(f"{who}: complex data is not supported (real float32 or float64 only), got {array.dtype}")
    if array.dtype in FLOATS and (dtype is None or isinstance(data, np.ndarray) and array.ndim):
        return array
    if array.dtype.kind in "biuf":
        return array.astype(dtype or np.float64)
    raise TypeError(
        f"{who}: expected numeric data (a number, a list of numbers or a numeric ndarray), "
        f"got {type(data).__name__} of dtype {array.dtype}"
    )


def result(data: np.ndarray, op: Primitive, parents: tuple[Tensor, ...], params: dict[str, Any]) -> Tensor:
    """A primitive's output: no validation, since numpy made the data (the hot path of every op)."""
    out = Tensor.__new__(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)  # numpy gives 0-d results as scalars
    out.grad = out.name = None
    if _no_grad_depth.get() == 0:
        for p in parents:
            if p.requires_grad:
                out.requires_grad, out.op, out.parents, out.params = True, op, parents, params
                return out
    out.requires_grad, out.op, out.parents, out.params = False, None, (), {}
    return out


def _checked_name(name: Any) -> str | None:
    """A tensor's name, refused where it is given when it is not a string (None: no name), not later in a picture."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"Tensor: a name is a string, got {type(name).__name__} {name!r:.40}")
    return name


class Tensor:
    """An ndarray that remembers which primitive made it from which tensors.

    Its operators are the primitives of `autograd.ops`, so `a @ b + c` records the same graph as the calls.
    """

    __slots__ = ("data", "grad", "name", "requires_grad", "op", "parents", "params", "__weakref__")
    __array_ufunc__ = None  # so `ndarray + Tensor` asks the Tensor (its reflected operator), not numpy

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        self.data = as_float_array(data.data if isinstance(data, Tensor) else data)
        self.grad: np.ndarray | None = None
        self.name = _checked_name(name)
        self.requires_grad = bool(requires_grad)
        self.op: Primitive | None = None
        self.parents: tuple[Tensor, ...] | None = ()
        self.params: dict[str, Any] = {}

    # A copy (copy.deepcopy, pickle) keeps the values, the gradient, the name and requires_grad, but not the
    # graph: it is a leaf of its own, like a model's parameters, which is what copying a model means.
    def __getstate__(self) -> dict[str, Any]:
        return {"data": self.data, "grad": self.grad, "name": self.name, "requires_grad": self.requires_grad}

    def __setstate__(self, state: dict[str, Any]) -> None:
        Tensor.__init__(self, state["data"], state["requires_grad"], state["name"])
        self.grad = state["grad"]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        label = f", name={self.name!r}" if self.name else ""
        made = f", op={self.op.name}" if self.op else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=8)}{label}{made})"

    def named(self, name: str) -> Tensor:
        """Give the tensor its derivation symbol and return it, so a formula reads as one line."""
        self.name = _checked_name(name)
        return self

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> Tensor:
        """The same values as a new leaf that does not require grad."""
        return Tensor(self.data, name=self.name)

    def zero_grad(self) -> None:
        self.grad = None

    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.hadamard(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.hadamard(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index=index)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, shape=shape[0] if len(shape) == 1 else shape)

    @property
    def T(self) -> Tensor:
        return ops.transpose(self)

    def backward(self, grad: Any = None, *, retain_graph: bool = False, retain_grads: bool = False) -> None:
        """Reverse pass from this tensor.

        Leaves that require grad accumulate into `.grad`. With `retain_grads` every intermediate keeps its
        gradient too, and the graph is kept, since whoever asks for them means to look (the renderer, the
        comparison). Otherwise, unless `retain_graph`, the graph is released as it is walked, so the saved
        activations are freed.
        """
        if not self.requires_grad:
            raise RuntimeError(
                f"backward: {self._label()} does not require grad; create a leaf with requires_grad=True "
                "and compute from it outside no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: grad may be omitted only for a one-element tensor; {self._label()} has "
                    f"{self.data.size} elements, so pass a grad of shape {self.shape}"
                )
            seed = np.ones_like(self.data)
        else:
            seed = np.array(as_float_array(grad.data if isinstance(grad, Tensor) else grad, "backward"), self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward: grad has shape {seed.shape}, expected {self.shape} like {self._label()}")
        backward_pass(self, seed, retain_graph or retain_grads, retain_grads)

    def _label(self) -> str:
        return f"tensor {self.name!r}" if self.name else f"the tensor of shape {self.shape}"


# The operators above call the table of primitives, and the table makes Tensors: so it is imported once the
# class exists, here at the end.
from autograd import ops  # noqa: E402
