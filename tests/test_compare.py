"""The comparison report and the `compare` / `demo` commands."""

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from lstm import hand
from lstm.derivation.compare import compare
from lstm_autograd.cli import main


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_comparison_passes_with_every_table(dtype):
    report = compare(dtype=dtype)
    assert report.passed, report.format()
    tables = {row.table for row in report.rows}
    assert tables == {"gradients", "partials", "through time"}
    names = [row.name for row in report.rows if row.table == "gradients"]
    assert names == list(hand.GRADIENTS)
    partials = [row.name for row in report.rows if row.table == "partials"]
    assert "input gate: ∇_p i_t = (1−σ(p))σ(p)" in partials
    assert "gate gate: ∇_{W_hg} v = h_{t-1}ᵀ" in partials
    assert "hidden state update: ∇_{c_t} q = 1−tanh²(c_t)" in partials
    assert len(partials) == 4 * 8 + 6 + 3  # every partial the derivation lists, per gate
    assert all(row.engine_vs_fd is not None and row.engine_vs_fd < 1e-6 for row in report.rows
               if row.table == "gradients" and dtype == "float64")


@pytest.mark.parametrize("sizes", [(1, 1, 1, 1), (5, 2, 3, 4), (2, 7, 1, 3)])
def test_the_comparison_passes_on_awkward_sizes(sizes):
    X, H, B, T = sizes
    assert compare(X, H, B, T, seed=7).passed


def test_large_tensors_are_checked_on_a_sample_of_elements():
    report = compare(20, 12, 2, 3, fd_samples=10)
    assert report.passed


def test_a_wrong_line_fails_its_partial_row_and_the_gradients_it_feeds():
    wrong = hand.DERIVATION.replace(
        cell_dq_df=hand.Formula("cell state update", "q", "f_t", "c_t", lambda u, s, P, k: u * s.c))
    report = compare(length=1, derivation=wrong)  # one step, so the error cannot spread through h_{t-1}
    failing = {row.name for row in report.failing()}
    assert "cell state update: ∇_{f_t} q = c_t" in failing
    assert {row.name for row in report.failing() if row.table == "gradients"} == {"W_xf", "W_hf", "b_f", "xs", "h0"}


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="length must be a positive integer, got 0"):
        compare(length=0)
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got int64"):
        compare(dtype=np.int64)


def test_compare_command_prints_the_tables_and_exits_zero(capsys):
    assert main(["compare", "--length", "3", "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "Local partials of the derivation" in out and "0 failed" in out and "T=3" in out


def test_steps_stays_accepted_as_the_old_spelling_of_length_with_a_note(capsys):
    assert main(["compare", "--steps", "2", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["settings"]["length"] == 2  # the note stays off stdout
    assert "--steps is the old spelling of --length T" in captured.err
    assert main(["compare", "--help"]) == 0
    assert "--steps" not in capsys.readouterr().out


def test_compare_command_json(capsys):
    assert main(["compare", "--json", "--hidden-size", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["settings"]["hidden_size"] == 2
    assert {row["name"] for row in report["rows"]} >= {"W_xi", "xs", "∇h_t"}


def test_compare_command_reports_bad_sizes_without_a_traceback(capsys):
    assert main(["compare", "--batch", "0"]) == 2
    assert capsys.readouterr().err == ("lstm-autograd compare: error: argument --batch: expected a positive integer, "
                                       "got '0' (see lstm-autograd compare --help)\n")


def test_ci_runs_the_test_command_the_readme_shows():
    root = Path(__file__).parent.parent
    shown = re.search(r"\(this is what `\.ci/run` runs\):\n\n```sh\n(.+)\n```", (root / "README.md").read_text())
    assert shown and shown[1].endswith("python -m pytest -n auto")
    assert shown[1] in (root / ".ci" / "run").read_text().splitlines()


def test_the_derivation_document_covers_every_hand_line():
    text = (Path(__file__).parent.parent / "docs" / "derivation.md").read_text()
    for field in dataclasses.fields(hand.DERIVATION):
        line = getattr(hand.DERIVATION, field.name)
        if isinstance(line, hand.Formula):
            assert f"`{line.key}` (`{field.name}`)" in text, field.name
    for erratum in "abcd":
        assert f"erratum ({erratum})" in text


def test_a_failing_comparison_prints_the_diagnosis(capsys):
    wrong = hand.DERIVATION.replace(
        cell_dq_df=hand.Formula("cell state update", "q", "f_t", "c_t", lambda u, s, P, k: u * s.c))
    report = compare(derivation=wrong)
    d = report.diagnosis
    assert d.taylor.verdict == "wrong" and d.name in {row.name for row in report.failing()}
    assert d.sweep.of == d.name and d.sweep.index == d.index
    text = report.format()
    assert f"Diagnosis (the engine and finite differences in float64)\n{d.name} at index {d.index}: relative " \
           f"error {d.relative:.1e}: wrong" in text
    assert "→ the gradient is wrong" in text and f"finite differences of {d.name} at index" in text
    assert json.loads(report.to_json())["diagnosis"]["taylor"]["verdict"] == "wrong"
    right = compare(length=2)
    assert right.diagnosis is None and "Diagnosis" not in right.format()
    assert json.loads(right.to_json())["diagnosis"] is None


def test_a_float32_comparison_says_finite_differences_run_in_float64():
    assert "finite differences in float64, of the same numbers" in compare(length=2, dtype="float32").format()
    assert "finite differences in float64, of the same numbers" not in compare(length=2).format()
