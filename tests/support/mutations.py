"""Single mutations of a derivation's lines: the slips people make when they derive by hand. Each changes what
the line means (never a reordering of a sum or of a ⊙, which says the same), so the audit must flag it."""

from __future__ import annotations

import re

from lstm_autograd.audit.latex import Hadamard, Nabla, Product, Symbol, parse

NEXT_GATE = {"i": "f", "f": "o", "o": "g", "g": "i"}
# an indexed symbol: W_{x_i}, b_i, h_{t-1}, x_t (never a letter inside a command, such as the t of \tanh)
_INDEXED = re.compile(r"(W_\{)([xh])_([ifog])\}|(?<![a-z\\])b_([ifog])|(?<![a-z\\])([hcx])_\{t-1\}"
                      r"|(?<![a-z\\])([hcxifog])_t(?![a-z])")


def _math(line: str) -> list[tuple[int, int]]:
    """Where the formulas of a line are: (start, end) of the text between $ or $$ signs."""
    return [(m.start(1), m.end(1)) for m in re.finditer(r"\$\$?(.+?)\$\$?", line)]


def _closing(text: str, opening: int) -> int:
    depth = 0
    for i in range(opening, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"no closing parenthesis in {text!r}")


def mutations(line: str) -> list[tuple[str, str]]:
    """(kind, mutated line) for every single mutation of a line's formulas: a dropped tanh (or σ), a sign, a
    wrong subscript, a swapped operand. The symbol a definition defines is never renamed: that would be
    another, consistent definition, not a mistake."""
    out = []
    for start, end in _math(line):
        math = line[start:end]
        if "=" not in math:
            continue
        right = start + math.index("=") + 1
        last = start + math.rindex("=") + 1
        definition = isinstance(parse(math).sides[0], Symbol)

        def put(kind: str, a: int, b: int, text: str) -> None:
            out.append((kind, line[:a] + text + line[b:]))

        for m in re.finditer(r"\\(tanh|sigma)(\^2)?\s*\(", math):
            opening = start + m.end() - 1
            closing = _closing(line, opening)
            put(f"dropped {m.group(1)}", start + m.start(), closing + 1, line[opening:closing + 1] + (m.group(2) or ""))
        depth = 0
        for i in range(right, end):
            if line[i - 1:i + 1] == "_{" or (line[i] == "{" and depth):
                depth += 1
            elif line[i] == "}" and depth:
                depth -= 1
            elif line[i] in "+-" and not depth:
                put("sign", i, i + 1, "-" if line[i] == "+" else "+")
        put("sign", last, last, "-")
        for m in _INDEXED.finditer(math):
            a, b = start + m.start(), start + m.end()
            if definition and a < right:
                continue
            if m.group(1):
                put("subscript", a, b, f"W_{{{m.group(2)}_{NEXT_GATE[m.group(3)]}}}")
                put("subscript", a, b, f"W_{{{'h' if m.group(2) == 'x' else 'x'}_{m.group(3)}}}")
            elif m.group(4):
                put("subscript", a, b, f"b_{NEXT_GATE[m.group(4)]}")
            elif m.group(5):
                put("subscript", a, b, f"{m.group(5)}_t")
            else:
                put("subscript", a, b, f"{m.group(6)}_{{t-1}}")
        value = parse(math).sides[-1]
        if definition and isinstance(value, Product) and len(value.parts) == 2 and \
                all(isinstance(f, Symbol) for f in value.parts):
            x, y = (f.name for f in value.parts)
            if line[right:end].strip() == x + y:  # a matrix product does not commute
                put("swapped operand", right, end, " " + y + x)
    return out


def swapped_partials(lines: list[str]) -> list[tuple[int, str]]:
    """The other swapped operand: a partial of a product of two symbols given the operand it is taken for
    (∇_{f_t} q = f_t where q = f_t ⊙ c_{t−1}), as (line number, mutated line)."""
    out = []
    operands: dict[str, list[str]] = {}
    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("#"):
            operands = {}
        for start, end in _math(line):
            math = line[start:end]
            if "=" not in math:
                continue
            sides = parse(math).sides
            if isinstance(sides[0], Symbol) and isinstance(sides[-1], (Product, Hadamard)) and \
                    len(sides[-1].parts) == 2 and all(isinstance(f, Symbol) for f in sides[-1].parts):
                operands[sides[0].name] = [f.name for f in sides[-1].parts]
            elif isinstance(sides[0], Nabla) and len(sides) == 2:
                pair = operands.get(sides[0].of.name, [])
                if sides[0].var.name in pair:
                    other = pair[1 - pair.index(sides[0].var.name)]
                    last = start + math.rindex("=") + 1
                    if other in line[last:end]:
                        out.append((n, line[:last] + line[last:end].replace(other, sides[0].var.name) + line[end:]))
    return out


def every_mutation(text: str) -> list[tuple[int, str, str]]:
    """(line number, kind, mutated line) for every single mutation of every line of a derivation."""
    lines = text.splitlines()
    found = [(n, kind, mutated) for n, line in enumerate(lines, 1) for kind, mutated in mutations(line)]
    return found + [(n, "swapped operand", mutated) for n, mutated in swapped_partials(lines)]


def corrected(seed: str) -> str:
    """The seed with its errata (a), (b) and (d) put right, as docs/derivation.md gives them; (c) is a
    convention, not an error, and stays."""
    text = re.sub(r"\\nabla_\{(W_\{h_.\}|h_\{t-1\})\}q", r"\\nabla_{\1}v", seed)  # (a): the partials of v
    text = text.replace(r"g_t = \sigma (p)", r"g_t = \tanh (p)")  # (b)
    return text.replace(r"+b_i))$$", r"+b_i)$$")  # (d)
