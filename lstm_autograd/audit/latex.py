"""The LaTeX the audit reads: a tokenizer and a recursive-descent parser to a small expression tree.

Grammar (docs/audit.md has the table with examples):

    statement := expr ("=" expr)*
    expr      := ["-"] term (("+" | "-") term)*
    term      := power ((juxtaposition | "\\cdot" | "\\odot" | "\\circ") power)*
    power     := atom ("^T" | "^\\top" | "^2" | "^{...}")*
    atom      := number | symbol | "\\nabla_" symbol symbol | function atom | "(" expr ")" | "{" expr "}"
    function  := ("\\sigma" | "\\tanh") ["'"] ["^2"]
    symbol    := letter ["_" (char | "{...}")]

Products by juxtaposition are written as such (`W_{x_i}x_t`); which product they are (a matrix product or,
between two vectors, the elementwise one) is decided by the operands' shapes, in `audit.shapes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------------------------------------


class Node:
    """What every node of the tree shares: it is written back in the report's notation by the table `SHOW`."""

    def show(self) -> str:
        return SHOW[type(self)](self)


@dataclass(frozen=True)
class Symbol(Node):
    name: str  # as the document spells it, normalised: W_{x_i}, h_{t-1}, x_t, p, \\delta_t


@dataclass(frozen=True)
class Number(Node):
    """A scalar: `1` in `1-\\sigma(p)`, `2` in `2x`."""

    value: float


@dataclass(frozen=True)
class Nabla(Node):
    """∇_var of: the partial of `of` with respect to `var`."""

    var: Symbol
    of: Symbol


@dataclass(frozen=True)
class Apply(Node):
    """σ(arg) or tanh(arg); `derivative` for σ'(arg), tanh'(arg)."""

    function: str  # "sigma" or "tanh"
    arg: Expr
    derivative: bool = False


@dataclass(frozen=True)
class Unary(Node):
    base: Expr


class Transpose(Unary):
    """`^T`, `^\\top`: a column vector becomes a row, a matrix its transpose."""


class Negate(Unary):
    """A term with a minus sign: `-v` in `q - v`."""


@dataclass(frozen=True)
class Power(Unary):
    """A whole power, elementwise: `(x)^2`, and `\\tanh^2(x)`, which is tanh(x)²."""

    exponent: int


@dataclass(frozen=True)
class Nary(Node):
    parts: tuple[Expr, ...]


class Sum(Nary):
    """Terms added: `q + v + b_i`; a subtracted term is a Negate."""


class Product(Nary):
    """Juxtaposition (or \\cdot): a matrix product, or elementwise between two vectors of one shape."""


class Hadamard(Nary):
    """`\\odot` (or `\\circ`): the elementwise product."""


Expr = Symbol | Number | Nabla | Apply | Power | Transpose | Negate | Sum | Product | Hadamard


def _symbol(e: Symbol) -> str:
    if not e.name.startswith("\\"):
        return e.name
    base, underscore, rest = e.name[1:].partition("_")  # \\delta_t is δ_t
    return GREEK.get(base, "\\" + base) + underscore + rest


def _power(e: Power) -> str:
    power = str(e.exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    if isinstance(e.base, Apply) and not e.base.derivative:  # tanh²(p), the way the derivation writes it
        name, argument = e.base.show().split("(", 1)
        return f"{name}{power}({argument}"
    return f"{_wrapped(e.base)}{power}"


def _sum(e: Sum) -> str:
    return e.parts[0].show() + "".join(f" − {_wrapped(t.base, Sum)}" if isinstance(t, Negate) else f" + {t.show()}"
                                       for t in e.parts[1:])


def _wrapped(e: Expr, *loose: type) -> str:
    """e's text, in parentheses where it binds more loosely than its place (all compound forms, unless told)."""
    kinds = loose or (Sum, Negate, Product, Hadamard)
    return f"({e.show()})" if isinstance(e, kinds) else e.show()


SHOW: dict[type, Callable[..., str]] = {
    Symbol: _symbol,
    Number: lambda e: f"{e.value:g}",
    Nabla: lambda e: f"∇_{braced(e.var.show())} {e.of.show()}",
    Apply: lambda e: f"{'σ' if e.function == 'sigma' else 'tanh'}{'′' if e.derivative else ''}({e.arg.show()})",
    Power: _power,
    Transpose: lambda e: f"{_wrapped(e.base)}ᵀ",
    Negate: lambda e: f"−{_wrapped(e.base, Sum)}",
    Sum: _sum,
    Product: lambda e: " ".join(_wrapped(f, Sum, Negate, Hadamard) for f in e.parts),
    Hadamard: lambda e: " ⊙ ".join(_wrapped(f, Sum, Negate) for f in e.parts),
}


def braced(name: str) -> str:
    """A subscript as LaTeX writes it: one character bare, more in braces."""
    return name if len(name) == 1 else "{" + name + "}"


def capital(name: str) -> bool:
    """A capital letter names a matrix (W_{x_i}, U_z, \\Delta); any other letter a vector."""
    return name.lstrip("\\")[:1].isupper()


def children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Nary):
        return e.parts
    if isinstance(e, Unary):
        return (e.base,)
    if isinstance(e, Apply):
        return (e.arg,)
    return ()


