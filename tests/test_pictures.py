"""The pictures as people see them: every kind drawn, opened in headless Chromium (and in a notebook's page, and
through cairosvg), and its geometry measured: each subscript smaller than the text it hangs from and lower, no
two runs of a line on top of each other, text inside its box, no edge through any text."""

from __future__ import annotations

import base64
import functools
import html
import io
import re
from pathlib import Path

import numpy as np
import pytest

import viz
from autograd import Tensor
from lstm import LSTM
from lstm.derivation.bugs import BUGS


def readme_model(length: int = 5) -> tuple[Tensor, Tensor]:
    """The README's "From Python" example: hs and h_T after the backward."""
    model = LSTM(input_size=3, hidden_size=4, seed=0)
    xs = Tensor(np.random.default_rng(0).standard_normal((length, 2, 3)), requires_grad=True)
    hs, (h_T, _) = model(xs)
    hs.sum().backward(retain_grads=True)
    return hs, h_T


PICTURES = {
    "gate": lambda: viz.render_gate("input"),
    "cell": lambda: viz.render_gate("cell"),
    "whole cell": lambda: viz.render_gate("all"),
    "unrolled T=3": lambda: viz.render_gate("all", length=3, batch=2),
    "timeline T=50": lambda: viz.render_gate("all", length=50),
    "timeline of one gate": lambda: viz.render_gate("forget", length=50),
    "batched": lambda: viz.render_gate("forget", batch=4, hidden_size=8, input_size=5),
    "a bug": lambda: viz.render_gate("forget", derivation=BUGS["forget-no-sigmoid-derivative"].derivation),
    "a bug through time": lambda: viz.render_gate("input", length=50, derivation=BUGS["no-carry"].derivation),
    "loss last": lambda: viz.render_gate("all", length=50, loss="last"),
    "README's draw": lambda: viz.draw(readme_model()[1], sections="forget"),
    "README's draw unrolled": lambda: viz.draw(readme_model()[1], sections=["forget gate"], collapse=False),
}


@functools.cache
def picture(kind: str) -> tuple[str, str]:
    """The picture's SVG as the library writes it, and as Graphviz alone writes it (for where its subscripts are)."""
    import pygraphviz

    graph = PICTURES[kind]()
    return viz.to_svg(graph), pygraphviz.AGraph(string=graph.source).draw(format="svg", prog="dot").decode()


_TEXT = re.compile(r"<text ([^>]*)>([^<]*)</text>")


def runs(raw_svg: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([\w:-]+)="([^"]*)"', attributes)) for attributes, _ in _TEXT.findall(raw_svg)]


def lines(raw_svg: str) -> list[list[int]]:
    """Indices of the text runs, grouped into lines as Graphviz laid them out: adjacent runs on one baseline."""
    grouped: list[list[int]] = []
    previous = None
    for i, match in enumerate(_TEXT.finditer(raw_svg)):
        y = re.search(r' y="([^"]*)"', match.group(1)).group(1)
        adjacent = previous is not None and not raw_svg[previous.end():match.start()].strip()
        if grouped and adjacent and y == grouped[-1][1]:
            grouped[-1][0].append(i)
        else:
            grouped.append(([i], y))
        previous = match
    return [indices for indices, _ in grouped]


def subscripts(raw_svg: str) -> list[tuple[int, int]]:
    """(subscript, the run it hangs from): Graphviz marks a subscript `baseline-shift="sub"`; it hangs from the
    nearest run before it on its line that is not a subscript, or is one in a larger font (h of h_{t−1})."""
    found = []
    attributes = runs(raw_svg)
    for line in lines(raw_svg):
        for position, i in enumerate(line):
            if attributes[i].get("baseline-shift") != "sub":
                continue
            size = float(attributes[i]["font-size"])
            base = next((j for j in reversed(line[:position]) if attributes[j].get("baseline-shift") != "sub"
                         or float(attributes[j]["font-size"]) > size), None)
            if base is not None:
                found.append((i, base))
    return found


