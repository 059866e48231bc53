"""Recurrent cells, each declared once: its gates (an activation of which inputs), its state update, its states,
its parameters grouped by gate in PyTorch's stacked order, and one step written with the engine's primitives.

The multi-layer runner (`lstm.model.layers`), the parameters' names, PyTorch's layout (`weight_ih` stacks every
gate's W_x by rows, in the declared order) and the pictures' sections all follow from the declaration, so a new
cell is one `Cell(...)` in `CELLS` plus its hand derivation.

Every gate k owns four parameters, as torch keeps them: W_xk (H, X), W_hk (H, H_out), b_xk and b_hk (H,), the
rows of weight_ih, weight_hh, bias_ih and bias_hh; a model built with `bias=False` has no b_xk, b_hk. A cell may
own parameters of no gate besides (`Extra`): the peephole LSTM's diagonal weights w_ci, w_cf, w_co (H,), which
torch has no counterpart of, under state-dict keys of this project's own: weight_ci_l0, weight_cf_l0,
weight_co_l0 (`_reverse` as torch's). A cell declared with `projection` takes torch.nn.LSTM's proj_size P: h_t =
W_hr (o_t ⊙ tanh c_t), W_hr (P, H) under torch's key weight_hr_l0, and the hidden state h (fed back, and output)
is H_out = P wide; without it H_out = H.

An LSTM cell has two states, (h, c): its `step` takes and returns the pair; a cell of one state takes and returns h.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, add, sigmoid, tanh
from autograd.ops import relu
from lstm.names import CELL, CELL_STATE, GATE, HIDDEN, HIDDEN_STATE, INPUT, State

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
class Extra:
    """A parameter of no gate, of shape (H,): its name (w_ci), its torch-style state-dict kind (weight_ci), and what
    it is."""

    name: str
    torch_kind: str
    meaning: str


PROJECTION = "W_hr"  # Sak et al. (2014)'s projection, torch's weight_hr


@dataclass(frozen=True)
class Cell:
    """A recurrent cell's declaration. `gates` are in PyTorch's stacked order; `step(w, x, h, name)` computes
    h_t from x_t (B, X) and h_{t−1} (B, H) with `w` the gate parameters by name (the weights already transposed
    for a batch of rows: q = x_t W_xkᵀ; biases absent when the model has none). A cell of two states (h, c) has
    `step(w, x, (h, c), name)` → (h_t, c_t); `advance` calls either with a tuple of states."""

    name: str
    title: str
    gates: tuple[CellGate, ...]
    update: str  # the state update, as the derivation writes it
    step: Callable[[dict[str, Tensor], Tensor, Tensor, Namer], Tensor] = field(repr=False)
    states: tuple[State, ...] = (HIDDEN_STATE,)
    torch_module: str | None = None  # torch.nn's counterpart, None where torch has none
    torch_options: tuple[tuple[str, Any], ...] = ()  # its keyword arguments that pick this cell
    extras: tuple[Extra, ...] = ()  # parameters of no gate, each (H,)
    projection: bool = False  # takes proj_size (torch.nn.LSTM's)

    @property
    def sections(self) -> tuple[str, ...]:
        """The pictures' sections: each gate's, then the state updates' (the cell state's before the hidden's)."""
        return tuple(dict.fromkeys([*(gate.section for gate in self.gates),
                                    *(state.section for state in reversed(self.states))]))

    def advance(self, w: dict[str, Tensor], x: Tensor, state: tuple[Tensor, ...], name: Namer) -> tuple[Tensor, ...]:
        """One step from a tuple of states (h,) or (h, c) to the next."""
        if len(self.states) == 1:
            return (self.step(w, x, state[0], name),)
        return tuple(self.step(w, x, state, name))

    def parameters(self, bias: bool = True) -> dict[str, tuple[str, ...]]:
        """The parameters grouped by gate key, in PyTorch's order."""
        return {gate.key: gate.parameters(bias) for gate in self.gates}

    def shapes(self, input_size: int, hidden_size: int, bias: bool = True,
               proj_size: int = 0) -> dict[str, tuple[int, ...]]:
        """Each parameter's shape, by name: the gates', then the extras', then the projection's."""
        out = proj_size or hidden_size
        sizes = {"W_x": (hidden_size, input_size), "W_h": (hidden_size, out), "b_x": (hidden_size,),
                 "b_h": (hidden_size,)}
        shapes = {gate.parameter(kind): sizes[kind] for gate in self.gates for _, kind in TORCH_KINDS
                  if bias or kind[0] == "W"}
        shapes |= {extra.name: (hidden_size,) for extra in self.extras}
        if proj_size:
            shapes[PROJECTION] = (proj_size, hidden_size)
        return shapes

    def torch_shapes(self, input_size: int, hidden_size: int, bias: bool = True,
                     proj_size: int = 0) -> dict[str, tuple[int, ...]]:
        """The shapes of torch's four (or, without bias, two) arrays of one layer and direction, then the
        extras' (H,) and weight_hr (P, H)."""
        rows = len(self.gates) * hidden_size
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, proj_size or hidden_size),
                  "bias_ih": (rows,), "bias_hh": (rows,)}
        shapes = {kind: shape for kind, shape in shapes.items() if bias or kind in WEIGHTS}
        shapes |= {extra.torch_kind: (hidden_size,) for extra in self.extras}
        if proj_size:
            shapes["weight_hr"] = (proj_size, hidden_size)
        return shapes

    def stack(self, arrays: dict[str, np.ndarray], bias: bool = True) -> dict[str, np.ndarray]:
        """One layer's parameters by name → torch's arrays, every gate's block stacked by rows in gate order; the
        extras and the projection (when `arrays` holds it) as they are."""
        stacked = {torch_kind: np.concatenate([arrays[gate.parameter(kind)] for gate in self.gates])
                   for torch_kind, kind in TORCH_KINDS if bias or torch_kind in WEIGHTS}
        stacked |= {extra.torch_kind: arrays[extra.name] for extra in self.extras}
        if self.projection and PROJECTION in arrays:  # (a GRU's W_hr is its reset gate's)
            stacked["weight_hr"] = arrays[PROJECTION]
        return stacked

    def unstack(self, stacked: dict[str, np.ndarray], hidden_size: int) -> dict[str, np.ndarray]:
        """The inverse of `stack`: each gate's block of H rows, by parameter name."""
        arrays = {gate.parameter(kind): stacked[torch_kind][j * hidden_size:(j + 1) * hidden_size]
                  for torch_kind, kind in TORCH_KINDS if torch_kind in stacked
                  for j, gate in enumerate(self.gates)}
        arrays |= {extra.name: stacked[extra.torch_kind] for extra in self.extras if extra.torch_kind in stacked}
        if "weight_hr" in stacked:
            arrays[PROJECTION] = stacked["weight_hr"]
        return arrays