def rebuild(e: Expr, new: tuple[Expr, ...]) -> Expr:
    """e with its children replaced by `new`."""
    if isinstance(e, Power):
        return Power(new[0], e.exponent)
    if isinstance(e, (Nary, Unary)):
        return type(e)(new if isinstance(e, Nary) else new[0])
    if isinstance(e, Apply):
        return Apply(e.function, new[0], e.derivative)
    return e


def symbols(e: Expr) -> list[Symbol]:
    """Every symbol e names, in order, outside ∇s."""
    if isinstance(e, Symbol):
        return [e]
    return [s for c in children(e) for s in symbols(c)]


def nablas(e: Expr) -> list[Nabla]:
    if isinstance(e, Nabla):
        return [e]
    return [n for c in children(e) for n in nablas(c)]


def key(e: Expr) -> tuple:
    """A structural key: equal for the same expression however grouped, and for sums and ⊙ in any order."""
    if isinstance(e, Symbol):
        return ("symbol", e.name)
    if isinstance(e, Number):
        return ("number", e.value)
    if isinstance(e, Nabla):
        return ("nabla", e.var.name, e.of.name)
    head: tuple = (type(e).__name__,)
    if isinstance(e, Apply):
        head += (e.function, e.derivative)
    elif isinstance(e, Power):
        head += (e.exponent,)
    parts = tuple(key(c) for c in children(e))
    return (*head, tuple(sorted(parts, key=repr)) if isinstance(e, (Sum, Hadamard)) else parts)


# ---------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------


