"""Recurrent cells, each declared once: its gates (an activation of which inputs), its state update, its states,
its parameters grouped by gate in PyTorch's stacked order, and one step written with the engine's primitives.

The multi-layer runner (`lstm.model.layers`), the parameters' names, PyTorch's layout (`weight_ih` stacks every
gate's W_x by rows, in the declared order) and the pictures' sections all follow from the declaration, so a new
cell is one `Cell(...)` in `CELLS` plus its hand derivation.

Every gate k owns four parameters, as torch keeps them: W_xk (H, X), W_hk (H, H), b_xk and b_hk (H,), the rows
of weight_ih, weight_hh, bias_ih and bias_hh; a model built with `bias=False` has no b_xk, b_hk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, add, sigmoid, tanh
from autograd.ops import relu
from lstm.names import HIDDEN, HIDDEN_STATE, INPUT, State

ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}
# torch's four stacked arrays of one layer and direction, and the symbol of the gate's block in each
TORCH_KINDS = (("weight_ih", "W_x"), ("weight_hh", "W_h"), ("bias_ih", "b_x"), ("bias_hh", "b_h"))
WEIGHTS = ("weight_ih", "weight_hh")

# name(section, symbol) → the tensor's full name at this step, in this layer and direction
Namer = Callable[[str | None, str], str]


@dataclass(frozen=True)
class CellGate:
    """One gate: its key k (the subscript of W_xk, W_hk, b_xk, b_hk), its section, its output's symbol, its
    activation by name, and what its pre-activation reads (x_t, h_{t−1}, other gates' outputs)."""

    key: str
    section: str
    symbol: str
    activation: str
    reads: tuple[str, ...]
    formula: str  # its equation, as the derivation writes it

    def parameter(self, kind: str) -> str:
        """The gate's W_x, W_h, b_x or b_h: W_xr, b_hn."""
        return f"{kind[0]}_{kind[2:]}{self.key}"

    def parameters(self, bias: bool = True) -> tuple[str, ...]:
        return tuple(self.parameter(kind) for _, kind in TORCH_KINDS if bias or kind[0] == "W")


@dataclass(frozen=True)
class Cell:
    """A recurrent cell's declaration. `gates` are in PyTorch's stacked order; `step(w, x, h, name)` computes
    h_t from x_t (B, X) and h_{t−1} (B, H) with `w` the gate parameters by name (the weights already transposed
    for a batch of rows: q = x_t W_xkᵀ; biases absent when the model has none)."""

    name: str
    title: str
    gates: tuple[CellGate, ...]
    update: str  # the state update, as the derivation writes it
    step: Callable[[dict[str, Tensor], Tensor, Tensor, Namer], Tensor] = field(repr=False)
    states: tuple[State, ...] = (HIDDEN_STATE,)
    torch_module: str | None = None  # torch.nn's counterpart, None where torch has none
    torch_options: tuple[tuple[str, Any], ...] = ()  # its keyword arguments that pick this cell

    @property
    def sections(self) -> tuple[str, ...]:
        """The pictures' sections: each gate's, then the state update's."""
        return tuple(dict.fromkeys([*(gate.section for gate in self.gates), HIDDEN]))

    def parameters(self, bias: bool = True) -> dict[str, tuple[str, ...]]:
        """The parameters grouped by gate key, in PyTorch's order."""
        return {gate.key: gate.parameters(bias) for gate in self.gates}

    def shapes(self, input_size: int, hidden_size: int, bias: bool = True) -> dict[str, tuple[int, ...]]:
        """Each parameter's shape, by name."""
        sizes = {"W_x": (hidden_size, input_size), "W_h": (hidden_size, hidden_size), "b_x": (hidden_size,),
                 "b_h": (hidden_size,)}
        return {gate.parameter(kind): sizes[kind] for gate in self.gates for _, kind in TORCH_KINDS
                if bias or kind[0] == "W"}

    def torch_shapes(self, input_size: int, hidden_size: int, bias: bool = True) -> dict[str, tuple[int, ...]]:
        """The shapes of torch's four (or, without bias, two) arrays of one layer and direction."""
        rows = len(self.gates) * hidden_size
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size), "bias_ih": (rows,),
                  "bias_hh": (rows,)}
        return {kind: shape for kind, shape in shapes.items() if bias or kind in WEIGHTS}

    def stack(self, arrays: dict[str, np.ndarray], bias: bool = True) -> dict[str, np.ndarray]:
        """One layer's parameters by name → torch's arrays, every gate's block stacked by rows in gate order."""
        return {torch_kind: np.concatenate([arrays[gate.parameter(kind)] for gate in self.gates])
                for torch_kind, kind in TORCH_KINDS if bias or torch_kind in WEIGHTS}

    def unstack(self, stacked: dict[str, np.ndarray], hidden_size: int) -> dict[str, np.ndarray]:
        """The inverse of `stack`: each gate's block of H rows, by parameter name."""
        return {gate.parameter(kind): stacked[torch_kind][j * hidden_size:(j + 1) * hidden_size]
                for torch_kind, kind in TORCH_KINDS if torch_kind in stacked
                for j, gate in enumerate(self.gates)}


def _project(weight: Tensor, x: Tensor) -> Tensor:
    """W x for one column; x Wᵀ for a batch of rows (the weight comes transposed)."""
    return weight @ x if x.ndim == 1 else x @ weight


