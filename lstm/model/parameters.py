"""The twelve named parameters, their initialisation, PyTorch's stacked layout, and .npz files."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.files import atomic_savez, load_npz, npz_headers
from autograd.tensor import as_float_array
from lstm.names import GATE, GATES, TORCH_ORDER, stacked
from lstm.shapes import check_arrays, check_parameters, shapes


def stack_gates(arrays: dict[str, np.ndarray], order: str, kind: str) -> np.ndarray:
    """The four gates' W_x, W_h or b (`kind`) stacked by rows in `order`, as PyTorch's weight_ih stacks W_x."""
    return np.concatenate([arrays[GATE[key].parameter(kind)] for key in order])


def checked_sizes(owner: str, input_size: Any, hidden_size: Any, dtype: Any,
                  seed: Any = None) -> tuple[int, int, np.dtype]:
    """The sizes as ints and the dtype, or a ValueError that names the owner, the argument and what came (the
    seed too: numpy's own message names neither)."""
    if seed is not None and (not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"{owner}: seed must be a non-negative integer or None, got {seed!r}")
    for label, size in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{owner}: {label} must be a positive integer, got {size!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{owner}: dtype must be float32 or float64, got {dtype}")
    return int(input_size), int(hidden_size), dtype


def as_input(owner: str, what: str, value: Any, dtype: np.dtype) -> Tensor:
    """An input or state given to a model, as a Tensor of the model's dtype (a Tensor is taken as it is): what
    is not real numbers is refused in the engine's words, naming the model and the argument."""
    if isinstance(value, Tensor):
        return value
    return Tensor(as_float_array(value, f"{owner}: {what}", dtype).astype(dtype, copy=False))


def stacked_hidden_size(arrays: dict[str, np.ndarray]) -> tuple[int | str, int | str]:
    """(H, 4·H) as most of PyTorch's four arrays give them (each has 4·H rows, weight_hh also H columns), so that
    one misshapen array is named alone rather than making the others look wrong; letters where none tells."""
    votes = Counter(a.shape[0] // 4 for a in arrays.values() if a.ndim and a.shape[0] and a.shape[0] % 4 == 0)
    if arrays["weight_hh"].ndim == 2:
        votes[arrays["weight_hh"].shape[1]] += 1
    if not votes:
        return "H", "4·H"
    hidden_size = votes.most_common(1)[0][0]
    return hidden_size, 4 * hidden_size


class LSTMParameters:
    """What the cell and the sequence model share: twelve named parameters of one dtype."""

    def __init__(self, input_size: int, hidden_size: int, *, dtype: Any = np.float64, seed: int | None = None):
        self.input_size, self.hidden_size, self.dtype = checked_sizes(type(self).__name__, input_size, hidden_size,
                                                                      dtype, seed)
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
        return {name: tensor.data for name, tensor in self._params.items()}

    def zero_grad(self) -> None:
        for tensor in self._params.values():
            tensor.zero_grad()

    def load_arrays(self, arrays: dict[str, np.ndarray], source: str = "parameters") -> None:
        check_arrays(arrays, shapes(self.input_size, self.hidden_size), source)
        for name, tensor in self._params.items():
            tensor.data = np.array(as_float_array(arrays[name], f"{source}: {name}"), dtype=self.dtype)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, dtype: Any = None, source: str = "parameters"):
        """A model holding these twelve arrays; in their dtype when they are all float32, else in float64."""
        input_size, hidden_size = check_parameters(arrays, source)
        if dtype is None:
            single = all(np.asarray(a).dtype == np.float32 for a in arrays.values())
            dtype = np.float32 if single else np.float64
        model = cls(input_size, hidden_size, dtype=dtype)
        model.load_arrays(arrays, source)
        return model

    @classmethod
    def from_stacked(cls, weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray, bias_hh: np.ndarray,
                     *, dtype: Any = None):
        """PyTorch's nn.LSTMCell / nn.LSTM layout: rows stacked i, f, g, o; b_k = bias_ih_k + bias_hh_k.

        float32 weights (PyTorch's own) give a float32 model unless `dtype` says otherwise."""
        given = {name: np.asarray(a) for name, a in
                 (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih), ("bias_hh", bias_hh))}
        weight_ih, weight_hh, bias_ih, bias_hh = given.values()
        hidden_size, four_h = stacked_hidden_size(given)
        columns = weight_ih.shape[1] if weight_ih.ndim == 2 else "X"
        check_arrays(given, {"weight_ih": (four_h, columns), "weight_hh": (four_h, hidden_size),
                             "bias_ih": (four_h,), "bias_hh": (four_h,)}, "from_stacked")
        rows = stacked(TORCH_ORDER, hidden_size)
        if dtype is None:
            dtype = np.float32 if all(a.dtype == np.float32 for a in given.values()) else np.float64
        arrays = {}
        for gate in GATES:
            arrays[gate.W_x] = weight_ih[rows[gate.key]]
            arrays[gate.W_h] = weight_hh[rows[gate.key]]
            # summed in the model's dtype, as torch's .double() model adds the widened biases
            arrays[gate.b] = np.add(bias_ih[rows[gate.key]], bias_hh[rows[gate.key]], dtype=dtype)
        return cls.from_arrays(arrays, dtype=dtype, source="from_stacked")

    def to_stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(weight_ih, weight_hh, bias_ih, bias_hh) in PyTorch's layout; the summed bias sits in bias_ih."""
        weight_ih, weight_hh, bias_ih = (stack_gates(self.arrays(), TORCH_ORDER, kind) for kind in ("W_x", "W_h", "b"))
        return weight_ih, weight_hh, bias_ih, np.zeros_like(bias_ih)

    def save(self, path: str | os.PathLike) -> Path:
        """The twelve named arrays as .npz (no pickles), written atomically."""
        return atomic_savez(path, self.arrays())

    @classmethod
    def load(cls, path: str | os.PathLike, *, dtype: Any = None):
        check_parameters(npz_headers(path), str(path))  # the shapes, from the headers, before any data is read
        return cls.from_arrays(load_npz(path), dtype=dtype, source=str(path))
