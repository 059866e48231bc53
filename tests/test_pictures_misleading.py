"""Pictures that could mislead, measured in headless Chromium: a bug's picture with nothing red says why and
where the bug shows (issue 27, item 2); a gate's picture shows, beside a total gradient, the share that the
drawn edges carry (item 4); a PNG is typeset as the SVG is, subscripts below and smaller, at a chosen dpi
(item 6)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest

import viz
from lstm.derivation.bugs import BUGS
from lstm_autograd.cli import main
from viz.lstm_views import departs

RED = "rgb(214, 39, 40)"  # viz.lstm_views.MARK, as the browser reports a stroke

# every visible shape stroked red, and every line of text, each with its box on the page
SHAPES = """() => {
  const svg = document.querySelector('svg');
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {
    red: [...svg.querySelectorAll('polygon, path, polyline')]
      .filter(e => getComputedStyle(e).stroke === 'RED' && e.getBoundingClientRect().width > 0).map(box),
    texts: [...svg.querySelectorAll('text')].map(t => ({text: t.textContent, box: box(t)})),
    nodes: [...svg.querySelectorAll('g.node')].map(g => box(g)),
  };
}""".replace("RED", RED)


def shown(page, picture, tmp_path: Path) -> dict:
    path = tmp_path / "picture.svg"
    path.write_text(viz.to_svg(picture))
    page.goto(path.as_uri())
    return page.evaluate(SHAPES)


def test_a_bug_that_shows_only_through_time_says_so_on_its_picture(page, tmp_path):
    bug = BUGS["c-assigned"].derivation
    assert departs(bug, length=1) == 2
    quiet = shown(page, viz.render_gate("all", derivation=bug), tmp_path)
    assert quiet["red"] == []  # nothing red at one step: right, since nothing departs there
    note = [t for t in quiet["texts"] if "departs first in a sequence of 2 steps" in t["text"]]
    assert len(note) == 1
    top_of_nodes = min(box[1] for box in quiet["nodes"])
    assert note[0]["box"][3] <= top_of_nodes and note[0]["box"][2] - note[0]["box"][0] > 100  # a subtitle, seen
    red = shown(page, viz.render_gate("all", length=2, derivation=bug), tmp_path)
    assert len(red["red"]) > 0  # at the length the note names, the bug is red
    assert not [t for t in red["texts"] if "nothing is red" in t["text"]]


def test_a_bug_elsewhere_in_the_cell_is_said_to_be_elsewhere(page, tmp_path):
    found = shown(page, viz.render_gate("cell", derivation=BUGS["forget-no-sigmoid-derivative"].derivation),
                  tmp_path)
    assert found["red"] == []
    assert [t for t in found["texts"] if "departs elsewhere in the cell" in t["text"]]


@pytest.mark.parametrize("command", ["render", "explore"])
def test_the_command_line_says_in_one_line_where_a_quiet_bug_shows(command, tmp_path, capsys):
    output = tmp_path / ("pictures" if command == "render" else "page.html")
    arguments = [command, "--gate", "all", "--bug", "c-assigned", "-o", str(output)]
    assert main(arguments) == 0  # the picture is right: nothing departs at one step
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["note: c-assigned departs first at --length 2: nothing differs at --length 1, so nothing is "
                   "red; try --length 2"]
    assert main([*arguments, "--length", "2"]) == 0
    assert capsys.readouterr().err == ""


# each node's box and its text runs in document order, each with its box
NODES = """() => [...document.querySelectorAll('svg g.node')].map(g => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const frames = [...g.querySelectorAll('polygon')].map(box);  // the outer frame: the union of the cells
  const frame = [0, 1, 2, 3].map(i => (i < 2 ? Math.min : Math.max)(...frames.map(f => f[i])));
  return {box: frame, texts: [...g.querySelectorAll('text')].map(t => ({text: t.textContent, box: box(t)}))};
})"""


def numbers(text: str) -> list[float]:
    return [float(v) for v in text.strip("[] ").replace("−", "-").split()]


def gradient_rows(page, picture, tmp_path: Path, header: list[str]) -> tuple[list[float], list[float]]:
    """The total and the drawn share of the node titled by the runs `header`, as the browser lays them out: the
    share's words and numbers inside the node's frame, below the total."""
    path = tmp_path / "picture.svg"
    path.write_text(viz.to_svg(picture))
    page.goto(path.as_uri())
    nodes = page.evaluate(NODES)
    node = next(n for n in nodes if [t["text"] for t in n["texts"][:len(header)]] == header)
    texts = node["texts"]
    total = next(i for i, t in enumerate(texts) if t["text"].startswith("∇ total"))
    words = next(i for i, t in enumerate(texts) if t["text"].startswith("∇ through the"))
    left, top, right, bottom = node["box"]
    for t in texts[total:words + 2]:
        assert left <= t["box"][0] and t["box"][2] <= right and top <= t["box"][1] and t["box"][3] <= bottom
    middle = [(t["box"][1] + t["box"][3]) / 2 for t in texts]
    assert texts[words]["box"][1] > middle[total] and texts[words + 1]["box"][1] > middle[words]  # below the total
    return numbers(texts[total]["text"].removeprefix("∇ total")), numbers(texts[words + 1]["text"])


@pytest.mark.parametrize("header", [["h", "t−1"], ["x", "t"]])
def test_a_gate_shows_its_share_beside_the_total_and_the_shares_add_up(header, page, tmp_path):
    """h_{t−1} and x_t are read by the four gates: each gate's picture shows the total and its own share, and
    the four shares add up to the total (the chain rule, checked on the drawn edges)."""
    shares, totals = [], []
    for gate in ("input", "forget", "output", "gate"):
        total, share = gradient_rows(page, viz.render_gate(gate), tmp_path, header)
        totals.append(total)
        shares.append(share)
    assert all(total == totals[0] for total in totals)
    assert np.allclose(np.sum(shares, axis=0), totals[0], atol=2e-3)
    assert not np.allclose(shares[0], totals[0], atol=2e-3)  # no gate alone carries it all


def test_the_input_gates_share_of_h_is_the_issues_chain_rule(page, tmp_path):
    """Issue 27: the input gate's edge carries W_hiᵀ∇v = [−0.0071, −0.0079] of ∇h_{t−1} = [−0.014, 0.111]."""
    total, share = gradient_rows(page, viz.render_gate("input"), tmp_path, ["h", "t−1"])
    assert total == [-0.014, 0.111] and np.allclose(share, [-0.0071, -0.0079], atol=1e-4)


