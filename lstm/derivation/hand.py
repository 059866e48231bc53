"""The LSTM's backward pass derived by hand, in plain numpy, following ../docs/derivation.md line by line.

This module must not import the engine: it is the independent witness the engine is compared against.

Conventions. A batch of B row vectors: x_t is (B, X), h_t and c_t are (B, H), and the derivation's
column form q = W_x x_t reads q = x_t W_xᵀ. Every local partial is written as a vector-Jacobian product:
given u = ∇(loss) at the partial's output, it returns ∇(loss) at its input. So the derivation's
∇_p i_t = (1−σ(p))σ(p) becomes ``u * (1 - i_t) * i_t``, and ∇_{W_x} q = x_tᵀ becomes ``uᵀ x_t``, the
(H, X) weight gradient (erratum c).

Every line of the backward pass is one field of a ``Derivation``, a `Formula` named by the partial it applies,
and the derivation also holds the flow between steps, which the source leaves out. The sections (one function
per section of the derivation) take a derivation and only compose its lines, so the bug zoo can vary a single
line (`DERIVATION.replace(...)`) and the comparison can audit each line against the engine on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm.names import CELL, CELL_STATE, GATE, GATES, HIDDEN, HIDDEN_STATE, NAMES, Gate, NodeName
from lstm.shapes import check_parameters

Params = dict[str, np.ndarray]
GRADIENTS = (*NAMES, "xs", "h0", "c0")  # the fifteen gradients `backward` returns


def sigmoid(p: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−p): accurate on both tails; e^−p overflows to inf below p = −709, giving exactly 0."""
    with np.errstate(over="ignore", under="ignore"):
        return 1 / (1 + np.exp(-p))


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": np.tanh}  # the gate table's activations in numpy


def rows(a: np.ndarray) -> np.ndarray:
    """(…, n) → (rows, n): one step's batch, or every step's at once, as the rows of one matrix."""
    return a.reshape(-1, a.shape[-1])


@dataclass
class Step:
    """What the forward pass keeps for the backward pass: one step's arrays (B, ·), or, for the whole
    sequence, every step's stacked over time (T, B, ·); `at(t)` is step t."""

    x: np.ndarray        # x_t
    h_prev: np.ndarray   # h_{t−1}
    c_prev: np.ndarray   # c_{t−1}
    gate: dict[str, np.ndarray]  # i_t, f_t, o_t, g_t by key
    c: np.ndarray        # c_t
    tanh_c: np.ndarray   # the hidden state update's q = tanh(c_t)
    h: np.ndarray        # h_t

    def at(self, t: int) -> Step:
        return Step(self.x[t], self.h_prev[t], self.c_prev[t], {key: y[t] for key, y in self.gate.items()},
                    self.c[t], self.tanh_c[t], self.h[t])


