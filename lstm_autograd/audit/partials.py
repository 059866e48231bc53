"""The verdict on one partial, `∇_a s = E₁ = E₂ …`: each right side against ∇_a s of the section's graph.

How a written array means a partial (docs/audit.md, "Conventions"): u = ∇_s L is the gradient arriving at s.

- Column form, the engine's own (`autograd/ops.py` declares its partials so): vectors are columns, and
  ∇_a s is what u is multiplied by to give ∇_a L. Elementwise, ∇_a L = ∇_a s ⊙ u, where s and a have one
  shape and the Jacobian is diagonal (σ's (1−σ(p))σ(p), ⊙'s other operand, a sum's 1). For a vector a,
  ∇_a L = (∇_a s) u: ∇_a s is the transposed Jacobian, (|a|, |s|) (∇_{x_t} q = W_{x_i}ᵀ). For a matrix a,
  ∇_a L = u (∇_a s): ∇_a s is a row (∇_{W_{x_i}} q = x_tᵀ), or, where s = aᵀx, ∇_a L = (∇_a s) uᵀ.
- Row form, a stated convention: vectors are rows, u too. For a vector a, ∇_a L = u (∇_a s): ∇_a s is the
  Jacobian ∂s/∂a itself, (|s|, |a|). A matrix's gradient comes out transposed, (∇_a L)ᵀ, unless the row form
  uses the matrix as it is (x W), and then as ∇_a L.
- A ∇ inside a right side whose numerator is s (∇_p i_t in `x_tᵀ ∇_p i_t`) stands for u passed through it,
  δ = ∇_p L: the side is then a gradient, compared with ∇_a L (column form) or (∇_a L)ᵀ (row form). Every
  other ∇ inside a side stands for its array in the form being read.
- A side made of ∇s alone (∇_p i_t ∇_q p ∇_{W_{x_i}} q) is the chain rule: consecutive factors must share
  their symbol, in either order of writing, and the product of their Jacobians must be ∂s/∂a.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograd import Tensor
from lstm_autograd.audit.document import Partial
from lstm_autograd.audit.evaluate import value
from lstm_autograd.audit.graph import Graph
from lstm_autograd.audit.latex import Expr, Nabla, Negate, Product, Sum, Symbol, braced, nablas
from lstm_autograd.audit.rewriting import column_form
from lstm_autograd.audit.shapes import ShapeError

RTOL, ATOL = 1e-8, 1e-10  # float64 throughout; a right partial agrees to rounding, a wrong one by far more
RANK = {"right": 0, "convention": 1, "wrong": 2}


@dataclass(frozen=True)
class Verdict:
    verdict: str  # "right", "convention" (right up to the stated convention) or "wrong"
    message: str = ""


def nabla(a: str, s: str) -> str:
    return Nabla(Symbol(a), Symbol(s)).show()


def close(x: np.ndarray, y: np.ndarray) -> bool:
    return x.shape == y.shape and bool(np.all(np.abs(x - y) <= ATOL + RTOL * max(1.0, np.max(np.abs(y), initial=0))))


def judge(partial: Partial, graphs: list[Graph]) -> Verdict:
    """The worst verdict over the partial's right sides, with what each wrong or conventional side is."""
    s, a = partial.nabla.of.name, partial.nabla.var.name
    us = [g.point.probes.standard_normal(g.value(s).shape) for g in graphs]
    verdicts = [side_verdict(side, s, a, graphs, us) for side in partial.sides]
    worst = max(verdicts, key=lambda v: RANK[v.verdict])
    many = len(partial.sides) > 1
    messages = [f"{side.show()}: {v.message}" if many else v.message
                for side, v in zip(partial.sides, verdicts, strict=True) if v.verdict != "right"]
    return Verdict(worst.verdict, "; ".join(messages))


def side_verdict(side: Expr, s: str, a: str, graphs: list[Graph], us: list[np.ndarray]) -> Verdict:
    chain = _chain_terms(side)
    if chain is not None:
        return _chain(chain, s, a, graphs)
    return _array(side, s, a, graphs, us)


