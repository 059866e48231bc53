"""Files: every write of the library goes beside its destination and is renamed there, so a crash never leaves
half a file; .npz files read back with a clear error when they are missing, truncated or of another kind.

As `cp`, `tee` and `dot -o` do, a symbolic link is followed (its target replaced, the link kept); a device node,
FIFO or /dev/stdout is written to directly, as a stream; and `-` is standard output where the caller allows it.

A new file gets the mode the umask gives (0644 under umask 022), as `open` would; a file written over keeps its
own. Errors name the destination, never the hidden temporary file beside it, and the temporaries a killed writer
left behind are removed on the next write to the same destination.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import numpy as np

# .NAME.PID.TOKEN.tmp; and .NAME.XXXXXXXX.tmp, the name tempfile.mkstemp gave before the writer's pid was in it
_TEMPORARY = re.compile(r"(?:(?P<pid>\d+)\.[0-9a-f]{16}|[a-z0-9_]{8})\.tmp")


def _temporaries(path: Path) -> Iterator[tuple[Path, int | None]]:
    """The temporary files of writes to `path` in its folder, each with the pid of its writer (None: unknown)."""
    prefix = f".{path.name}."
    with suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            match = entry.name.startswith(prefix) and _TEMPORARY.fullmatch(entry.name[len(prefix):])
            if match and entry.is_file(follow_symlinks=False):
                yield Path(entry.path), int(match["pid"]) if match["pid"] else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of writes to `path` whose writer is no longer running; returns them."""
    stale = [temporary for temporary, pid in _temporaries(Path(path)) if pid is None or not _running(pid)]
    for temporary in stale:
        with suppress(FileNotFoundError):
            temporary.unlink()
    return stale


def _naming(error: OSError, path: Path) -> OSError:
    """The same kind of error, saying which destination could not be written (not the temporary beside it)."""
    named = type(error)(f"cannot write {path}: {error.strerror or error}")
    named.errno = error.errno
    return named


STDOUT = "-"
# an open descriptor by name: written through the descriptor itself, so a `>>` or a pipe behind it is respected
_DESCRIPTOR = re.compile(r"/dev/(?:std(?P<std>out|err)|fd/(?P<fd>\d+))|/proc/self/fd/(?P<proc>\d+)")


def streamed(path: str | os.PathLike) -> bool:
    """Whether `path` is written to directly rather than replaced: `-`, a descriptor's name (/dev/stdout), or a
    character or block device or a FIFO (a symbolic link to one included)."""
    if os.fspath(path) == STDOUT or _DESCRIPTOR.fullmatch(os.fspath(path)):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)


def check_destination(path: str | os.PathLike, *, stdout: bool = False) -> Path:
    """Refuse, before any work is done, a file path that cannot be written: an empty one, a folder, a folder
    that does not exist or is not a folder, or one that refuses new files; `-` unless `stdout` allows it."""
    if os.fspath(path) == STDOUT:
        if not stdout:
            raise ValueError("- (standard output) cannot take this file; expected a file name")
        return Path(path)
    if streamed(path):
        if not _DESCRIPTOR.fullmatch(os.fspath(path)) and not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, f"cannot write {path}: Permission denied")
        return Path(path)
    path = _placed(path)
    _probe(path.parent, path)
    return path


def _placed(path: str | os.PathLike) -> Path:
    """`path` as a Path, refused when it is empty or a folder, or its folder is missing or not a folder; a
    symbolic link stands for its target, which is the file replaced."""
    if not str(path):
        raise ValueError("an empty path; expected a file name")
    path = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; expected a file name")
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(f"cannot write {path}: no such folder {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {folder} is not a folder")
    return path


def check_folder(folder: str | os.PathLike) -> Path:
    """A folder to write files into: created when missing (its parent must exist), refused when it is a file or
    cannot take new files."""
    if not str(folder):
        raise ValueError("an empty path; expected a folder")
    if os.fspath(folder) == STDOUT:
        raise ValueError("- (standard output) takes one file; expected a folder")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; expected a folder")
    if not folder.exists():
        check_destination(folder)
        try:
            folder.mkdir()
        except OSError as error:
            raise _naming(error, folder) from None
    _probe(folder, folder)
    return folder


def _probe(folder: Path, path: Path) -> None:
    """Create and remove one temporary file in `folder`: the only sure test that a write there will succeed
    (permissions, read-only mounts and ACLs all have their say; os.access knows only the first)."""
    try:
        fd, temporary = _create_beside(folder / ".probe")
    except OSError as error:
        raise _naming(error, path) from None
    os.close(fd)
    os.unlink(temporary)


