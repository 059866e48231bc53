"""The plain tanh RNN the LSTM is measured against, from the same primitives: h_t = tanh(W_xh x_t + W_hh h_{t−1} + b_h).

Its h_t carry the LSTM's names (``t3/hidden state update/h_t``), so the pictures that read ‖∂L/∂h_t‖ by name
read both models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor, add, stack, tanh, transpose
from autograd.progress import steps
from lstm.model.cell import check_input
from lstm.model.parameters import as_input, checked_sizes
from lstm.names import HIDDEN, HIDDEN_STATE, INPUT, NodeName

NAMES = ("W_xh", "W_hh", "b_h")


class RNN:
    """`model(xs, h0)` with xs (T, B, X) or (T, X) returns (hs, h_T), like torch.nn.RNN with tanh.

    Parameters are drawn uniform(−1/√H, 1/√H), PyTorch's initialisation; b_h is the sum of torch's two biases.
    """

    def __init__(self, input_size: int, hidden_size: int, *, dtype: Any = np.float64, seed: int | None = None):
        self.input_size, self.hidden_size, self.dtype = checked_sizes("RNN", input_size, hidden_size, dtype)
        shapes = {"W_xh": (hidden_size, input_size), "W_hh": (hidden_size, hidden_size), "b_h": (hidden_size,)}
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(hidden_size)
        self._params = {name: Tensor(rng.uniform(-bound, bound, shape).astype(self.dtype), requires_grad=True,
                                     name=name) for name, shape in shapes.items()}

    def parameters(self) -> dict[str, Tensor]:
        return dict(self._params)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: t.data for name, t in self._params.items()}

    def __call__(self, xs: Any, h0: Any = None) -> tuple[Tensor, Tensor]:
        xs = as_input("RNN", "xs", xs, self.dtype)
        check_input(self, xs, "xs", "(T, B, X) or (T, X)", (2, 3))
        if xs.shape[0] == 0:
            raise ValueError(f"RNN: xs must hold at least one step, got shape {xs.shape}")
        expected = (*xs.shape[1:-1], self.hidden_size)
        h = Tensor(np.zeros(expected, self.dtype)) if h0 is None else as_input("RNN", "h0", h0, self.dtype)
        if h.shape != expected:
            raise ValueError(f"RNN: h0 must have shape {expected}, got {h.shape}")
        xs.name, h.name = xs.name or "xs", h.name or str(HIDDEN_STATE.before(0))
        return run(self._params, xs, h)


def run(params: dict[str, Tensor], xs: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
    """(hs, h_T) for xs (T, B, X) or (T, X) from h_0, every step named as the derivation names the LSTM's."""
    W_xh, W_hh, b_h = (params[name] for name in NAMES)
    if xs.ndim == 3:  # a batch of rows: x Wᵀ, transposed once per sequence
        W_xh, W_hh = transpose(W_xh).named("W_xhᵀ"), transpose(W_hh).named("W_hhᵀ")
    hs = []
    for t in steps(range(xs.shape[0]), "forward"):
        q_name, v_name, p_name = (str(NodeName(t, HIDDEN, symbol)) for symbol in ("q", "v", "p"))
        x = xs[t].named(str(NodeName(t, None, INPUT)))
        q = (x @ W_xh if x.ndim == 2 else W_xh @ x).named(q_name)
        v = (h @ W_hh if h.ndim == 2 else W_hh @ h).named(v_name)
        h = tanh(add(q, v, b_h).named(p_name)).named(str(HIDDEN_STATE.at(t)))
        hs.append(h)
    return stack(*hs, axis=0).named("hs"), h