# ---------------------------------------------------------------------------------------------------------
# Chains: sides made of ∇s alone
# ---------------------------------------------------------------------------------------------------------


def _chain_terms(side: Expr) -> list[tuple[int, list[Nabla]]] | None:
    """(sign, factors) for each term of a side made of ∇s alone; None for any other side."""
    terms = []
    for term in side.parts if isinstance(side, Sum) else (side,):
        sign = -1 if isinstance(term, Negate) else 1
        body = term.base if isinstance(term, Negate) else term
        factors = list(body.parts) if isinstance(body, Product) else [body]
        if not all(isinstance(f, Nabla) for f in factors):
            return None
        terms.append((sign, factors))
    return terms


def _ordered(factors: list[Nabla]) -> list[Nabla] | str:
    """The factors from s down to a, or why they are no chain."""
    if all(f.var == g.of for f, g in itertools.pairwise(factors)):
        return factors
    if all(f.of == g.var for f, g in itertools.pairwise(factors)):
        return factors[::-1]
    f, g = next((f, g) for f, g in itertools.pairwise(factors) if f.var != g.of)
    return (f"{Product(tuple(factors)).show()} is no chain: {f.show()} is followed by {g.show()}, "
            f"and {f.var.name} ≠ {g.of.name}")


def _chain(terms: list[tuple[int, list[Nabla]]], s: str, a: str, graphs: list[Graph]) -> Verdict:
    ordered = []
    for sign, factors in terms:
        chain = _ordered(factors)
        if isinstance(chain, str):
            return Verdict("wrong", chain)
        ordered.append((sign, chain))
    worst = 0.0
    for g in graphs:
        reference = g.jacobian(s, a)
        total = np.zeros_like(reference)
        for sign, chain in ordered:
            product = g.jacobian(chain[0].of.name, chain[0].var.name)
            for f in chain[1:]:
                product = product @ g.jacobian(f.of.name, f.var.name)
            if product.shape != reference.shape:
                return Verdict("wrong", f"the chain ends at ∂{chain[0].of.name}/∂{chain[-1].var.name}, "
                                        f"whose size differs from ∂{s}/∂{a}'s")
            total += sign * product
        if not close(total, reference):
            worst = max(worst, float(np.max(np.abs(total - reference))))
    if worst:
        return Verdict("wrong", f"the product of these partials differs from the graph's {nabla(a, s)} by up to "
                                f"{worst:.3g}")
    return Verdict("right")


# ---------------------------------------------------------------------------------------------------------
# Arrays: any other side
# ---------------------------------------------------------------------------------------------------------


def _oriented(x: np.ndarray, form: str) -> np.ndarray:
    """A value in the form being read: in row form a vector is a row."""
    return x.T if form == "row" and x.ndim == 2 and x.shape[1] == 1 and x.shape[0] > 1 else x


def array_form(J: np.ndarray, on: tuple[int, ...], of: tuple[int, ...], form: str) -> np.ndarray | None:
    """How the derivation writes a partial whose Jacobian is J (of.size, on.size): its diagonal when it is
    elementwise, a matrix between vectors, a row for a matrix operand (as the engine declares matmul's)."""
    if on == of and np.allclose(J, np.diag(np.diag(J)), rtol=0, atol=0):
        return _oriented(np.diag(J).reshape(of), form)
    if on[1:] == (1,) and of[1:] == (1,):
        return J.T if form == "column" else J
    for side, r in _operand_of(J, on, of):
        if side == "left":
            return r[None, :] if form == "column" else r[:, None]
        return r[:, None]
    return None


