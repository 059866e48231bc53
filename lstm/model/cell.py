"""One LSTM step from the engine's primitives, term by term as the derivation writes it.

Every tensor the step makes carries its `NodeName` (``t3/input gate/p``: step, section, the derivation's
symbol), so the renderer and the report speak the derivation's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd import Tensor, add, sigmoid, tanh, transpose
from lstm.model.parameters import LSTMParameters, as_input
from lstm.names import CELL, CELL_STATE, GATES, HIDDEN, HIDDEN_STATE, INPUT, STATES, NodeName

ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh}  # the gate table's activations as the engine's primitives
State = tuple[Tensor, Tensor]


def oriented_weights(params: dict[str, Tensor], batched: bool) -> dict[str, Tensor]:
    """The weights as the step multiplies them: W for one column x_t, Wᵀ for a batch of rows (erratum c)."""
    if not batched:
        return params
    weights = [name for gate in GATES for name in (gate.W_x, gate.W_h)]
    return {**params, **{name: transpose(params[name]).named(f"{name}ᵀ") for name in weights}}


def project(weight: Tensor, x: Tensor) -> Tensor:
    """q = W x_t for one input; for a batch of row vectors the same product reads x Wᵀ."""
    return weight @ x if x.ndim == 1 else x @ weight


def _names(t: int | None, section: str) -> Callable[[str], str]:
    """symbol → the name of that tensor of `section` at step t, e.g. 't3/input gate/p'."""
    return lambda symbol: str(NodeName(t, section, symbol))


def step(weights: dict[str, Tensor], x: Tensor, h: Tensor, c: Tensor, t: int | None = None) -> State:
    """h_t, c_t from x_t, h_{t−1}, c_{t−1}: step t of a sequence (None: a lone cell); `weights` from
    `oriented_weights`."""
    y = {}
    for gate in GATES:
        name = _names(t, gate.section)
        q = project(weights[gate.W_x], x).named(name("q"))
        v = project(weights[gate.W_h], h).named(name("v"))
        p = add(q, v, weights[gate.b]).named(name("p"))
        y[gate.key] = ACTIVATIONS[gate.activation](p).named(name(gate.symbol))

    name = _names(t, CELL)
    q = (y["f"] * c).named(name("q"))
    p = (y["i"] * y["g"]).named(name("p"))
    c_t = (q + p).named(name(CELL_STATE.symbol))

    name = _names(t, HIDDEN)
    q = tanh(c_t).named(name("q"))
    h_t = (y["o"] * q).named(name(HIDDEN_STATE.symbol))
    return h_t, c_t


def as_state(model: LSTMParameters, state: Any, batch: tuple[int, ...], t: int | None = None) -> State:
    """(h, c) as Tensors of shape batch + (H,) for step t to read, zeros when None; a wrong shape names expected
    and given."""
    expected = (*batch, model.hidden_size)
    if state is None:
        state = (np.zeros(expected, model.dtype), np.zeros(expected, model.dtype))
    try:
        h, c = state
    except (TypeError, ValueError):
        raise ValueError(f"{type(model).__name__}: state must be a pair (h, c), got {type(state).__name__}") from None
    out = []
    for kind, value in zip(STATES, (h, c), strict=True):
        tensor = as_input(type(model).__name__, f"state {kind.letter}", value, model.dtype)
        if tensor.shape != expected:
            raise ValueError(f"{type(model).__name__}: state {kind.letter} must have shape {expected}, "
                             f"got {tensor.shape}")
        if tensor.name is None:
            tensor.name = str(kind.before(t))
        out.append(tensor)
    return out[0], out[1]


def check_input(model: LSTMParameters, x: Tensor, what: str, expected: str, ndims: tuple[int, int]) -> None:
    if x.ndim not in ndims or x.shape[-1] != model.input_size:
        raise ValueError(
            f"{type(model).__name__}: {what} must have shape {expected} with X = {model.input_size}, got {x.shape}"
        )


class LSTMCell(LSTMParameters):
    """One step: `cell(x, state)` with x (B, X) or (X,) returns (h_t, c_t)."""

    def __call__(self, x: Any, state: State | None = None) -> State:
        x = as_input("LSTMCell", "x", x, self.dtype)
        check_input(self, x, "x", "(B, X) or (X,)", (1, 2))
        if x.name is None:
            x.name = INPUT
        h, c = as_state(self, state, x.shape[:-1])
        return step(oriented_weights(self._params, x.ndim == 2), x, h, c)