def test_a_whole_cell_shows_no_share(page, tmp_path):
    """Every reader drawn: the gradient is what the edges carry, one row."""
    path = tmp_path / "picture.svg"
    path.write_text(viz.to_svg(viz.render_gate("all")))
    page.goto(path.as_uri())
    texts = [t["text"] for n in page.evaluate(NODES) for t in n["texts"]]
    assert not [t for t in texts if t.startswith(("∇ total", "∇ through"))]


# the boxes, in CSS pixels from the picture's top left corner, of the runs ∇, `first` and `second` in a row
RUNS = """([first, second]) => {
  const svg = document.querySelector('svg'), origin = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')];
  const box = t => { const r = t.getBoundingClientRect();
                     return [r.left - origin.left, r.top - origin.top, r.right - origin.left, r.bottom - origin.top]; };
  const at = texts.findIndex((t, i) => i > 0 && texts[i - 1].textContent === '∇' && t.textContent === first
                                       && texts[i + 1].textContent === second);
  return {width: origin.width, base: box(texts[at]), sub: box(texts[at + 1]), before: box(texts[at - 1])};
}"""


def ink(image: np.ndarray, box: list[float], scale: float, pad: float) -> tuple[int, int]:
    """(top, bottom) pixel rows of the black ink within the run's columns, searched `pad` CSS pixels above and
    below its box (a run drawn elsewhere than the SVG has it is still found)."""
    rows = slice(max(0, int((box[1] - pad) * scale)), int((box[3] + pad) * scale))
    columns = slice(int((box[0] + 0.5) * scale), int((box[2] - 0.5) * scale))
    dark = np.nonzero((image[rows, columns] < 50).all(axis=2).any(axis=1))[0]  # black text; edges are grey
    return rows.start + int(dark[0]), rows.start + int(dark[-1])


