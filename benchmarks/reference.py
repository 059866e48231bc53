"""The yardsticks in plain numpy: a competent hand-written BPTT with the input projection hoisted (what a numpy
user would write), and the matmuls alone, per step or hoisted into single GEMMs (the floor)."""

from __future__ import annotations

import numpy as np

from benchmarks.workload import Workload
from lstm.names import DERIVATION_ORDER, GATE


def stacked(w: Workload) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W_x (4H, X), W_h (4H, H), b (4H,): the gates' rows stacked in the derivation's order, i, f, o, g."""
    gates = [GATE[k] for k in DERIVATION_ORDER]
    return tuple(np.concatenate([w.params[gate.parameter(symbol)] for gate in gates]) for symbol in ("W_x", "W_h", "b"))


def numpy_bptt(w: Workload):
    W, U, b = stacked(w)
    T, B, H = w.T, w.B, w.H

    def run():
        zx = (w.xs.reshape(T * B, -1) @ W.T + b).reshape(T, B, 4 * H)
        hs = np.zeros((T + 1, B, H), w.dtype)
        cs = np.zeros((T + 1, B, H), w.dtype)
        acts = np.empty((T, B, 4 * H), w.dtype)
        with np.errstate(over="ignore"):
            for t in range(T):
                z = zx[t] + hs[t] @ U.T
                acts[t, :, :3 * H] = 1 / (1 + np.exp(-z[:, :3 * H]))
                acts[t, :, 3 * H:] = np.tanh(z[:, 3 * H:])
                i, f, o, g = np.split(acts[t], 4, axis=1)
                cs[t + 1] = f * cs[t] + i * g
                hs[t + 1] = o * np.tanh(cs[t + 1])
        dz = np.empty_like(acts)
        dh = np.zeros((B, H), w.dtype)
        dc = np.zeros((B, H), w.dtype)
        for t in reversed(range(T)):
            i, f, o, g = np.split(acts[t], 4, axis=1)
            tc = np.tanh(cs[t + 1])
            dh = dh + w.R[t]
            dc = dc + dh * o * (1 - tc**2)
            dz[t] = np.concatenate([dc * g * i * (1 - i), dc * cs[t] * f * (1 - f), dh * tc * o * (1 - o),
                                    dc * i * (1 - g**2)], axis=1)
            dc = dc * f
            dh = dz[t] @ U
        flat = dz.reshape(T * B, 4 * H)
        return flat.T @ w.xs.reshape(T * B, -1), flat.T @ hs[:-1].reshape(T * B, H), flat.sum(0), flat @ W

    return run


def matmuls_per_step(w: Workload):
    W, U, _ = stacked(w)
    h = np.ones((w.B, w.H), w.dtype)
    dz = np.ones((w.B, 4 * w.H), w.dtype)

    def run():
        for t in range(w.T):
            w.xs[t] @ W.T
            h @ U.T
        for t in range(w.T):
            dz @ U
            dz @ W
            dz.T @ w.xs[t]
            dz.T @ h

    return run


def matmuls_hoisted(w: Workload):
    W, U, _ = stacked(w)
    T, B = w.T, w.B
    xs = w.xs.reshape(T * B, -1)
    hs = np.ones((T * B, w.H), w.dtype)
    dz = np.ones((T * B, 4 * w.H), w.dtype)
    h = np.ones((B, w.H), w.dtype)
    dzt = np.ones((B, 4 * w.H), w.dtype)

    def run():
        xs @ W.T
        for _ in range(T):  # the recurrence cannot be hoisted
            h @ U.T
        for _ in range(T):
            dzt @ U
        dz @ W
        dz.T @ xs
        dz.T @ hs

    return run