def _project(weight: Tensor, x: Tensor) -> Tensor:
    """W x for one column; x Wᵀ for a batch of rows (the weight comes transposed)."""
    return weight @ x if x.ndim == 1 else x @ weight


def _sum(name: str, *terms: Tensor | None) -> Tensor:
    """The terms present (a model without bias has no b) as one add node."""
    return add(*(term for term in terms if term is not None)).named(name)


def _gate(w: dict[str, Tensor], gate: CellGate, x: Tensor, h: Tensor, name: Namer,
          peephole: tuple[str, Tensor] | None = None) -> Tensor:
    """σ(W_xk x_t + W_hk h_{t−1} + b_xk + b_hk), or its tanh or relu; with a peephole (w_ck, c) the term
    u = w_ck ⊙ c inside."""
    q = _project(w[gate.parameter("W_x")], x).named(name(gate.section, "q"))
    v = _project(w[gate.parameter("W_h")], h).named(name(gate.section, "v"))
    u = None if peephole is None else (w[peephole[0]] * peephole[1]).named(name(gate.section, "u"))
    p = _sum(name(gate.section, "p"), q, v, u, w.get(gate.parameter("b_x")), w.get(gate.parameter("b_h")))
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


# ---- the LSTM family: two states (h, c), gates in torch's stacked order i, f, g, o (those a cell has) ----

LSTM_STATES = (HIDDEN_STATE, CELL_STATE)
READS_X_H = (INPUT, HIDDEN_STATE.previous)  # what a gate without peepholes reads


def _lstm_gate(key: str, formula: str, reads: tuple[str, ...] = READS_X_H) -> CellGate:
    gate = GATE[key]
    return CellGate(key, gate.section, gate.symbol, gate.activation, reads, formula)


def _formula(key: str, activation: str, peephole: str = "") -> str:
    return f"{key}_t = {activation}(W_x{key} x_t + b_x{key} + W_h{key} h_{{t-1}} + b_h{key}{peephole})"


SIGN = {"sigmoid": "σ", "tanh": "tanh"}
INPUT_GATE, FORGET_GATE, GATE_GATE, OUTPUT_GATE = (_lstm_gate(key, _formula(key, SIGN[GATE[key].activation]))
                                                   for key in "ifgo")
IFGO, IGO = (INPUT_GATE, FORGET_GATE, GATE_GATE, OUTPUT_GATE), (INPUT_GATE, GATE_GATE, OUTPUT_GATE)
PEEP_I = _lstm_gate("i", _formula("i", "σ", " + w_ci ⊙ c_{t-1}"), (*READS_X_H, CELL_STATE.previous))
PEEP_F = _lstm_gate("f", _formula("f", "σ", " + w_cf ⊙ c_{t-1}"), (*READS_X_H, CELL_STATE.previous))
PEEP_O = _lstm_gate("o", _formula("o", "σ", " + w_co ⊙ c_t"), (*READS_X_H, CELL_STATE.symbol))
HIDDEN_UPDATE = "h_t = o_t ⊙ tanh(c_t), or W_hr (o_t ⊙ tanh(c_t)) with proj_size"


