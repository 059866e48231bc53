"""autograd.files: the modes of written files, temporaries named and cleaned up, and loads that say what a file is."""

import errno
import os
import stat
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from autograd import files
from autograd.files import (
    atomic_savez,
    atomic_write,
    check_destination,
    check_folder,
    load_npz,
    remove_stale_temporaries,
)
from lstm_autograd.cli import main


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the umask for one test, and restore it after."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_savez(tmp_path / "w.npz", {"a": np.zeros(2)})
    with atomic_write(tmp_path / "x.svg") as file:
        file.write(b"<svg/>")
    assert mode(tmp_path / "w.npz") == expected
    assert mode(tmp_path / "x.svg") == expected


def test_a_file_written_over_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "w.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_savez(path, {"a": np.zeros(2)})
    assert mode(path) == 0o640
    assert load_npz(path)["a"].shape == (2,)


def finished_pid() -> int:
    """The pid of a process that has ended (so no writer runs under it)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_of_the_same_destination_are_removed_on_the_next_write(tmp_path):
    dead = tmp_path / f".x.svg.{finished_pid()}.0123456789abcdef.tmp"
    old_style = tmp_path / ".x.svg.vizukr21.tmp"  # tempfile.mkstemp's, from before the pid was in the name
    alive = tmp_path / f".x.svg.{os.getpid()}.0123456789abcdef.tmp"  # a write in progress, here
    other_destination = tmp_path / f".y.svg.{finished_pid()}.0123456789abcdef.tmp"
    users_file = tmp_path / ".x.svg.notes.tmp"
    for path in (dead, old_style, alive, other_destination, users_file):
        path.write_bytes(b"partial")
    with atomic_write(tmp_path / "x.svg") as file:
        file.write(b"<svg/>")
    assert not dead.exists() and not old_style.exists()
    assert alive.exists() and other_destination.exists() and users_file.exists()
    assert (tmp_path / "x.svg").read_bytes() == b"<svg/>"


def test_a_writer_killed_mid_write_leaves_a_temporary_the_next_write_removes(tmp_path):
    path = tmp_path / "w.npz"
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from autograd.files import atomic_write
        with atomic_write({str(path)!r}) as file:
            file.write(b"half")
            file.flush()
            print("writing", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "writing\n"
    writer.kill()
    writer.wait()
    writer.stdout.close()
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].name.startswith(".w.npz.") and not path.exists()
    atomic_savez(path, {"a": np.ones(3)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


def test_write_errors_name_the_destination_not_the_temporary(tmp_path, monkeypatch):
    def full_disk(file, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError) as caught:
        atomic_savez(tmp_path / "w.npz", {"a": np.zeros(2)})
    assert str(caught.value) == f"cannot write {tmp_path / 'w.npz'}: No space left on device"
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # no temporary left either


def test_a_failed_rename_names_the_destination(tmp_path, monkeypatch):
    def refuse(source, destination):
        raise PermissionError(errno.EACCES, "Permission denied", source)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match=r"^cannot write .*x\.svg: Permission denied$") as caught:
        with atomic_write(tmp_path / "x.svg") as file:
            file.write(b"<svg/>")
    assert ".tmp" not in str(caught.value)


@pytest.mark.parametrize("where, error, message", [
    ("missing/x.svg", FileNotFoundError, "no such folder"),
    ("afile/x.svg", NotADirectoryError, "is not a folder"),
    ("adir", IsADirectoryError, "is a folder; expected a file name"),
])
def test_a_destination_that_cannot_be_written_is_refused_before_writing(tmp_path, where, error, message):
    (tmp_path / "afile").write_text("a file")
    (tmp_path / "adir").mkdir()
    with pytest.raises(error, match=message):
        check_destination(tmp_path / where)
    with pytest.raises(error, match=message):
        with atomic_write(tmp_path / where):
            pass
    assert not (tmp_path / "missing").exists()


def test_check_folder_creates_one_level_and_refuses_files_and_missing_parents(tmp_path):
    assert check_folder(tmp_path / "new").is_dir()
    (tmp_path / "afile").write_text("a file")
    with pytest.raises(NotADirectoryError, match="afile is a file; expected a folder"):
        check_folder(tmp_path / "afile")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        check_folder(tmp_path / "missing" / "deeper")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(ValueError, match="empty path"):
        check_folder("")
    with pytest.raises(ValueError, match="empty path"):
        check_destination("")


@pytest.mark.parametrize("content, says", [
    (b"W_xi 1 2 3\n", "a text file (it begins 'W_xi 1 2 3')"),
    (b"", "an empty file"),
    (b"\x00\x01\x02binary", r"not an .npz file (it begins with the bytes b'\x00\x01\x02binar')"),
    (b"a first line longer than forty characters, cut\nsecond",
     "a text file (it begins 'a first line longer than forty character')"),
    (b"x" * 511 + "é".encode() + b" and on", f"a text file (it begins '{'x' * 40}')"),  # a character cut at 512
    (b"x" * 510 + "é".encode() + b"\xff binary from byte 512 on", f"a text file (it begins '{'x' * 40}')"),
])
def test_loading_a_file_that_is_not_npz_says_what_it_is(tmp_path, content, says):
    """Read from its first 512 bytes, with the first 8 bytes of a binary file and the first 40 characters of a
    text file's first line."""
    path = tmp_path / "w.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        load_npz(path)
    assert str(caught.value) == f"{path}: {says}; expected an .npz archive of named arrays (as np.savez writes)"


