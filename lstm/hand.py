"""The LSTM's backward pass derived by hand, in plain numpy, following ../docs/derivation.md line by line.

This module must not import the engine: it is the independent witness the engine is compared against.

Conventions. A batch of B row vectors: x_t is (B, X), h_t and c_t are (B, H), and the derivation's
column form q = W_x x_t reads q = x_t W_xᵀ. Every local partial is written as a vector-Jacobian product:
given u = ∇(loss) at the partial's output, it returns ∇(loss) at its input. So the derivation's
∇_p i_t = (1−σ(p))σ(p) becomes ``u * (1 - i_t) * i_t``, and ∇_{W_x} q = x_tᵀ becomes ``uᵀ x_t``, the
(H, X) weight gradient (erratum c).

Every line of the backward pass is one entry of ``LINES``, named by the formula it implements. The
sections (one function per section of the derivation) only compose those lines, so the bug zoo can swap a
single line for a wrong one and the comparison can audit each line against the engine on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm.names import GATES, NAMES, node_name


def sigmoid(p: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−p): accurate on both tails; e^−p overflows to inf below p = −709, giving exactly 0."""
    with np.errstate(over="ignore", under="ignore"):
        return 1 / (1 + np.exp(-p))


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
        return Step(self.x[t], self.h_prev[t], self.c_prev[t], {k: g[t] for k, g in self.gate.items()}, self.c[t],
                    self.tanh_c[t], self.h[t])


