"""The derivation's names, owned here and nowhere else; this module imports nothing of the project, so the hand
BPTT, which may not import the engine, reads the same names as the cell, the comparison and the pictures.

- `NodeName`: what every tensor of the sequence is called, `t3/input gate/p`, written and parsed in one place.
- `GATES`: the gate table, the one spelling of the gates' order and activations; the stacked layouts' orders.
- `SECTIONS`, and the states `h` and `c` with their step semantics (what step t reads as h_{t−1}).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeName:
    """A tensor's name in the derivation's terms: step 3, section "input gate", symbol p is `t3/input gate/p`.

    `step` is None outside a sequence (a lone cell, the shared parameters); `section` is None for what no
    section computes (x_t, the initial state, the parameters).
    """

    step: int | None
    section: str | None
    symbol: str

    def __str__(self) -> str:
        scope = [] if self.step is None else [f"t{self.step}"]
        return "/".join([*scope, *([self.section] if self.section else []), self.symbol])

    @property
    def indexed(self) -> str:
        """The symbol with its step's index written in: at step 3, h_{t-1} is h_{2} and x_t is x_{3}; symbols of
        no step (W_xi, p) and names outside a sequence are unchanged."""
        letter, _, subscript = self.symbol.partition("_")
        steps = {} if self.step is None else {"t": self.step, "{t-1}": self.step - 1}  # x_t, h_{t-1}
        return f"{letter}_{{{steps[subscript]}}}" if subscript in steps else self.symbol

    @classmethod
    def parse(cls, text: str) -> NodeName:
        """The inverse of `str`; a name written otherwise is all symbol, or section/symbol where it has a slash
        (all symbol when it ends in one)."""
        parts = text.split("/")
        if not parts[-1]:  # nothing after the last slash: no symbol to split off, so the slash is the symbol's
            return cls(None, None, text)
        step = None
        if len(parts) > 1 and parts[0][:1] == "t" and parts[0][1:].isdecimal():
            step, parts = int(parts[0][1:]), parts[1:]
        return cls(step, "/".join(parts[:-1]) or None, parts[-1])


@dataclass(frozen=True)
class Gate:
    """One gate: its key (the subscript k of W_xk), its section of the derivation, its output's symbol, and its
    activation by name, which the cell maps to the engine's primitive and the hand BPTT to numpy."""

    key: str
    section: str
    symbol: str
    activation: str  # "sigmoid" or "tanh"

    @property
    def W_x(self) -> str:
        return f"W_x{self.key}"

    @property
    def W_h(self) -> str:
        return f"W_h{self.key}"

    @property
    def b(self) -> str:
        return f"b_{self.key}"

    def parameter(self, symbol: str) -> str | None:
        """The gate's own parameter that the symbol W_x, W_h or b of the lines all gates share stands for."""
        return {"W_x": self.W_x, "W_h": self.W_h, "b": self.b}.get(symbol)

    def at(self, t: int | None) -> NodeName:
        return NodeName(t, self.section, self.symbol)


# The four gates in the derivation's order. The gate gate's activation is tanh (erratum (b): the source's σ(p)
# contradicts its own derivative).
GATES = (
    Gate("i", "input gate", "i_t", "sigmoid"),
    Gate("f", "forget gate", "f_t", "sigmoid"),
    Gate("o", "output gate", "o_t", "sigmoid"),
    Gate("g", "gate gate", "g_t", "tanh"),
)
GATE = {gate.key: gate for gate in GATES}
NAMES = tuple(name for gate in GATES for name in (gate.W_x, gate.W_h, gate.b))  # the twelve parameters
GATE_OF = {name: gate for gate in GATES for name in (gate.W_x, gate.W_h, gate.b)}  # W_hf → the forget gate

