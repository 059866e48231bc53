"""A markdown derivation read into sections of claims: definitions (`p = q + v + b_i`) and partials
(`\\nabla_q p = 1`, chains included), each with its line number; what cannot be read is kept, with its line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lstm_autograd.audit.latex import Expr, Nabla, ReadError, Symbol, nablas, parse


@dataclass(frozen=True)
class Definition:
    line: int
    source: str  # the LaTeX as written
    symbol: Symbol
    value: Expr
    written: Expr | None = None  # the value as written, where it is read otherwise (a row-form definition)

    def show(self) -> str:
        return f"{self.symbol.show()} = {(self.written or self.value).show()}"


@dataclass(frozen=True)
class Partial:
    """∇_a s = one or more right-hand sides (a chain writes several: ∇_W i_t = ∇_p i_t ∇_q p ∇_W q = …)."""

    line: int
    source: str
    nabla: Nabla
    sides: tuple[Expr, ...]

    def show(self) -> str:
        return " = ".join([self.nabla.show(), *(side.show() for side in self.sides)])


@dataclass(frozen=True)
class Remark:
    """What the reader has to say about a line: `unreadable` (nothing on it is checked) or a reading `note`."""

    line: int
    source: str
    verdict: str  # "unreadable" or "note"
    message: str


Claim = Definition | Partial


@dataclass
class Section:
    title: str
    line: int  # the heading's line; 0 before the first heading
    claims: list[Claim] = field(default_factory=list)

    @property
    def definitions(self) -> list[Definition]:
        return [c for c in self.claims if isinstance(c, Definition)]

    @property
    def partials(self) -> list[Partial]:
        return [c for c in self.claims if isinstance(c, Partial)]


@dataclass
class Document:
    sections: list[Section]
    remarks: list[Remark]
    formulas: int  # math segments found, claims or not


_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`]*`")
_COMMAND = re.compile(r"\\[A-Za-z]+")


def read(text: str) -> Document:
    """The sections and claims of a markdown text, and a remark for every formula that is not a claim."""
    sections = [Section("(before the first heading)", 0)]
    remarks: list[Remark] = []
    formulas = 0
    fenced = False
    block: list[tuple[int, str]] | None = None  # the lines of an open $$ … $$ block
    for number, raw in enumerate(text.splitlines(), start=1):
        if _FENCE.match(raw) and block is None:
            fenced = not fenced
            continue
        if fenced:
            continue
        if block is not None:
            if "$$" in raw:
                inner, rest = raw.split("$$", 1)
                block.append((number, inner))
                start = block[0][0]
                formulas += 1
                _claim(sections[-1], start, " ".join(t for _, t in block), remarks)
                block = None
                raw = " " * (len(inner) + 2) + rest
            else:
                block.append((number, raw))
                continue
        heading = _HEADING.match(raw)
        if heading:
            sections.append(Section(heading.group(2).replace("$", ""), number))
            continue
        segments, problem, opens = _math(raw)
        if opens is not None:
            block = [(number, raw[opens + 2:])]
        if problem:
            remarks.append(Remark(number, raw.strip(), "unreadable", problem))
        for formula in segments:
            formulas += 1
            _claim(sections[-1], number, formula, remarks)
    if block is not None:
        remarks.append(Remark(block[0][0], block[0][1].strip(), "unreadable", "a $$ block is never closed"))
    return Document([s for s in sections if s.claims or s.line], remarks, formulas)


def _math(line: str) -> tuple[list[str], str | None, int | None]:
    """The formulas of a line ($…$ and $$…$$), what is wrong with the line if anything is, and where a $$ block
    that continues on the next lines opens."""
    scan = _CODE_SPAN.sub(lambda m: " " * len(m.group()), line).replace("\\$", "  ")
    segments: list[str] = []
    outside: list[str] = []
    opens = None
    i = 0
    while i < len(scan):
        start = scan.find("$", i)
        if start < 0:
            outside.append(scan[i:])
            break
        outside.append(scan[i:start])
        delimiter = "$$" if scan.startswith("$$", start) else "$"
        end = scan.find(delimiter, start + len(delimiter))
        if end < 0:
            if delimiter == "$":
                return segments, "a $ is never closed", None
            opens = start
            break
        segments.append(line[start + len(delimiter):end])
        i = end + len(delimiter)
    stray = _COMMAND.findall("".join(outside))
    if stray:
        return segments, f"LaTeX outside $…$ ({', '.join(dict.fromkeys(stray))}): write formulas between $ signs", opens
    return segments, None, opens


def _claim(section: Section, line: int, formula: str, remarks: list[Remark]) -> None:
    source = formula.strip()
    try:
        parsed = parse(formula)
    except ReadError as error:
        remarks.append(Remark(line, source, "unreadable", f"{error} (at “{_around(formula, error.column)}”)"))
        return
    for note, column in parsed.notes:
        remarks.append(Remark(line, source, "note", f"{note} (at “{_around(formula, column)}”)"))
    left, *rights = parsed.sides
    if not rights:
        remarks.append(Remark(line, source, "note", "not an equation (no =): nothing to check"))
    elif isinstance(left, Nabla):
        section.claims.append(Partial(line, source, left, tuple(rights)))
    elif isinstance(left, Symbol):
        inside = [n for side in rights for n in nablas(side)]
        if inside:
            remarks.append(Remark(line, source, "unreadable",
                                  f"the definition of {left.name} contains {inside[0].show()}: a definition "
                                  "says what a symbol is computed from, a partial starts with \\nabla"))
            return
        section.claims.extend(Definition(line, source, left, side) for side in rights)
    else:
        remarks.append(Remark(line, source, "unreadable",
                              f"the left side {left.show()} is neither a symbol (a definition) nor \\nabla_x y "
                              "(a partial)"))


def _around(text: str, column: int) -> str:
    return text[max(0, column - 12):column + 12].strip() or text.strip()
