"""Files: every write of the library goes beside its destination and is renamed there, so a crash never leaves
half a file; .npz files read back with a clear error when they are missing, truncated or of another kind.

As `cp`, `tee` and Graphviz's `dot` do, a symbolic link is followed (its target replaced, the link kept); a device node,
FIFO or /dev/stdout is written to directly, as a stream; and `-` is standard output where the caller allows it.

A new file gets the mode the umask gives (0644 under umask 022), as `open` would; a file written over keeps its
own. Errors name the destination, never the hidden temporary file beside it, and the temporaries a killed writer
left behind are removed on the next write to the same destination.
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import json
import math
import os
import re
import secrets
import shlex
import stat
import sys
import zipfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

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
    if any(len(os.fsencode(part)) > 255 for part in Path(path).parts):  # every file system's limit for a name
        raise OSError(errno.ENAMETOOLONG, f"cannot write {path}: a name in it is longer than 255 bytes")
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


def one_file(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Whether two destinations are one file: one path once links and `..` are resolved, or (both existing) one
    file under two names (a hard link). A device or FIFO may take many outputs (/dev/null twice is fine)."""
    if streamed(first) or streamed(second):
        return False
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them not written yet: their resolved paths differ, so they differ
        return False


def check_distinct(outputs: Sequence[tuple[str, str | os.PathLike | None]]) -> None:
    """Refuse, before any work, two of (option, path) `outputs` that are one file: one would write over the
    other. A path of None is not an output."""
    given = [(option, path) for option, path in outputs if path is not None]
    for i, (option, path) in enumerate(given):
        for other, earlier in given[:i]:
            if one_file(earlier, path):
                raise ValueError(f"{other} {earlier} and {option} {path} are one file ({os.path.realpath(path)}); "
                                 "expected a file for each")


class InUse(RuntimeError):
    """A file another process holds (its lock file names the process)."""


@contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """Hold `path` (a link's target) for this process: flock on PATH.lock beside it, which names this process's
    PID and command and is removed at the end. While it is held, another holder is refused (InUse) naming it."""
    if streamed(path):  # a device or FIFO keeps nothing between two runs
        yield
        return
    lock = Path(os.path.realpath(path) + ".lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as error:
            raise _naming(error, lock) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip().partition(" ")
            os.close(fd)
            raise InUse(f"{path} is in use by another run: PID {holder[0] or '?'} ({holder[2] or 'starting'}); wait "
                        "for it to end, or choose another file") from None
        with suppress(FileNotFoundError):  # the lock file a holder removed as we opened it is no lock: again
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])}\n".encode())
        yield
    finally:
        with suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


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


LIMIT = 2**30  # bytes one array may declare: more than any model here needs (H = 11585 at float64), less than RAM


class _Refused(ValueError):
    """A refusal worded already, not to be reported as a corrupt file."""


def _bytes(size: int) -> str:
    return f"{size / 2**30:.1f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def _header(member: BinaryIO, held: int, name: str, path: str | os.PathLike, limit: int) -> np.ndarray:
    """A member's shape and dtype from its .npy header, as an array of one zero broadcast (no memory); refused when
    it holds Python objects, declares more than `limit` bytes or more than the member holds."""
    try:
        version = np.lib.format.read_magic(member)
    except ValueError:  # a member not in .npy format, whose bytes np.load would hand over as they are
        raise _Refused(f"{path}: {name} is not an array in .npy format; expected an .npz archive of named arrays "
                       "(as np.savez writes)") from None
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:
        raise _Refused(f"{path}: {name} is in .npy format {version[0]}.{version[1]}; expected 1.0 or 2.0, as "
                       "np.savez writes numbers")
    shape, _, dtype = read(member)
    if dtype.hasobject:
        raise _Refused(f"{path}: {name} holds Python objects, which are never loaded here (reading them would run a "
                       "pickle); expected numeric arrays")
    size = math.prod(shape) * dtype.itemsize
    if size > limit:
        raise _Refused(f"{path}: {name} declares shape {shape} of {dtype}, {_bytes(size)}; expected at most "
                       f"{_bytes(limit)} an array")
    if size > held - member.tell():
        raise _Refused(f"{path}: corrupt or truncated .npz file ({name} declares {size} bytes of data and holds "
                       f"{held - member.tell()})")
    return np.broadcast_to(np.zeros((), dtype), shape)


def npz_headers(path: str | os.PathLike, limit: int = LIMIT) -> dict[str, np.ndarray]:
    """Each array of an .npz file as its header declares it, read before any data: a stand-in of its shape and
    dtype that holds no memory. Refused as load_npz refuses, and an array declaring more than `limit` bytes."""
    try:
        # a FIFO would keep the read waiting for a writer
        kind = "a FIFO, not a file" if stat.S_ISFIFO(os.stat(path).st_mode) else _kind(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path} is a folder; expected an .npz file") from None
    if kind is not None:
        raise ValueError(f"{path}: {kind}; expected an .npz archive of named arrays (as np.savez writes)")
    headers: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():  # a name stored twice: the last counts, as for np.load
                name = info.filename.removesuffix(".npy")
                with archive.open(info) as member:
                    headers[name] = _header(member, info.file_size, name, path, limit)
    except _Refused:
        raise
    except Exception as error:  # zipfile.BadZipFile, zlib.error, ValueError and friends: truncated or corrupt
        raise ValueError(f"{path}: corrupt or truncated .npz file ({type(error).__name__}: {error})") from None
    return headers


def load_npz(path: str | os.PathLike, expected: Mapping[str, tuple[int, ...]] | None = None, *,
             names: Collection[str] | None = None, limit: int = LIMIT) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (those in `names`, by default all), with a clear error for a missing, truncated
    or foreign file. Every header is checked before any data is read: an array of Python objects (loading it
    would run a pickle), one declaring more than `limit` bytes, or one whose shape differs from `expected`'s is
    refused, naming the file and the array."""
    headers = npz_headers(path, limit)
    wrong = [f"{name} has shape {headers[name].shape}, expected {tuple(shape)}"
             for name, shape in (expected or {}).items() if name in headers and headers[name].shape != tuple(shape)]
    if wrong:
        raise ValueError(f"{path}: " + "; ".join(wrong))
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as file:
            for name in headers if names is None else [name for name in headers if name in names]:
                arrays[name] = file[name]
    except Exception as error:  # zipfile.BadZipFile, zlib.error, EOFError and friends: truncated or corrupt
        raise ValueError(f"{path}: corrupt or truncated .npz file ({type(error).__name__}: {error})") from None
    return arrays


def strict_json(value: Any, **options: Any) -> str:
    """`value` as JSON, every number that is not finite written as null: JSON has no NaN or ∞, and a bare NaN,
    which json.dumps writes by default, is not JSON."""
    return json.dumps(_finite(value), allow_nan=False, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
