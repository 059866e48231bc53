"""Files: every write of the library goes beside its destination and is renamed there, so a crash never leaves
half a file; .npz files read back with a clear error when they are missing, truncated or foreign."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file that becomes `path` only when the block ends without an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Named arrays as .npz (no pickles), written atomically."""
    with atomic_write(path) as file:
        np.savez(file, **arrays)
    return Path(path)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an .npz file, with a clear error for a missing, truncated or foreign file."""
    try:
        with np.load(path, allow_pickle=False) as file:
            return {name: file[name] for name in file.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except (OSError, ValueError, EOFError, KeyError) as error:
        raise ValueError(f"{path}: not a readable .npz file ({error})") from None
    except Exception as error:  # zipfile.BadZipFile and friends: truncated or corrupt files
        raise ValueError(f"{path}: corrupt or truncated .npz file ({type(error).__name__}: {error})") from None