@np.errstate(under="ignore")  # a saturated gate's tail is exactly 0: an answer, not an error
def forward(params: dict[str, np.ndarray], xs: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> Step:
    """The forward pass, batched: xs (T, B, X), h0 and c0 (B, H); every array stacked over time."""
    T, B, _ = xs.shape
    H = h0.shape[-1]
    dtype = np.result_type(xs, h0)
    hs, cs = np.empty((T + 1, B, H), dtype), np.empty((T + 1, B, H), dtype)  # h_0 … h_T, c_0 … c_T
    hs[0], cs[0] = h0, c0
    gate = {k: np.empty((T, B, H), dtype) for k, _, _ in GATES}
    tanh_c = np.empty((T, B, H), dtype)
    q = {k: xs @ params[f"W_x{k}"].T for k, _, _ in GATES}  # q = W_xk x_t, for every t in one product
    for t in range(T):
        for k, _, _ in GATES:
            p = q[k][t] + hs[t] @ params[f"W_h{k}"].T + params[f"b_{k}"]  # p = q + v + b_k
            gate[k][t] = np.tanh(p) if k == "g" else sigmoid(p)  # g_t = tanh(p) (erratum b: not σ(p))
        cs[t + 1] = gate["f"][t] * cs[t] + gate["i"][t] * gate["g"][t]  # c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
        tanh_c[t] = np.tanh(cs[t + 1])
        hs[t + 1] = gate["o"][t] * tanh_c[t]  # h_t = o_t ⊙ tanh(c_t)
    return Step(xs, hs[:-1], cs[:-1], gate, cs[1:], tanh_c, hs[1:])


# ---------------------------------------------------------------------------------------------------------
# The lines. Each takes (u, step, params, k): the upstream gradient, the step's cache, the parameters and the
# gate key (for the gate sections; None elsewhere), and returns the gradient one partial further down.
# ---------------------------------------------------------------------------------------------------------

Line = Callable[[np.ndarray, Step, dict[str, np.ndarray], Any], np.ndarray]


@dataclass(frozen=True)
class Formula:
    """One partial of the derivation, ∇_{parent} child = text, and the line of numpy that applies it.

    In the four gate sections the symbols W_x, W_h and b stand for the gate's own W_xk, W_hk and b_k.
    """

    section: str  # the derivation's section; "gate" for the lines every gate section shares
    child: str
    parent: str
    text: str
    line: Line

    @property
    def key(self) -> str:
        return f"∇_{{{self.parent}}} {self.child}" if len(self.parent) > 1 else f"∇_{self.parent} {self.child}"


def _sigmoid_gate(k: str) -> Line:
    return lambda u, s, P, _: u * (1 - s.gate[k]) * s.gate[k]  # σ(p) is the gate's output itself


_FORMULAS = (
    Formula("input gate", "i_t", "p", "(1−σ(p))σ(p)", _sigmoid_gate("i")),
    Formula("forget gate", "f_t", "p", "(1−σ(p))σ(p)", _sigmoid_gate("f")),
    Formula("output gate", "o_t", "p", "(1−σ(p))σ(p)", _sigmoid_gate("o")),
    Formula("gate gate", "g_t", "p", "1−tanh²(p)", lambda u, s, P, k: u * (1 - s.gate["g"] ** 2)),
    # p = q + v + b_k, q = W_xk x_t, v = W_hk h_{t−1}: the same lines under every gate
    Formula("gate", "p", "q", "1", lambda u, s, P, k: u),
    Formula("gate", "p", "v", "1", lambda u, s, P, k: u),
    Formula("gate", "p", "b", "1", lambda u, s, P, k: rows(u).sum(axis=0)),  # b_k is shared by the batch
    Formula("gate", "q", "W_x", "x_tᵀ", lambda u, s, P, k: rows(u).T @ rows(s.x)),  # erratum c: uᵀ x_t, (H, X)
    Formula("gate", "q", "x_t", "W_xᵀ", lambda u, s, P, k: u @ P[f"W_x{k}"]),
    Formula("gate", "v", "W_h", "h_{t-1}ᵀ", lambda u, s, P, k: rows(u).T @ rows(s.h_prev)),  # erratum a: v
    Formula("gate", "v", "h_{t-1}", "W_hᵀ", lambda u, s, P, k: u @ P[f"W_h{k}"]),
    # c_t = q + p, q = f_t ⊙ c_{t−1}, p = i_t ⊙ g_t
    Formula("cell state update", "c_t", "q", "1", lambda u, s, P, k: u),
    Formula("cell state update", "c_t", "p", "1", lambda u, s, P, k: u),
    Formula("cell state update", "q", "f_t", "c_{t-1}", lambda u, s, P, k: u * s.c_prev),
    Formula("cell state update", "q", "c_{t-1}", "f_t", lambda u, s, P, k: u * s.gate["f"]),
    Formula("cell state update", "p", "i_t", "g_t", lambda u, s, P, k: u * s.gate["g"]),
    Formula("cell state update", "p", "g_t", "i_t", lambda u, s, P, k: u * s.gate["i"]),
    # h_t = o_t ⊙ q, q = tanh(c_t)
    Formula("hidden state update", "h_t", "o_t", "q", lambda u, s, P, k: u * s.tanh_c),
    Formula("hidden state update", "h_t", "q", "o_t", lambda u, s, P, k: u * s.gate["o"]),
    Formula("hidden state update", "q", "c_t", "1−tanh²(c_t)", lambda u, s, P, k: u * (1 - s.tanh_c**2)),
)
LINES: dict[str, Formula] = {f.key: f for f in _FORMULAS}


@dataclass(frozen=True)
class Flow:
    """What the derivation leaves out and BPTT needs: how gradients meet and move between steps."""

    # ∇c_t gathers the path through h_t and the path from step t+1
    gather_c: Callable[[np.ndarray, np.ndarray], np.ndarray] = lambda through_h, from_next: through_h + from_next
    # ∇h_{t−1} and ∇c_{t−1} become step t−1's incoming gradients
    carry: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] = lambda dh, dc: (dh, dc)


FLOW = Flow()


# ---------------------------------------------------------------------------------------------------------
# The sections, each composing its lines by the chain rule.
# ---------------------------------------------------------------------------------------------------------


