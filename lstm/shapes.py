"""The twelve parameters' shapes, and the one check of a dict of arrays against them.

Imports nothing of the engine, so that the hand BPTT checks its arguments with the same words as the model does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from lstm.names import GATES, NAMES

Shape = tuple[int | str, ...]  # a size not known from the arrays given stays a letter, X or H


def shapes(input_size: int | str, hidden_size: int | str) -> dict[str, Shape]:
    """The twelve parameters' shapes, in the derivation's order of names: W_x* (H, X), W_h* (H, H), b_* (H,)."""
    return {name: shape for gate in GATES for name, shape in (
        (gate.W_x, (hidden_size, input_size)), (gate.W_h, (hidden_size, hidden_size)), (gate.b, (hidden_size,)))}


def _text(shape: Shape) -> str:
    return str(tuple(shape)).replace("'", "")


def check_arrays(arrays: dict[str, Any], expected: dict[str, Shape], source: str) -> None:
    """Missing, extra or misshapen arrays raise one ValueError that names every one of them."""
    problems = [f"missing {name} {_text(shape)}" for name, shape in expected.items() if name not in arrays]
    problems += [f"unexpected {name}" for name in arrays if name not in expected]
    problems += [
        f"{name} has shape {np.shape(arrays[name])}, expected {_text(shape)}"
        for name, shape in expected.items()
        if name in arrays and np.shape(arrays[name]) != shape
    ]
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))


def sizes(arrays: dict[str, Any]) -> tuple[int | str, int | str]:
    """(X, H) as most of the twelve arrays present give them, so that one missing or misshapen array is named
    alone rather than making the others look wrong; "X" or "H" where no array tells."""
    votes: dict[str, Counter] = {"X": Counter(), "H": Counter()}
    for name, letters in shapes("X", "H").items():
        shape = np.shape(arrays[name]) if name in arrays else None
        if shape is not None and len(shape) == len(letters) and (letters != ("H", "H") or shape[0] == shape[1]):
            for letter, size in zip(letters, shape, strict=True):
                votes[letter][size] += 1
    found = {letter: count.most_common(1)[0][0] if count else letter for letter, count in votes.items()}
    return found["X"], found["H"]


def check_parameters(arrays: Any, source: str) -> tuple[int, int]:
    """The twelve named arrays of one LSTM, or one ValueError saying what `arrays` is instead; returns (X, H)."""
    if not hasattr(arrays, "keys"):
        raise TypeError(f"{source}: expected a dict of the twelve parameters {', '.join(NAMES)}, "
                        f"got {type(arrays).__name__}")
    if not any(name in arrays for name in NAMES):
        prefixes = Counter(key[: -len(name)] for key in arrays for name in NAMES
                           if isinstance(key, str) and key.endswith(name) and key != name)
        nested = [prefix for prefix, count in prefixes.items() if count == len(NAMES)]
        where = (f"they are under {nested[0]!r} here (a training checkpoint keeps the LSTM's this way); "
                 if nested else "")
        raise ValueError(f"{source}: none of the twelve parameters {', '.join(NAMES)} is at the top level; "
                         f"{where}it holds {len(arrays)} arrays")
    input_size, hidden_size = sizes(arrays)
    check_arrays(arrays, shapes(input_size, hidden_size), source)
    return int(input_size), int(hidden_size)