def png_pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize("dpi", [96, 192, 300])
def test_a_png_sets_a_subscripts_subscript_below_and_smaller(dpi, page, tmp_path):
    """∇_{h_{t−1}} in the PNG as in the SVG: h below ∇, t−1 below h and smaller; the runs are found where
    Chromium lays out the same SVG, scaled by the dpi."""
    pytest.importorskip("cairosvg")
    picture = viz.render_gate("input")
    path = tmp_path / "picture.svg"
    path.write_text(viz.to_svg(picture))
    page.goto(path.as_uri())
    where = page.evaluate(RUNS, ["h", "t−1"])
    image = png_pixels(Path(viz.write(picture, tmp_path / "picture.png", dpi=dpi)).read_bytes())
    scale = image.shape[1] / where["width"]
    assert scale == pytest.approx(dpi / 96, rel=0.01)  # a CSS pixel is 1/96 inch
    nabla, h, t = (ink(image, where[run], scale, 0) for run in ("before", "base", "sub"))
    assert h[1] > nabla[1] + scale and t[1] > h[1] + scale  # each level lower
    assert t[1] - t[0] < h[1] - h[0]  # and smaller


def test_graphviz_alone_flattens_the_subscripts_subscript(page, tmp_path):
    """What the PNG was before: Graphviz's own PNG sets t−1 on h's line, at h's size."""
    import pygraphviz

    picture = viz.render_gate("input")
    path = tmp_path / "picture.svg"
    path.write_text(viz.to_svg(picture))
    page.goto(path.as_uri())
    where = page.evaluate(RUNS, ["h", "t−1"])
    image = png_pixels(pygraphviz.AGraph(string=picture.source).draw(format="png", prog="dot"))
    scale = image.shape[1] / where["width"]
    h, t = (ink(image, where[run], scale, 6) for run in ("base", "sub"))
    assert abs(t[1] - h[1]) <= 1


def test_the_resolution_is_chosen_on_the_command_line(tmp_path):
    pytest.importorskip("cairosvg")
    sizes = {}
    for dpi in (96, 192):
        assert main(["render", "--gate", "hidden", "--dpi", str(dpi), "-o", str(tmp_path / f"{dpi}.png")]) == 0
        sizes[dpi] = png_pixels((tmp_path / f"{dpi}.png").read_bytes()).shape[:2]
    assert sizes[192][0] == pytest.approx(2 * sizes[96][0], abs=2)
    assert sizes[192][1] == pytest.approx(2 * sizes[96][1], abs=2)
    assert main(["render", "--gate", "hidden", "--dpi", "0", "-o", str(tmp_path / "x.png")]) == 2


def test_without_cairo_a_png_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # as when cairosvg, or the libcairo it loads, is missing
    with pytest.raises(viz.RenderError, match=r"libcairo2.*or write SVG"):
        viz.write(viz.render_gate("hidden"), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert main(["render", "--gate", "hidden", "-o", str(tmp_path / "x.svg")]) == 0  # SVG needs no cairo


def test_the_explorer_of_a_quiet_bug_says_so_under_its_title(page, tmp_path):
    path = viz.explore_gate("all", derivation=BUGS["c-assigned"].derivation).save(tmp_path / "page.html")
    page.goto(Path(path).as_uri())
    title = page.locator("#title")
    assert "departs first in a sequence of 2 steps" in title.inner_text()
    box = title.bounding_box()
    assert box["width"] > 100 and box["height"] > 10 and box["y"] + box["height"] <= 900  # in sight on opening
    assert page.locator(".node.marked").count() == 0
