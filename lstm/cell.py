"""One LSTM step from the engine's primitives, term by term as the derivation writes it.

Every tensor the step makes is named ``<scope>/<section>/<symbol>`` with the derivation's symbol
(``t3/input gate/p``), so the renderer and the report speak the derivation's language.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor, add, sigmoid, tanh, transpose
from lstm.names import GATES
from lstm.parameters import LSTMParameters

ACTIVATIONS = {"i": sigmoid, "f": sigmoid, "o": sigmoid, "g": tanh}
State = tuple[Tensor, Tensor]


def oriented_weights(params: dict[str, Tensor], batched: bool) -> dict[str, Tensor]:
    """The weights as the step multiplies them: W for one column x_t, Wᵀ for a batch of rows (erratum c)."""
    if not batched:
        return params
    return {name: transpose(t).named(f"{name}ᵀ") if name.startswith("W_") else t for name, t in params.items()}


def project(weight: Tensor, x: Tensor) -> Tensor:
    """q = W x_t for one input; for a batch of row vectors the same product reads x Wᵀ."""
    return weight @ x if x.ndim == 1 else x @ weight


def step(weights: dict[str, Tensor], x: Tensor, h: Tensor, c: Tensor, scope: str = "") -> State:
    """h_t, c_t from x_t, h_{t−1}, c_{t−1}; `weights` from `oriented_weights`."""
    gate = {}
    for k, section, symbol in GATES:
        where = f"{scope}{section}/"
        q = project(weights[f"W_x{k}"], x).named(where + "q")
        v = project(weights[f"W_h{k}"], h).named(where + "v")
        p = add(q, v, weights[f"b_{k}"]).named(where + "p")
        gate[k] = ACTIVATIONS[k](p).named(where + symbol)

    where = f"{scope}cell state update/"
    q = (gate["f"] * c).named(where + "q")
    p = (gate["i"] * gate["g"]).named(where + "p")
    c_t = (q + p).named(where + "c_t")

    where = f"{scope}hidden state update/"
    q = tanh(c_t).named(where + "q")
    h_t = (gate["o"] * q).named(where + "h_t")
    return h_t, c_t


def as_state(model: LSTMParameters, state: Any, batch: tuple[int, ...], scope: str = "") -> State:
    """(h, c) as Tensors of shape batch + (H,), zeros when None; a wrong shape names expected and given."""
    expected = (*batch, model.hidden_size)
    if state is None:
        zeros = np.zeros(expected, model.dtype)
        return Tensor(zeros, name=f"{scope}h_{{t-1}}"), Tensor(zeros, name=f"{scope}c_{{t-1}}")
    try:
        h, c = state
    except (TypeError, ValueError):
        raise ValueError(f"{type(model).__name__}: state must be a pair (h, c), got {type(state).__name__}") from None
    out = []
    for label, s in (("h", h), ("c", c)):
        t = s if isinstance(s, Tensor) else Tensor(np.asarray(s, dtype=model.dtype))
        if t.shape != expected:
            raise ValueError(f"{type(model).__name__}: state {label} must have shape {expected}, got {t.shape}")
        if t.name is None:
            t.name = f"{scope}{label}_{{t-1}}"
        out.append(t)
    return out[0], out[1]


def check_input(model: LSTMParameters, x: Tensor, what: str, expected: str, ndims: tuple[int, int]) -> None:
    if x.ndim not in ndims or x.shape[-1] != model.input_size:
        raise ValueError(
            f"{type(model).__name__}: {what} must have shape {expected} with X = {model.input_size}, got {x.shape}"
        )


class LSTMCell(LSTMParameters):
    """One step: `cell(x, state)` with x (B, X) or (X,) returns (h_t, c_t)."""

    def __call__(self, x: Any, state: State | None = None) -> State:
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.dtype), name="x_t")
        check_input(self, x, "x", "(B, X) or (X,)", (1, 2))
        if x.name is None:
            x.name = "x_t"
        h, c = as_state(self, state, x.shape[:-1])
        return step(oriented_weights(self._params, x.ndim == 2), x, h, c)
