"""A linear readout on top of the LSTM, from the primitives: y = h Wᵀ + b."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor


class Linear:
    """y = h Wᵀ + b with W (out, in), b (out,), initialised uniform(−1/√in, 1/√in) like torch.nn.Linear."""

    def __init__(self, in_features: int, out_features: int, *, dtype: Any = np.float64, seed: int | None = None):
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(in_features)
        self.W = Tensor(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype), requires_grad=True,
                        name="W_y")
        self.b = Tensor(rng.uniform(-bound, bound, out_features).astype(dtype), requires_grad=True, name="b_y")

    def parameters(self) -> dict[str, Tensor]:
        return {"W_y": self.W, "b_y": self.b}

    def __call__(self, h: Tensor) -> Tensor:
        if h.shape[-1] != self.W.shape[1]:
            raise ValueError(f"Linear: input must end in {self.W.shape[1]} features, got shape {h.shape}")
        if h.ndim <= 2:
            return h @ self.W.T + self.b
        flat = h.reshape(-1, h.shape[-1]) @ self.W.T + self.b
        return flat.reshape(*h.shape[:-1], self.W.shape[0])