def _create_beside(path: Path) -> tuple[int, str]:
    """A new empty temporary file beside `path`, created with mode 0666 so that the umask decides, as for any new
    file; mkstemp's 0600 would hide pictures and weights from the user's group and the web server."""
    while True:
        temporary = str(path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), temporary
        except FileExistsError:
            continue


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file that becomes `path` only when the block ends without an error. Its folder must exist. A
    symbolic link's target is the file replaced; `-`, a device, a FIFO or /dev/stdout is written to directly."""
    if streamed(path):
        with _stream(path) as file:
            yield file
        return
    path = _placed(path)
    remove_stale_temporaries(path)
    try:
        fd, temporary = _create_beside(path)
        with suppress(FileNotFoundError):  # a file written over keeps its mode
            os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # the data on disk before the name: a crash after the rename leaves it whole
        os.replace(temporary, path)
    except BaseException as error:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise


def _descriptor(name: str) -> int | None:
    """The descriptor `-`, /dev/stdout, /dev/fd/N or /proc/self/fd/N names (None: another file)."""
    match = _DESCRIPTOR.fullmatch(name)
    if name == STDOUT or match and match["std"] == "out":
        return 1
    return None if not match else 2 if match["std"] else int(match["fd"] or match["proc"])


def is_stdout(path: str | os.PathLike) -> bool:
    """Whether `path` names standard output (`-`, /dev/stdout, /dev/fd/1): then it holds that file alone."""
    return _descriptor(os.fspath(path)) == 1


@contextmanager
def _stream(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Standard output or error, an open descriptor by its name, or a device or FIFO opened for writing."""
    number = _descriptor(os.fspath(path))
    try:
        if number in (1, 2):
            stream = sys.stdout if number == 1 else sys.stderr
            stream.flush()  # what was printed before comes first
            yield stream.buffer
            stream.buffer.flush()
            return
        with open(path, "wb") if number is None else os.fdopen(os.dup(number), "wb") as file:
            yield file
    except OSError as error:
        raise _naming(error, Path(path)) from None


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Named arrays as .npz (no pickles), written atomically (or to a device or FIFO directly)."""
    if os.fspath(path) == STDOUT:
        raise ValueError("an .npz archive is not written to - (standard output); expected a file name")
    with atomic_write(path) as file:
        np.savez(file, **arrays)
    return Path(path)


def _kind(path: str | os.PathLike) -> str | None:
    """What the file is when it is not an .npz archive (None when it looks like one)."""
    with open(path, "rb") as file:
        start = file.read(512)
    if start.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a zip archive, as np.savez writes
        return None
    if not start:
        return "an empty file"
    if start.startswith(b"\x93NUMPY"):
        return "a .npy file (one array, as np.save writes)"
    try:  # incremental: the 512 bytes may end inside a character
        text = codecs.getincrementaldecoder("utf-8")().decode(start)
    except UnicodeDecodeError:
        text = None
    if not text or not all(c.isprintable() or c in "\t\n\r" for c in text):
        return f"not an .npz file (it begins with the bytes {start[:8]!r})"
    return f"a text file (it begins {text.strip().splitlines()[0][:40]!r})"


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an .npz file, with a clear error for a missing, truncated or foreign file. Arrays of Python
    objects are refused: loading them would run a pickle."""
    try:
        kind = _kind(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path} is a folder; expected an .npz file") from None
    if kind is not None:
        raise ValueError(f"{path}: {kind}; expected an .npz archive of named arrays (as np.savez writes)")
    arrays: dict[str, np.ndarray] = {}
    name = None
    try:
        with np.load(path, allow_pickle=False) as file:
            for name in file.files:
                arrays[name] = file[name]
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise ValueError(f"{path}: {name} holds Python objects, which are never loaded here (reading them "
                             "would run a pickle); expected numeric arrays") from None
        raise ValueError(f"{path}: corrupt or truncated .npz file ({error})") from None
    except Exception as error:  # zipfile.BadZipFile, zlib.error, EOFError and friends: truncated or corrupt
        raise ValueError(f"{path}: corrupt or truncated .npz file ({type(error).__name__}: {error})") from None
    foreign = [name for name, value in arrays.items() if not isinstance(value, np.ndarray)]
    if foreign:  # a member not in .npy format, whose bytes NpzFile hands over as they are
        raise ValueError(f"{path}: {foreign[0]} is not an array in .npy format; expected an .npz archive of named "
                         "arrays (as np.savez writes)")
    return arrays
