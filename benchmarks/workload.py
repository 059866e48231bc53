"""The workload: LSTM forward plus backward of loss = Σ_t sum(h_t ⊙ R_t), every parameter's gradient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm import LSTM

SIZES = {"S": (1, 8, 8, 10), "M": (32, 128, 128, 50), "L": (64, 512, 512, 100)}  # B, X, H, T


@dataclass
class Workload:
    name: str
    B: int
    X: int
    H: int
    T: int
    dtype: np.dtype
    params: dict[str, np.ndarray]
    xs: np.ndarray  # (T, B, X)
    R: np.ndarray  # (T, B, H): the fixed random weights of the loss

    @property
    def flops(self) -> int:
        """The matmuls of forward and backward: input and recurrent products, their input and weight gradients."""
        return 3 * 2 * self.T * self.B * 4 * self.H * (self.X + self.H)

    @property
    def activation_bytes(self) -> int:
        """What backward needs per step: i_t, f_t, o_t, g_t, c_t, h_t, each (B, H)."""
        return 6 * self.T * self.B * self.H * self.dtype.itemsize

    def label(self) -> str:
        return f"{self.name} {self.dtype.name} (B={self.B} X={self.X} H={self.H} T={self.T})"


def make(name: str, dtype, *, B=None, X=None, H=None, T=None, seed: int = 0) -> Workload:
    sized = SIZES.get(name, (None,) * 4)
    B, X, H, T = (given or default for given, default in zip((B, X, H, T), sized, strict=True))
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    params = LSTM(X, H, dtype=dtype, seed=seed).arrays()
    return Workload(name, B, X, H, T, dtype, params, rng.standard_normal((T, B, X)).astype(dtype),
                    rng.standard_normal((T, B, H)).astype(dtype))
