"""`lstm-autograd audit`: a written derivation checked line by line against the graph its definitions build."""

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support.mutations import corrected, every_mutation

import autograd
from autograd import ops
from lstm_autograd.audit import audit, audit_text
from lstm_autograd.audit.document import read
from lstm_autograd.audit.latex import ReadError, parse
from lstm_autograd.audit.shapes import infer
from lstm_autograd.cli import main

ROOT = Path(__file__).parent.parent
SEED_PATH = ROOT / "docs" / "lstm-cell-partials.md"
SEED = SEED_PATH.read_text()
ERRATUM_A = [16, 17, 35, 36, 53, 54, 71, 72]  # the partials of v written as partials of q
ROW_FORM = [18, 19, 37, 38, 55, 56, 73, 74]  # erratum (c): x_tᵀ∇_p i_t, the weight gradients in row form


def flagged(report) -> list[int]:
    return sorted({f.line for f in report.findings if f.flagged})


def at(report, line, claim="partial"):
    return next(f for f in report.findings if f.line == line and f.claim == claim)


@pytest.fixture(scope="module")
def seed_report():
    return audit(SEED_PATH)


def test_the_seed_reports_its_four_errata_and_nothing_else(seed_report):
    r = seed_report
    assert flagged(r) == sorted(ERRATUM_A + [61])
    # (a): q does not depend on W_{h_k} or h_{t-1}; what is written is the partial of v
    for line in ERRATUM_A:
        f = at(r, line)
        assert f.verdict == "wrong" and f.expected == "0"
        assert re.search(r"what is written holds for ∇_\{(W_\{h_.\}|h_\{t-1\})\} v \(v = W_\{h_.\} h_\{t-1\}, line",
                         f.message), f.message
    # (b): g_t = σ(p) contradicts g_t = tanh(…) and its own derivative, which is right for tanh
    b = at(r, 61, "definition")
    assert b.verdict == "contradiction"
    assert "line 59" in b.message and "line 62" in b.message and "g_t = tanh(p)" in b.message
    assert at(r, 62).verdict == "right" and "tanh(p)" in at(r, 62).message
    # (c): a convention, stated
    assert [f.line for f in r.partials if f.verdict == "convention"] == ROW_FORM
    assert "row form" in at(r, 18).message and "column form, the engine's: ∇_p i_t x_tᵀ = " in at(r, 18).message
    # (d): a reading note, and line 4 still read
    notes = [f for f in r.findings if f.verdict == "note"]
    assert [(f.line, "one closing parenthesis too many" in f.message) for f in notes] == [(4, True)]
    assert at(r, 4, "definition").verdict == "defined"
    assert len(r.partials) == 58 and not r.passed
    assert {f.verdict for f in r.partials} == {"right", "convention", "wrong"}