MEASURE = """() => {
  const svg = document.querySelector('svg');
  const rect = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const texts = [...svg.querySelectorAll('text')];
  const index = new Map(texts.map((t, i) => [t, i]));
  // the picture's own group holds all others: of it, only what is drawn directly in it (its title, its background)
  const groups = (selector, own = '') => [...svg.querySelectorAll(selector)].map(g => ({
    title: (g.querySelector('title') || {}).textContent,
    shapes: [...g.querySelectorAll(`${own}polygon, ${own}path`)].map(rect),
    texts: [...g.querySelectorAll(`${own}text`)].map(t => index.get(t)),
  }));
  const boxes = texts.map(rect);
  const crossings = [];
  for (const g of svg.querySelectorAll('g.edge')) {
    const points = [];
    for (const path of g.querySelectorAll('path')) {
      const m = path.getScreenCTM(), length = path.getTotalLength();
      for (let s = 0; s <= length; s += 1) {
        const p = path.getPointAtLength(s).matrixTransform(m);
        points.push([p.x, p.y]);
      }
    }
    for (const polygon of g.querySelectorAll('polygon')) {
      const m = polygon.getScreenCTM();
      for (const q of polygon.points) { const p = new DOMPoint(q.x, q.y).matrixTransform(m); points.push([p.x, p.y]); }
    }
    const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
    const [left, top, right, bottom] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    boxes.forEach((b, i) => {
      if (b[2] < left || b[0] > right || b[3] < top || b[1] > bottom || !texts[i].textContent.trim()) return;
      const hit = points.find(([x, y]) => x > b[0] + 1 && x < b[2] - 1 && y > b[1] + 1 && y < b[3] - 1);
      if (hit) crossings.push([g.querySelector('title').textContent, i, hit]);
    });
  }
  const advance = t => {  // where the run's pen starts and ends (a glyph's ink may overhang its advance)
    const n = t.getNumberOfChars(), m = t.getScreenCTM();
    if (!n) return null;
    const start = t.getStartPositionOfChar(0), end = t.getEndPositionOfChar(n - 1);
    return [new DOMPoint(start.x, start.y).matrixTransform(m).x, new DOMPoint(end.x, end.y).matrixTransform(m).x];
  };
  return {texts: texts.map((t, i) => ({box: boxes[i], advance: advance(t), text: t.textContent})),
          nodes: groups('g.node'),
          clusters: groups('g.cluster'), graph: groups('g.graph', ':scope > '), crossings: crossings,
          width: svg.getBoundingClientRect().width};
}"""


def measure(page) -> dict:
    return page.evaluate(MEASURE)


def open_svg(page, svg: str, tmp_path: Path) -> dict:
    path = tmp_path / "picture.svg"
    path.write_text(svg)
    page.goto(path.as_uri())
    return measure(page)


def height(box) -> float:
    return box[3] - box[1]


def check_subscripts(found: dict, raw_svg: str) -> int:
    """Each subscript smaller than the run it hangs from, and lower; returns how many were checked."""
    texts = found["texts"]
    pairs = subscripts(raw_svg)
    for i, base in pairs:
        sub, main = texts[i]["box"], texts[base]["box"]
        what = f"{texts[i]['text']!r} under {texts[base]['text']!r}"
        assert height(sub) < 0.95 * height(main), f"subscript {what} is not smaller: {sub} vs {main}"
        assert (sub[1] + sub[3]) / 2 > (main[1] + main[3]) / 2 + 0.5, f"subscript {what} is not lower: {sub} vs {main}"
        assert sub[3] > main[3], f"subscript {what} does not reach below its base: {sub} vs {main}"
    return len(pairs)


def check_lines(found: dict, raw_svg: str) -> None:
    """No run of a line drawn over the next one: where one run's pen stops, the next may start, not before."""
    texts = found["texts"]
    for line in lines(raw_svg):
        for a, b in zip(line, line[1:], strict=False):
            assert texts[a]["advance"][1] <= texts[b]["advance"][0] + 0.75, (
                f"{texts[a]['text']!r} runs into {texts[b]['text']!r}: {texts[a]['advance']} vs {texts[b]['advance']}")


def check_inside(found: dict) -> None:
    """Every text inside the box drawn around it, the smallest one around its middle: a table's cell or frame, a
    cluster's frame, the picture's background. (Text drawn in no box, a label on an edge, has none to leave.)"""
    texts = found["texts"]
    for group in found["nodes"] + found["clusters"] + found["graph"]:
        for i in group["texts"]:
            box = texts[i]["box"]
            middle = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
            around = [s for s in group["shapes"] if s[0] <= middle[0] <= s[2] and s[1] <= middle[1] <= s[3]]
            if not texts[i]["text"].strip() or not around:
                continue
            left, top, right, bottom = min(around, key=lambda s: (s[2] - s[0]) * (s[3] - s[1]))
            assert left - 0.5 <= box[0] and box[2] <= right + 0.5 and top - 0.5 <= box[1] and box[3] <= bottom + 0.5, (
                f"{texts[i]['text']!r} leaves its box in {group['title']}: {box} outside {[left, top, right, bottom]}")


