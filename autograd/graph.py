"""The recorded graph: the one walk over it, and the reverse pass that walks it backwards.

A node is anything with `op`, `parents`, `params`, `data`, `grad` and `requires_grad` (a Tensor), hashed by
identity; this module needs nothing else of it, so the renderer and the comparison walk the graph exactly as the
reverse pass does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd.progress import steps

if TYPE_CHECKING:
    from autograd.tensor import Tensor


def walk(roots: Iterable[Tensor]) -> list[Tensor]:
    """Every tensor the roots were computed from, each listed after all of its operands (iterative: any depth).

    Reversed, it is the order of the reverse pass: a tensor comes only after every tensor it feeds.
    """
    order: list[Tensor] = []
    seen: set[Tensor] = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        path = [(root, iter(root.parents or ()))]  # depth first: each tensor with the operands it has yet to visit
        while path:
            node, operands = path[-1]
            for p in operands:
                if p not in seen:
                    seen.add(p)
                    path.append((p, iter(p.parents or ())))
                    break
            else:
                path.pop()
                order.append(node)
    return order


def roundings(roots: Iterable[Tensor]) -> int:
    """How many roundings the roots' values went through: every primitive's count, added over the graph (the
    size of the computation in the float rule, `diagnostics.rounding_tolerance`)."""
    return sum(node.op.rounds(node) for node in walk(roots) if node.op is not None)


def named(roots: Iterable[Tensor]) -> dict[str, Tensor]:
    """Every named tensor of the graph that computed the roots, by its name."""
    return {t.name: t for t in walk(roots) if t.name}


@dataclass(frozen=True)
class Scatter:
    """Indexing's gradient: `values` at `index` of an otherwise zero array, added into a buffer only when met.

    So T slices of one input cost one buffer, not T arrays of the input's full size.
    """

    index: Any
    values: np.ndarray
    shape: tuple[int, ...]

    def add_into(self, total: np.ndarray) -> np.ndarray:
        basic = self.index if isinstance(self.index, tuple) else (self.index,)
        if all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in basic):
            # basic indexing selects each element at most once; assigned, since `+=` on a strided view is an
            # in-place ufunc that numpy 2.4 gets wrong for some float32 strides (docs/numpy-bug.md)
            total[self.index] = total[self.index] + self.values
        else:
            np.add.at(total, self.index, self.values)  # an index array may repeat an element: its gradients add up
        return total

    def dense(self) -> np.ndarray:
        return self.add_into(np.zeros(self.shape, self.values.dtype))


Gradient = np.ndarray | Scatter
Pending = tuple[np.ndarray, bool]  # the sum so far, and whether this pass made it (so may add into it)


def accumulate(pending: Pending | None, u: Gradient) -> Pending:
    """The gradients that reached a tensor so far, plus `u`. Adds in place only into an array it made itself:
    an arriving gradient may be a result's own gradient, handed on unchanged to several operands."""
    if pending is None:
        return (u.dense(), True) if isinstance(u, Scatter) else (u, False)
    total, owned = pending
    if isinstance(u, Scatter):
        return u.add_into(total if owned else total.copy()), True
    return np.add(total, u, out=total if owned else np.empty_like(total)), True


def unbroadcast(u: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient back to the shape of the operand that numpy broadcast to make it."""
    if u.shape == shape:
        return u
    extra = u.ndim - len(shape)
    if extra:
        u = u.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and u.shape[i] != 1)
    if stretched:
        u = u.sum(axis=stretched, keepdims=True)
    return u


def backward_pass(root: Tensor, seed: np.ndarray, keep_graph: bool, retain_grads: bool) -> None:
    """Walk from `root` back to the leaves, each tensor once, after every gradient meant for it has arrived.

    Leaves that require grad add theirs into `.grad`; with `retain_grads` every tensor keeps its gradient. Unless
    `keep_graph`, each result lets go of its operands once they have their gradients, freeing the activations.
    """
    pending: dict[Tensor, Pending] = {root: (seed, False)}
    with np.errstate(under="ignore"):  # gradients vanishing to 0 is the honest answer, not an error
        order = walk([root])
        for node in steps(reversed(order), "backward", len(order)):
            arrived = pending.pop(node, None)
            if arrived is None:
                continue  # nothing that needs a gradient depends on it
            u, owned = arrived
            if node.op is None or retain_grads:
                node.grad = (u if owned else u.copy()) if node.grad is None else node.grad + u
            if node.op is None:
                continue
            if node.parents is None:
                raise RuntimeError(
                    f"backward: the graph through {node._label()} was freed by an earlier backward; "
                    "call the first backward with retain_graph=True to walk it twice"
                )
            for parent, g in zip(node.parents, node.op.gradients(u, node, not keep_graph), strict=True):
                if g is not None:
                    pending[parent] = accumulate(pending.get(parent), g)
            if not keep_graph:
                node.parents = None
