"""The fast path: the whole sequence as one primitive whose backward is the BPTT of `hand.py`, fused.

Same parameters, same numbers (to rounding), a fraction of the Python: the four gates' weights are stacked
once per forward (by `concat`, so their gradients flow back to the twelve named parameters), the input
projections of all steps are one matmul, the weight gradients one matmul each, and backward keeps only the
gate activations and cell states. The per-gate graph of `cell.step` stays the default, because it is the one
the renderer draws and the comparison audits.
"""

from __future__ import annotations

import numpy as np

from autograd import Partial, Primitive, Tensor, concat
from lstm.names import GATES


def _sigmoid_(z: np.ndarray) -> np.ndarray:
    """σ in place with a single exp, the costly part here (numpy's float64 exp and tanh are not vectorised on
    every CPU). exp(−z) overflows to inf for z < −709, and 1/(1 + inf) is exactly 0: the caller silences it.
    `z` must be contiguous: numpy 2.4's in-place negative of a strided float32 view is wrong (docs/numpy-bug.md)."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    return np.reciprocal(z, out=z)


def _tanh_(z: np.ndarray) -> np.ndarray:
    """tanh(z) = 2σ(2z) − 1 in place on a contiguous array: one exp instead of numpy's slower tanh."""
    z *= 2
    _sigmoid_(z)
    z *= 2
    z -= 1
    return z


def _doubled_g(W: np.ndarray, H: int) -> np.ndarray:
    """A contiguous copy of the stacked rows with g's block times 2, so that one σ over all four gates gives
    σ(2p_g), from which tanh(p_g) = 2σ(2p_g) − 1 (exact: doubling only moves the exponent)."""
    W = np.array(W, order="C")
    W[3 * H:] *= 2  # a block of whole rows of a C-ordered array: contiguous
    return W


def forward(xs: np.ndarray, h0: np.ndarray, c0: np.ndarray, W_x: np.ndarray, W_h: np.ndarray,
            b: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """xs (T, B, X); W_x (4H, X), W_h (4H, H), b (4H,) stacked i, f, o, g. Returns (2, T, B, H): every h_t,
    then every c_t (each block contiguous, so backward's weight gradients read them without a copy).

    Saves the gate activations (T, B, 4H) and tanh(c_t) (T, B, H): what backward reads besides the output.
    Every in-place ufunc here writes a contiguous array.
    """
    T, B, _ = xs.shape
    H = h0.shape[-1]
    W_x, W_h, b = (_doubled_g(W, H) for W in (W_x, W_h, b))
    z = (xs.reshape(T * B, -1) @ W_x.T).reshape(T, B, 4 * H)  # the input projections of every step at once
    z += b
    out = np.empty((2, T, B, H), dtype=z.dtype)
    tanh_c = np.empty((T, B, H), dtype=z.dtype)
    recurrent = np.empty((B, 4 * H), dtype=z.dtype)
    g = np.empty((B, H), dtype=z.dtype)
    W_hT = W_h.T
    h, c = h0, c0
    with np.errstate(over="ignore", under="ignore"):
        for t in range(T):
            a = z[t]  # (B, 4H), contiguous: becomes the gate activations
            a += np.matmul(h, W_hT, out=recurrent)
            _sigmoid_(a)
            np.multiply(a[:, 3 * H:], 2, out=g)
            g -= 1
            a[:, 3 * H:] = g
            i, f, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H]
            c_new, h = out[1, t], out[0, t]
            np.multiply(f, c, out=c_new)
            c_new += i * g
            tanh_c[t] = c_new
            _tanh_(tanh_c[t])
            np.multiply(o, tanh_c[t], out=h)
            c = c_new
    return out, (z, tanh_c)


def _joint(u, ans, xs, h0, c0, W_x, W_h, b, *, saved, last):
    """Every operand's gradient: BPTT as in hand.py, with the weight gradients hoisted out of the loop.

    `u` is the gradient at the output (2, T, B, H). On the last backward through the node, ∇p overwrites the
    saved gate activations step by step (no copy of the largest array); while the graph is kept, on a copy.
    """
    gates, tanh_cs = saved
    T, B, _ = xs.shape
    H = h0.shape[-1]
    hs, cs = ans
    d_z = gates if last else np.empty_like(gates)
    d_h = np.zeros_like(h0)
    d_c = np.zeros_like(c0)
    with np.errstate(under="ignore"):  # gradients vanishing through time underflow to 0, as they should
        for t in reversed(range(T)):
            a, tanh_c = gates[t], tanh_cs[t]
            i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c_prev = c0 if t == 0 else cs[t - 1]
            d_h += u[0, t]  # h_t feeds the loss and step t+1
            d_c += u[1, t]
            d_c += d_h * o * (1 - tanh_c * tanh_c)  # ∇c_t gathers the path through h_t
            d_i = d_c * g * i * (1 - i)  # ∇_p i_t = (1−σ(p))σ(p)
            d_f = d_c * c_prev * f * (1 - f)
            d_o = d_h * tanh_c * o * (1 - o)
            d_g = d_c * i * (1 - g * g)  # ∇_p g_t = 1−tanh²(p)
            d_c *= f  # ∇c_{t−1} = ∇c_t ⊙ f_t
            dz = d_z[t]
            dz[:, :H], dz[:, H:2 * H], dz[:, 2 * H:3 * H], dz[:, 3 * H:] = d_i, d_f, d_o, d_g
            d_h = dz @ W_h  # ∇h_{t−1}: the four gates' v = W_h h_{t−1}
    flat = d_z.reshape(T * B, 4 * H)
    d_W_h = flat[B:].T @ hs[:-1].reshape(-1, H) + flat[:B].T @ h0  # h_{t−1}: h_0, then h_1 … h_{T−1}
    return (flat @ W_x).reshape(xs.shape), d_h, d_c, flat.T @ xs.reshape(T * B, -1), d_W_h, flat.sum(axis=0)


lstm_sequence = Primitive(
    "lstm_sequence",
    "LSTM",
    forward,
    tuple(Partial(f"BPTT: ∇{name} (lstm/derivation/hand.py, fused)")
          for name in ("xs", "h_0", "c_0", "W_x", "W_h", "b")),
    joint=_joint,
    saves=True,
    # as many as the per-gate graph of the same sequence: per step four gates' two matmuls, then about 16 more
    roundings=lambda ans, xs, h0, c0, *weights, **params: xs.shape[0] * (4 * (xs.shape[-1] + h0.shape[-1]) + 16),
)


def run(params: dict[str, Tensor], xs: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(hs, h_T, c_T) for batched xs (T, B, X) through the fused primitive."""
    stacked = [concat(*(params[gate.parameter(w)] for gate in GATES), axis=0) for w in ("W_x", "W_h", "b")]
    out = lstm_sequence(xs, h0, c0, *stacked)
    hs = out[0]
    return hs, hs[-1], out[1, -1]
