"""docs/results.md from run records: tables, figures and pending runs, from a tiny queue run for real."""

import numpy as np
import pytest

from lstm_autograd.cli import main
from training import reproduce, results
from training.train import Settings, train

TINY = ("--hidden-size", "3", "--batch", "2", "--steps", "4", "--evaluate-every", "2", "--dtype", "float32")


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
    assert "## The adding problem (2 of 3 runs done; the rest pending)" in page
    assert "lstm-autograd train adding --length 6 --model rnn --hidden-size 3" in page and "# S = 0 1" in page
    assert "| 100 | ≈ 0.005 by ≈ 5,000 |" in page and "0 of 1 (within 4)" in page
    assert "tanh RNN, untrained" in (tmp_path / "docs" / "results" / "gradient-through-time.svg").read_text()


def test_a_page_without_records_says_so(tiny_queue, tmp_path):
    pytest.importorskip("matplotlib")
    results.write_page(tmp_path / "none", tmp_path / "docs")
    page = (tmp_path / "docs" / "results.md").read_text()
    assert "No run has a record yet." in page and "(0 of 3 runs done; the rest pending)" in page
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
