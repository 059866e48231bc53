"""Graphviz's SVG text made to read the same in every viewer.

Graphviz measures text with its bundled Pango, with metrics hinted at 96 dpi, and writes a subscript as
`baseline-shift="sub"` at the full font size. Browsers, cairosvg and notebooks ignore or misdraw that attribute,
and their unhinted glyphs run up to 7 % wider or narrower than Pango's, so text overlapped its neighbours and
left its box. Here every text run gets the width Graphviz laid it out with (`textLength`, read from the same
layout's JSON), and every subscript the size Pango measured it at, lowered by moving its `y`, which every
renderer honours.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Pango draws <sub> one size step smaller (its scale factor 1/1.2), and Graphviz measured it so.
SUB_SCALE = 1 / 1.2
# How far below the line's baseline a subscript sits, in ems of the line's text: the first level, a second.
DROP = (0.28, 0.5)

_TEXT = re.compile(r"<text ([^>]*)>([^<]*)</text>")
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')


@dataclass(frozen=True)
class Run:
    """One run of text as laid out: its text, its anchor point (SVG coordinates), its width."""

    text: str
    x: float
    y: float
    width: float


def runs(layout_json: str | bytes) -> list[Run]:
    """Every text run Graphviz drew, from its `-Tjson` output of the same layout (y flipped to SVG's)."""
    found = []

    def visit(item: object) -> None:
        if isinstance(item, dict):
            if item.get("op") == "T":
                found.append(Run(_plain(item["text"]), item["pt"][0], -item["pt"][1], item["width"]))
            for value in item.values():
                visit(value)
        elif isinstance(item, list):
            for value in item:
                visit(value)

    visit(json.loads(layout_json))
    return found


def _plain(text: str) -> str:
    """Text as both outputs can be compared: the SVG writes a space as a no-break space."""
    return text.replace("\xa0", " ")


def settle(svg: str, laid_out: list[Run]) -> str:
    """`svg` with each text run at its laid-out width and each subscript smaller and lowered."""
    widths: dict[tuple[str, int, int], list[tuple[int, Run]]] = {}  # by text and unit cell: a lookup, not a scan
    for index, run in enumerate(laid_out):
        widths.setdefault((run.text, int(run.x // 1), int(run.y // 1)), []).append((index, run))
    out, last = [], 0
    for line in _lines(svg):
        base = next((float(a["font-size"]) for a, _, _ in line if "baseline-shift" not in a), None)
        for attributes, content, match in line:
            out.append(svg[last:match.start()])
            out.append(_rewrite(attributes, content, base, widths))
            last = match.end()
    out.append(svg[last:])
    return "".join(out)


def _lines(svg: str) -> Iterator[list[tuple[dict[str, str], str, re.Match]]]:
    """The text elements in document order, grouped into lines: adjacent elements on one baseline."""
    line: list[tuple[dict[str, str], str, re.Match]] = []
    for match in _TEXT.finditer(svg):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        if line and (attributes.get("y") != line[-1][0].get("y") or svg[line[-1][2].end():match.start()].strip()):
            yield line
            line = []
        line.append((attributes, match.group(2), match))
    if line:
        yield line


def _near(widths: dict[tuple[str, int, int], list[tuple[int, Run]]], text: str, x: float, y: float) -> list[Run]:
    """The runs of `text` laid out within 0.1 of (x, y), in layout order: from the 3 × 3 unit cells around it."""
    column, row = int(x // 1), int(y // 1)
    found = [(index, run) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
             for index, run in widths.get((text, column + dx, row + dy), ())
             if abs(run.x - x) + abs(run.y - y) < 0.1]
    return [run for _, run in sorted(found, key=lambda pair: pair[0])]


def _rewrite(attributes: dict[str, str], content: str, base: float | None,
             widths: dict[tuple[str, int, int], list[tuple[int, Run]]]) -> str:
    attributes = dict(attributes)
    x, y = float(attributes.get("x", 0)), float(attributes.get("y", 0))
    candidates = _near(widths, _plain(html.unescape(content)), x, y)
    if attributes.pop("baseline-shift", None) == "sub":
        size = float(attributes["font-size"])
        base = base or size
        level = 0 if size >= base else 1  # a second-level subscript was given a smaller size in its label
        attributes["font-size"] = f"{size * SUB_SCALE:.2f}"
        attributes["y"] = f"{y + DROP[level] * base:.2f}"
    if candidates and content.strip():
        attributes["textLength"] = f"{candidates[0].width:.2f}"
        attributes["lengthAdjust"] = "spacingAndGlyphs"
    written = " ".join(f'{name}="{value}"' for name, value in attributes.items())
    return f"<text {written}>{content}</text>"