def _remember(kept: Tensor, i: Tensor, g: Tensor, name: Namer) -> Tensor:
    """c_t = kept + i_t ⊙ g_t, kept being f_t ⊙ c_{t−1} (already named) or c_{t−1} itself."""
    p = (i * g).named(name(CELL, "p"))
    return (kept + p).named(name(CELL, CELL_STATE.symbol))


def _forget(f: Tensor, c: Tensor, name: Namer) -> Tensor:
    return (f * c).named(name(CELL, "q"))


def _emit(w: dict[str, Tensor], o: Tensor, c: Tensor, name: Namer) -> Tensor:
    """h_t = o_t ⊙ tanh(c_t); with a projection (Sak et al. 2014), h_t = W_hr m_t with m_t = o_t ⊙ tanh(c_t)."""
    q = tanh(c).named(name(HIDDEN, "q"))
    if PROJECTION not in w:
        return (o * q).named(name(HIDDEN, HIDDEN_STATE.symbol))
    m = (o * q).named(name(HIDDEN, "m_t"))
    return _project(w[PROJECTION], m).named(name(HIDDEN, HIDDEN_STATE.symbol))


def _lstm_step(w: dict[str, Tensor], x: Tensor, state: tuple[Tensor, Tensor], name: Namer) -> tuple[Tensor, Tensor]:
    """torch.nn.LSTM: c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t, h_t = o_t ⊙ tanh(c_t)."""
    h, c = state
    i, f, g, o = (_gate(w, gate, x, h, name) for gate in IFGO)
    c_t = _remember(_forget(f, c, name), i, g, name)
    return _emit(w, o, c_t, name), c_t


def _lstm1997_step(w: dict[str, Tensor], x: Tensor, state: tuple[Tensor, Tensor],
                   name: Namer) -> tuple[Tensor, Tensor]:
    """Hochreiter & Schmidhuber (1997): no forget gate, c_t = c_{t−1} + i_t ⊙ g_t."""
    h, c = state
    i, g, o = (_gate(w, gate, x, h, name) for gate in IGO)
    c_t = _remember(c, i, g, name)
    return _emit(w, o, c_t, name), c_t


def _peephole_step(w: dict[str, Tensor], x: Tensor, state: tuple[Tensor, Tensor],
                   name: Namer) -> tuple[Tensor, Tensor]:
    """Gers, Schraudolph & Schmidhuber (2002): i_t and f_t see c_{t−1}, o_t sees c_t, through diagonal weights."""
    h, c = state
    i = _gate(w, PEEP_I, x, h, name, ("w_ci", c))
    f = _gate(w, PEEP_F, x, h, name, ("w_cf", c))
    g = _gate(w, GATE_GATE, x, h, name)
    c_t = _remember(_forget(f, c, name), i, g, name)
    o = _gate(w, PEEP_O, x, h, name, ("w_co", c_t))
    return _emit(w, o, c_t, name), c_t


def _cifg_step(w: dict[str, Tensor], x: Tensor, state: tuple[Tensor, Tensor], name: Namer) -> tuple[Tensor, Tensor]:
    """Coupled input and forget gate (Greff et al. 2017): f_t = 1 − i_t."""
    h, c = state
    i, g, o = (_gate(w, gate, x, h, name) for gate in IGO)
    f = (1 - i).named(name(CELL, "f_t"))
    c_t = _remember(_forget(f, c, name), i, g, name)
    return _emit(w, o, c_t, name), c_t


PEEPHOLES = tuple(Extra(f"w_c{key}", f"weight_c{key}", f"the {GATE[key].section}'s peephole on c")
                  for key in "ifo")

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
    Cell("lstm", "LSTM with a forget gate, as torch.nn.LSTM computes it (gate order i, f, g, o)", IFGO,
         "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t; " + HIDDEN_UPDATE, _lstm_step, LSTM_STATES, "LSTM", projection=True),
    Cell("lstm1997", "LSTM as Hochreiter & Schmidhuber (1997): no forget gate (gate order i, g, o)", IGO,
         "c_t = c_{t-1} + i_t ⊙ g_t; " + HIDDEN_UPDATE, _lstm1997_step, LSTM_STATES, projection=True),
    Cell("peephole", "LSTM with peepholes (Gers, Schraudolph & Schmidhuber 2002): i, f see c_{t-1}, o sees c_t",
         (PEEP_I, PEEP_F, GATE_GATE, PEEP_O), "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t; " + HIDDEN_UPDATE, _peephole_step,
         LSTM_STATES, extras=PEEPHOLES, projection=True),
    Cell("cifg", "LSTM with coupled input and forget gates (Greff et al. 2017): f_t = 1 − i_t (gate order i, g, o)",
         IGO, "c_t = (1 − i_t) ⊙ c_{t-1} + i_t ⊙ g_t; " + HIDDEN_UPDATE, _cifg_step, LSTM_STATES,
         projection=True),
)}


def cell(name: str) -> Cell:
    """The declaration called `name`, or a ValueError listing the ones there are."""
    if name not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {name!r}")
    return CELLS[name]