def check(found: dict, raw_svg: str) -> None:
    assert check_subscripts(found, raw_svg) or "SUB" not in raw_svg
    check_lines(found, raw_svg)
    check_inside(found)
    assert not found["crossings"], "edges through text: " + "; ".join(
        f"{edge} through {found['texts'][i]['text']!r} at {point}" for edge, i, point in found["crossings"][:5])


@pytest.mark.parametrize("kind", PICTURES)
def test_every_picture_reads_right_in_chromium(kind, page, tmp_path):
    svg, raw = picture(kind)
    found = open_svg(page, svg, tmp_path)
    assert found["texts"] and found["width"] > 100
    check(found, raw)
    assert page.errors == []


def test_graphviz_alone_fails_these_checks(page, tmp_path):
    """The checks can fail: Graphviz's own SVG draws subscripts full size and runs text past its neighbours."""
    _, raw = picture("batched")
    found = open_svg(page, raw, tmp_path)
    with pytest.raises(AssertionError, match="is not smaller"):
        check_subscripts(found, raw)
    with pytest.raises(AssertionError, match="runs into|leaves its box"):
        check_lines(found, raw)
        check_inside(found)


def test_the_checks_see_an_edge_through_a_label(page, tmp_path):
    """An edge label of Graphviz's own, which orthogonal routing puts on the edge itself: the measure sees the
    crossing (and Graphviz's warning about it comes as a warning)."""
    import graphviz

    crossed = graphviz.Digraph(graph_attr={"rankdir": "LR", "splines": "ortho"})
    for tail, head in ("ab", "ac", "cb", "ad", "db", "cd"):
        crossed.edge(tail, head, label=f"∇ {tail}{head}, a label on the edge")
    with pytest.warns(viz.RenderWarning, match="Orthogonal edges"):
        svg = viz.to_svg(crossed)
    found = open_svg(page, svg, tmp_path)
    assert found["crossings"]


def test_subscripts_have_two_levels(page, tmp_path):
    """∇_{h_{t−1}}: t−1 hangs from h, smaller and lower still."""
    svg, raw = picture("gate")
    found = open_svg(page, svg, tmp_path)
    texts = [t["text"] for t in found["texts"]]
    pairs = {(texts[i], texts[base]) for i, base in subscripts(raw)}
    assert ("t−1", "h") in pairs and ("hi", "W") in pairs


def test_the_unrolled_picture_names_operands_as_each_step_reads_them():
    """Inside t = 1 the forget gate reads h_{t−1} (step 0's h_t), the cell c_{t−1}: never h_t or c_t; the tooltip
    gives the step's own indices."""
    source = viz.render_gate("all", length=3, batch=2).source
    flat = re.sub(r'<FONT POINT-SIZE="[\d.]+">([^<]*)</FONT>', r"\1", source)
    assert "∇<SUB>W<SUB>hf</SUB>ᵀ</SUB> v = h<SUB>t−1</SUB>ᵀ" in flat
    assert "∇<SUB>h<SUB>t−1</SUB></SUB> v = W<SUB>hf</SUB>" in flat
    assert "∇<SUB>c<SUB>t−1</SUB></SUB> q = f<SUB>t</SUB>" in flat
    assert "∇<SUB>f<SUB>t</SUB></SUB> q = c<SUB>t−1</SUB>" in flat
    for wrong in ("= h<SUB>t</SUB>ᵀ", "∇<SUB>h<SUB>t</SUB></SUB> v", "∇<SUB>c<SUB>t</SUB></SUB> q = f",
                  "q = c<SUB>t</SUB>"):
        assert wrong not in flat, wrong
    assert "t = 1 / forget gate: ∇_{h_{0}} v = W_hf" in source
    assert "t = 2 / cell state update: ∇_{c_{1}} q = f_{2}" in source
    assert "t = 0 / cell state update: ∇_{c_{-1}} q = f_{0}" in source


