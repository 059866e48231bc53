"""The documentation site builds with `mkdocs build --strict` (mkdocs.yml, docs/hooks/site_hooks.py) and holds what
it promises: the API reference from the docstrings, the derivation's math as MathML, the tutorial, the explorer,
and nothing loaded from the network."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import autograd

ROOT = Path(__file__).parent.parent
# what a page would fetch from elsewhere: a script, picture, frame or style sheet by URL, a web font
NETWORK = re.compile(r'<(?:script|img|iframe)\b[^>]*\bsrc="(?:https?:)?//[^"]*"'
                     r'|<link\b[^>]*\bhref="(?:https?:)?//[^"]*"|@import\s+url\((?:https?:)?//|fonts\.googleapis')

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                                reason="mkdocs is not installed (pip install -e '.[docs]'; .ci/run installs it)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    # from a folder of its own: nothing the build writes lands in the checkout
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                          "--site-dir", str(out)], cwd=out.parent, capture_output=True, text=True,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=300)
    assert run.returncode == 0, run.stderr
    return out


def test_the_api_reference_is_the_docstrings(site):
    page = (site / "api" / "autograd.html").read_text()
    assert 'id="autograd.Tensor"' in page and autograd.Tensor.__doc__.splitlines()[0] in page
    for name in ("autograd.matmul", "autograd.gradcheck", "autograd.no_grad"):
        assert f'id="{name}"' in page
    assert 'id="lstm.LSTMCell"' in (site / "api" / "lstm.html").read_text()
    assert 'id="viz.explore"' in (site / "api" / "viz.html").read_text()


def test_the_derivations_latex_is_mathml_in_the_explorers_font(site):
    source = (ROOT / "docs" / "lstm-cell-partials.md").read_text()
    page = (site / "lstm-cell-partials.html").read_text()
    formulas = len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+\$", source))
    article = re.search(r"<article\b.*?</article>", page, re.S)[0]
    assert article.count("<math ") == formulas > 80
    assert article.count('display="block"') == source.count("$$") // 2
    # the headings' formulas in the table of contents too: "Cell State Update(c_t)" with its subscript
    toc = re.search(r'<nav class="md-nav md-nav--secondary".*?</nav>', page, re.S)[0]
    assert toc.count("<math ") == len(re.findall(r"^#+ .*\$", source, re.M)) and "\\(" not in toc
    assert "\\nabla" not in page and "arithmatex" not in page
    # a formula before a list stays a block of its own; the list after it stays a list
    assert re.search(r"</math>\s*<ul>\s*<li>Partials", page)
    for name in ("derivation.html", "audit.html", "compare.html"):  # outside code, where LaTeX is shown as LaTeX
        assert "\\nabla" not in re.sub(r"<(pre|code)\b.*?</\1>", "", (site / name).read_text(), flags=re.S)
    # `$ … $` in code and the `$` of console prompts stay as written
    audit = (site / "audit.html").read_text()
    assert "<code>$ … $</code>" in audit and "<math" not in audit
    assert "$ lstm-autograd audit docs/lstm-cell-partials.md" in re.sub(r"<[^>]+>", "", audit)
    # one font in the checkout, copied into the site, named by the style sheet every page links
    assert (site / "assets" / "math" / "math.woff2").read_bytes() == (ROOT / "viz/explorer/math.woff2").read_bytes()
    assert '"Explorer Math"' in (site / "assets" / "math" / "math.css").read_text()
    assert 'href="assets/math/math.css"' in page


def test_the_tutorial_and_the_explorer_are_pages(site):
    tutorial = (site / "tutorial.html").read_text()
    assert "viz.explore" in tutorial
    assert "window.explorer" in (site / "explorer.html").read_text()
    assert re.search(r'<iframe class="explorer-frame" src="explorer.html"', (site / "pictures.html").read_text())
    for picture in ("input-gate.svg", "vanishing.svg", "explorer.png"):
        assert (site / picture).is_file()


def test_no_page_loads_anything_from_the_network(site):
    for page in site.rglob("*.html"):
        text = page.read_text()
        loads = NETWORK.findall(text)
        assert not loads, (page.relative_to(site), loads)
