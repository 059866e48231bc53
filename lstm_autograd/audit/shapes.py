"""The shape of every symbol, inferred from the definitions alone (partials may be wrong, so they decide nothing).

A symbol's kind comes from its letter: a capital is a matrix (W_{x_i}), anything else a column vector (x_t, p);
numbers are scalars. Definitions tie the sizes together (q = W_{x_i}x_t: q has W's rows, x_t has W's columns),
by unification. Sizes are shared across the document by name, a time index aside (x_t, x_{t-1} and h_t,
h_{t-1} have one size; p, q, v, written without a subscript, are local to their section). Every size left
unrelated to another gets a distinct value ≥ 3, so a product that only works by coincidence cannot pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lstm_autograd.audit.document import Definition, Document
from lstm_autograd.audit.latex import (
    Apply,
    Expr,
    Nabla,
    Negate,
    Number,
    Power,
    Product,
    Symbol,
    Transpose,
    capital,
    children,
    nablas,
    symbols,
)

_TIME = re.compile(r"_(?:\{t(?:[+-](?:\d+|[a-z]))?\}|t)$")


class ShapeError(ValueError):
    pass


@dataclass(frozen=True)
class Type:
    kind: str  # "scalar", "column", "row" or "matrix"
    dims: tuple[int, ...]  # dimension variables: () for a scalar, (n,) for a vector, (rows, columns)


class _Dims:
    """Dimension variables under unification (union-find)."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, d: int) -> int:
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def shape_key(name: str, section: int) -> tuple:
    """Which symbols share a shape: by name without its time index; a bare letter only within its section."""
    if "_" not in name:
        return (section, name)
    return (None, _TIME.sub("", name))


@dataclass
class Shapes:
    """Every symbol's array shape (columns (n, 1), rows (1, n), matrices, scalars ()) and the definitions whose
    shapes do not fit, with the reason."""

    shapes: dict[tuple, tuple[int, ...]]
    sizes: dict[str, int]  # each size, named by the first vector that has it: {"h_{t-1}": 3, "x_t": 4}
    misfits: dict[tuple[int, int], str]  # (section, index of the definition in it) → why its shapes do not fit

    def of(self, name: str, section: int) -> tuple[int, ...]:
        return self.shapes[shape_key(name, section)]


class _Inference:
    def __init__(self, vectors: str) -> None:
        self.vectors = vectors  # "column", or "row" for a derivation written with row vectors
        self.dims = _Dims()
        self.types: dict[tuple, Type] = {}
        self.names: dict[tuple, str] = {}  # the first spelling of each shape's symbol: h_{t-1} for h

    def fresh(self, name: str) -> Type:
        if capital(name):
            return Type("matrix", (self.dims.new(), self.dims.new()))
        return Type(self.vectors, (self.dims.new(),))

    def symbol(self, name: str, section: int) -> Type:
        k = shape_key(name, section)
        if k not in self.types:
            self.types[k] = self.fresh(name)
            self.names[k] = name
        return self.types[k]

    def same(self, a: Type, b: Type, what: str) -> Type:
        if a.kind == "scalar":
            return b
        if b.kind == "scalar":
            return a
        if a.kind != b.kind:
            raise ShapeError(f"{what}: a {a.kind} and a {b.kind}")
        for x, y in zip(a.dims, b.dims, strict=True):
            self.dims.union(x, y)
        return a

    def juxtapose(self, a: Type, b: Type, what: str) -> Type:
        if a.kind == "scalar":
            return b
        if b.kind == "scalar":
            return a
        rule = {("matrix", "matrix"): ((1, 0), "matrix", ((0, 0), (1, 1))),
                ("matrix", "column"): ((1, 0), "column", ((0, 0),)),
                ("row", "matrix"): ((0, 0), "row", ((1, 1),)),
                ("row", "column"): ((0, 0), "scalar", ()),
                ("column", "row"): (None, "matrix", ((0, 0), (1, 0))),
                ("column", "column"): ((0, 0), "column", ((0, 0),)),  # two vectors side by side: elementwise
                ("row", "row"): ((0, 0), "row", ((0, 0),))}.get((a.kind, b.kind))
        if rule is None:
            raise ShapeError(f"{what}: a {a.kind} times a {b.kind} is no product")
        inner, kind, picks = rule
        if inner is not None:
            self.dims.union(a.dims[inner[0]], b.dims[inner[1]])
        return Type(kind, tuple((a, b)[operand].dims[index] for index, operand in picks))

    def infer(self, e: Expr, section: int) -> Type:
        if isinstance(e, Number):
            return Type("scalar", ())
        if isinstance(e, Symbol):
            return self.symbol(e.name, section)
        if isinstance(e, Nabla):
            raise ShapeError("a ∇ inside a definition")
        if isinstance(e, (Apply, Power, Negate)):
            return self.infer(e.arg if isinstance(e, Apply) else e.base, section)
        if isinstance(e, Transpose):
            t = self.infer(e.base, section)
            flipped = {"column": "row", "row": "column"}.get(t.kind, t.kind)
            return Type(flipped, t.dims[::-1])
        parts = [self.infer(c, section) for c in children(e)]
        combine = self.juxtapose if isinstance(e, Product) else self.same
        result = parts[0]
        for part in parts[1:]:
            result = combine(result, part, e.show())
        return result

    def define(self, d: Definition, section: int) -> None:
        value = self.infer(d.value, section)
        k = shape_key(d.symbol.name, section)
        if k in self.types:
            self.same(self.types[k], value, f"{d.symbol.name} = {d.value.show()}")
        else:
            self.types[k] = value
            self.names.setdefault(k, d.symbol.name)