def test_batched_pictures_draw_parameters_and_inputs_as_what_they_are():
    """The README's batched model: blue W_hf read transposed on its edge, x_t a grey input, no transpose or
    getitem nodes."""
    source = viz.draw(readme_model(2)[0], collapse=False).source
    colour = {kind: c for kind, (c, _) in viz.lstm_views.KINDS.items()}
    kinds = {symbol: c for c, symbol in re.findall(r'<TD BGCOLOR="(#[0-9a-f]+)"><B>(.*?)</B>', source)}
    assert kinds["W<SUB>hf</SUB>"] == colour["parameter"] and kinds["x<SUB>t</SUB>"] == colour["input"]
    assert not re.search(r">(transpose|getitem)</FONT>", source) and "<B>xs</B>" not in source
    assert "W<SUB>hf</SUB>ᵀ</B>" not in source
    assert "∇<SUB>W<SUB>hf</SUB>ᵀ</SUB>" in re.sub(r'<FONT POINT-SIZE="[\d.]+">([^<]*)</FONT>', r"\1", source)


def test_the_picture_shows_in_a_notebook(page, tmp_path):
    """The Graph a notebook cell returns displays as SVG: executed by a real kernel, its image/svg+xml output
    placed in a page as Jupyter does (inline, and as an image), and measured there."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import viz\nviz.render_gate('forget')")])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    svg = notebook.cells[0].outputs[0]["data"]["image/svg+xml"]
    page.set_content(f"<!DOCTYPE html><html><body><div class='jp-RenderedSVG'>{svg}</div></body></html>")
    found = measure(page)
    check(found, picture_raw(viz.render_gate("forget")))
    page.set_content(f"<img src='data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}'>")
    assert page.evaluate("(image => image.decode().then(() => image.naturalWidth))(document.querySelector('img'))")
    assert page.errors == []


def picture_raw(graph) -> str:
    import pygraphviz

    return pygraphviz.AGraph(string=graph.source).draw(format="svg", prog="dot").decode()


def cairo_ink(svg: str, base: str, sub: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(top, bottom) pixel rows of the ink of the last letter of the run `base` and of the run `sub` right after it,
    as cairosvg draws the picture: the first such pair of runs that another run follows on the line."""
    cairosvg = pytest.importorskip("cairosvg")
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg.encode(), scale=3))).convert("RGB"))
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    scale = image.shape[1] / width
    shift = [float(v) for v in re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", svg).groups()]
    found = [(dict(re.findall(r'([\w:-]+)="([^"]*)"', a)), html.unescape(text)) for a, text in _TEXT.findall(svg)]
    at = next((i for i in range(len(found) - 2) if found[i][1].endswith(base) and found[i + 1][1] == sub), None)
    assert at is not None, f"no run {sub!r} after {base!r}"
    (a, first), (b, _), (c, _) = found[at:at + 3]
    size = float(a["font-size"])
    x0, x1, x2 = float(a["x"]), float(b["x"]), float(c["x"])
    rows = slice(int((min(float(a["y"]), float(b["y"])) - size + shift[1]) * scale),
                 int((max(float(a["y"]), float(b["y"])) + 0.3 * size + shift[1]) * scale))

    def ink(left: float, right: float) -> tuple[int, int]:
        region = image[rows, int((left + shift[0]) * scale):int((right + shift[0]) * scale)]
        dark = np.nonzero((region < 50).all(axis=2).any(axis=1))[0]  # black text; the edges are grey #555555
        return int(dark[0]), int(dark[-1])

    letter = (x1 - x0) / len(first)
    # the middle of each run's own columns: cairosvg, which ignores textLength, lets a glyph run a little into
    # its neighbour's (the W before xi does), and some overhang by design (the ᵀ after xi)
    return ink(x1 - 0.9 * letter, x1 - 0.1 * letter), ink(x1 + 0.3 * (x2 - x1), x2 - 0.3 * (x2 - x1))


@pytest.mark.parametrize("kind, base, sub", [("gate", "·R", "t"), ("gate", " q = W", "xi")])
def test_cairosvg_draws_subscripts_smaller_and_lower(kind, base, sub):
    svg, raw = picture(kind)
    (base_top, base_bottom), (sub_top, sub_bottom) = cairo_ink(svg, base, sub)
    assert sub_bottom > base_bottom + 2 and sub_bottom - sub_top < base_bottom - base_top
    # Graphviz's own SVG: cairosvg sets the subscript on the line, full size
    (base_top, base_bottom), (sub_top, sub_bottom) = cairo_ink(raw, base, sub)
    assert abs(sub_bottom - base_bottom) <= 1
