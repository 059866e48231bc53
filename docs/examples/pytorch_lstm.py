"""An LSTM backward written by hand in plain numpy, in torch.nn.LSTM's layout, as you might write it.

    lstm-autograd compare --hand docs/examples/pytorch_lstm.py --layout pytorch

weight_ih (4H, X) and weight_hh (4H, H) hold the four gates' rows stacked in PyTorch's order i, f, g, o; bias_ih and
bias_hh (4H,) are added; input is (T, B, X), time first, h_0 and c_0 (B, H), output (T, B, H).

The classic mistakes of the bug zoo are written in at their lines, switched on by the environment variable
LSTM_MISTAKE (see docs/examples/own_lstm.py for the list).
"""

import os

import numpy as np

MISTAKE = os.environ.get("LSTM_MISTAKE")


def sigmoid(p):
    return 1 / (1 + np.exp(-p))


def run(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0):
    H = h_0.shape[-1]
    g_activation = sigmoid if MISTAKE == "g-as-sigmoid-throughout" else np.tanh
    h, c, cache = h_0, c_0, []
    for x in input:
        gates = x @ weight_ih.T + h @ weight_hh.T + bias_ih + bias_hh
        i, f = sigmoid(gates[:, :H]), sigmoid(gates[:, H:2 * H])
        g, o = g_activation(gates[:, 2 * H:3 * H]), sigmoid(gates[:, 3 * H:])
        h_prev, c_prev = h, c
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        cache.append((x, h_prev, c_prev, i, f, g, o, c, h))
    return np.stack([step[-1] for step in cache]), (h, c), cache


def forward(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0):
    output, state, _ = run(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0)
    return output, state


def backward(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0, d_output, d_h_n=None, d_c_n=None):
    _, _, cache = run(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0)
    d_weight_ih, d_weight_hh = np.zeros_like(weight_ih), np.zeros_like(weight_hh)
    d_bias = np.zeros_like(bias_ih)
    d_input = np.zeros_like(input)
    dh_next = np.zeros_like(h_0) if d_h_n is None else d_h_n
    dc_next = np.zeros_like(c_0) if d_c_n is None else d_c_n
    first = 1 if MISTAKE == "skip-first-step" else 0
    for t in reversed(range(first, len(input))):
        x, h_prev, c_prev, i, f, g, o, c, h = cache[t]
        dh = d_output[t] + dh_next
        tanh_c = np.tanh(c)
        do = dh * (c if MISTAKE == "tanh-forgotten" else tanh_c)
        dc = dh * o * (1 if MISTAKE == "tanh-forgotten" else 1 - tanh_c**2)
        if MISTAKE != "c-assigned":
            dc += dc_next
        df_pre = dc * c_prev * (1 if MISTAKE == "forget-no-sigmoid-derivative" else f * (1 - f))
        g_slope = g * (1 - g) if MISTAKE in ("g-as-sigmoid", "g-as-sigmoid-throughout") else 1 - g**2
        d_gates = np.concatenate([dc * g * i * (1 - i), df_pre, dc * i * g_slope, do * o * (1 - o)], axis=1)
        d_weight_ih += d_gates.T @ x
        d_weight_hh += d_gates.T @ (h if MISTAKE == "w-h-uses-h-t" else h_prev)
        d_bias += d_gates.sum(axis=0)
        d_input[t] = d_gates @ weight_ih
        dh_next, dc_next = d_gates @ weight_hh, dc * f
        if MISTAKE == "no-carry":
            dh_next, dc_next = np.zeros_like(dh_next), np.zeros_like(dc_next)
    return {"weight_ih": d_weight_ih, "weight_hh": d_weight_hh, "bias_ih": d_bias, "bias_hh": d_bias.copy(),
            "input": d_input, "h_0": dh_next, "c_0": dc_next}