def test_an_archive_of_no_arrays_loads_and_a_member_that_is_not_an_array_is_refused(tmp_path):
    np.savez(tmp_path / "empty.npz")  # an empty zip begins with its end record, PK\x05\x06
    assert load_npz(tmp_path / "empty.npz") == {}
    with zipfile.ZipFile(tmp_path / "bytes.npz", "w") as archive:
        archive.writestr("a.npy", b"not the .npy format")  # NpzFile hands such a member over as bytes
    with pytest.raises(ValueError, match=r"bytes\.npz: a is not an array in \.npy format; expected an \.npz archive"):
        load_npz(tmp_path / "bytes.npz")
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }".ljust(69) + b"\n"
    with zipfile.ZipFile(tmp_path / "short.npz", "w") as archive:  # five numbers announced, one stored
        archive.writestr("a.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(8))
    with pytest.raises(ValueError, match=r"short\.npz: corrupt or truncated \.npz file \(a declares 40 bytes of data "
                                         r"and holds 8\)$"):
        load_npz(tmp_path / "short.npz")


def test_loading_a_npy_file_says_it_is_one(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"w\.npy: a \.npy file \(one array, as np\.save writes\); expected an "
                                         r"\.npz archive"):
        load_npz(tmp_path / "w.npy")


def test_pickled_arrays_are_refused_without_pointing_at_unsafe_loading(tmp_path):
    np.savez(tmp_path / "o.npz", ok=np.zeros(2), objects=np.array([{}, None], dtype=object))
    with pytest.raises(ValueError) as caught:
        load_npz(tmp_path / "o.npz")
    message = str(caught.value)
    assert "objects holds Python objects, which are never loaded here" in message
    assert "allow_pickle" not in message and "pickle.load" not in message


def test_missing_folder_and_truncated_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_npz(tmp_path / "none.npz")
    with pytest.raises(IsADirectoryError, match="is a folder; expected an .npz file"):
        load_npz(tmp_path)
    atomic_savez(tmp_path / "w.npz", {"a": np.arange(1000.0)})
    data = (tmp_path / "w.npz").read_bytes()
    (tmp_path / "w.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"corrupt or truncated \.npz file \(BadZipFile: "):
        load_npz(tmp_path / "w.npz")


def test_the_probe_leaves_nothing_behind(tmp_path):
    check_destination(tmp_path / "x.svg")
    check_folder(tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and list((tmp_path / "out").iterdir()) == []


def test_a_running_writers_temporary_is_kept_and_the_writer_left_undisturbed(tmp_path):
    # a writer that would die of any signal sent to it (SIGHUP's default restored: a nohup run ignores it)
    writer = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                               "signal.signal(signal.SIGHUP, signal.SIG_DFL)\nprint('ready', flush=True)\n"
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "ready\n"
        temporary = tmp_path / f".x.svg.{writer.pid}.0123456789abcdef.tmp"
        temporary.write_bytes(b"partial")
        assert remove_stale_temporaries(tmp_path / "x.svg") == []
        assert temporary.exists() and writer.poll() is None  # asked whether it runs, not signalled
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()


def test_another_users_writer_counts_as_running_and_a_temporary_gone_meanwhile_is_no_error(tmp_path, monkeypatch):
    temporary = tmp_path / f".x.svg.{finished_pid()}.0123456789abcdef.tmp"
    temporary.write_bytes(b"partial")

    def not_permitted(pid, signal):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "kill", not_permitted)
    assert remove_stale_temporaries(tmp_path / "x.svg") == [] and temporary.exists()
    monkeypatch.undo()
    monkeypatch.setattr(files, "_temporaries", lambda path: iter([(tmp_path / ".x.svg.gone.tmp", None)]))
    assert remove_stale_temporaries(tmp_path / "x.svg") == [tmp_path / ".x.svg.gone.tmp"]  # removed by another


def test_temporaries_are_looked_for_only_as_files_in_a_folder_that_exists(tmp_path):
    assert remove_stale_temporaries(tmp_path / "missing" / "x.svg") == []
    target = tmp_path / "keep.txt"
    target.write_text("the user's")
    link = tmp_path / f".x.svg.{finished_pid()}.0123456789abcdef.tmp"
    link.symlink_to(target)  # named like a temporary, but a link: never one of ours
    assert remove_stale_temporaries(tmp_path / "x.svg") == [] and link.is_symlink()


def test_a_destination_or_folder_that_refuses_new_files_is_named_in_the_error(tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files, "_create_beside", refuse)
    with pytest.raises(PermissionError, match=f"^cannot write {tmp_path / 'x.svg'}: Permission denied$"):
        check_destination(tmp_path / "x.svg")
    with pytest.raises(PermissionError, match=f"^cannot write {tmp_path}: Permission denied$"):
        check_folder(tmp_path)
    monkeypatch.undo()
    monkeypatch.setattr(type(tmp_path), "mkdir", lambda self: refuse(self))
    with pytest.raises(PermissionError, match=f"^cannot write {tmp_path / 'new'}: Permission denied$") as caught:
        check_folder(tmp_path / "new")
    assert caught.value.errno == errno.EACCES


def test_a_temporary_name_taken_is_never_opened_but_another_drawn(tmp_path, monkeypatch):
    tokens = iter(["0123456789abcdef", "fedcba9876543210"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(tokens))
    taken = tmp_path / f".x.svg.{os.getpid()}.0123456789abcdef.tmp"  # a write in progress, of this process
    taken.write_bytes(b"another write's")
    with atomic_write(tmp_path / "x.svg") as file:
        assert (tmp_path / f".x.svg.{os.getpid()}.fedcba9876543210.tmp").exists()
        file.write(b"<svg/>")
    assert taken.read_bytes() == b"another write's" and (tmp_path / "x.svg").read_bytes() == b"<svg/>"


def npy_header(shape, descr="<f8") -> bytes:
    """An .npy version 1.0 header declaring `shape`, as np.save writes it."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header = header.ljust(64 * ((len(header) + 10) // 64 + 1) - 10) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A 9 MB .npz whose member W_xi holds 2 GiB of deflated zeros, honestly declared (level 1: fast to make)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("W_xi.npy", "w", force_zip64=True) as member:
            member.write(npy_header((2**28,)))
            zeros = bytes(2**26)
            for _ in range(2**31 // len(zeros)):
                member.write(zeros)
    return path


def test_a_member_declaring_gigabytes_is_refused_from_its_header(bomb, monkeypatch, capsys):
    from lstm import LSTM

    assert os.path.getsize(bomb) < 2**24
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("the data was read"))
    for load in (load_npz, LSTM.load):
        with pytest.raises(ValueError) as caught:
            load(bomb)
        assert str(caught.value).startswith(f"{bomb}: W_xi declares shape (268435456,) of float64, 2.0 GiB;")
    assert main(["train", "adding", "--checkpoint", str(bomb), "--resume"]) == 2
    assert capsys.readouterr().err.startswith(f"lstm-autograd train: error: {bomb}: W_xi declares shape (268435456,)")


def test_a_member_of_an_unexpected_shape_is_refused_before_its_data_is_read(tmp_path, monkeypatch):
    from lstm import LSTM
    from lstm_autograd.training.train import Settings, Trainer

    arrays = LSTM(3, 4).arrays()
    np.savez(tmp_path / "w.npz", **{**arrays, "W_xi": np.zeros((4000, 3))})
    Trainer(Settings(length=8, hidden_size=4, batch=4)).save(tmp_path / "run.npz")
    checkpoint = load_npz(tmp_path / "run.npz")
    np.savez(tmp_path / "run.npz", **{**checkpoint, "lstm/W_hf": np.zeros((4000, 4))})
    read, reads = np.lib.format.read_array, []
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: reads.append(1) or read(*a, **k))
    with pytest.raises(ValueError, match=r"w\.npz: W_xi has shape \(4000, 3\), expected \(4, 3\)"):
        LSTM.load(tmp_path / "w.npz")
    assert reads == []
    with pytest.raises(ValueError, match=r"run\.npz: lstm/W_hf has shape \(4000, 4\), expected \(4, 4\)$"):
        Trainer(Settings(length=8, hidden_size=4, batch=4)).load(tmp_path / "run.npz")
    assert len(reads) == 2  # meta/settings and meta/step alone
    reads.clear()
    assert main(["train", "adding", "--checkpoint", str(tmp_path / "run.npz"), "--resume", "--quiet"]) == 2
    assert len(reads) == 3  # meta/settings for the options, then meta/settings and meta/step for the run


def test_a_member_declaring_more_than_it_holds_is_refused_before_reading(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "short.npz", "w") as archive:
        archive.writestr("a.npy", npy_header((2**30,)))  # 8 GiB announced, a header alone stored
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("the data was read"))
    with pytest.raises(ValueError, match=r"short\.npz: corrupt or truncated \.npz file \(a declares 8589934592 "
                                         r"bytes of data and holds 0\)$"):
        load_npz(tmp_path / "short.npz", limit=2**40)
