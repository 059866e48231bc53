"""Names and formulas as Graphviz HTML-like labels: subscripts rendered, everything else escaped."""

from __future__ import annotations

import html
import re

import numpy as np

# W_xi, x_t, h_{t-1}: the derivation's subscripts. A brace anywhere else is an ordinary character.
_SUBSCRIPT = re.compile(r"_(\{[^{}]*\}|[A-Za-z0-9]+)")


def rich(text: str) -> str:
    """`h_{t-1}ᵀ` → h<SUB>t−1</SUB>ᵀ, with every other character escaped for an HTML-like label."""
    out, last = [], 0
    for match in _SUBSCRIPT.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        sub = match.group(1).strip("{}").replace("-", "−")
        out.append(f"<SUB>{html.escape(sub)}</SUB>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def partial_label(parent: str, child: str, formula: str) -> str:
    """∇_{parent} child = formula, as the derivation writes it."""
    return f"∇<SUB>{rich(parent)}</SUB> {rich(child)} = {rich(formula)}"


def array_text(a: np.ndarray, limit: int) -> list[str]:
    """Every element when there are at most `limit` (one line per row), else norm, min and max."""
    if a.size == 0:
        return ["(empty)"]
    if a.size > limit:
        return [f"‖·‖ {np.linalg.norm(a):.3g}   min {a.min():.3g}   max {a.max():.3g}"]
    if a.ndim <= 1:
        return [_row(np.atleast_1d(a))]
    return [_row(row) for row in a.reshape(-1, a.shape[-1])]


def _row(values: np.ndarray) -> str:
    return "[" + "  ".join(f"{v:.3g}" for v in values) + "]"


def tooltip(a: np.ndarray) -> str:
    return np.array2string(a, precision=5, suppress_small=True, max_line_width=100, threshold=10_000)