@np.errstate(under="ignore")  # a saturated gate's tail is exactly 0: an answer, not an error
def forward(params: Params, xs: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> Step:
    """The forward pass, batched: xs (T, B, X), h0 and c0 (B, H); every array stacked over time."""
    T, B, _ = xs.shape
    H = h0.shape[-1]
    dtype = np.result_type(xs, h0)
    hs, cs = np.empty((T + 1, B, H), dtype), np.empty((T + 1, B, H), dtype)  # h_0 … h_T, c_0 … c_T
    hs[0], cs[0] = h0, c0
    gate = {k.key: np.empty((T, B, H), dtype) for k in GATES}
    tanh_c = np.empty((T, B, H), dtype)
    q = {k.key: xs @ params[k.W_x].T for k in GATES}  # q = W_xk x_t, for every t in one product
    for t in range(T):
        for k in GATES:
            p = q[k.key][t] + hs[t] @ params[k.W_h].T + params[k.b]  # p = q + v + b_k
            gate[k.key][t] = ACTIVATIONS[k.activation](p)
        cs[t + 1] = gate["f"][t] * cs[t] + gate["i"][t] * gate["g"][t]  # c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
        tanh_c[t] = np.tanh(cs[t + 1])
        hs[t + 1] = gate["o"][t] * tanh_c[t]  # h_t = o_t ⊙ tanh(c_t)
    return Step(xs, hs[:-1], cs[:-1], gate, cs[1:], tanh_c, hs[1:])


# ---------------------------------------------------------------------------------------------------------
# The lines. Each takes (u, step, params, k): the upstream gradient, the step's cache, the parameters and the
# gate k (for the lines all gate sections share; None elsewhere), and returns the gradient one partial further
# down.
# ---------------------------------------------------------------------------------------------------------

Line = Callable[[np.ndarray, Step, Params, Gate | None], np.ndarray]
EVERY_GATE = "gate"  # the section of the lines all four gate sections share


@dataclass(frozen=True)
class Formula:
    """One partial of the derivation, ∇_{parent} child = text, and the line of numpy that applies it.

    In the lines all gates share (section `EVERY_GATE`) the symbols W_x, W_h and b stand for the gate's own
    W_xk, W_hk and b_k.
    """

    section: str
    child: str
    parent: str
    text: str
    line: Line

    @property
    def key(self) -> str:
        """The partial as the derivation writes it, e.g. ∇_{W_x} q."""
        return f"∇_{{{self.parent}}} {self.child}" if len(self.parent) > 1 else f"∇_{self.parent} {self.child}"

    def __call__(self, u: np.ndarray, s: Step, P: Params, k: Gate | None = None) -> np.ndarray:
        return self.line(u, s, P, k)


@dataclass(frozen=True)
class Derivation:
    """The hand BPTT as one value: every line of the derivation, and the flow between steps it leaves out.

    A line's field is named d<child>_d<parent> after the partial ∇_{parent} child, prefixed by its section
    outside the activations. `replace(field=...)` gives a variant (the bug zoo's); `name` labels it in reports.
    """

    # each gate's activation, y = σ(p) or tanh(p): ∇_p y
    di_dp: Formula
    df_dp: Formula
    do_dp: Formula
    dg_dp: Formula
    # what every gate section shares: p = q + v + b_k, q = W_xk x_t, v = W_hk h_{t−1}
    gate_dp_dq: Formula
    gate_dp_dv: Formula
    gate_dp_db: Formula
    gate_dq_dW_x: Formula
    gate_dq_dx: Formula
    gate_dv_dW_h: Formula
    gate_dv_dh_prev: Formula
    # cell state update: c_t = q + p, q = f_t ⊙ c_{t−1}, p = i_t ⊙ g_t
    cell_dc_dq: Formula
    cell_dc_dp: Formula
    cell_dq_df: Formula
    cell_dq_dc_prev: Formula
    cell_dp_di: Formula
    cell_dp_dg: Formula
    # hidden state update: h_t = o_t ⊙ q, q = tanh(c_t)
    hidden_dh_do: Formula
    hidden_dh_dq: Formula
    hidden_dq_dc: Formula
    # the flow: ∇c_t gathers the path through h_t and the path from step t+1 ...
    gather_c: Callable[[np.ndarray, np.ndarray], np.ndarray]
    # ... and ∇h_{t−1}, ∇c_{t−1} become step t−1's incoming gradients
    carry: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    name: str | None = None

    def replace(self, **changes: Any) -> Derivation:
        return dataclasses.replace(self, **changes)

    def formulas(self) -> list[Formula]:
        """Every line, in the derivation's order."""
        return [line for field in dataclasses.fields(self) if isinstance(line := getattr(self, field.name), Formula)]


def _activation(key: str, text: str, line: Line) -> Formula:
    """Gate `key`'s line ∇_p y, in its own section."""
    return Formula(GATE[key].section, GATE[key].symbol, "p", text, line)


def _sigmoid(key: str) -> Line:
    return lambda u, s, P, k: u * (1 - s.gate[key]) * s.gate[key]  # σ(p) is the gate's output itself


DERIVATION = Derivation(
    di_dp=_activation("i", "(1−σ(p))σ(p)", _sigmoid("i")),
    df_dp=_activation("f", "(1−σ(p))σ(p)", _sigmoid("f")),
    do_dp=_activation("o", "(1−σ(p))σ(p)", _sigmoid("o")),
    dg_dp=_activation("g", "1−tanh²(p)", lambda u, s, P, k: u * (1 - s.gate["g"] ** 2)),  # erratum b: tanh
    gate_dp_dq=Formula(EVERY_GATE, "p", "q", "1", lambda u, s, P, k: u),
    gate_dp_dv=Formula(EVERY_GATE, "p", "v", "1", lambda u, s, P, k: u),
    gate_dp_db=Formula(EVERY_GATE, "p", "b", "1", lambda u, s, P, k: rows(u).sum(axis=0)),  # b_k: shared by the batch
    gate_dq_dW_x=Formula(EVERY_GATE, "q", "W_x", "x_tᵀ", lambda u, s, P, k: rows(u).T @ rows(s.x)),  # erratum c: uᵀ x_t
    gate_dq_dx=Formula(EVERY_GATE, "q", "x_t", "W_xᵀ", lambda u, s, P, k: u @ P[k.W_x]),
    # erratum a: the source writes these two as partials of q
    gate_dv_dW_h=Formula(EVERY_GATE, "v", "W_h", "h_{t-1}ᵀ", lambda u, s, P, k: rows(u).T @ rows(s.h_prev)),
    gate_dv_dh_prev=Formula(EVERY_GATE, "v", "h_{t-1}", "W_hᵀ", lambda u, s, P, k: u @ P[k.W_h]),
    cell_dc_dq=Formula(CELL, "c_t", "q", "1", lambda u, s, P, k: u),
    cell_dc_dp=Formula(CELL, "c_t", "p", "1", lambda u, s, P, k: u),
    cell_dq_df=Formula(CELL, "q", "f_t", "c_{t-1}", lambda u, s, P, k: u * s.c_prev),
    cell_dq_dc_prev=Formula(CELL, "q", "c_{t-1}", "f_t", lambda u, s, P, k: u * s.gate["f"]),
    cell_dp_di=Formula(CELL, "p", "i_t", "g_t", lambda u, s, P, k: u * s.gate["g"]),
    cell_dp_dg=Formula(CELL, "p", "g_t", "i_t", lambda u, s, P, k: u * s.gate["i"]),
    hidden_dh_do=Formula(HIDDEN, "h_t", "o_t", "q", lambda u, s, P, k: u * s.tanh_c),
    hidden_dh_dq=Formula(HIDDEN, "h_t", "q", "o_t", lambda u, s, P, k: u * s.gate["o"]),
    hidden_dq_dc=Formula(HIDDEN, "q", "c_t", "1−tanh²(c_t)", lambda u, s, P, k: u * (1 - s.tanh_c**2)),
    gather_c=lambda through_h, from_next: through_h + from_next,
    carry=lambda d_h, d_c: (d_h, d_c),
)


# ---------------------------------------------------------------------------------------------------------
# The sections, each composing its derivation's lines by the chain rule.
# ---------------------------------------------------------------------------------------------------------


def hidden_state_update(derivation: Derivation, d_h: np.ndarray, d_c_next: np.ndarray, s: Step,
                        P: Params) -> tuple[np.ndarray, np.ndarray]:
    """h_t = o_t ⊙ tanh(c_t): ∇o_t = ∇h_t q; ∇c_t = ∇h_t o_t (1−tanh²(c_t)) + ∇c_t from step t+1."""
    d_o = derivation.hidden_dh_do(d_h, s, P)
    d_q = derivation.hidden_dh_dq(d_h, s, P)
    d_c = derivation.gather_c(derivation.hidden_dq_dc(d_q, s, P), d_c_next)
    return d_o, d_c


def cell_state_update(derivation: Derivation, d_c: np.ndarray, s: Step,
                      P: Params) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t: ∇f_t = ∇c_t c_{t−1}, ∇i_t = ∇c_t g_t, ∇g_t = ∇c_t i_t, ∇c_{t−1} = ∇c_t f_t."""
    d_q = derivation.cell_dc_dq(d_c, s, P)
    d_p = derivation.cell_dc_dp(d_c, s, P)
    d_gates = {"f": derivation.cell_dq_df(d_q, s, P), "i": derivation.cell_dp_di(d_p, s, P),
               "g": derivation.cell_dp_dg(d_p, s, P)}
    return d_gates, derivation.cell_dq_dc_prev(d_q, s, P)


def gate(derivation: Derivation, k: Gate, activation: Formula, d_y: np.ndarray, s: Step,
         P: Params) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gate k's section at step t: its activation's line ∇_p y, then p = q + v + b_k back to q, v, and through v
    to h_{t−1}.

    Returns this gate's share of ∇h_{t−1} and the gradients at its p, q and v. The lines into W_xk, W_hk, b_k
    and x_t do not feed the recurrence, so they wait for every step and run once: `gate_parameters`.
    """
    d_p = activation(d_y, s, P, k)
    d_q = derivation.gate_dp_dq(d_p, s, P, k)
    d_v = derivation.gate_dp_dv(d_p, s, P, k)
    return derivation.gate_dv_dh_prev(d_v, s, P, k), {"p": d_p, "q": d_q, "v": d_v}


def gate_parameters(derivation: Derivation, k: Gate, inside: dict[str, np.ndarray], seq: Step, P: Params,
                    grads: dict[str, np.ndarray]) -> np.ndarray:
    """Gate k's lines into its parameters and x_t, applied to every step at once (each sums over the steps and
    the batch): ∇W_xk = Σ_t ∇q_tᵀ x_t, ∇W_hk = Σ_t ∇v_tᵀ h_{t−1}, ∇b_k = Σ_t ∇p_t. Returns its share of ∇x_t."""
    grads[k.b] = derivation.gate_dp_db(inside["p"], seq, P, k)
    grads[k.W_x] = derivation.gate_dq_dW_x(inside["q"], seq, P, k)
    grads[k.W_h] = derivation.gate_dv_dW_h(inside["v"], seq, P, k)
    return derivation.gate_dq_dx(inside["q"], seq, P, k)


GateSection = Callable[[Derivation, np.ndarray, Step, Params], tuple[np.ndarray, dict[str, np.ndarray]]]


def input_gate(derivation: Derivation, d_i: np.ndarray, s: Step, P: Params) -> tuple[np.ndarray, dict]:
    """i_t = σ(W_xi x_t + W_hi h_{t−1} + b_i)  (erratum d: one closing parenthesis too many in the source)."""
    return gate(derivation, GATE["i"], derivation.di_dp, d_i, s, P)


def forget_gate(derivation: Derivation, d_f: np.ndarray, s: Step, P: Params) -> tuple[np.ndarray, dict]:
    """f_t = σ(W_xf x_t + W_hf h_{t−1} + b_f)."""
    return gate(derivation, GATE["f"], derivation.df_dp, d_f, s, P)


def output_gate(derivation: Derivation, d_o: np.ndarray, s: Step, P: Params) -> tuple[np.ndarray, dict]:
    """o_t = σ(W_xo x_t + W_ho h_{t−1} + b_o)."""
    return gate(derivation, GATE["o"], derivation.do_dp, d_o, s, P)


def gate_gate(derivation: Derivation, d_g: np.ndarray, s: Step, P: Params) -> tuple[np.ndarray, dict]:
    """g_t = tanh(W_xg x_t + W_hg h_{t−1} + b_g)."""
    return gate(derivation, GATE["g"], derivation.dg_dp, d_g, s, P)


GATE_SECTIONS: tuple[GateSection, ...] = (input_gate, forget_gate, output_gate, gate_gate)  # in the order of GATES


# ---------------------------------------------------------------------------------------------------------
# Backward through time.
# ---------------------------------------------------------------------------------------------------------


def as_array(value: Any, who: str) -> np.ndarray:
    """A float32 or float64 array as given; numbers, lists, integers and booleans as float64. Anything else is
    refused in the engine's words (complex data included), and an engine Tensor with how to pass its numbers."""
    if hasattr(value, "data") and isinstance(value.data, np.ndarray) and not isinstance(value, np.ndarray):
        raise TypeError(f"{who}: got a {type(value).__name__}; the hand BPTT takes numpy arrays: pass its .data "
                        "(for a model's parameters, model.arrays(), not model.parameters())")
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise TypeError(f"{who}: expected numeric data of a regular shape, got {type(value).__name__}: {error}") \
            from None
    if array.dtype.kind == "c":  # the engine's words (autograd.tensor.as_float_array), which this module cannot import
        raise TypeError(f"{who}: complex data is not supported (real float32 or float64 only), got {array.dtype}")
    if array.dtype in (np.float32, np.float64):
        return array
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    raise TypeError(f"{who}: expected numeric data (a number, a list of numbers or a numeric ndarray), "
                    f"got {type(value).__name__} of dtype {array.dtype}")


def checked(params: Any, xs: Any, h0: Any, c0: Any, dhs: Any, dh_T: Any = None, dc_T: Any = None, *,
            who: str = "hand.backward") -> tuple[Params, dict[str, np.ndarray | None]]:
    """The arguments of `backward` as arrays, or one error naming the argument, the shape expected and the one
    given: params the twelve names (W_x* (H, X), W_h* (H, H), b_* (H,)); xs (T, B, X) or (T, X); h0, c0, dh_T and
    dc_T (B, H) or (H,); dhs like hs, (T, B, H) or (T, H)."""
    if not hasattr(params, "keys"):
        raise TypeError(f"{who}: params must be a dict of the twelve parameters {', '.join(NAMES)} "
                        f"(model.arrays()), got {type(params).__name__}")
    P = {name: as_array(value, f"{who}: params[{name!r}]") for name, value in params.items()}
    X, H = check_parameters(P, f"{who}: params")
    given = {"xs": xs, "h0": h0, "c0": c0, "dhs": dhs, "dh_T": dh_T, "dc_T": dc_T}
    arrays = {name: None if value is None else as_array(value, f"{who}: {name}") for name, value in given.items()}
    for name in ("xs", "h0", "c0", "dhs"):
        if arrays[name] is None:
            raise TypeError(f"{who}: {name} is None; expected an array")
    if arrays["xs"].ndim not in (2, 3) or arrays["xs"].shape[-1] != X or len(arrays["xs"]) == 0:
        raise ValueError(f"{who}: xs must have shape (T, B, X) or (T, X) with T ≥ 1 and X = {X}, "
                         f"got {arrays['xs'].shape}")
    T, *B, _ = arrays["xs"].shape
    expected = {"h0": (*B, H), "c0": (*B, H), "dhs": (T, *B, H), "dh_T": (*B, H), "dc_T": (*B, H)}
    letters = {"h0": "(B, H)", "c0": "(B, H)", "dhs": "(T, B, H)", "dh_T": "(B, H)", "dc_T": "(B, H)"}
    for name, shape in expected.items():
        if arrays[name] is not None and arrays[name].shape != shape:
            form = letters[name] if B else letters[name].replace("B, ", "")
            raise ValueError(f"{who}: {name} must have shape {form} = {shape} for xs {arrays['xs'].shape} and "
                             f"H = {H}, got {arrays[name].shape}")
    return P, arrays


def _with_batch_axis(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else a[..., None, :]


def _same(a: np.ndarray | None) -> np.ndarray | None:
    return a


@np.errstate(under="ignore")  # gradients vanishing through time underflow to 0, as they should
def bptt(params: Params, xs: Any, h0: Any, c0: Any, dhs: Any, dh_T: Any = None, dc_T: Any = None, *,
         derivation: Derivation = DERIVATION,
         who: str = "hand.bptt") -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`backward` by `derivation`'s lines and flow, and the trace: the gradient at h_t, c_t, each gate's output,
    p, q and v at every step, by the names the engine gives those tensors."""
    P, given = checked(params, xs, h0, c0, dhs, dh_T, dc_T, who=who)
    single = given["xs"].ndim == 2  # (T, X): one sequence without a batch axis
    batched = _with_batch_axis if single else _same
    xs_b, h0_b, c0_b, dhs_b = (batched(given[name]) for name in ("xs", "h0", "c0", "dhs"))
    seq = forward(P, xs_b, h0_b, c0_b)

    grads: dict[str, np.ndarray] = {}
    inside = {k.key: {name: np.empty_like(seq.h) for name in ("p", "q", "v")} for k in GATES}
    d_h_next = np.zeros_like(h0_b) if dh_T is None else batched(given["dh_T"]).copy()
    d_c_next = np.zeros_like(c0_b) if dc_T is None else batched(given["dc_T"]).copy()
    trace: dict[str, np.ndarray] = {}
    for t in reversed(range(len(xs_b))):
        s = seq.at(t)
        d_h = dhs_b[t] + d_h_next  # h_t feeds the loss at t and step t+1
        d_o, d_c = hidden_state_update(derivation, d_h, d_c_next, s, P)
        d_gates, d_c_prev = cell_state_update(derivation, d_c, s, P)
        d_gates["o"] = d_o
        d_h_prev = np.zeros_like(s.h_prev)
        for k, gate_section in zip(GATES, GATE_SECTIONS, strict=True):
            d_hk, mine = gate_section(derivation, d_gates[k.key], s, P)
            d_h_prev += d_hk  # ∇h_{t−1} sums the four gates' v = W_hk h_{t−1}
            for name, grad in mine.items():
                inside[k.key][name][t] = grad
            trace[str(k.at(t))] = d_gates[k.key]
        trace[str(HIDDEN_STATE.at(t))] = d_h
        trace[str(CELL_STATE.at(t))] = d_c
        d_h_next, d_c_next = derivation.carry(d_h_prev, d_c_prev)

    # ∇x_t sums the four gates' q = W_xk x_t
    d_xs = sum(gate_parameters(derivation, k, inside[k.key], seq, P, grads) for k in GATES)
    for k in GATES:
        for name, grad in inside[k.key].items():
            trace.update({str(NodeName(t, k.section, name)): grad[t] for t in range(len(xs_b))})
    unbatch = (lambda a: a[..., 0, :]) if single else (lambda a: a)
    grads = {name: grads[name] for name in NAMES} | {"xs": unbatch(d_xs), "h0": unbatch(d_h_next),
                                                     "c0": unbatch(d_c_next)}
    return grads, {name: unbatch(grad) for name, grad in trace.items()}


def backward(params: Params, xs: Any, h0: Any, c0: Any, dhs: Any, dh_T: Any = None,
             dc_T: Any = None) -> dict[str, np.ndarray]:
    """Gradients of Σ_t hs_t·dhs_t + h_T·dh_T + c_T·dc_T: the twelve parameters, xs, h0 and c0 (`GRADIENTS`).

    params maps the twelve names to arrays; xs (T, B, X) or (T, X); h0, c0 (B, H) or (H,); dhs like hs. Wrong
    names, shapes or types are refused first, naming what was expected and what came (see `checked`).
    """
    grads, _ = bptt(params, xs, h0, c0, dhs, dh_T, dc_T, who="hand.backward")
    return grads