class ReadError(ValueError):
    """The text is not in the notation; `column` is 0-based in the text given to `parse`."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Token:
    kind: str  # "command", "letter", "number", or the character itself
    text: str
    column: int


GREEK = dict(zip(("alpha beta gamma delta epsilon varepsilon zeta eta theta iota kappa lambda mu nu xi pi rho tau "
                  "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Phi Psi Omega").split(),
                 "αβγδεεζηθικλμνξπρτυφφχψωΓΔΘΛΞΠΦΨΩ", strict=True))
FUNCTIONS = {"sigma": "sigma", "tanh": "tanh"}
SPACING = {",", ";", "!", ":", " ", "quad", "qquad", "left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr"}
STYLES = {"mathbf", "boldsymbol", "bm", "mathit", "vec"}  # a styled letter is the same symbol
PRODUCTS = {"odot": "⊙", "circ": "⊙", "cdot": "·"}
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|([A-Za-z])|(\d+(?:\.\d+)?)|(\s+)|(.)")


def tokenize(text: str) -> list[Token]:
    tokens = []
    for m in _TOKEN.finditer(text):
        command, letter, number, space, char = m.groups()
        if space:
            continue
        if command is not None:
            if command in SPACING or command in STYLES:
                continue
            tokens.append(Token("command", command, m.start()))
        elif letter:
            tokens.append(Token("letter", letter, m.start()))
        elif number:
            tokens.append(Token("number", number, m.start()))
        elif char == "~":
            continue
        else:
            tokens.append(Token(char, char, m.start()))
    return tokens


# ---------------------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    sides: tuple[Expr, ...]  # the expressions between the `=` signs
    notes: tuple[tuple[str, int], ...]  # (reading note, column): what was read past, e.g. a stray parenthesis


CLOSING = {"(": ")", "[": "]", "{": "}"}


MAX_POWER = 32  # a whole power is evaluated as that many products: (q)^{99999999} would never end
MAX_NESTING = 50  # groups and functions inside each other; deeper is no derivation, and would exhaust the stack


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.end = len(text)
        self.notes: list[tuple[str, int]] = []

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ReadError("the formula ends too early", self.end)
        self.i += 1
        return token

    def expect(self, kind: str) -> Token:
        token = self.peek()
        if token is None or token.kind != kind:
            where = self.end if token is None else token.column
            raise ReadError(f"expected {kind!r}, found {'the end' if token is None else repr(token.text)}", where)
        return self.take()

    def at(self, kind: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == kind

    # statement := expr ("=" expr)*
    def statement(self) -> Parsed:
        sides = [self.expr()]
        while True:
            if self.at("="):
                self.take()
                sides.append(self.expr())
                continue
            token = self.peek()
            if token is None:
                break
            if token.kind in (")", "]", "}") and all(t.kind == token.kind for t in self.tokens[self.i:]):
                extra = len(self.tokens) - self.i
                what = f"one closing {_NAMES[token.kind]}" if extra == 1 else f"{extra} closing {_NAMES[token.kind]}s"
                self.notes.append((f"{what} too many at the end, read without {'it' if extra == 1 else 'them'}",
                                   token.column))
                break
            raise ReadError(f"cannot read {token.text!r} here", token.column)
        return Parsed(tuple(sides), tuple(self.notes))

    # expr := ["-"] term (("+" | "-") term)*
    def expr(self) -> Expr:
        terms = [self._signed(self._sign() or 1, self.term())]
        while (sign := self._sign()) is not None:
            terms.append(self._signed(sign, self.term()))
        return terms[0] if len(terms) == 1 else Sum(tuple(t for term in terms for t in _flat(term, Sum)))

    def _sign(self) -> int | None:
        if self.at("+") or self.at("-"):
            return 1 if self.take().kind == "+" else -1
        return None

    @staticmethod
    def _signed(sign: int, term: Expr) -> Expr:
        return term if sign > 0 else Negate(term)

    # term := power ((juxtaposition | \cdot | \odot) power)*
    def term(self) -> Expr:
        result = self.power()
        while True:
            token = self.peek()
            if token is None or token.kind in ("+", "-", "=", ")", "]", "}"):
                return result
            op = PRODUCTS[self.take().text] if token.kind == "command" and token.text in PRODUCTS else "·"
            right = self.power()
            if op == "⊙":
                result = Hadamard((*_flat(result, Hadamard), right))
            else:
                result = Product((*_flat(result, Product), right))

    # power := atom ("^" ...)*
    def power(self) -> Expr:
        base = self.atom()
        while self.at("^"):
            base = self._superscript(base)
        return base

    def _superscript(self, base: Expr) -> Expr:
        caret = self.take()
        text = self._group_text()
        if text in ("T", "\\top", "\\intercal", "\\mathsf{T}", "\\mathrm{T}"):
            return Transpose(base)
        if text.isdecimal() and int(text) > 0:
            return Power(base, _exponent(text, caret.column))
        raise ReadError(f"the superscript {text!r} is not read (only ^T, ^\\top and whole powers such as ^2)",
                        caret.column)

    def _group_text(self) -> str:
        """The text of a one-token or braced argument (a superscript's, a subscript's), normalised."""
        token = self.take()
        if token.kind != "{":
            return ("\\" if token.kind == "command" else "") + token.text
        parts, depth = [], 1
        while True:
            token = self.take()
            if token.kind == "{":
                depth += 1
            elif token.kind == "}":
                depth -= 1
                if depth == 0:
                    return _normal_subscript("".join(parts))
            parts.append(("\\" if token.kind == "command" else "") + token.text)

    def atom(self) -> Expr:
        token = self.peek()
        if token is None:
            raise ReadError("the formula ends too early", self.end)
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise ReadError(f"nested more than {MAX_NESTING} deep (groups and functions inside each other)",
                                token.column)
            return self._atom(token)
        finally:
            self.depth -= 1

    def _atom(self, token: Token) -> Expr:
        if token.kind == "number":
            self.take()
            return Number(float(token.text))
        if token.kind in ("(", "[", "{"):
            return self._group()
        if token.kind == "letter" or (token.kind == "command" and token.text in GREEK):
            return self.symbol()
        if token.kind == "command":
            if token.text == "nabla":
                return self.nabla()
            if token.text in FUNCTIONS:
                return self.function()
            raise ReadError(f"\\{token.text} is not in the notation the audit reads (see docs/audit.md)", token.column)
        if token.kind in (")", "]", "}"):
            raise ReadError(f"a closing {_NAMES[token.kind]} with nothing open", token.column)
        raise ReadError(f"cannot read {token.text!r} here", token.column)

    def _group(self) -> Expr:
        opening = self.take()
        inner = self.expr()
        closing = CLOSING[opening.kind]
        if self.peek() is None:
            self.notes.append((f"the {_NAMES[opening.kind]} opened here is never closed, read as closed at "
                               "the end", opening.column))
        else:
            self.expect(closing)
        if opening.kind == "{" and isinstance(inner, Symbol) and self.at("_"):
            # \mathbf{h}_t: a styled letter takes its subscript after the braces
            return Symbol(inner.name + self._subscript())
        return inner

    def symbol(self) -> Symbol:
        token = self.take()
        name = token.text if token.kind == "letter" else "\\" + token.text
        if self.at("'"):
            raise ReadError(f"a prime on {name} is not read; name the derivative with ∇", self.peek().column)
        return Symbol(name + (self._subscript() if self.at("_") else ""))

    def _subscript(self) -> str:
        self.take()
        text = self._group_text()
        return "_" + (text if len(text) == 1 else "{" + text + "}")

    def nabla(self) -> Nabla:
        token = self.take()
        if not self.at("_"):
            raise ReadError("\\nabla needs a subscript: \\nabla_{x} y", token.column)
        self.take()
        var = self._argument_symbol("\\nabla's subscript")
        of = self._argument_symbol("what \\nabla_{...} differentiates")
        return Nabla(var, of)

    def _argument_symbol(self, what: str) -> Symbol:
        token = self.peek()
        if token is None:
            raise ReadError(f"{what} is missing", self.end)
        if token.kind == "{":
            self.take()
            inner = self.expr()
            self.expect("}")
            if not isinstance(inner, Symbol):
                raise ReadError(f"{what} must be a symbol, got {inner.show()}", token.column)
            return inner
        if token.kind == "letter" or (token.kind == "command" and token.text in GREEK):
            return self.symbol()
        raise ReadError(f"{what} must be a symbol, got {token.text!r}", token.column)

    def function(self) -> Expr:
        token = self.take()
        derivative = False
        exponent = None
        while self.at("'") or self.at("^"):
            if self.take().kind == "'":
                derivative = True
                continue
            text = self._group_text()
            if text == "\\prime":
                derivative = True
            elif text.isdecimal() and int(text) > 0:
                exponent = _exponent(text, token.column)
            else:
                raise ReadError(f"\\{token.text}^{text} is not read (only powers such as \\tanh^2)", token.column)
        if self.peek() is None:
            raise ReadError(f"\\{token.text} needs an argument", token.column)
        applied = Apply(FUNCTIONS[token.text], self.atom(), derivative)  # (…), or one atom: \\tanh c_t
        return applied if exponent is None else Power(applied, exponent)


_NAMES = {")": "parenthesis", "]": "bracket", "}": "brace", "(": "parenthesis", "[": "bracket", "{": "brace"}


def _flat(e: Expr, kind: type) -> tuple[Expr, ...]:
    return children(e) if isinstance(e, kind) else (e,)


def _normal_subscript(text: str) -> str:
    """x_{i} → x_i inside a subscript, so W_{x_i} and W_{x_{i}} are one symbol."""
    return re.sub(r"_\{(.)\}", r"_\1", text)


def _exponent(text: str, column: int) -> int:
    if len(text) > 3 or int(text) > MAX_POWER:
        raise ReadError(f"the power {text} is beyond what the audit evaluates (at most {MAX_POWER})", column)
    return int(text)


def parse(text: str) -> Parsed:
    """Read one formula: the expressions between its `=` signs, and notes on what was read past."""
    parser = _Parser(text)
    if not parser.tokens:
        raise ReadError("the formula is empty", 0)
    return parser.statement()
