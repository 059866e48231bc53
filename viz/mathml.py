"""The derivation's names and formulas as MathML, which Chromium, Firefox and Safari typeset natively.

The text is the one the derivation, `lstm.names` and the primitives' `Partial`s write: `W_hi`, `h_{t-1}ᵀ`,
`∇_{W_hi} v`, `1−tanh²(p)`. `_x` or `_{…}` (nested braces allowed) is a subscript of the atom before it,
`ᵀ` and `²` are superscripts; a word of several letters is an upright name (tanh, softmax); everything else is
an operator. A `-` in a subscript is the minus sign, as the derivation prints it.
"""

from __future__ import annotations

import html
import re

SUPERSCRIPTS = {"ᵀ": '<mi mathvariant="normal">T</mi>', "²": "<mn>2</mn>", "³": "<mn>3</mn>"}
_TOKEN = re.compile(r"\s+|[A-Za-z]+|[0-9]+(?:\.[0-9]+)?|[α-ωΑ-Ω∇]|.", re.S)
_IDENTIFIER = re.compile(r"[A-Za-z]+|[α-ωΑ-Ω∇]")
# operators MathML should not stretch or space as fences: a subscript's parentheses stay the size of its text
_FENCES = "()[]‖"


class _Parser:
    def __init__(self, text: str) -> None:
        tokens = _TOKEN.findall(text)
        self.tokens = [t for t in tokens if not t.isspace()]
        # which tokens stand after a space: "1 on its block" keeps its spaces between words
        self.spaced = [k > 0 and tokens[k - 1].isspace() for k, t in enumerate(tokens) if not t.isspace()]
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def sequence(self, closing: str | None = None) -> list[str]:
        """Atoms up to `closing` (consumed) or the end; a space between two words, where one has several
        letters, is kept (a product such as W_xi x_t sets its factors side by side)."""
        items: list[str] = []
        previous = None
        while (token := self.peek()) is not None:
            if token == closing:
                self.take()
                return items
            if previous and self.spaced[self.at] and previous.isalnum() and token.isalnum() and \
                    max(len(previous), len(token)) > 1:
                items.append('<mspace width="0.3em"/>')
            previous = token
            items.append(self.atom())
        return items

    def atom(self) -> str:
        token = self.take()
        if token == "{":
            base = _row(self.sequence("}"))
        elif _IDENTIFIER.fullmatch(token):
            base = f"<mi>{html.escape(token)}</mi>"
        elif token[0].isdigit():
            base = f"<mn>{token}</mn>"
        elif token == "-":
            base = "<mo>−</mo>"
        elif token in _FENCES:
            base = f'<mo stretchy="false">{html.escape(token)}</mo>'
        else:
            base = f"<mo>{html.escape(token)}</mo>"
        sub = sup = None
        while (token := self.peek()) is not None and (token == "_" or token in SUPERSCRIPTS):
            self.take()
            if token in SUPERSCRIPTS:
                sup = SUPERSCRIPTS[token]
            elif self.peek() == "{":
                self.take()
                sub = _row(self.sequence("}"))
            elif self.peek() is not None:
                sub = self._script()
        if sub and sup:
            return f"<msubsup>{base}{sub}{sup}</msubsup>"
        if sub:
            return f"<msub>{base}{sub}</msub>"
        if sup:
            return f"<msup>{base}{sup}</msup>"
        return base

    def _script(self) -> str:
        """An unbraced subscript: one run of letters and digits (W_xi, x_t, h_0), read as letters then digits."""
        token = self.take()
        if token.isalpha() and self.peek() is not None and self.peek().isdigit():
            return _row([f"<mi>{token}</mi>", f"<mn>{self.take()}</mn>"])
        return f"<mn>{token}</mn>" if token[0].isdigit() else f"<mi>{html.escape(token)}</mi>"


def _row(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"<mrow>{''.join(items)}</mrow>"


def math(text: str) -> str:
    """`text` as one inline <math> element."""
    return f"<math>{_row(_Parser(text).sequence()) if text.strip() else ''}</math>"


_MATHS = re.compile(r"[_ᵀ²∇σΣ⊙·‖=+−]")
_NUMBER = re.compile(r"\(?[-+]?[0-9.]+(e[-+][0-9]+)?\)?[,;:]?")


def prose(text: str) -> str:
    """A title or label: words stay text, every word holding a subscript or a symbol is typeset as math (a
    number such as 2.7e+00 stays text)."""
    return " ".join(math(word) if _MATHS.search(word) and word not in "=+−" and not _NUMBER.fullmatch(word)
                    else html.escape(word) for word in text.split(" "))
