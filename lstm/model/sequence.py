"""The cell run over a sequence; backward through time is the engine's."""

from __future__ import annotations

from typing import Any

from autograd import Tensor, stack
from autograd.progress import steps
from lstm.model import fused
from lstm.model.cell import State, as_state, check_input, oriented_weights, step
from lstm.model.parameters import LSTMParameters, as_input
from lstm.names import INPUT, NodeName


def unroll(params: dict[str, Tensor], xs: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, State]:
    """The cell over xs (T, B, X) or (T, X) from the state (h, c), term by term, with any twelve parameter
    Tensors: the model's own, or ones cut from another layout's stacked weights."""
    weights = oriented_weights(params, xs.ndim == 3)  # transposed once per sequence, not once per step
    hs = []
    for t in steps(range(xs.shape[0]), "forward"):
        h, c = step(weights, xs[t].named(str(NodeName(t, None, INPUT))), h, c, t)
        hs.append(h)
    return stack(*hs, axis=0).named("hs"), (h, c)


class LSTM(LSTMParameters):
    """`model(xs, state)` with xs (T, B, X) or (T, X) returns (hs, (h_T, c_T)).

    With `fused = True` the sequence runs as one primitive (`lstm.model.fused`): the same gradients, much faster,
    but one node in the graph instead of the derivation's terms; the default draws and audits term by term.
    """

    fused = False

    def __call__(self, xs: Any, state: State | None = None) -> tuple[Tensor, State]:
        xs = as_input("LSTM", "xs", xs, self.dtype)
        check_input(self, xs, "xs", "(T, B, X) or (T, X)", (2, 3))
        if xs.shape[0] == 0:
            raise ValueError(f"LSTM: xs must hold at least one step, got shape {xs.shape}")
        if xs.name is None:
            xs.name = "xs"
        h, c = as_state(self, state, xs.shape[1:-1], t=0)
        if self.fused:
            return self._fused(xs, h, c)
        return unroll(self._params, xs, h, c)

    def _fused(self, xs: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, State]:
        if xs.ndim == 3:
            hs, h_T, c_T = fused.run(self._params, xs, h, c)
            return hs, (h_T, c_T)
        T, X = xs.shape
        hs, h_T, c_T = fused.run(self._params, xs.reshape(T, 1, X), h.reshape(1, -1), c.reshape(1, -1))
        return hs.reshape(T, -1), (h_T.reshape(-1), c_T.reshape(-1))