def hidden_state_update(d_h: np.ndarray, d_c_next: np.ndarray, s: Step, P, lines=LINES, flow=FLOW):
    """h_t = o_t ⊙ tanh(c_t): ∇o_t = ∇h_t q; ∇c_t = ∇h_t o_t (1−tanh²(c_t)) + ∇c_t from step t+1."""
    d_o = lines["∇_{o_t} h_t"].line(d_h, s, P, None)
    d_q = lines["∇_q h_t"].line(d_h, s, P, None)
    d_c = flow.gather_c(lines["∇_{c_t} q"].line(d_q, s, P, None), d_c_next)
    return d_o, d_c


def cell_state_update(d_c: np.ndarray, s: Step, P, lines=LINES):
    """c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t: ∇f_t = ∇c_t c_{t−1}, ∇i_t = ∇c_t g_t, ∇g_t = ∇c_t i_t, ∇c_{t−1} = ∇c_t f_t."""
    d_q = lines["∇_q c_t"].line(d_c, s, P, None)
    d_p = lines["∇_p c_t"].line(d_c, s, P, None)
    return {
        "f": lines["∇_{f_t} q"].line(d_q, s, P, None),
        "i": lines["∇_{i_t} p"].line(d_p, s, P, None),
        "g": lines["∇_{g_t} p"].line(d_p, s, P, None),
    }, lines["∇_{c_{t-1}} q"].line(d_q, s, P, None)


def gate(k: str, d_y: np.ndarray, s: Step, P, lines=LINES):
    """One gate's section at step t: ∇_p y, then p = q + v + b_k back to q, v, and through v to h_{t−1}.

    Returns this gate's share of ∇h_{t−1} and the gradients at its p, q and v. The lines into W_xk, W_hk, b_k
    and x_t do not feed the recurrence, so they wait for every step and run once: `gate_parameters`.
    """
    symbol = {"i": "i_t", "f": "f_t", "o": "o_t", "g": "g_t"}[k]
    d_p = lines[f"∇_p {symbol}"].line(d_y, s, P, k)
    d_q = lines["∇_q p"].line(d_p, s, P, k)
    d_v = lines["∇_v p"].line(d_p, s, P, k)
    return lines["∇_{h_{t-1}} v"].line(d_v, s, P, k), {"p": d_p, "q": d_q, "v": d_v}


def gate_parameters(k: str, inside: dict[str, np.ndarray], seq: Step, P, grads: dict[str, np.ndarray],
                    lines=LINES) -> np.ndarray:
    """The gate's lines into its parameters and x_t, applied to every step at once (each sums over the steps
    and the batch): ∇W_xk = Σ_t ∇q_tᵀ x_t, ∇W_hk = Σ_t ∇v_tᵀ h_{t−1}, ∇b_k = Σ_t ∇p_t. Returns its share of ∇x_t."""
    grads[f"b_{k}"] = lines["∇_b p"].line(inside["p"], seq, P, k)
    grads[f"W_x{k}"] = lines["∇_{W_x} q"].line(inside["q"], seq, P, k)
    grads[f"W_h{k}"] = lines["∇_{W_h} v"].line(inside["v"], seq, P, k)
    return lines["∇_{x_t} q"].line(inside["q"], seq, P, k)


def input_gate(d_i, s, P, lines=LINES):
    """i_t = σ(W_xi x_t + W_hi h_{t−1} + b_i)  (erratum d: one closing parenthesis too many in the source)."""
    return gate("i", d_i, s, P, lines)


def forget_gate(d_f, s, P, lines=LINES):
    """f_t = σ(W_xf x_t + W_hf h_{t−1} + b_f)."""
    return gate("f", d_f, s, P, lines)


def output_gate(d_o, s, P, lines=LINES):
    """o_t = σ(W_xo x_t + W_ho h_{t−1} + b_o)."""
    return gate("o", d_o, s, P, lines)


def gate_gate(d_g, s, P, lines=LINES):
    """g_t = tanh(W_xg x_t + W_hg h_{t−1} + b_g)."""
    return gate("g", d_g, s, P, lines)


