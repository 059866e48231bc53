"""Every writer through one owner: a regular file replaced whole, a symbolic link written through (its target
replaced, the link kept), a device node or FIFO written to directly, `-` standard output where the format allows."""

import json
import os
import stat
import threading

import numpy as np
import pytest

from autograd.files import atomic_savez, atomic_write, check_destination, load_npz
from lstm import LSTM
from lstm_autograd.cli import main


class Reader(threading.Thread):
    """Reads a FIFO to its end, as `cat fifo` would."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.data = path, None
        self.start()

    def run(self):
        with open(self.path, "rb") as fifo:
            self.data = fifo.read()

    def result(self) -> bytes:
        self.join(timeout=60)
        return self.data


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_a_fifo_is_written_to_and_stays_a_fifo(fifo):
    reader = Reader(fifo)
    with atomic_write(fifo) as file:
        file.write(b"through the pipe")
    assert reader.result() == b"through the pipe"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in fifo.parent.iterdir()) == ["fifo"]


def test_a_symbolic_link_is_followed_its_target_replaced_and_the_link_kept(tmp_path):
    target, link = tmp_path / "target.npz", tmp_path / "link.npz"
    target.write_bytes(b"old")
    link.symlink_to(target)
    atomic_savez(link, {"a": np.ones(3)})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load_npz(target)["a"].tolist() == [1, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "target.npz"]


def test_a_dangling_link_creates_its_target_and_a_link_to_a_missing_folder_is_refused(tmp_path):
    link = tmp_path / "x.svg"
    link.symlink_to(tmp_path / "made.svg")
    check_destination(link)
    with atomic_write(link) as file:
        file.write(b"<svg/>")
    assert link.is_symlink() and (tmp_path / "made.svg").read_bytes() == b"<svg/>"
    (tmp_path / "lost.svg").symlink_to(tmp_path / "missing" / "x.svg")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        check_destination(tmp_path / "lost.svg")


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_stays_a_device(tmp_path, capsys):
    # a node of its own, as /dev/null (1, 3): a failing writer must not replace the machine's /dev/null
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert main(["render", "--gate", "input", "-o", str(null)]) == 0
    LSTM(2, 2).save(null)
    assert stat.S_ISCHR(os.stat(null).st_mode) and os.stat(null).st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_render_and_explore_write_through_a_fifo(fifo, capsys):
    reader = Reader(fifo)
    assert main(["render", "--gate", "input", "-o", str(fifo)]) == 0
    assert reader.result().startswith(b"<?xml")
    reader = Reader(fifo)
    assert main(["explore", "--gate", "input", "-o", str(fifo)]) == 0
    assert reader.result().startswith(b"<!DOCTYPE html>")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize("arguments, start", [
    (["render", "--gate", "input", "-o", "-"], "<?xml"),
    (["render", "--gate", "input", "--format", "dot", "-o", "-"], "digraph"),
    (["explore", "--gate", "input", "-o", "-"], "<!DOCTYPE html>"),
])
def test_dash_writes_to_standard_output_and_nothing_else(capsys, arguments, start):
    assert main(arguments) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(start) and "\nwrote " not in captured.out


def test_train_log_to_standard_output_is_the_json_alone(capsys):
    assert main(["train", "adding", "--steps", "2", "--length", "5", "--hidden-size", "3", "--batch", "2",
                 "--log", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["steps"] == 2
    assert "adding: 2 steps" in captured.err


@pytest.mark.parametrize("arguments, says", [
    (["render", "--gate", "all", "-o", "-"], "a folder"),
    (["demo", "-o", "-"], "a folder"),
    (["render", "--gate", "input", "--format", "png", "-o", "-"], "png"),
    (["train", "adding", "--steps", "1", "--checkpoint", "-"], "standard output"),
])
def test_dash_is_refused_where_the_output_is_a_folder_or_binary(capsys, tmp_path, monkeypatch, arguments, says):
    monkeypatch.chdir(tmp_path)
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and says in error and "Traceback" not in error
    assert list(tmp_path.iterdir()) == []


def test_a_model_is_not_saved_to_standard_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="standard output"):
        LSTM(2, 2).save("-")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_still_refused_in_one_line(tmp_path, capsys):
    assert main(["render", "--gate", "input", "-o", str(tmp_path / "missing" / "x.svg")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
