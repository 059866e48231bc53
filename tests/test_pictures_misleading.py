"""Pictures that could mislead, measured in headless Chromium: a bug's picture with nothing red says why and
where the bug shows (issue 27, item 2); a gate's picture shows, beside a total gradient, the share that the
drawn edges carry (item 4); a PNG is typeset as the SVG is, subscripts below and smaller, at a chosen dpi
(item 6)."""

from __future__ import annotations

from pathlib import Path

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
