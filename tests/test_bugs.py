"""The bug zoo: each classic mistake fails exactly the rows it names, and the correct path stays correct."""

import re
from pathlib import Path

import pytest

import viz
from lstm import hand
from lstm.derivation.bugs import BUGS
from lstm.derivation.compare import compare
from lstm_autograd.bug_zoo import bug_zoo_markdown
from lstm_autograd.cli import main

DOC = Path(__file__).parent.parent / "docs" / "bug-zoo.md"


@pytest.mark.parametrize("name", BUGS)
def test_each_bug_fails_exactly_the_rows_it_names(name, capsys):
    assert main(["compare", "--bug", name]) == 1
    report = compare(derivation=BUGS[name].derivation)
    assert report.settings["derivation"] == name
    assert sorted(row.name for row in report.failing()) == sorted(BUGS[name].fails)
    section = DOC.read_text().split(f"## `{name}`")[1].split("\n## ")[0]
    listed = re.search(r"rows that fail \(\d+\): (.*)", section).group(1)
    assert sorted(re.findall(r"`([^`]+)`", listed)) == sorted(BUGS[name].fails)


def test_the_correct_derivation_is_untouched_by_the_bugs():
    lines = hand.DERIVATION.formulas()
    for bug in BUGS.values():
        assert bug.derivation != hand.DERIVATION
        compare(derivation=bug.derivation, length=2)
    assert hand.DERIVATION.formulas() == lines and hand.DERIVATION.name is None
    assert compare().passed


def test_the_doc_is_the_commands_real_output():
    # Differences at rounding level (below 1e-9) depend on the order of floating-point sums, which BLAS
    # kernels may change from machine to machine; everything else must match the command's output exactly.
    # The diagnosis' tables (the Taylor remainders, finite differences by step size) reach rounding by design.
    def rounding_blurred(text: str) -> str:
        text = re.sub(r"^  (ε|eps) = .*$", r"  \1 row", text, flags=re.M)
        text = re.sub(r"ε\^\d\.\d\d", "ε^n", text)  # the orders are read where rounding begins
        return re.sub(r"\d\.\d\de-(?:09|1\d|[2-9]\d)|0\.00e\+00", "≈0", text)

    assert rounding_blurred(DOC.read_text()) == rounding_blurred(bug_zoo_markdown())


def test_bug_list_names_them_all(capsys):
    assert main(["compare", "--bug", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BUGS) and len(out.splitlines()) == len(BUGS)


def test_an_unknown_bug_is_named_in_the_error(capsys):
    assert main(["compare", "--bug", "nope"]) == 2
    assert "no bug named 'nope'; the bug zoo has tanh-forgotten" in capsys.readouterr().err


def outlined(graph) -> set[str]:
    return set(re.findall(r'BORDER="3" COLOR="#d62728".*?<B>(.*?)</B>', graph.source))


def test_render_outlines_where_the_hand_gradient_breaks():
    # the inputs and the initial state too: compare fails xs and h0 (c_{t−1}'s gradient, ∇c_t ⊙ f_t, stays right)
    assert outlined(viz.render_gate("forget", derivation=BUGS["forget-no-sigmoid-derivative"].derivation)) == {
        "p", "q", "v", "W<SUB>xf</SUB>", "W<SUB>hf</SUB>", "b<SUB>f</SUB>", "x<SUB>t</SUB>", "h<SUB>t−1</SUB>"}
    # what is never carried back is wrong at every step but the last, the initial state included
    assert {"h<SUB>t−1</SUB>", "c<SUB>t−1</SUB>", "x<SUB>t</SUB>"} <= outlined(
        viz.render_gate("all", length=2, derivation=BUGS["no-carry"].derivation))
    assert outlined(viz.render_gate("all", derivation=BUGS["w-h-uses-h-t"].derivation)) == {
        f"W<SUB>h{k}</SUB>" for k in "ifog"}
    assert outlined(viz.render_gate("hidden", derivation=BUGS["tanh-forgotten"].derivation)) >= {
        "o<SUB>t</SUB>", "c<SUB>t</SUB>"}
    assert outlined(viz.render_gate("all", derivation=hand.DERIVATION)) == set()


def test_render_command_takes_a_bug(tmp_path):
    assert main(["render", "--gate", "input", "--bug", "no-carry", "--length", "2", "-o", str(tmp_path / "a.svg")]) == 0
    assert main(["render", "--gate", "input", "--bug", "nope", "-o", str(tmp_path / "b.svg")]) == 2