# Orders of the gates' blocks when their rows are stacked into one matrix.
DERIVATION_ORDER = "".join(gate.key for gate in GATES)  # i, f, o, g: the fused path's and the benchmark's
TORCH_ORDER = "ifgo"  # torch.nn.LSTM's weight_ih, weight_hh, bias_ih, bias_hh
CS231N_ORDER = DERIVATION_ORDER  # the Stanford CS231n assignment's Wx, Wh, b


def stacked(order: str, hidden_size: int) -> dict[str, slice]:
    """Each gate's block of H rows (or columns) in a stacking of the four in `order`, by gate key."""
    return {key: slice(j * hidden_size, (j + 1) * hidden_size) for j, key in enumerate(order)}

CELL = "cell state update"
HIDDEN = "hidden state update"
SECTIONS = (*(gate.section for gate in GATES), CELL, HIDDEN)
INPUT = "x_t"


@dataclass(frozen=True)
class State:
    """h or c: computed as `symbol` (h_t) by its section at step t, read as `previous` (h_{t−1}) by step t + 1."""

    letter: str
    symbol: str
    previous: str
    section: str

    def at(self, t: int | None) -> NodeName:
        return NodeName(t, self.section, self.symbol)

    def before(self, t: int | None) -> NodeName:
        """What step t reads as h_{t−1}: step t − 1's h_t, or, at the first step and in a lone cell (t None), the
        initial state, named by the symbol it is read as."""
        return NodeName(t, None, self.previous) if not t else self.at(t - 1)


HIDDEN_STATE = State("h", "h_t", "h_{t-1}", HIDDEN)
CELL_STATE = State("c", "c_t", "c_{t-1}", CELL)
STATES = (HIDDEN_STATE, CELL_STATE)
STATE_SYMBOLS = frozenset(symbol for state in STATES for symbol in (state.symbol, state.previous))
# where each output that other sections read is computed
HOME = {output.symbol: output.section for output in (*GATES, *STATES)}


def locate(symbol: str, section: str, t: int, gate: Gate | None = None) -> NodeName:
    """The tensor that the derivation's `symbol` means in `section` at step t (of `gate`, for the lines all
    gates share): the gate's own W_xk, W_hk or b_k; the state step t reads as h_{t−1} or c_{t−1}; x_t; another
    section's output where that section computes it; the section's own intermediates (p, q, v) otherwise."""
    if gate is not None and (parameter := gate.parameter(symbol)):
        return NodeName(None, None, parameter)
    for state in STATES:
        if symbol == state.previous:
            return state.before(t)
    if symbol == INPUT:
        return NodeName(t, None, INPUT)
    return NodeName(t, HOME.get(symbol, section), symbol)


# A stacked or bidirectional model's tensors: every name above, prefixed by its layer and direction,
# `l1/reverse/t3/reset gate/r_t` (torch's keys say the same as `_l1_reverse`). One layer, one direction: no prefix.
REVERSE = "reverse"


def layer_scope(layer: int, reverse: bool, num_layers: int = 2, bidirectional: bool = True) -> str:
    """The prefix of layer `layer`'s tensors in direction `reverse`: `l1`, `l1/reverse`; empty in a model of one
    layer and one direction, whose names stay the derivation's own."""
    if num_layers == 1 and not bidirectional:
        return ""
    return f"l{layer}/{REVERSE}" if reverse else f"l{layer}"


def scoped(scope: str, name: object) -> str:
    """A name (a NodeName or a parameter's) inside a layer's scope: `l1/reverse` + `t3/reset gate/p`."""
    return f"{scope}/{name}" if scope else str(name)


def unscoped(text: str) -> tuple[str, NodeName]:
    """The inverse of `scoped`: (`l1/reverse`, NodeName(3, "reset gate", "p")); the scope is empty when the name
    has none."""
    parts = text.split("/")
    if len(parts) > 1 and parts[0][:1] == "l" and parts[0][1:].isdecimal():
        size = 2 if len(parts) > 2 and parts[1] == REVERSE else 1
        return "/".join(parts[:size]), NodeName.parse("/".join(parts[size:]))
    return "", NodeName.parse(text)
