"""An LSTM forward and backward in the layout of the Stanford CS231n assignment (rnn_layers.py), as you might
write them there.

    lstm-autograd compare --hand docs/examples/cs231n_lstm.py --layout cs231n

x (N, T, D) is batch first; Wx (D, 4H) and Wh (H, 4H) hold the four gates' columns in the order i, f, o, g; b (4H,);
the cell state starts at zero. lstm_forward returns (h, cache), h (N, T, H); lstm_backward(dh, cache) returns
(dx, dh0, dWx, dWh, db).

The classic mistakes of the bug zoo are written in at their lines, switched on by the environment variable
LSTM_MISTAKE (see docs/examples/own_lstm.py for the list).
"""

import os

import numpy as np

MISTAKE = os.environ.get("LSTM_MISTAKE")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = sigmoid(a[:, 3 * H:]) if MISTAKE == "g-as-sigmoid-throughout" else np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c, next_h)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c, next_h = cache
    tanh_c = np.tanh(next_c)
    if MISTAKE == "tanh-forgotten":
        do, dc = dnext_h * next_c, dnext_h * o
    else:
        do, dc = dnext_h * tanh_c, dnext_h * o * (1 - tanh_c**2)
    if MISTAKE != "c-assigned":
        dc = dc + dnext_c
    di, df, dg = dc * g, dc * prev_c, dc * i
    da_f = df if MISTAKE == "forget-no-sigmoid-derivative" else df * f * (1 - f)
    da_g = dg * g * (1 - g) if MISTAKE in ("g-as-sigmoid", "g-as-sigmoid-throughout") else dg * (1 - g**2)
    da = np.hstack([di * i * (1 - i), da_f, do * o * (1 - o), da_g])
    dWh = (next_h if MISTAKE == "w-h-uses-h-t" else prev_h).T @ da
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, dWh, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h, prev_c = h0, np.zeros_like(h0)
    cache = []
    for t in range(T):
        prev_h, prev_c, step = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        cache.append(step)
    return h, cache


def lstm_backward(dh, cache):
    x, _, _, Wx, Wh = cache[0][:5]
    N, T, H = dh.shape
    dx = np.zeros((N, T, x.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    first = 1 if MISTAKE == "skip-first-step" else 0
    for t in reversed(range(first, T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
        if MISTAKE == "no-carry":
            dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    return dx, dprev_h, dWx, dWh, db