GATE_SECTIONS = (input_gate, forget_gate, output_gate, gate_gate)  # in the order of GATES


# ---------------------------------------------------------------------------------------------------------
# Backward through time.
# ---------------------------------------------------------------------------------------------------------


def _as_array(a: Any) -> np.ndarray | None:
    return None if a is None else np.asarray(a)


def _with_batch_axis(a: Any) -> np.ndarray | None:
    return None if a is None else np.asarray(a)[..., None, :]


@np.errstate(under="ignore")  # gradients vanishing through time underflow to 0, as they should
def bptt(params, xs, h0, c0, dhs, dh_T=None, dc_T=None, *, lines=LINES, flow=FLOW):
    """`backward`, and the trace: the gradient at h_t, c_t, each gate's output, p, q and v at every step, by the
    names the engine gives those tensors. `lines` and `flow` are where the bug zoo swaps a line in."""
    P = {name: np.asarray(params[name]) for name in NAMES}
    xs = np.asarray(xs)
    single = xs.ndim == 2  # (T, X): one sequence without a batch axis
    batched = _with_batch_axis if single else _as_array
    xs_b, h0_b, c0_b, dhs_b = batched(xs), batched(h0), batched(c0), batched(dhs)
    seq = forward(P, xs_b, h0_b, c0_b)

    grads: dict[str, np.ndarray] = {}
    inside = {k: {name: np.empty_like(seq.h) for name in ("p", "q", "v")} for k, _, _ in GATES}
    d_h_next = np.zeros_like(h0_b) if dh_T is None else batched(dh_T).copy()
    d_c_next = np.zeros_like(c0_b) if dc_T is None else batched(dc_T).copy()
    trace: dict[str, np.ndarray] = {}
    for t in reversed(range(len(xs_b))):
        s = seq.at(t)
        d_h = dhs_b[t] + d_h_next  # h_t feeds the loss at t and step t+1
        d_o, d_c = hidden_state_update(d_h, d_c_next, s, P, lines, flow)
        d_gates, d_c_prev = cell_state_update(d_c, s, P, lines)
        d_gates["o"] = d_o
        d_h_prev = np.zeros_like(s.h_prev)
        for (k, section, symbol), gate_section in zip(GATES, GATE_SECTIONS, strict=True):
            d_hk, mine = gate_section(d_gates[k], s, P, lines)
            d_h_prev += d_hk  # ∇h_{t−1} sums the four gates' v = W_hk h_{t−1}
            for name, g in mine.items():
                inside[k][name][t] = g
            trace[node_name(t, section, symbol)] = d_gates[k]
        trace[node_name(t, "hidden state update", "h_t")] = d_h
        trace[node_name(t, "cell state update", "c_t")] = d_c
        d_h_next, d_c_next = flow.carry(d_h_prev, d_c_prev)

    # ∇x_t sums the four gates' q = W_xk x_t
    d_xs = sum(gate_parameters(k, inside[k], seq, P, grads, lines) for k, _, _ in GATES)
    for k, section, _ in GATES:
        for name, g in inside[k].items():
            trace.update({node_name(t, section, name): g[t] for t in range(len(xs_b))})
    unbatch = (lambda a: a[..., 0, :]) if single else (lambda a: a)
    grads = {name: grads[name] for name in NAMES} | {"xs": unbatch(d_xs), "h0": unbatch(d_h_next),
                                                     "c0": unbatch(d_c_next)}
    return grads, {name: unbatch(g) for name, g in trace.items()}


def backward(params, xs, h0, c0, dhs, dh_T=None, dc_T=None) -> dict[str, np.ndarray]:
    """Gradients of Σ_t hs_t·dhs_t + h_T·dh_T + c_T·dc_T: the twelve parameters, xs, h0 and c0.

    params maps the twelve names to arrays; xs (T, B, X) or (T, X); h0, c0 (B, H) or (H,); dhs like hs.
    """
    grads, _ = bptt(params, xs, h0, c0, dhs, dh_T, dc_T)
    return grads
