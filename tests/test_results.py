"""docs/results.md from run records: tables, figures and pending runs, from a tiny queue run for real."""

import copy
import json
import re

import numpy as np
import pytest

from lstm_autograd.cli import main
from lstm_autograd.training import reproduce, results
from lstm_autograd.training.train import Settings, train

TINY = ("--hidden-size", "3", "--batch", "2", "--steps", "4", "--evaluate-every", "2", "--dtype", "float32")


def runs_done(page: str) -> dict[str, tuple[int, int] | None]:
    """Each section of the page (by its heading's first words) and how many of its runs are done of how many, as its
    heading tells the reader; None where it tells no count, every run being done."""
    sections = {}
    for heading in re.findall(r"^## (.+)$", page, re.M):
        counted = re.search(r"\b(\d+) of (\d+)\b", heading)
        sections[" ".join(heading.split()[:3])] = tuple(map(int, counted.groups())) if counted else None
    return sections


@pytest.fixture
def tiny_queue(monkeypatch):
    runs = [reproduce.Run("adding-100-lstm", 0, ("adding", "--length", "6", *TINY)),
            reproduce.Run("adding-100-rnn", 0, ("adding", "--length", "6", "--model", "rnn", *TINY)),
            reproduce.Run("adding-100-rnn", 1, ("adding", "--length", "6", "--model", "rnn", *TINY)),
            reproduce.Run("copy-100-lstm", 0, ("copy", "--length", "3", *TINY)),
            reproduce.Run("reber-lstm", 0, ("reber", "--steps", "4", "--evaluate-every", "2"))]
    monkeypatch.setattr(reproduce, "queue", lambda: runs)
    monkeypatch.setattr(results, "queue", lambda: runs)
    return runs


def test_the_page_holds_every_recorded_run_and_names_the_pending(tiny_queue, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    runs = tmp_path / "runs"
    for name in ("adding-100-lstm-0", "adding-100-rnn-0", "copy-100-lstm-0", "reber-lstm-0"):
        assert main(["reproduce", "run", "--runs", str(runs), "--only", name]) == 0
    assert main(["reproduce", "page", "--runs", str(runs), "-o", str(tmp_path / "docs")]) == 0
    written = capsys.readouterr().out.split()
    page = (tmp_path / "docs" / "results.md").read_text()
    for figure in ("adding-100.svg", "copy-100.svg", "reber.svg", "gradient-through-time.svg"):
        assert (tmp_path / "docs" / "results" / figure).exists() and f"results/{figure}" in page
        assert str(tmp_path / "docs" / "results" / figure) in written
    # the adding problem's rnn seed 1 has no record: its section, and only it, says 2 of its 3 runs are done
    assert {section: n for section, n in runs_done(page).items() if n} == {"The adding problem": (2, 3)}
    assert "lstm-autograd train adding --length 6 --model rnn --hidden-size 3" in page and "# S = 0 1" in page
    assert "| 100 | ≈ 0.005 by ≈ 5,000 |" in page and "0 of 1 (within 4)" in page
    assert "tanh RNN, untrained" in (tmp_path / "docs" / "results" / "gradient-through-time.svg").read_text()


def test_a_page_without_records_says_so(tiny_queue, tmp_path):
    pytest.importorskip("matplotlib")
    results.write_page(tmp_path / "none", tmp_path / "docs")
    page = (tmp_path / "docs" / "results.md").read_text()
    assert "No run has a record yet." in page
    assert {section: n for section, n in runs_done(page).items() if n} == {  # every task's, none of its runs done
        "The adding problem": (0, 3), "The copying memory": (0, 1), "The embedded Reber": (0, 1)}
    assert "0 of 0" not in page and "| ours: LSTM, forget-gate bias 5 | — |" in page  # no count of nothing
    assert not (tmp_path / "docs" / "results").exists() and "](results/" not in page  # no empty figures


def test_a_checkpoint_holding_nan_is_refused_for_the_gradient_figure(tiny_queue, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    checkpoint = runs / "adding-100-lstm-0.npz"
    result = train(Settings(length=6, hidden_size=3, batch=2, steps=2), checkpoint=str(checkpoint), quiet=True)
    reproduce.write_record(runs / "adding-100-lstm-0.json", result, ["lstm-autograd", "train"])
    with np.load(checkpoint) as file:
        arrays = {name: file[name] for name in file.files}
    arrays["lstm/W_xi"][0, 0] = np.nan
    np.savez(checkpoint, **arrays)
    with pytest.raises(ValueError, match=rf"^{checkpoint}: lstm/W_xi is not finite \(1 of its 6 values\)$"):
        results.Page(runs, tmp_path / "docs").trained("adding-100-lstm-0")


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """A run's record as `train --log` writes it."""
    path = tmp_path_factory.mktemp("record") / "r.json"
    reproduce.write_record(path, train(Settings(length=6, hidden_size=3, batch=2, steps=2), quiet=True), ["x"])
    return json.loads(path.read_text())


@pytest.mark.parametrize("content, says", [
    (b"[1]\n", "expected a JSON object, got a list"),
    (b"", "not JSON (Expecting value: line 1 column 1 (char 0))"),
    (b"{'steps': 1}", "not JSON (Expecting property name enclosed in double quotes"),
    (b"\xff\xfe", "not UTF-8 text"),
    (lambda r: r.pop("held_out"), "held_out is missing; expected an object"),
    (lambda r: r.update(evaluations=[1]), "evaluations[0] is int 1; expected an object"),
    (lambda r: r["evaluations"][0].update(loss="low"), "evaluations[0].loss is str 'low'; expected a number"),
    (lambda r: r.update(steps=True), "steps is bool True; expected an integer"),
    (lambda r: r["machine"].update(load_average=[1]), "machine.load_average[1] is missing; expected a number"),
    (lambda r: r["code"].update(commit=7), "code.commit is int 7; expected a string or null"),
    (lambda r: r["settings"].update(colour="red"), "settings: unknown colour"),
])
def test_a_malformed_record_is_refused_in_one_line_naming_the_file(tiny_queue, tmp_path, capsys, record, content,
                                                                    says):
    runs = tmp_path / "runs"
    runs.mkdir()
    path = runs / "adding-100-lstm-0.json"
    if callable(content):
        changed = copy.deepcopy(record)
        content(changed)
        content = json.dumps(changed).encode()
    path.write_bytes(content)
    assert main(["reproduce", "page", "--runs", str(runs), "-o", str(tmp_path / "docs")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"lstm-autograd reproduce: error: {path}: ") and says in error, error
    assert error.count("\n") == 1 and "Traceback" not in error
