"""The Tensor, the graph it records, and the reverse pass over that graph."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from autograd.ops import Primitive

_recording = True
_created = itertools.count()  # creation order: a tensor is always made after its operands


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block no op records a graph (evaluation, optimizer steps, finite differences)."""
    global _recording
    previous, _recording = _recording, False
    try:
        yield
    finally:
        _recording = previous


def as_float_array(data: Any, who: str = "Tensor") -> np.ndarray:
    """float32 and float64 stay as they are; integers, booleans and Python lists become float64."""
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise TypeError(f"{who}: expected numeric data of a regular shape, got {type(data).__name__}: {error}") \
            from None
    if array.dtype == np.float64 or array.dtype == np.float32:
        return array
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    raise TypeError(
        f"{who}: expected numeric data (a number, a list of numbers or a numeric ndarray), "
        f"got {type(data).__name__} of dtype {array.dtype}"
    )


def result(data: np.ndarray, op: Primitive, parents: tuple[Tensor, ...], params: dict[str, Any]) -> Tensor:
    """A primitive's output: no validation, since numpy made the data (the hot path of every op)."""
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = out.name = out._pending = None
    out._order = next(_created)
    for p in parents:
        if p.requires_grad and _recording:
            out.requires_grad, out.op, out.parents, out.params = True, op, parents, params
            return out
    out.requires_grad, out.op, out.parents, out.params = False, None, (), {}
    return out


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient back to the shape of the operand that numpy broadcast to make it."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class Tensor:
    """An ndarray that remembers which primitive made it from which tensors."""

    __slots__ = ("data", "grad", "name", "requires_grad", "op", "parents", "params", "_pending", "_order",
                 "__weakref__")

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        self.data = as_float_array(data.data if isinstance(data, Tensor) else data)
        self.grad: np.ndarray | None = None
        self.name = name
        self.requires_grad = bool(requires_grad)
        self.op: Primitive | None = None
        self.parents: tuple[Tensor, ...] | None = ()
        self.params: dict[str, Any] = {}
        self._pending: np.ndarray | None = None
        self._order = next(_created)

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
        self.name = name
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
                    f"backward: grad may be omitted only for a one-element tensor; {self._label()} has shape "
                    f"{self.shape}, so pass a grad of that shape"
                )
            seed = np.ones_like(self.data)
        else:
            seed = as_float_array(grad.data if isinstance(grad, Tensor) else grad, "backward").astype(self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward: grad has shape {seed.shape}, expected {self.shape} like {self._label()}")

        # Every consumer of a tensor was made after it, so walking the graph from the newest tensor to the oldest
        # visits each one after all the gradient meant for it has arrived: a heap on creation order is a
        # topological order, found without recursion, at any depth.
        self._pending = seed
        queue = [(-self._order, self)]
        keep_graph = retain_graph or retain_grads
        pop, push = heapq.heappop, heapq.heappush
        # Gradient buffers this pass allocated itself and may add into in place. A buffer stops being owned when
        # its tensor is reached: from then on it is `g`, which vjps may hand on unchanged to several operands.
        owned: dict[int, np.ndarray] = {}
        try:
            while queue:
                node = pop(queue)[1]
                g = node._pending
                node._pending = None
                owned.pop(id(g), None)
                op = node.op
                if op is None or retain_grads:
                    node.grad = g.copy() if node.grad is None else node.grad + g
                    if op is None:
                        continue
                parents = node.parents
                if parents is None:
                    raise RuntimeError(
                        f"backward: the graph through {node._label()} was freed by an earlier backward; "
                        "call the first backward with retain_graph=True to walk it twice"
                    )
                into = op.partials[0].accumulate
                if into is not None and id(parents[0]._pending) in owned:
                    into(parents[0]._pending, g, node.data, parents[0].data, **node.params)
                    grads = ()
                else:
                    grads = op.gradients(g, node.data, parents, node.params)
                if not keep_graph:
                    node.parents = None
                for parent, pg in zip(parents, grads, strict=False):  # no grads when accumulated in place
                    if pg is None:
                        continue
                    if pg.shape != parent.data.shape:
                        pg = unbroadcast(pg, parent.data.shape)
                    pending = parent._pending
                    if pending is None:
                        parent._pending = pg
                        push(queue, (-parent._order, parent))
                        if into is not None:
                            owned[id(pg)] = pg
                    elif id(pending) in owned:
                        np.add(pending, pg, out=pending)
                    else:
                        parent._pending = owned[id(pending)] = pending + pg
        finally:
            for _, left in queue:  # after an error, leave no half-accumulated gradient behind
                left._pending = None

    def _label(self) -> str:
        return f"tensor {self.name!r}" if self.name else f"the tensor of shape {self.shape}"
