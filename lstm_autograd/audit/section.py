"""One section of a derivation checked: which definition computes each symbol, where two definitions of a symbol
contradict each other and which of them is to blame, and the verdict on every partial.

A symbol may be defined twice: first whole (`i_t = σ(W_{x_i}x_t + W_{h_i}h_{t-1} + b_i)`), then decomposed
(`i_t = σ(p)`, `p = q + v + b_i`, …). Every later definition must compute what the first does. When one does
not, the decomposition is aligned with the whole, down to the definition that departs from it (`p = q − v + b_i`
where the whole reads `+`); each definition on the way is a suspect, with what the whole makes of it in its
place (`p = q + v + b_i`). The partials decide: the suspect whose replacement makes the most of them hold is set
aside and reported (the seed's `g_t = σ(p)`, whose own derivative 1−tanh²(p) holds for tanh), unless more of
them hold as written, and then the whole is. Partials are judged against the reading that stands, so one wrong
line is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lstm_autograd.audit.document import Definition, Partial, Section
from lstm_autograd.audit.graph import Graph, Point, sources
from lstm_autograd.audit.latex import Expr, Nabla, Symbol, key, symbols
from lstm_autograd.audit.partials import Verdict, close, judge
from lstm_autograd.audit.rewriting import Reading, align, cycle, fold
from lstm_autograd.audit.shapes import ShapeError, Shapes

FLAGGED = ("wrong", "contradiction", "unreadable")


@dataclass(frozen=True)
class Finding:
    line: int
    section: str
    claim: str  # "partial", "definition" or "formula"
    verdict: str  # right, convention, wrong | defined, contradiction | unreadable, note
    text: str  # the claim as read
    message: str = ""
    expected: str = ""  # for a wrong partial: what the graph's definitions make it

    @property
    def flagged(self) -> bool:
        return self.verdict in FLAGGED


# ---------------------------------------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------------------------------------


class SectionAudit:
    def __init__(self, section: Section, index: int, shapes: Shapes, rng: np.random.Generator, points: int):
        self.section = section
        self.points = [Point(lambda name: shapes.of(name, index), np.random.default_rng(rng.integers(2**32)))
                       for _ in range(points)]
        self.findings: list[Finding] = []
        self._graphs: dict[int, tuple[Reading, list[Graph]]] = {}
        self.defined = {d.symbol.name for d in section.definitions}  # what a definition computes: not an input
        misfit = {i for s, i in shapes.misfits if s == index}
        self.alive = [d for i, d in enumerate(section.definitions) if i not in misfit]
        for i, d in enumerate(section.definitions):
            if i in misfit:
                self._flag(d, "wrong", f"its shapes do not fit: {shapes.misfits[(index, i)]}")
        self.agrees: dict[Definition, int] = {}  # a later definition → the line of the first, which it agrees with
        self.notes: dict[int, str] = {}  # a partial's line → which of two contradicting definitions it holds for

    def _flag(self, d: Definition, verdict: str, message: str) -> None:
        self.findings.append(Finding(d.line, self.section.title, "definition", verdict, d.show(), message))

    def graphs(self, reading: Reading) -> list[Graph]:
        """The reading's graph at each point, made once per reading (the reading is kept with them)."""
        if id(reading) not in self._graphs:
            self._graphs[id(reading)] = (reading, [Graph(reading, point) for point in self.points])
        return self._graphs[id(reading)][1]

    def latest(self) -> dict[str, Definition]:
        return {d.symbol.name: d for d in self.alive}

    def run(self) -> list[Finding]:
        reading = self._acyclic()
        reading = self._resolve(reading)
        graphs = self.graphs(reading)
        for partial in self.section.partials:
            self.findings.append(self._partial(partial, graphs))
        blamed = {(f.line, f.text) for f in self.findings if f.claim == "definition"}
        for d in self.section.definitions:
            if (d.line, d.show()) not in blamed:
                agrees = f"agrees with line {self.agrees[d]}" if d in self.agrees else ""
                self.findings.append(Finding(d.line, self.section.title, "definition", "defined", d.show(), agrees))
        return self.findings

    # -- which definition computes each symbol ------------------------------------------------------------

    def _reading(self) -> Reading:
        """Each symbol by its latest definition, folded so that it names the symbols it is computed from."""
        written = {name: d.value for name, d in self.latest().items()}
        found = sources(written)
        return {name: fold(value, written, {name} | {n for n in written if name in found[n]})
                for name, value in written.items()}

    def _acyclic(self) -> Reading:
        while (loop := cycle({n: d.value for n, d in self.latest().items()})) is not None:
            latest = self.latest()
            culprit = max((latest[n] for n in loop[:-1]), key=lambda d: d.line)
            self._flag(culprit, "contradiction", f"it makes {' → '.join(loop)} computed from itself")
            self.alive.remove(culprit)
        return self._reading()

    def _same(self, a: Expr, b: Expr, reading: Reading) -> bool:
        try:
            return all(close(g.compute(a), g.compute(b)) for g in self.graphs(reading))
        except ShapeError:
            return False

    def _conflict(self, reading: Reading, settled: set) -> tuple[Definition, Definition | None] | None:
        """A symbol's first definition and a later one that computes otherwise (or None: the symbol's reading,
        once a later definition was set aside for what the first implies, still computes otherwise)."""
        by_symbol: dict[str, list[Definition]] = {}
        for d in self.alive:
            by_symbol.setdefault(d.symbol.name, []).append(d)
        for first, *later in by_symbol.values():
            for d in later:
                if (first, d) in settled:
                    continue
                if self._same(d.value, first.value, reading):
                    self.agrees[d] = first.line
                    settled.add((first, d))
                    continue
                return first, d
            if not self._same(first.symbol, first.value, reading):
                return first, None
        return None

    def _resolve(self, reading: Reading) -> Reading:
        settled: set[tuple[Definition, Definition]] = set()
        for _ in range(2 * len(self.section.definitions) + 1):  # each turn sets a definition aside or fills one in
            conflict = self._conflict(reading, settled)
            if conflict is None:
                break
            whole, part = conflict
            symbol = whole.symbol.name
            top = (part.symbol.name, part, part.value) if part else (symbol, None, reading[symbol])
            path = self._departure(*top, whole.value, reading)
            found = sources(reading)
            options = []  # (definition to set aside, symbol, what the whole implies for it, the reading then)
            for name, departing, pattern, target in path:
                exclude = {name} | {n for n in reading if name in found.get(n, ())}
                # as the whole has it, in the decomposition's symbols; where the two align already, the whole itself
                aligned = align(pattern, target, self.defined)[0]
                implied = fold(target if key(aligned) == key(pattern) else aligned, reading, exclude)
                candidate = {**reading, name: implied}
                if cycle(candidate) is None:
                    options.append((departing, name, implied, candidate))
            if len(path) > 1 and path[-1][1] is None and options and options[-1][1] == path[-1][0]:
                reading = options[-1][3]  # its definition is set aside already: what the whole implies fills in
                continue
            options = [o for o in options if o[0] is not None]
            holding = self._holding(reading)
            scored = [(len(h := self._holding(o[3])), depth, h, o) for depth, o in enumerate(options)]
            best = max(scored, key=lambda x: x[:2], default=None)
            if best is None or len(holding) > best[0]:
                for_written = sorted(holding - best[2]) if best else []
                agree = f", and the partials on {_lines(for_written)} agree with them" if for_written else ""
                name = path[-1][0]
                said = f"{name} = {reading[name].show()}" if name in reading else f"nothing of {name}"
                self._flag(whole, "contradiction", f"the lines that decompose it say {said}{agree}")
                self.alive.remove(whole)
                continue
            *_, for_implied_set, (departing, name, implied, candidate) = best
            for_implied = sorted(for_implied_set - holding)
            holds = f"the partial{'s' * (len(for_implied) > 1)} on {_lines(for_implied)} hold" \
                    f"{'s' * (len(for_implied) == 1)} for {name} = {implied.show()}, not for {departing.show()}; " \
                if for_implied else ""
            self._flag(departing, "contradiction",
                       f"it contradicts line {whole.line}, {whole.show()}, by which {name} = {implied.show()}; "
                       f"{holds}read as {name} = {implied.show()}")
            for line in for_implied:
                self.notes[line] = (f"right for {name} = {implied.show()} (line {whole.line}); line "
                                    f"{departing.line}'s {departing.show()} is set aside")
            self.alive.remove(departing)
            reading = candidate
        return reading

    def _departure(self, name: str, d: Definition | None, pattern: Expr, target: Expr, reading: Reading
                   ) -> list[tuple[str, Definition | None, Expr, Expr]]:
        """The decomposition followed down from `name` (computed by `pattern`, written on line d), aligned with
        the whole (`target`), to the definition that departs from it: each step's symbol, definition, expression
        and what the whole makes it. The last may be a symbol whose definition is set aside already (None)."""
        path: list[tuple[str, Definition | None, Expr, Expr]] = [(name, d, pattern, target)]
        latest = self.latest()
        for v, part in align(pattern, target, self.defined)[1].items():
            if v != name and not self._same(Symbol(v), part, reading):
                if v not in latest:
                    return [*path, (v, None, Symbol(v), part)]
                return path + self._departure(v, latest[v], latest[v].value, part, reading)
        return path

    def _holding(self, reading: Reading) -> set[int]:
        """The lines of the partials that hold (right, or right up to a convention) in a reading."""
        graphs = self.graphs(reading)
        return {p.line for p in self.section.partials if _holds(judge(p, graphs))}

    # -- the partials ---------------------------------------------------------------------------------------

    def _partial(self, p: Partial, graphs: list[Graph]) -> Finding:
        verdict = judge(p, graphs)
        expected = ""
        message = verdict.message or self.notes.get(p.line, "")
        if verdict.verdict == "wrong":
            expected = graphs[0].formula(p.nabla.of.name, p.nabla.var.name)
            meant = self._meant(p, graphs)
            if meant:
                message += f"; what is written holds for {meant}"
        return Finding(p.line, self.section.title, "partial", verdict.verdict, p.show(), message, expected)

    def _meant(self, p: Partial, graphs: list[Graph]) -> str:
        """Another partial of the section that the right sides do hold for: the symbol meant, named."""
        reading = graphs[0].reading
        latest = self.latest()
        s, a = p.nabla.of, p.nabla.var
        # the symbols whose own definition names a: ∇_{W_{h_i}} q meant as ∇_{W_{h_i}} v
        numerators = [Nabla(a, Symbol(n)) for n in reading if n != s.name and a in symbols(reading[n])]
        operands = [Nabla(x, s) for x in dict.fromkeys(symbols(reading.get(s.name, s))) if x != a]
        for other in numerators + operands:
            if _holds(judge(replace(p, nabla=other), graphs)):
                changed = other.of if other.of != s else other.var
                where = latest.get(changed.name)
                defined = f" ({where.show()}, line {where.line})" if where else ""
                return f"{other.show()}{defined}"
        return ""


def _holds(v: Verdict) -> bool:
    return v.verdict != "wrong"


def _lines(lines: list[int]) -> str:
    return ("line " if len(lines) == 1 else "lines ") + ", ".join(map(str, lines))

