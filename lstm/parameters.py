"""The twelve named parameters, their initialisation, PyTorch's stacked layout, and .npz files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from autograd import Tensor
from lstm.files import atomic_savez, load_npz
from lstm.names import GATES, NAMES

TORCH_ORDER = "ifgo"  # PyTorch stacks the gates' rows as i, f, g, o


def shapes(input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    return {
        name: (hidden_size, input_size) if name.startswith("W_x") else (hidden_size, hidden_size)
        if name.startswith("W_h") else (hidden_size,)
        for name in NAMES
    }


def check_arrays(arrays: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]], source: str) -> None:
    """Missing, extra or misshapen arrays raise one ValueError that names every one of them."""
    problems = [f"missing {name} {shape}" for name, shape in expected.items() if name not in arrays]
    problems += [f"unexpected {name}" for name in arrays if name not in expected]
    problems += [
        f"{name} has shape {np.shape(arrays[name])}, expected {shape}"
        for name, shape in expected.items()
        if name in arrays and np.shape(arrays[name]) != shape
    ]
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))


def checked_sizes(owner: str, input_size: Any, hidden_size: Any, dtype: Any) -> tuple[int, int, np.dtype]:
    """The sizes as ints and the dtype, or a ValueError that names the owner, the argument and what came."""
    for label, size in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{owner}: {label} must be a positive integer, got {size!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{owner}: dtype must be float32 or float64, got {dtype}")
    return int(input_size), int(hidden_size), dtype


class LSTMParameters:
    """What the cell and the sequence model share: twelve named parameters of one dtype."""

    def __init__(self, input_size: int, hidden_size: int, *, dtype: Any = np.float64, seed: int | None = None):
        self.input_size, self.hidden_size, self.dtype = checked_sizes(type(self).__name__, input_size, hidden_size,
                                                                      dtype)
        # uniform(−1/√H, 1/√H) like PyTorch, drawn in the derivation's order of names
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(hidden_size)
        self._params = {
            name: Tensor(rng.uniform(-bound, bound, shape).astype(self.dtype), requires_grad=True, name=name)
            for name, shape in shapes(input_size, hidden_size).items()
        }

    def parameters(self) -> dict[str, Tensor]:
        return dict(self._params)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: t.data for name, t in self._params.items()}

    def zero_grad(self) -> None:
        for t in self._params.values():
            t.zero_grad()

    def load_arrays(self, arrays: dict[str, np.ndarray], source: str = "parameters") -> None:
        check_arrays(arrays, shapes(self.input_size, self.hidden_size), source)
        for name, t in self._params.items():
            t.data = np.array(arrays[name], dtype=self.dtype)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, dtype: Any = np.float64, source: str = "parameters"):
        if "W_xi" not in arrays or np.ndim(arrays["W_xi"]) != 2:
            check_arrays(arrays, shapes(1, 1), source)  # names what is missing before sizes can be read
        hidden_size, input_size = np.shape(arrays["W_xi"])
        model = cls(input_size, hidden_size, dtype=dtype)
        model.load_arrays(arrays, source)
        return model

    @classmethod
    def from_stacked(cls, weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray, bias_hh: np.ndarray,
                     *, dtype: Any = np.float64):
        """PyTorch's nn.LSTMCell / nn.LSTM layout: rows stacked i, f, g, o; b_k = bias_ih_k + bias_hh_k."""
        weight_ih, weight_hh = np.asarray(weight_ih), np.asarray(weight_hh)
        bias_ih, bias_hh = np.asarray(bias_ih), np.asarray(bias_hh)
        if weight_ih.ndim != 2 or weight_ih.shape[0] % 4 or weight_ih.shape[0] == 0:
            raise ValueError(f"from_stacked: weight_ih must have shape (4·H, X), got {weight_ih.shape}")
        hidden_size = weight_ih.shape[0] // 4
        expected = {"weight_hh": (4 * hidden_size, hidden_size), "bias_ih": (4 * hidden_size,),
                    "bias_hh": (4 * hidden_size,)}
        check_arrays({"weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}, expected, "from_stacked")
        rows = {k: slice(j * hidden_size, (j + 1) * hidden_size) for j, k in enumerate(TORCH_ORDER)}
        arrays = {}
        for k, _, _ in GATES:
            arrays[f"W_x{k}"] = weight_ih[rows[k]]
            arrays[f"W_h{k}"] = weight_hh[rows[k]]
            arrays[f"b_{k}"] = bias_ih[rows[k]] + bias_hh[rows[k]]
        return cls.from_arrays(arrays, dtype=dtype, source="from_stacked")

    def to_stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(weight_ih, weight_hh, bias_ih, bias_hh) in PyTorch's layout; the summed bias sits in bias_ih."""
        p = self.arrays()
        weight_ih = np.concatenate([p[f"W_x{k}"] for k in TORCH_ORDER])
        weight_hh = np.concatenate([p[f"W_h{k}"] for k in TORCH_ORDER])
        bias_ih = np.concatenate([p[f"b_{k}"] for k in TORCH_ORDER])
        return weight_ih, weight_hh, bias_ih, np.zeros_like(bias_ih)

    def save(self, path: str | os.PathLike) -> Path:
        """The twelve named arrays as .npz (no pickles), written atomically."""
        return atomic_savez(path, self.arrays())

    @classmethod
    def load(cls, path: str | os.PathLike, *, dtype: Any = None):
        arrays = load_npz(path)
        dtype = dtype or (arrays["W_xi"].dtype if "W_xi" in arrays else np.float64)
        return cls.from_arrays(arrays, dtype=dtype, source=str(path))