def _sum(name: str, *terms: Tensor | None) -> Tensor:
    """The terms present (a model without bias has no b) as one add node."""
    return add(*(term for term in terms if term is not None)).named(name)


def _gate(w: dict[str, Tensor], gate: CellGate, x: Tensor, h: Tensor, name: Namer) -> Tensor:
    """σ(W_xk x_t + W_hk h_{t−1} + b_xk + b_hk), or its tanh or relu."""
    q = _project(w[gate.parameter("W_x")], x).named(name(gate.section, "q"))
    v = _project(w[gate.parameter("W_h")], h).named(name(gate.section, "v"))
    p = _sum(name(gate.section, "p"), q, v, w.get(gate.parameter("b_x")), w.get(gate.parameter("b_h")))
    return ACTIVATIONS[gate.activation](p).named(name(gate.section, gate.symbol))


def _interpolate(z: Tensor, n: Tensor, h: Tensor, name: Namer) -> Tensor:
    """h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}."""
    keep = (1 - z).named(name(HIDDEN, "1−z_t"))
    q = (keep * n).named(name(HIDDEN, "q"))
    v = (z * h).named(name(HIDDEN, "v"))
    return (q + v).named(name(HIDDEN, HIDDEN_STATE.symbol))


RESET = CellGate("r", "reset gate", "r_t", "sigmoid", (INPUT, HIDDEN_STATE.previous),
                 "r_t = σ(W_xr x_t + b_xr + W_hr h_{t-1} + b_hr)")
UPDATE = CellGate("z", "update gate", "z_t", "sigmoid", (INPUT, HIDDEN_STATE.previous),
                  "z_t = σ(W_xz x_t + b_xz + W_hz h_{t-1} + b_hz)")
GRU_UPDATE = "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}"


def _gru_step(w: dict[str, Tensor], x: Tensor, h: Tensor, name: Namer) -> Tensor:
    """torch.nn.GRU: n_t = tanh(W_xn x_t + b_xn + r_t ⊙ (W_hn h_{t−1} + b_hn))."""
    r, z = (_gate(w, gate, x, h, name) for gate in (RESET, UPDATE))
    section = "new gate"
    q = _project(w["W_xn"], x).named(name(section, "q"))
    v = _project(w["W_hn"], h).named(name(section, "v"))
    s = _sum(name(section, "s"), v, w.get("b_hn"))
    m = (r * s).named(name(section, "m"))
    p = _sum(name(section, "p"), q, w.get("b_xn"), m)
    return _interpolate(z, tanh(p).named(name(section, "n_t")), h, name)


def _gru_cho_step(w: dict[str, Tensor], x: Tensor, h: Tensor, name: Namer) -> Tensor:
    """Cho et al. (2014): n_t = tanh(W_xn x_t + b_xn + W_hn (r_t ⊙ h_{t−1}) + b_hn), the reset before the weight."""
    r, z = (_gate(w, gate, x, h, name) for gate in (RESET, UPDATE))
    section = "new gate"
    q = _project(w["W_xn"], x).named(name(section, "q"))
    m = (r * h).named(name(section, "m"))
    v = _project(w["W_hn"], m).named(name(section, "v"))
    p = _sum(name(section, "p"), q, v, w.get("b_xn"), w.get("b_hn"))
    return _interpolate(z, tanh(p).named(name(section, "n_t")), h, name)


def _elman_step(w: dict[str, Tensor], x: Tensor, h: Tensor, name: Namer, gate: CellGate) -> Tensor:
    return _gate(w, gate, x, h, name)


def _elman(nonlinearity: str) -> Cell:
    gate = CellGate("h", HIDDEN, HIDDEN_STATE.symbol, nonlinearity, (INPUT, HIDDEN_STATE.previous),
                    f"h_t = {nonlinearity}(W_xh x_t + b_xh + W_hh h_{{t-1}} + b_hh)")
    return Cell(f"rnn-{nonlinearity}", f"Elman RNN ({nonlinearity}), as torch.nn.RNN", (gate,), gate.formula,
                lambda w, x, h, name: _elman_step(w, x, h, name, gate),
                torch_module="RNN", torch_options=(("nonlinearity", nonlinearity),))


CELLS: dict[str, Cell] = {cell.name: cell for cell in (
    Cell("gru", "GRU, as torch.nn.GRU computes it (gate order r, z, n)",
         (RESET, UPDATE, CellGate("n", "new gate", "n_t", "tanh", (INPUT, RESET.symbol, HIDDEN_STATE.previous),
                                  "n_t = tanh(W_xn x_t + b_xn + r_t ⊙ (W_hn h_{t-1} + b_hn))")),
         GRU_UPDATE, _gru_step, torch_module="GRU"),
    Cell("gru-cho", "GRU as Cho et al. (2014) wrote it: the reset gate multiplies h_{t-1} before W_hn",
         (RESET, UPDATE, CellGate("n", "new gate", "n_t", "tanh", (INPUT, RESET.symbol, HIDDEN_STATE.previous),
                                  "n_t = tanh(W_xn x_t + b_xn + W_hn (r_t ⊙ h_{t-1}) + b_hn)")),
         GRU_UPDATE, _gru_cho_step),
    _elman("tanh"),
    _elman("relu"),
)}


def cell(name: str) -> Cell:
    """The declaration called `name`, or a ValueError listing the ones there are."""
    if name not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {name!r}")
    return CELLS[name]
