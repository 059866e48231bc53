"""One reading of a section at one random point: the value of every symbol, and the Jacobian of any symbol with
respect to any other, through the definitions of that reading, from the engine's primitives."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from autograd import Tensor
from lstm_autograd.audit.evaluate import evaluate, jacobian, value
from lstm_autograd.audit.latex import Expr, Nabla, Symbol, symbols


def sources(reading: dict[str, Expr]) -> dict[str, frozenset[str]]:
    """Every symbol each defined symbol is computed from, through the reading (which has no cycle)."""
    found: dict[str, frozenset[str]] = {}

    def of(name: str) -> frozenset[str]:
        if name not in found:
            direct = {s.name for s in symbols(reading[name])}
            found[name] = frozenset(direct).union(*(of(d) for d in direct if d in reading))
        return found[name]

    for name in reading:
        of(name)
    return found


@dataclass
class Point:
    """Random values for the symbols no definition computes, drawn when first asked for and then shared by every
    reading of the section, so two readings are compared at the same inputs."""

    shape_of: Callable[[str], tuple[int, ...]]
    rng: np.random.Generator
    leaves: dict[str, np.ndarray] = field(default_factory=dict)
    probes: np.random.Generator = field(init=False)  # for the finite-difference witness and the cotangents

    def __post_init__(self) -> None:
        self.probes = np.random.default_rng(self.rng.integers(2**32))

    def leaf(self, name: str) -> np.ndarray:
        if name not in self.leaves:
            self.leaves[name] = self.rng.standard_normal(self.shape_of(name))
        return self.leaves[name]


class Graph:
    """A section's symbols computed by one definition each (`reading`: symbol → expression) at one point."""

    def __init__(self, reading: dict[str, Expr], point: Point):
        self.reading = reading
        self.point = point
        self.values: dict[str, np.ndarray] = {}
        self.sources = sources(reading)
        self._jacobians: dict[tuple[str, str], np.ndarray] = {}

    def value(self, name: str) -> np.ndarray:
        if name not in self.reading:
            return self.point.leaf(name)
        if name not in self.values:
            self.values[name] = self.compute(self.reading[name])
        return self.values[name]

    def compute(self, e: Expr) -> np.ndarray:
        """The value of any expression over the section's symbols."""
        return value(e, self._constant)

    def _constant(self, e: Symbol | Nabla) -> Tensor:
        if isinstance(e, Nabla):
            raise ValueError(f"{e.show()} inside a definition")
        return Tensor(self.value(e.name), name=e.name)

    def depends(self, name: str, on: str) -> bool:
        """Whether `name` is computed from `on`, through the reading's definitions."""
        return on in self.sources.get(name, ())

    def build(self, name: str, on: str, x: Tensor, named: bool = False) -> Tensor:
        """`name` as a graph of primitives whose only input is x standing for `on`; the rest at their values
        (`named`: every node named by its formula)."""
        memo: dict[str, Tensor] = {on: x.named(on)}

        def tensor(s: Symbol | Nabla) -> Tensor:
            if s.name not in memo:
                if self.depends(s.name, on):
                    memo[s.name] = evaluate(self.reading[s.name], tensor, named).named(s.name)
                else:
                    memo[s.name] = self._constant(s)
            return memo[s.name]

        return tensor(Symbol(name))

    def jacobian(self, of: str, on: str) -> np.ndarray:
        """∂of/∂on as a matrix (of.size, on.size): zero when `of` is not computed from `on`."""
        k = (of, on)
        if k not in self._jacobians:
            at = self.value(on)
            if of == on:
                self._jacobians[k] = np.eye(at.size)
            elif not self.depends(of, on):
                self._jacobians[k] = np.zeros((self.value(of).size, at.size))
            else:
                self._jacobians[k] = jacobian(lambda x: self.build(of, on, x), at, self.point.probes)
        return self._jacobians[k]

    def formula(self, s: str, a: str) -> str:
        """What ∇_a s is, from the engine's declared partials along the graph: one formula per edge of the path from
        s down to a (σ's `(1−σ(p))σ(p)`, matmul's `x_tᵀ`, …)."""
        if s == a:
            return "1"
        if not self.depends(s, a):
            return "0"
        x = Tensor(self.value(a), requires_grad=True, name=a)
        out = self.build(s, a, x, named=True)
        paths: list[list[tuple[Tensor, int]]] = []

        def walk(node: Tensor, path: list[tuple[Tensor, int]]) -> None:
            if node is x:
                paths.append(path)
                return
            for k, parent in enumerate(node.parents or ()):
                if parent.requires_grad:
                    walk(parent, [*path, (node, k)])

        walk(out, [])
        if len(paths) != 1:
            return f"the sum over the {len(paths)} paths from {s} to {a}"
        formulas = [node.op.formula(k, [p.name for p in node.parents]) for node, k in paths[0]]
        named = [node.name for node, _ in paths[0] if node.name in self.reading] + [a]
        chain = " ".join(Nabla(Symbol(lower), Symbol(upper)).show() for upper, lower in itertools.pairwise(named))
        text = " · ".join([f for f in formulas if f != "1"] or ["1"])  # a sum's 1 changes no product
        return text if len(named) == 2 else f"{chain} = {text}"

    def vjp(self, of: str, on: str, u: np.ndarray) -> np.ndarray:
        """The gradient at `on` when u arrives at `of`: ∇_on L for ∇_of L = u, shaped like `on`."""
        return (self.jacobian(of, on).T @ u.ravel()).reshape(self.value(on).shape)
