"""The documentation site's build hook (mkdocs.yml's `hooks:`): math typeset offline, the explorer embedded.

- The pages' LaTeX (`$…$`, `$$…$$`; pymdownx.arithmatex finds it outside code, marked `\\(…\\)` and `\\[…\\]`)
  becomes MathML with latex2mathml, which browsers typeset natively: no MathJax, no network.
- The MathML is set in the explorer's own math font, `viz/explorer/math.woff2` (docs/math-font.md), copied into
  the site with a style sheet that names it; the checkout holds one copy of the font.
- `explorer.html`, the page `lstm-autograd explore --length 2` writes, is made at build time into the site, where
  docs/pictures.md shows it in a frame.

mkdocs and latex2mathml are imported where they are used: the test suite imports this file (pytest-markdown-docs
reads every docstring under docs/) in environments without the `docs` extra.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FONT = ROOT / "viz" / "explorer" / "math.woff2"
FONT_LICENCE = ROOT / "viz" / "explorer" / "math-OFL.txt"
STYLE = """\
/* MathML in the explorer's math font (viz/explorer/math.woff2): its MATH table sets subscripts where the system
   fonts have none; scaled to the x-height of the text around it, as the explorer does */
@font-face { font-family: "Explorer Math"; src: url("math.woff2") format("woff2"); }
math { font-family: "Explorer Math", math; font-size-adjust: 0.545; }
math[display="block"] { margin: 0.8em 0; overflow-x: auto; overflow-y: hidden; }
.md-typeset .explorer-frame { width: 100%; height: 640px; border: 1px solid #ccc; }
"""
# what pymdownx.arithmatex (generic) writes: its LaTeX HTML-escaped inside \( \) or \[ \]
_INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
_BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)
_TOC_MATH = re.compile(r"\\\((.*?)\\\)", re.S)


def mathml(latex: str, display: str = "inline") -> str:
    """One formula's MathML; a formula latex2mathml cannot read fails the build, naming it."""
    from latex2mathml.converter import convert

    try:
        return convert(latex.strip(), display=display)
    except Exception as error:  # latex2mathml raises its own exceptions and plain ones
        raise ValueError(f"math: cannot typeset {latex!r}: {error}") from error


def typeset(content: str) -> str:
    """Every formula arithmatex marked in a page's HTML, as MathML."""
    content = _BLOCK.sub(lambda m: mathml(html.unescape(m[1]), "block"), content)
    return _INLINE.sub(lambda m: mathml(html.unescape(m[1])), content)


def display_blocks(markdown: str) -> str:
    """Every line that is a `$$…$$` formula, outside fenced code, made a block of its own (blank lines around),
    as Python-Markdown needs to read it as display math and what follows it (a list, say) as what it is."""
    lines, fence = [], None
    for line in markdown.split("\n"):
        opener = re.match(r"[ \t]*(`{3,}|~{3,})", line)
        if fence is None and opener:
            fence = opener[1]
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        elif fence is None and re.fullmatch(r"[ \t]*\$\$.+\$\$[ \t]*", line):
            line = f"\n{line.strip()}\n"
        lines.append(line)
    return "\n".join(lines)


def _retitle(items) -> None:
    """The table of contents' titles, which Markdown's toc writes as text (`\\(c_t\\)`), with their MathML."""
    for item in items:
        item.title = _TOC_MATH.sub(lambda m: mathml(html.unescape(m[1])), item.title)
        _retitle(item.children)


def on_files(files, config):
    """The math font, its licence and the style sheet that names it, as files of the site."""
    from mkdocs.structure.files import File

    for name, source in (("math.woff2", FONT), ("math-OFL.txt", FONT_LICENCE)):
        files.append(File.generated(config, f"assets/math/{name}", abs_src_path=str(source)))
    files.append(File.generated(config, "assets/math/math.css", content=STYLE))
    return files


def on_page_markdown(markdown, page, config, files):
    return display_blocks(markdown)


def on_page_content(content, page, config, files):
    _retitle(page.toc.items)
    return typeset(content)


def on_post_build(config):
    """The explorer of a two-step sequence, as `lstm-autograd explore --length 2 -o explorer.html` writes it."""
    import viz

    viz.explore_gate("all", length=2).save(Path(config.site_dir) / "explorer.html")
