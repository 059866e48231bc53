"""Hostile inputs found by a battery of issue 23's kind: each is refused in one line naming what was expected."""

from lstm_autograd.cli import main


def test_reproduce_refuses_a_runs_folder_that_is_a_file(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.write_text("not a folder\n")
    for action in ("list", "run", "page"):
        assert main(["reproduce", action, "--runs", str(runs), "-o", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"lstm-autograd reproduce: error: --runs {runs} is a file; expected a folder of runs"]


def test_train_chars_refuses_a_folder_as_its_text(tmp_path, capsys):
    assert main(["train", "chars", "--text", str(tmp_path), "--steps", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"lstm-autograd train: error: character model: {tmp_path} is a folder; expected a UTF-8 text file"]
