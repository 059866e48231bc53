"""An LSTM backward written by hand in plain numpy, in the layout of `lstm.hand.backward`, as you might write it.

    lstm-autograd compare --hand docs/examples/own_lstm.py          # :backward is the default function

Rows are the batch: xs (T, B, X), h0 and c0 (B, H), params["W_xf"] (H, X), params["W_hf"] (H, H), params["b_f"] (H,).
Besides the fifteen gradients it returns some at intermediate tensors, under the names the engine gives them
(`t3/forget gate/f_t`: step, section, symbol), so the check can also say at which node it first goes wrong.

The classic mistakes of the bug zoo are written in at their lines, switched on by the environment variable
LSTM_MISTAKE, so the README and the tests can show how each looks from outside: tanh-forgotten,
forget-no-sigmoid-derivative, no-carry, c-assigned, w-h-uses-h-t, g-as-sigmoid, skip-first-step, and
g-as-sigmoid-throughout (σ for the gate gate in the forward too, so the forward is what is wrong).
"""

import os

import numpy as np

MISTAKE = os.environ.get("LSTM_MISTAKE")
GATES = {"i": "input gate", "f": "forget gate", "o": "output gate", "g": "gate gate"}


def sigmoid(p):
    return 1 / (1 + np.exp(-p))


def g_activation(p):
    return sigmoid(p) if MISTAKE == "g-as-sigmoid-throughout" else np.tanh(p)


def run(params, xs, h0, c0):
    """The forward pass, keeping what the backward pass needs."""
    h, c, cache = h0, c0, []
    for x in xs:
        p = {k: x @ params[f"W_x{k}"].T + h @ params[f"W_h{k}"].T + params[f"b_{k}"] for k in GATES}
        gate = {k: sigmoid(p[k]) for k in "ifo"} | {"g": g_activation(p["g"])}
        h_prev, c_prev = h, c
        c = gate["f"] * c_prev + gate["i"] * gate["g"]
        h = gate["o"] * np.tanh(c)
        cache.append((x, h_prev, c_prev, gate, c, h))
    return np.stack([step[-1] for step in cache]), (h, c), cache


def forward(params, xs, h0, c0):
    hs, state, _ = run(params, xs, h0, c0)
    return hs, state


def backward(params, xs, h0, c0, dhs, dh_T=None, dc_T=None):
    _, _, cache = run(params, xs, h0, c0)
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dxs = np.zeros_like(xs)
    dh_next = np.zeros_like(h0) if dh_T is None else dh_T
    dc_next = np.zeros_like(c0) if dc_T is None else dc_T
    nodes = {}
    first = 1 if MISTAKE == "skip-first-step" else 0
    for t in reversed(range(first, len(xs))):
        x, h_prev, c_prev, gate, c, h = cache[t]
        i, f, o, g = gate["i"], gate["f"], gate["o"], gate["g"]
        dh = dhs[t] + dh_next
        if MISTAKE == "tanh-forgotten":
            do, dc = dh * c, dh * o
        else:
            do, dc = dh * np.tanh(c), dh * o * (1 - np.tanh(c) ** 2)
        if MISTAKE != "c-assigned":
            dc = dc + dc_next
        dgate = {"i": dc * g, "f": dc * c_prev, "o": do, "g": dc * i}
        dp = {"i": dgate["i"] * i * (1 - i), "o": dgate["o"] * o * (1 - o)}
        dp["f"] = dgate["f"] if MISTAKE == "forget-no-sigmoid-derivative" else dgate["f"] * f * (1 - f)
        if MISTAKE in ("g-as-sigmoid", "g-as-sigmoid-throughout"):
            dp["g"] = dgate["g"] * g * (1 - g)
        else:
            dp["g"] = dgate["g"] * (1 - g**2)
        dh_next = np.zeros_like(h_prev)
        for k, d in dp.items():
            grads[f"W_x{k}"] += d.T @ x
            grads[f"W_h{k}"] += d.T @ (h if MISTAKE == "w-h-uses-h-t" else h_prev)
            grads[f"b_{k}"] += d.sum(axis=0)
            dxs[t] += d @ params[f"W_x{k}"]
            dh_next += d @ params[f"W_h{k}"]
            nodes[f"t{t}/{GATES[k]}/{k}_t"] = dgate[k]
            nodes[f"t{t}/{GATES[k]}/p"] = d
        dc_next = dc * f
        if MISTAKE == "no-carry":
            dh_next, dc_next = np.zeros_like(dh_next), np.zeros_like(dc_next)
        nodes[f"t{t}/hidden state update/h_t"] = dh
        nodes[f"t{t}/cell state update/c_t"] = dc
    return {**grads, "xs": dxs, "h0": dh_next, "c0": dc_next, **nodes}
