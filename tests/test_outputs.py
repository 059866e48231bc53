"""train's outputs: two of them at one path are refused, and a checkpoint is locked while a run trains on it."""

import os
import subprocess
import sys
import textwrap

import pytest

from lstm_autograd.cli import main

SMALL = ["adding", "--length", "6", "--hidden-size", "3", "--batch", "2", "--steps", "2", "--quiet"]


@pytest.mark.parametrize("log, plot", [
    ("c.npz", None),
    ("link.json", None),  # a symbolic link to the checkpoint
    ("./sub/../c.npz", None),
    ("r.json", "."),  # the plots go beside, not onto, the checkpoint: fine
    ("plots/loss.svg", "plots"),
])
def test_two_outputs_at_one_path_are_refused_before_training(tmp_path, monkeypatch, capsys, log, plot):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "plots").mkdir()
    (tmp_path / "link.json").symlink_to(tmp_path / "c.npz")
    arguments = ["train", *SMALL, "--checkpoint", "c.npz", "--log", log, *(["--plot", plot] if plot else [])]
    status = main(arguments)
    error = capsys.readouterr().err
    if log == "r.json":
        pytest.importorskip("matplotlib")
        assert status == 0 and (tmp_path / "c.npz").exists() and (tmp_path / "r.json").exists()
        return
    assert status == 2 and error.count("\n") == 1 and "Traceback" not in error
    assert "are one file" in error and log in error
    assert not (tmp_path / "c.npz").exists()


def test_a_second_run_on_a_checkpoint_is_refused_naming_the_first(tmp_path, capsys):
    checkpoint = tmp_path / "c.npz"
    first = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from autograd.files import locked
        with locked({str(checkpoint)!r}):
            print("training", flush=True)
            time.sleep(60)
        """), "first-run-marker"], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline() == "training\n"
        assert main(["train", *SMALL, "--checkpoint", str(checkpoint)]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and f"PID {first.pid}" in error and "first-run-marker" in error
        assert str(checkpoint) in error and not checkpoint.exists()
    finally:
        first.kill()
        first.wait()
        first.stdout.close()
    # the first run gone (killed: its lock file left), the next run trains, and removes the lock file when done
    assert main(["train", *SMALL, "--checkpoint", str(checkpoint)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_a_run_on_a_link_locks_the_target(tmp_path, capsys):
    checkpoint, link = tmp_path / "c.npz", tmp_path / "l.npz"
    link.symlink_to(checkpoint)
    from autograd.files import locked

    with locked(checkpoint):
        assert main(["train", *SMALL, "--checkpoint", str(link)]) == 2
    assert f"PID {os.getpid()}" in capsys.readouterr().err