def test_the_corrected_seed_passes_with_its_conventions_stated(tmp_path, capsys):
    path = tmp_path / "corrected.md"
    path.write_text(corrected(SEED))
    r = audit(path)
    assert r.passed and flagged(r) == []
    assert [f.line for f in r.partials if f.verdict == "convention"] == ROW_FORM
    assert main(["audit", str(path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("every partial is right (up to the conventions stated)")


def _pick(mutants, seed):
    """One mutant per (line, kind), drawn with a fixed seed: every line and every kind, at a bearable cost."""
    rng = np.random.default_rng(seed)
    groups = {}
    for n, kind, mutated in mutants:
        groups.setdefault((n, kind), []).append(mutated)
    return [(n, kind, group[rng.integers(len(group))]) for (n, kind), group in sorted(groups.items())]


CORRECTED_MUTANTS = _pick(every_mutation(corrected(SEED)), seed=0)


def test_the_mutations_cover_the_seed():
    kinds = {kind for _, kind, _ in CORRECTED_MUTANTS}
    assert kinds == {"dropped tanh", "dropped sigma", "sign", "subscript", "swapped operand"}
    lines = {n for n, _, _ in CORRECTED_MUTANTS}
    formulas = {n for n, line in enumerate(SEED.splitlines(), 1) if "=" in line and "$" in line}
    assert lines == formulas  # every line with a formula is mutated
    original = corrected(SEED).splitlines()
    assert all(mutated != original[n - 1] for n, _, mutated in CORRECTED_MUTANTS)


@pytest.mark.parametrize("n, kind, mutated", CORRECTED_MUTANTS, ids=[f"{n}-{k}" for n, k, _ in CORRECTED_MUTANTS])
def test_a_single_mutation_is_flagged_on_its_line_and_no_other(n, kind, mutated):
    lines = corrected(SEED).splitlines()
    lines[n - 1] = mutated
    assert flagged(audit_text("\n".join(lines), points=2)) == [n], mutated


def _raw_mutants():
    """On the seed as it is: every line but those its own contradiction involves (59 and 61: with a third
    line of that chain wrong, which two are wrong cannot be told) and those it flags already."""
    base = {16, 17, 35, 36, 53, 54, 71, 72, 59, 61}
    return _pick([m for m in every_mutation(SEED) if m[0] not in base], seed=1)[::3]


@pytest.mark.parametrize("n, kind, mutated", _raw_mutants(), ids=[f"{n}-{k}" for n, k, _ in _raw_mutants()])
def test_a_mutation_of_the_seed_itself_adds_exactly_its_line(n, kind, mutated, seed_report):
    lines = SEED.splitlines()
    lines[n - 1] = mutated
    assert flagged(audit_text("\n".join(lines), points=2)) == sorted({*flagged(seed_report), n}), mutated


# ---------------------------------------------------------------------------------------------------------
# The notation
# ---------------------------------------------------------------------------------------------------------


def _grammar_rows():
    """The examples of docs/audit.md's grammar table: (LaTeX, how the audit reads it)."""
    text = (ROOT / "docs" / "audit.md").read_text()
    return re.findall(r"^\| [^|]+ \| `([^`]+)` \| `([^`]+)` \|", text, re.M)


def test_the_grammar_table_of_the_docs_is_how_the_parser_reads():
    rows = _grammar_rows()
    assert len(rows) >= 15
    for latex, reading in rows:
        assert " = ".join(side.show() for side in parse(latex).sides) == reading, latex


@pytest.mark.parametrize("latex, message", [
    (r"y = \frac{a}{b}", r"\frac is not in the notation"),
    (r"y = x^{-1}", "superscript"),
    (r"\nabla x = 1", "needs a subscript"),
    (r"\nabla_x (a+b) = 1", "must be a symbol"),
    (r"y = (a", None),  # read, with a note
])
def test_what_the_parser_refuses_it_says(latex, message):
    if message is None:
        assert parse(latex).notes
        return
    with pytest.raises(ReadError, match=re.escape(message)):
        parse(latex)


def test_a_line_it_cannot_read_is_reported_with_its_number():
    text = "# f\n$y = \\sigma(x)$\n\n$\\nabla_x y = \\frac{1}{2}$\n$\\nabla_x y = (1-\\sigma(x))\\sigma(x)$\n" \
           "the slope \\nabla_x y is nice\nand $y = 1\n"
    r = audit_text(text)
    unread = [(f.line, f.verdict) for f in r.findings if f.verdict == "unreadable"]
    assert unread == [(4, "unreadable"), (6, "unreadable"), (7, "unreadable")]
    assert "\\frac" in at(r, 4, "formula").message
    assert "LaTeX outside $" in at(r, 6, "formula").message
    assert "never closed" in at(r, 7, "formula").message
    assert at(r, 5).verdict == "right" and not r.passed


def test_a_display_block_over_several_lines_is_one_formula_at_its_first_line():
    r = audit_text("# s\n$$\ny = \\sigma(p)\n$$\n```\n$y = p$ in code is not read\n```\n$\\nabla_p y = y(1-y)$\n")
    assert [(f.line, f.claim, f.verdict) for f in r.findings] == [(2, "definition", "defined"), (8, "partial", "right")]


def _one(definitions: str, partial: str):
    r = audit_text(f"# s\n{definitions}\n{partial}\n")
    return r.partials[-1]


@pytest.mark.parametrize("definitions, partial, verdict, expected", [
    ("$y = \\sigma(p)$", "$\\nabla_p y = y(1-y)$", "right", ""),
    ("$y = \\sigma(p)$", "$\\nabla_p y = \\sigma'(p)$", "right", ""),
    ("$y = \\sigma(p)$", "$\\nabla_p y = \\sigma(p)$", "wrong", "(1−σ(p))σ(p)"),
    ("$y = \\tanh(p)$", "$\\nabla_p y = 1-\\tanh(p)$", "wrong", "1−tanh²(p)"),
    ("$q = W x$", "$\\nabla_W q = x^T$", "right", ""),
    ("$q = W x$", "$\\nabla_x q = W^\\top$", "right", ""),
    ("$q = W x$", "$\\nabla_x q = W$", "convention", ""),  # the Jacobian itself: row form
    ("$q = W x$", "$\\nabla_W q = x$", "wrong", "xᵀ"),
    ("$y = a \\odot b$", "$\\nabla_a y = a$", "wrong", "b"),
    ("$y = a - b$", "$\\nabla_b y = 1$", "wrong", "−1"),
])
def test_each_partial_is_judged_against_the_engine(definitions, partial, verdict, expected):
    f = _one(definitions, partial)
    assert (f.verdict, f.expected) == (verdict, expected), f.message


def test_a_gradient_written_through_a_partial_is_judged_without_a_jacobian_at_hand():
    """∇_p y inside a side is the first Jacobian of y by p asked for: its reverse passes must be recorded even
    though the side is evaluated for its value alone (they were not, and the finite-difference witness stopped
    the audit)."""
    r = audit_text("# s\n$y = \\sigma(p)$\n$p = W x$\n$\\nabla_W y = \\nabla_p y\\, x^T$\n")
    assert [f.verdict for f in r.partials] == ["right"]


def test_the_transpose_and_the_sign_are_named_when_they_are_what_is_wrong():
    assert "transpose of the right value" in _one("$q = W x$", "$\\nabla_W q = x$").message
    assert "sign is wrong" in _one("$y = a - b$", "$\\nabla_b y = 1$").message
    assert "is no chain" in _one("$y = \\sigma(p)$\n$p = q + v$\n$q = W x$", "$\\nabla_W y = \\nabla_p y "
                                 "\\nabla_v p \\nabla_W q$").message


def test_a_derivation_of_another_cell_is_read_the_same_way():
    """A GRU's update gate and new state, written from scratch: nothing in the audit knows LSTMs."""
    text = r"""# GRU update
$$z = \sigma(W_z x_t + U_z h_{t-1} + b_z)$$
- $z = \sigma(a)$, $a = W_z x_t + U_z h_{t-1} + b_z$
- $\nabla_a z = z \odot (1 - z)$
- $\nabla_{U_z} a = h_{t-1}^T$
- $\nabla_{h_{t-1}} a = U_z^T$
- $\nabla_{U_z} z = \nabla_a z \nabla_{U_z} a = \nabla_a z\, h_{t-1}^T$

# New state
- $h_t = (1 - z) \odot h_{t-1} + z \odot n$
- $\nabla_z h_t = n - h_{t-1}$
- $\nabla_{h_{t-1}} h_t = 1 - z$
"""
    r = audit_text(text)
    assert r.passed, r.format()
    assert [f.verdict for f in r.partials] == ["right"] * 6


ROW_VECTORS = r"""# A vanilla RNN step, written with row vectors (CS231n's layout)
$$h = \tanh(x W_x + h_{t-1} W_h + b)$$
- $h = \tanh(a)$, $a = x W_x + h_{t-1} W_h + b$
- $\nabla_a h = 1 - h^2$
- $\nabla_{x} a = W_x^T$
- $\nabla_{W_x} h = \nabla_a h \nabla_{W_x} a = x^T \nabla_a h$
- $\nabla_{h_{t-1}} h = \nabla_a h W_h^T$
"""


def test_a_derivation_written_with_row_vectors_is_read_as_such():
    r = audit_text(ROW_VECTORS)
    assert r.passed and r.settings["vectors"] == "rows", r.format()
    assert [f.verdict for f in r.partials] == ["right", "convention", "convention", "convention"]
    assert at(r, 2, "definition").text == "h = tanh(x W_x + h_{t-1} W_h + b)"  # as written
    wrong = audit_text(ROW_VECTORS.replace("x^T \\nabla_a h", "x \\nabla_a h"))
    assert flagged(wrong) == [6]


def test_a_definition_whose_shapes_do_not_fit_is_flagged():
    r = audit_text("# s\n$q = W x$\n$r = x W$\n$\\nabla_x q = W^T$\n")
    assert flagged(r) == [3] and "column times a matrix" in at(r, 3, "definition").message


def test_the_engine_is_the_reference_and_finite_differences_witness_it(monkeypatch):
    wrong = replace(ops.sigmoid.partials[0], vjp=lambda u, ans, p: u * ans)  # σ's derivative forgotten
    monkeypatch.setattr(autograd, "sigmoid", replace(ops.sigmoid, partials=(wrong,)))
    with pytest.raises(RuntimeError, match="disagree with finite differences"):
        audit_text("# s\n$y = \\sigma(p)$\n$\\nabla_p y = y$\n")


# ---------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------


def test_the_command_exits_1_on_the_seed_and_reports_json(capsys):
    assert main(["audit", str(SEED_PATH)]) == 1
    text = capsys.readouterr().out
    assert "FAILED: lines 16, 17, 35, 36, 53, 54, 61, 71, 72" in text
    assert main(["audit", str(SEED_PATH), "--json", "--points", "2"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False and report["settings"]["points"] == 2
    assert {f["line"] for f in report["findings"] if f["verdict"] == "convention"} == set(ROW_FORM)


@pytest.mark.parametrize("name, content, message", [
    ("missing.md", None, "no such file"),
    ("notes.txt", "$y = x$", "expected a markdown file"),
    ("empty.md", "  \n", "the file is empty"),
    ("prose.md", "# Notes\nno formulas here\n", "no formula between $ signs"),
    ("folder.md", "dir", "is a directory"),
])
def test_bad_input_is_one_line_naming_the_path(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    assert main(["audit", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and message in err, err


@pytest.mark.parametrize("page, options", [("docs/audit.md", ""), ("docs/audit.md", " --problems")])
def test_the_docs_show_the_real_output_on_the_seed(page, options):
    shown = (ROOT / page).read_text()
    command = f"lstm-autograd audit docs/lstm-cell-partials.md{options}"
    block = re.search(r"```console\n\$ " + re.escape(command) + r"\n(.*?)```", shown, re.S)
    assert block, f"{page} shows {command}"
    text = audit(SEED_PATH).format(problems=bool(options)).replace(str(SEED_PATH), "docs/lstm-cell-partials.md")
    assert block.group(1).strip() == text.strip()


@pytest.mark.parametrize("formula,reason", [
    ("r = (q)^{1000}", "the power 1000 is beyond what the audit evaluates (at most 32)"),
    ("r = \\tanh^{99999999}(q)", "the power 99999999 is beyond what the audit evaluates (at most 32)"),
    ("r = " + "{" * 200 + "q" + "}" * 200, "nested more than 50 deep"),
    ("r = " + "\\tanh(" * 2000 + "q" + ")" * 2000, "nested more than 50 deep"),
])
def test_a_formula_past_the_limits_is_unreadable_on_its_line_not_a_hang_or_a_recursion_error(formula, reason):
    """(q)^{99999999} hung (evaluated as that many products); 200 braces ended in 'maximum recursion depth'."""
    with pytest.raises(ReadError, match=re.escape(reason)):
        parse(formula)
    report = audit_text(f"# s\n\n${formula}$\n\n$\\nabla_q p = 1$\n")
    assert any(f.line == 3 and f.verdict == "unreadable" and reason in f.message for f in report.findings)


def test_the_sizes_and_so_the_work_do_not_grow_with_the_number_of_sections():
    """2,000 short sections took 195 s: every section's own p, q, v got a size of its own, 3 to 6,002."""
    text = "".join(f"# s{i}\n\n$p = q + v$\n\n$\\nabla_q p = 1$\n\n" for i in range(60))
    assert max(infer(read(text)).shapes.values(), key=max) == (3, 1)


def test_a_file_larger_than_a_derivation_is_refused_without_reading_it_all(tmp_path):
    """A .md linking to /dev/zero read forever."""
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    with pytest.raises(ValueError, match=r"zero\.md: larger than 4 MiB; expected a markdown derivation"):
        audit(tmp_path / "zero.md")


def test_a_number_of_points_that_would_run_for_hours_is_refused(capsys):
    """--points 1000000 ran silently for hours (12 ms a point on the seed)."""
    assert main(["audit", str(SEED_PATH), "--points", "1000000"]) == 2
    assert capsys.readouterr().err == "lstm-autograd audit: error: points: expected 1 to 1000, got 1000000\n"
