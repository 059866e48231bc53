"""Expressions over a section's symbols rewritten: expanded into what they are computed from, folded back into
the symbols that name their parts, matched and aligned against one another, and checked for cycles."""

from __future__ import annotations

import itertools
from dataclasses import replace

from lstm_autograd.audit.document import Definition, Document, Section
from lstm_autograd.audit.latex import (
    Apply,
    Expr,
    Hadamard,
    Nabla,
    Number,
    Power,
    Product,
    Sum,
    Symbol,
    Transpose,
    capital,
    children,
    key,
    rebuild,
    symbols,
)

Reading = dict[str, Expr]  # symbol → the expression that computes it


def expand(e: Expr, reading: Reading) -> Expr:
    if isinstance(e, Symbol) and e.name in reading:
        return expand(reading[e.name], reading)
    kids = children(e)
    return rebuild(e, tuple(expand(c, reading) for c in kids)) if kids else e


def fold(e: Expr, reading: Reading, exclude: set[str]) -> Expr:
    """e with every proper subexpression that computes exactly what a defined symbol does replaced by that
    symbol: σ(W_{x_i}x_t + W_{h_i}h_{t-1} + b_i) becomes σ(p) when p = q + v + b_i, q = W_{x_i}x_t, …"""
    targets = {key(expand(value, reading)): name for name, value in reading.items()
               if name not in exclude and not isinstance(value, Symbol)}

    def go(node: Expr, root: bool) -> Expr:
        if not root and not isinstance(node, (Symbol, Number, Nabla)):
            name = targets.get(key(expand(node, reading)))
            if name is not None:
                return Symbol(name)
        kids = children(node)
        return rebuild(node, tuple(go(c, False) for c in kids)) if kids else node

    return go(e, True)


def match(pattern: Expr, target: Expr, variables: set[str], bound: dict[str, Expr] | None = None
          ) -> dict[str, Expr] | None:
    """Bindings of the pattern's variables (the section's defined symbols) that make it the target, or None.
    Sums and ⊙ match in any order of their terms."""
    bound = {} if bound is None else bound
    if isinstance(pattern, Symbol) and pattern.name in variables:
        if pattern.name in bound:
            return bound if key(bound[pattern.name]) == key(target) else None
        return {**bound, pattern.name: target}
    if type(pattern) is not type(target):
        return None
    if isinstance(pattern, (Symbol, Number, Nabla)):
        return bound if key(pattern) == key(target) else None
    if isinstance(pattern, Apply) and (pattern.function, pattern.derivative) != (target.function, target.derivative):
        return None
    if isinstance(pattern, Power) and pattern.exponent != target.exponent:
        return None
    mine, theirs = children(pattern), children(target)
    if len(mine) != len(theirs):
        return None
    orders = itertools.permutations(theirs) if isinstance(pattern, (Sum, Hadamard)) else [theirs]
    for order in orders:
        result: dict[str, Expr] | None = bound
        for p, t in zip(mine, order, strict=True):
            result = match(p, t, variables, result)
            if result is None:
                break
        if result is not None:
            return result
    return None


def align(pattern: Expr, target: Expr, variables: set[str]) -> tuple[Expr, dict[str, Expr]]:
    """The target as the pattern would have it, and the pattern's variables bound to the target's parts, even
    where the two differ: g_t = σ(p) against tanh(W_{x_g}x_t + …) gives tanh(p), with p ↦ W_{x_g}x_t + …"""
    bound = match(pattern, target, variables)
    if bound is not None:
        return pattern, bound
    if isinstance(pattern, Symbol) and pattern.name in variables:
        return pattern, {pattern.name: target}
    mine, theirs = children(pattern), children(target)
    if type(pattern) is not type(target) or not mine or len(mine) != len(theirs):
        return target, {}
    parts, bindings = [], {}
    for p, t in zip(mine, theirs, strict=True):
        part, found = align(p, t, variables)
        parts.append(part)
        bindings = {**found, **bindings}
    return rebuild(target, tuple(parts)), bindings


def cycle(reading: Reading) -> list[str] | None:
    """Symbols that are computed from themselves, in order, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for s in symbols(reading[name]):
            if s.name not in reading:
                continue
            if state.get(s.name) == 1:
                return path[path.index(s.name):] + [s.name]
            if s.name not in state and (found := visit(s.name, [*path, s.name])):
                return found
        state[name] = 2
        return None

    for name in reading:
        if name not in state and (found := visit(name, [name])):
            return found
    return None


def column_form(e: Expr) -> Expr:
    """A formula of the row form (vectors as rows: q = x_t W^T) as its transpose in column form (q = W x_t): the
    same numbers, with every vector a column. Products reverse, matrices are transposed, vectors stay."""
    if isinstance(e, Symbol):
        return Transpose(e) if capital(e.name) else e
    if isinstance(e, Transpose):
        inner = column_form(e.base)
        return inner.base if isinstance(inner, Transpose) else Transpose(inner)
    if isinstance(e, Product):
        return Product(tuple(column_form(f) for f in reversed(e.parts)))
    kids = children(e)
    return rebuild(e, tuple(column_form(c) for c in kids)) if kids else e


def in_column_form(document: Document) -> Document:
    """The document with every definition read in column form (`column_form`), kept as written for the report."""
    sections = [Section(s.title, s.line, [replace(c, value=column_form(c.value), written=c.value)
                                          if isinstance(c, Definition) else c for c in s.claims])
                for s in document.sections]
    return Document(sections, document.remarks, document.formulas)