def infer(document: Document, vectors: str = "column") -> Shapes:
    """The shapes of every symbol of the document, its vectors columns (or rows); a definition whose shapes
    cannot fit is set aside."""
    inference = _Inference(vectors)
    misfits = {}
    for s, section in enumerate(document.sections):
        for i, d in enumerate(section.definitions):
            saved = (list(inference.dims.parent), dict(inference.types))
            try:
                inference.define(d, s)
            except ShapeError as error:
                inference.dims.parent, inference.types = saved
                misfits[(s, i)] = str(error)
    for s, section in enumerate(document.sections):  # symbols only partials name: shapes of their own
        for p in section.partials:
            for name in [p.nabla.var.name, p.nabla.of.name, *(n.name for side in p.sides for n in _names(side))]:
                inference.symbol(name, s)
    size = _sizes(inference)
    shapes = {}
    named: dict[int, str] = {}  # a size → the first vector of the document that has it, to name it in reports
    for k, t in inference.types.items():
        n = [size[inference.dims.find(d)] for d in t.dims]
        if t.kind == "column":
            named.setdefault(n[0], inference.names.get(k, k[1]))
        shapes[k] = {"scalar": (1, 1), "column": (n[0], 1), "row": (1, n[0])}.get(t.kind, tuple(n))
    return Shapes(shapes, {name: n for n, name in sorted(named.items())}, misfits)


def _sizes(inference: _Inference) -> dict[int, int]:
    """A distinct size ≥ 3 for every root dimension a section can see: the shared symbols' (subscripted, so
    alike across sections) first, then each section's own, which may repeat from section to section (each is
    checked alone), so that sizes, and the audit's work, do not grow with the number of sections."""
    find = inference.dims.find
    shared = sorted({find(d) for k, t in inference.types.items() if k[0] is None for d in t.dims})
    size = {root: 3 + n for n, root in enumerate(shared)}
    local: dict[int, list[int]] = {}
    for k, t in inference.types.items():
        if k[0] is not None:
            local.setdefault(k[0], []).extend(r for r in map(find, t.dims) if r not in size)
    for roots in local.values():
        for n, root in enumerate(dict.fromkeys(roots)):
            size.setdefault(root, 3 + len(shared) + n)
    for d in range(len(inference.dims.parent)):  # a dimension no symbol holds any more (a definition set aside)
        size.setdefault(find(d), 3 + len(size))
    return size


def _names(e: Expr) -> list[Symbol]:
    return [*symbols(e), *(s for n in nablas(e) for s in (n.var, n.of))]
