"""The cell run over a sequence; backward through time is the engine's."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor, stack
from autograd.progress import steps
from lstm.model import fused
from lstm.model.cell import State, as_state, check_input, oriented_weights, step
from lstm.model.layers import LSTM as LayeredLSTM
from lstm.model.layers import checked_state_dict
from lstm.model.parameters import LSTMParameters, as_input
from lstm.names import GATES, INPUT, TORCH_ORDER, NodeName, stacked


def unroll(params: dict[str, Tensor], xs: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, State]:
    """The cell over xs (T, B, X) or (T, X) from the state (h, c), term by term, with any twelve parameter
    Tensors: the model's own, or ones cut from another layout's stacked weights."""
    weights = oriented_weights(params, xs.ndim == 3)  # transposed once per sequence, not once per step
    hs = []
    for t in steps(range(xs.shape[0]), "forward"):
        h, c = step(weights, xs[t].named(str(NodeName(t, None, INPUT))), h, c, t)
        hs.append(h)
    return stack(*hs, axis=0).named("hs"), (h, c)


def _flag(value: Any, wanted: bool) -> bool:
    return isinstance(value, (bool, np.bool_)) and bool(value) is wanted


def _is_plain(num_layers: Any, bias: Any, batch_first: Any, dropout: Any, bidirectional: Any, proj_size: Any,
              cell: Any) -> bool:
    """Whether torch's arguments ask for nothing but the one-layer, one-direction LSTM with its summed bias."""
    def exactly(value: Any, number: int) -> bool:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
            and value == number
    return (exactly(num_layers, 1) and _flag(bias, True) and _flag(batch_first, False) and exactly(dropout, 0)
            and _flag(bidirectional, False) and exactly(proj_size, 0) and isinstance(cell, str) and cell == "lstm")


class LSTM(LSTMParameters):
    """`model(xs, state)` with xs (T, B, X) or (T, X) returns (hs, (h_T, c_T)).

    `LSTM(input_size, hidden_size, num_layers=1, *, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, cell="lstm", dtype=np.float64, seed=None)` takes torch.nn.LSTM's
    arguments. With the defaults it is this class: twelve named parameters W_xi … b_g (one summed bias per gate),
    the per-gate graph, h_T and c_T of shape (B, H). Any other configuration (num_layers > 1, bidirectional,
    batch_first, bias=False, proj_size, dropout, another cell) builds `lstm.model.layers.LSTM` instead, which
    returns torch's (output, (h_n, c_n)) and keeps torch's two biases apart.

    With `fused = True` the sequence runs as one primitive (`lstm.model.fused`): the same gradients, much faster,
    but one node in the graph instead of the derivation's terms; the default draws and audits term by term.
    """

    fused = False

    def __new__(cls, input_size: Any = None, hidden_size: Any = None, num_layers: Any = 1, *, bias: Any = True,
                batch_first: Any = False, dropout: Any = 0.0, bidirectional: Any = False, proj_size: Any = 0,
                cell: Any = "lstm", dtype: Any = np.float64, seed: int | None = None) -> Any:
        if _is_plain(num_layers, bias, batch_first, dropout, bidirectional, proj_size, cell):
            return super().__new__(cls)
        return LayeredLSTM(input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first, dropout=dropout,
                           bidirectional=bidirectional, proj_size=proj_size, cell=cell, dtype=dtype, seed=seed)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 cell: str = "lstm", dtype: Any = np.float64, seed: int | None = None) -> None:
        # only the plain configuration reaches here: __new__ built a layers.LSTM for every other
        super().__init__(input_size, hidden_size, dtype=dtype, seed=seed)

    # ---- torch's modes, state dict and module ----

    training = True  # as a new torch module; this model has no dropout, so the mode changes nothing

    def train(self, mode: bool = True) -> LSTM:
        self.training = bool(mode)
        return self

    def eval(self) -> LSTM:
        return self.train(False)

    def to_torch(self) -> Any:
        """torch.nn.LSTM(X, H) holding this state dict (torch must be installed): the same outputs."""
        import torch  # optional: only this conversion needs it

        module = torch.nn.LSTM(self.input_size, self.hidden_size,
                               dtype=torch.float32 if self.dtype == np.float32 else torch.float64)
        module.load_state_dict({key: torch.from_numpy(value) for key, value in self.state_dict().items()})
        return module.train(self.training)

    @classmethod
    def from_torch(cls, module: Any, *, cell: str = "lstm") -> Any:
        """A model with torch.nn.LSTM `module`'s arguments, dtype and parameters: this class for the one-layer
        default (its two biases summed), `lstm.model.layers.LSTM` for any other."""
        arguments = {name: getattr(module, name) for name in ("num_layers", "bias", "batch_first", "dropout",
                                                              "bidirectional", "proj_size")}
        single = str(next(iter(module.parameters())).dtype) == "torch.float32"
        model = cls(module.input_size, module.hidden_size, **arguments, cell=cell,
                    dtype=np.float32 if single else np.float64)
        model.load_state_dict(module.state_dict())
        return model


    def state_dict(self) -> dict[str, np.ndarray]:
        """torch.nn.LSTM's state dict (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, rows i, f, g, o) as numpy
        arrays. This model keeps one bias per gate, the sum of torch's two: it is exported whole in bias_ih_l0,
        and bias_hh_l0 is zeros, as `to_stacked` does. So torch computes the same outputs from it, and the state
        dict comes back from torch unchanged."""
        weight_ih, weight_hh, bias_ih, bias_hh = self.to_stacked()
        return {"weight_ih_l0": weight_ih, "weight_hh_l0": weight_hh, "bias_ih_l0": bias_ih, "bias_hh_l0": bias_hh}

    def load_state_dict(self, state_dict: Any) -> None:
        """The inverse of `state_dict`, from numpy arrays or torch tensors (torch.nn.LSTM(X, H)'s own): the model's
        bias b_k is bias_ih_l0 + bias_hh_l0, summed in the model's dtype, so torch's outputs are kept (to the
        rounding of that sum) while its two biases come back summed. A missing, extra or misshapen key is refused,
        naming it, before anything is loaded."""
        H, X = self.hidden_size, self.input_size
        arrays = checked_state_dict("LSTM.load_state_dict", {
            "weight_ih_l0": (4 * H, X), "weight_hh_l0": (4 * H, H), "bias_ih_l0": (4 * H,), "bias_hh_l0": (4 * H,)},
            state_dict)
        rows = stacked(TORCH_ORDER, H)
        named = {}
        for gate in GATES:
            named[gate.W_x] = arrays["weight_ih_l0"][rows[gate.key]]
            named[gate.W_h] = arrays["weight_hh_l0"][rows[gate.key]]
            named[gate.b] = np.add(arrays["bias_ih_l0"][rows[gate.key]], arrays["bias_hh_l0"][rows[gate.key]],
                                   dtype=self.dtype)
        self.load_arrays(named, "LSTM.load_state_dict")

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
