"""The audit of a file: read it, check every section, and report each line (text, or JSON)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from autograd.files import strict_json
from autograd.progress import steps
from lstm_autograd.audit.document import Document, read
from lstm_autograd.audit.rewriting import in_column_form
from lstm_autograd.audit.section import Finding, SectionAudit
from lstm_autograd.audit.shapes import infer

MARKDOWN = (".md", ".markdown", ".mdown", ".mkd")
LABELS = {"right": "right", "convention": "convention", "wrong": "WRONG", "defined": "defined",
          "contradiction": "CONTRADICTS", "unreadable": "UNREADABLE", "note": "note"}


@dataclass
class Report:
    file: str
    settings: dict
    findings: list[Finding]

    @property
    def partials(self) -> list[Finding]:
        return [f for f in self.findings if f.claim == "partial"]

    @property
    def passed(self) -> bool:
        """Every partial right (up to a stated convention at most), nothing contradicted, nothing unread."""
        return bool(self.partials) and not any(f.flagged for f in self.findings)

    def counts(self) -> dict[str, int]:
        counted = Counter(f.verdict for f in self.findings)
        return {verdict: counted[verdict] for verdict in LABELS if counted[verdict]}

    def to_json(self) -> str:
        return strict_json({"file": self.file, "passed": self.passed, "settings": self.settings,
                           "counts": self.counts(), "findings": [asdict(f) for f in self.findings]},
                          indent=2, ensure_ascii=False)

    def format(self, problems: bool = False) -> str:
        """The report as text: every claim, or with `problems` only those that are not plainly right."""
        s = self.settings
        sizes = ", ".join(f"{name}: {n}" for name, n in s["sizes"].items())
        lines = [f"audit of {self.file}",
                 f"{_count(s['formulas'], 'formula')} in {_count(s['sections'], 'section')}; sizes {sizes}; "
                 f"{_count(s['points'], 'random point')} (seed {s['seed']})",
                 "against the graph each section's definitions build: the engine's vjps, witnessed by finite "
                 "differences (float64)"]
        if s["vectors"] == "rows":
            lines.append("the definitions are written with row vectors (x W): each is read as its transpose, with "
                         "column vectors (Wᵀ x), so the column form below is the engine's and the row form the "
                         "document's")
        section = None
        for f in self.findings:
            if problems and f.verdict in ("right", "defined"):
                continue
            if f.section != section:
                section = f.section
                lines += ["", section]
            lines.append(f"{f.line:5}  {LABELS[f.verdict]:11}  {f.text}")
            lines += [f"{'':18} {part}" for part in f.message.split("; ") if part]
            if f.expected:
                lines.append(f"{'':18} should be: {f.expected}")
        lines += ["", self.summary()]
        flagged = sorted({f.line for f in self.findings if f.flagged})
        if not self.partials:
            lines.append("FAILED: no partial (\\nabla_x y = …) to check")
        elif flagged:
            lines.append(f"FAILED: lines {', '.join(map(str, flagged))}")
        else:
            lines.append("every partial is right" + (" (up to the conventions stated)"
                                                      if "convention" in self.counts() else ""))
        return "\n".join(lines)

    def summary(self) -> str:
        counts = self.counts()
        kinds = (("right", "right"), ("convention", "right up to a convention"), ("wrong", "wrong"))
        partials = [f"{counts[v]} {name}" for v, name in kinds if v in counts]
        definitions = sum(counts.get(v, 0) for v in ("defined", "contradiction"))
        contradicted = f" ({counts['contradiction']} contradicted)" if "contradiction" in counts else ""
        others = [f"{counts[v]} {v}" for v in ("unreadable", "note") if v in counts]
        return "; ".join([f"{_count(len(self.partials), 'partial')}: {', '.join(partials) or 'none'}",
                          f"{_count(definitions, 'definition')}{contradicted}", *others])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


MAX_POINTS = 1000  # random points a partial is checked at; the default 3 already tells a wrong partial apart
MAX_BYTES = 4 * 2**20  # the seed derivation is 12 KB; a larger file is not a derivation to read line by line


def audit_text(text: str, name: str = "<text>", seed: int = 0, points: int = 3) -> Report:
    """Audit a derivation given as markdown text."""
    document = read(text)
    if not document.formulas:
        raise ValueError(f"{name}: no formula between $ signs; expected a derivation in LaTeX math")
    return _audit(document, name, seed, points)


def audit(path: str | Path, seed: int = 0, points: int = 3) -> Report:
    """Audit a markdown file: every partial it writes, checked at `points` random points."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file; expected a markdown derivation (FILE.md)")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; expected a markdown derivation (FILE.md)")
    if path.suffix.lower() not in MARKDOWN:
        raise ValueError(f"{path}: expected a markdown file ({', '.join(MARKDOWN)}), got "
                         f"{repr(path.suffix) if path.suffix else 'no extension'}")
    with path.open("rb") as file:  # at most MAX_BYTES, so a link to /dev/zero cannot read forever
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BYTES // 2**20} MiB; expected a markdown derivation")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text; expected a markdown derivation") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty; expected a markdown derivation")
    return audit_text(text, str(path), seed, points)


def _audit(document: Document, name: str, seed: int, points: int) -> Report:
    if not 1 <= points <= MAX_POINTS:  # each point costs every partial a Jacobian: 10⁶ points ran for hours
        raise ValueError(f"points: expected 1 to {MAX_POINTS}, got {points}")
    rng = np.random.default_rng(seed)
    shapes = infer(document)
    rows = shapes.misfits and len(infer(document, "row").misfits) < len(shapes.misfits)
    if rows:  # written with row vectors (q = x_t W^T): read as the transposes, in column form
        document = in_column_form(document)
        shapes = infer(document)
    findings: list[Finding] = []
    for index, section in enumerate(steps(document.sections, "sections")):
        findings += SectionAudit(section, index, shapes, rng, points).run()
    headings = [(s.line, s.title) for s in document.sections]
    for remark in document.remarks:
        title = next((t for line, t in reversed(headings) if line <= remark.line), "(before the first heading)")
        findings.append(Finding(remark.line, title, "formula", remark.verdict, remark.source, remark.message))
    findings.sort(key=lambda f: (f.line, f.claim != "formula"))
    settings = {"seed": seed, "points": points, "vectors": "rows" if rows else "columns", "sizes": shapes.sizes,
                "formulas": document.formulas,
                "sections": sum(1 for s in document.sections if s.claims)}
    return Report(name, settings, findings)
