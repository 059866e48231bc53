"""Names and formulas as Graphviz HTML-like labels: subscripts rendered, everything else escaped."""

from __future__ import annotations

import html
import re
import unicodedata

import numpy as np

# W_xi, x_t, h_{t-1}: the derivation's subscripts. A brace anywhere else, or an empty pair, is an ordinary character.
_SUBSCRIPT = re.compile(r"_(\{[^{}]+\}|[A-Za-z0-9]+)")
# A subscript of a subscript (the t−1 of ∇_{h_{t−1}}) is set this much smaller than the text it hangs from, so
# that `viz.svg` can tell the two levels apart and lower the second one further.
NESTED = 0.8


def visible(text: str, keep: str = "") -> str:
    """Control characters (but those in `keep`) as Python writes them, `\\x01`, `\\t`: Graphviz's XML parser
    rejects them, and a name should read as it was written."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) == "Cc" and c not in keep else c for c in text)


def rich(text: str, nested: float | None = None) -> str:
    """`h_{t-1}ᵀ` → h<SUB>t−1</SUB>ᵀ, with every other character escaped for an HTML-like label. Inside another
    subscript, give `nested`: the point size of the text around it."""
    out, last = [], 0
    text = visible(text)
    for match in _SUBSCRIPT.finditer(text):
        out.append(escape(text[last:match.start()]))
        sub = escape(match.group(1).strip("{}").replace("-", "−"))
        out.append(f"<SUB>{sub}</SUB>" if nested is None else
                   f'<SUB><FONT POINT-SIZE="{nested * NESTED:g}">{sub}</FONT></SUB>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def escape(text: str) -> str:
    """Plain text in an HTML-like label: HTML's escapes, and a backslash doubled, or Graphviz would read \\N or
    \\G as the node's or the graph's name."""
    return html.escape(text).replace("\\", "\\\\")


def partial_label(parent: str, child: str, formula: str, size: float = 10) -> str:
    """∇_{parent} child = formula, as the derivation writes it, for text of `size` points."""
    return f"∇<SUB>{rich(parent, nested=size)}</SUB> {rich(child)} = {rich(formula)}"


def plain_text(text: str) -> str:
    """Text for a quoted attribute Graphviz reads as an escString (a tooltip), shown as written: a backslash is
    doubled for the DOT parser, and the pair doubled again, or \\N would become the node's name."""
    return visible(text, keep="\n").replace("\\", "\\" * 4)


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