def _operand_of(J: np.ndarray, on: tuple[int, ...], of: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """Where s is a matrix `on` times a vector: ("left", r) when s = on·r (q = W x_t: J[i, (i, l)] = r_l), or
    ("right", r) when s = onᵀ·r, the row form's x_t W (J[i, (k, i)] = r_k)."""
    if len(on) != 2 or on[1] == 1 or of[1:] != (1,):
        return []
    found = []
    if of[0] == on[0]:
        blocks = J.reshape(of[0], on[0], on[1])
        if all(np.array_equal(blocks[i, i], blocks[0, 0]) for i in range(of[0])) and \
                not np.any(blocks[~np.eye(of[0], dtype=bool)]):
            found.append(("left", blocks[0, 0]))
    if of[0] == on[1]:
        blocks = J.reshape(of[0], on[0], on[1]).transpose(0, 2, 1)
        if all(np.array_equal(blocks[i, i], blocks[0, 0]) for i in range(of[0])) and \
                not np.any(blocks[~np.eye(of[0], dtype=bool)]):
            found.append(("right", blocks[0, 0]))
    return found


def candidates(P: np.ndarray, on: tuple[int, ...], of: tuple[int, ...], form: str) -> dict[str, np.ndarray]:
    """The Jacobians a written array P can mean, by the convention's rules (module docstring)."""
    found = {}
    scalar = P.ndim == 0 or P.shape == (1, 1)
    if on == of and (scalar or P.shape == _oriented(np.empty(of), form).shape):
        found["elementwise"] = np.diag(np.broadcast_to(P if scalar else P.reshape(of), of).ravel())
    if on[1:] == (1,) and of[1:] == (1,):
        if form == "column" and P.shape == (on[0], of[0]):
            found["vector"] = P.T
        if form == "row" and P.shape == (of[0], on[0]):
            found["vector"] = P
    if len(on) == 2 and on[1] != 1 and of[1:] == (1,):
        if of[0] == on[0] and P.shape == ((1, on[1]) if form == "column" else (on[1], 1)):
            found["matrix"] = np.kron(np.eye(on[0]), P.reshape(1, -1))  # ∇_W L = u r: q = W x_t, ∇_W q = x_tᵀ
        if of[0] == on[1] and P.shape == (on[0], 1):
            found["matrix, right"] = np.kron(P.reshape(1, -1), np.eye(on[1]))  # ∇_W L = r uᵀ: the row form's x_t W
    return found


ROW_FORM = {
    "vector": "row form: vectors are rows, so this is the Jacobian ∂{s}/∂{a}, which the row u multiplies from the "
              "left; the column form, the engine's, writes its transpose",
    "matrix": "row form: vectors are rows, so this is (∇_{a} L)ᵀ, laid out as the row form's matrix",
    "matrix, right": "row form: vectors are rows, so this is ∇_{a} L as the row form's x W lays it out",
    "gradient": "row form (vectors as rows): it is (∇_{a} L)ᵀ, shape {shape}",
    "gradient as laid out": "row form (vectors as rows): it is ∇_{a} L, shape {shape}",
}


def _lookup(g: Graph, form: str, s: str, u: np.ndarray) -> Callable[[Symbol | Nabla], Tensor]:
    def lookup(e: Symbol | Nabla) -> Tensor:
        if isinstance(e, Symbol):
            return Tensor(_oriented(g.value(e.name), form))
        if e.of.name == s:  # the ∇ that the gradient u enters by: δ = ∇_{var} L
            delta = g.vjp(s, e.var.name, u)
            return Tensor(delta.T if form == "row" else delta)
        written = array_form(g.jacobian(e.of.name, e.var.name), g.value(e.var.name).shape,
                             g.value(e.of.name).shape, form)
        if written is None:
            raise ShapeError(f"{e.show()} has no array form (neither elementwise, nor between vectors, nor a "
                             "matrix operand's row): write it as a chain")
        return Tensor(written)

    return lookup


def _array(side: Expr, s: str, a: str, graphs: list[Graph], us: list[np.ndarray]) -> Verdict:
    gradient = any(n.of.name == s for n in nablas(side))
    on, of = graphs[0].value(a).shape, graphs[0].value(s).shape
    problems: list[str] = []
    for form in ("column", "row"):
        matched: set[str] | None = None
        for g, u in zip(graphs, us, strict=True):
            try:
                P = value(side, _lookup(g, form, s, u))
            except ShapeError as error:
                problems.append(f"in {form} form {error}")
                matched = set()
                break
            if gradient:
                target = g.vjp(s, a, u)
                targets = {"gradient": target} if form == "column" else {"gradient": target.T}
                if form == "row" and min(target.shape) > 1:
                    targets["gradient as laid out"] = target  # a matrix the row form uses as it is: x_t W
                ok = {name for name, t in targets.items() if close(P, t)}
                if not ok and form == "column":
                    problems.append(_gradient_miss(P, target, side))
            else:
                reference = g.jacobian(s, a)
                found = candidates(P, on, of, form)
                ok = {name for name, J in found.items() if close(J, reference)}
                if not ok and form == "column":
                    problems.append(_array_miss(P, found, reference, on, of, side, a, s))
            matched = ok if matched is None else matched & ok
            if not matched:
                break
        if matched:
            if form == "column":
                return Verdict("right")
            name = sorted(matched)[0]
            message = ROW_FORM[name].format(s=s, a=braced(a), shape=P.shape, a_shape=on)
            if name == "gradient":
                rewrite = _column_rewrite(side, s, a, graphs, us)
                message += f"; in column form, the engine's: {rewrite + ' = ' if rewrite else ''}∇_{braced(a)} L, " \
                           f"shape {on}"
            return Verdict("convention", message)
    return Verdict("wrong", problems[0] if problems else "it does not evaluate")


def _gradient_miss(P: np.ndarray, target: np.ndarray, side: Expr) -> str:
    if P.shape != target.shape:
        return f"{side.show()} has shape {P.shape}, but ∇_a L has shape {target.shape}"
    if close(-P, target):
        return "its sign is wrong"
    return f"it differs from the graph's gradient by up to {np.max(np.abs(P - target)):.3g}"


def _array_miss(P: np.ndarray, found: dict[str, np.ndarray], reference: np.ndarray, on: tuple[int, ...],
                of: tuple[int, ...], side: Expr, a: str, s: str) -> str:
    if not found:
        if np.allclose(reference, 0):
            return f"{s} is not computed from {a}"
        wanted = []
        if on == of:
            wanted.append(f"{of} (elementwise)")
        if on[1:] == (1,) and of[1:] == (1,):
            wanted.append(f"{(on[0], of[0])} (between vectors)")
        if len(on) == 2 and of == (on[0], 1):
            wanted.append(f"{(1, on[1])} (a matrix operand's row)")
        if len(on) == 2 and of == (on[1], 1):
            wanted.append(f"{(on[0], 1)} (a transposed matrix operand's column)")
        hint = ""
        if P.ndim == 2 and any(close(J, reference) for J in candidates(P.T, on, of, "column").values()):
            hint = "; it is the transpose of the right value"
        return (f"{side.show()} has shape {P.shape}; {nabla(a, s)} in column form has "
                f"{' or '.join(wanted) or 'none'}{hint}")
    if any(close(-J, reference) for J in found.values()):
        return "its sign is wrong"
    if np.allclose(reference, 0):
        return f"{s} is not computed from {a}"
    worst = min(float(np.max(np.abs(J - reference))) for J in found.values())
    return f"it differs from the graph's {nabla(a, s)} by up to {worst:.3g}"


def _column_rewrite(side: Expr, s: str, a: str, graphs: list[Graph], us: list[np.ndarray]) -> str:
    """The same side in column form (`column_form`: reversed, matrices transposed), when it checks."""
    rewrite = column_form(side)
    try:
        if all(close(value(rewrite, _lookup(g, "column", s, u)), g.vjp(s, a, u)) for g, u in zip(graphs, us,
                                                                                                   strict=True)):
            return rewrite.show()
    except ShapeError:
        pass
    return ""
