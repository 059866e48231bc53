"""The implementations timed side by side; peers appear where their package is installed.

HIPS autograd is left out: it installs a top-level package also named `autograd`, which cannot live in one
process (or one environment) with this engine. Its figures in the issue were measured in a separate one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograd import Tensor
from benchmarks import reference
from benchmarks.workload import Workload
from lstm import GATES, LSTM, hand

Runner = Callable[[], object]


def engine(w: Workload, fused: bool) -> Runner:
    model = LSTM.from_arrays(w.params, dtype=w.dtype)
    model.fused = fused

    def run():
        model.zero_grad()
        hs, _ = model(Tensor(w.xs))
        (hs * w.R).sum().backward()
        return model.parameters()

    return run


def hand_bptt(w: Workload) -> Runner:
    zeros = np.zeros((w.B, w.H), w.dtype)
    return lambda: hand.backward(w.params, w.xs, zeros, zeros, w.R)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def jax_available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def torch_lstm(w: Workload) -> Runner:
    import torch

    model = LSTM.from_arrays(w.params, dtype=w.dtype)
    weight_ih, weight_hh, bias_ih, bias_hh = model.to_stacked()
    dtype = getattr(torch, w.dtype.name)
    lstm = torch.nn.LSTM(w.X, w.H, dtype=dtype)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", weight_ih), ("weight_hh_l0", weight_hh), ("bias_ih_l0", bias_ih),
                            ("bias_hh_l0", bias_hh)):
            getattr(lstm, name).copy_(torch.from_numpy(value))
    xs, R = torch.from_numpy(w.xs), torch.from_numpy(w.R)

    def run():
        lstm.zero_grad()
        hs, _ = lstm(xs)
        (hs * R).sum().backward()
        return lstm

    return run


def torch_per_gate(w: Workload) -> Runner:
    import torch

    params = {k: torch.tensor(v, requires_grad=True) for k, v in w.params.items()}
    xs, R = torch.from_numpy(w.xs), torch.from_numpy(w.R)

    def run():
        for p in params.values():
            p.grad = None
        h = torch.zeros(w.B, w.H, dtype=xs.dtype)
        c = torch.zeros(w.B, w.H, dtype=xs.dtype)
        loss = 0
        for t in range(w.T):
            x = xs[t]
            gate = {k.key: x @ params[k.W_x].T + h @ params[k.W_h].T + params[k.b] for k in GATES}
            i, f, o = torch.sigmoid(gate["i"]), torch.sigmoid(gate["f"]), torch.sigmoid(gate["o"])
            g = torch.tanh(gate["g"])
            c = f * c + i * g
            h = o * torch.tanh(c)
            loss = loss + (h * R[t]).sum()
        loss.backward()
        return params

    return run


def jax_scan(w: Workload) -> Runner:
    import jax

    if w.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    W, U, b = (jnp.asarray(a) for a in reference.stacked(w))
    xs, R = jnp.asarray(w.xs), jnp.asarray(w.R)
    H = w.H

    def loss(params):
        W, U, b = params

        def cell(carry, inputs):
            h, c = carry
            x, r = inputs
            z = x @ W.T + h @ U.T + b
            i, f, o = (jax.nn.sigmoid(z[:, k * H:(k + 1) * H]) for k in range(3))
            g = jnp.tanh(z[:, 3 * H:])
            c = f * c + i * g
            h = o * jnp.tanh(c)
            return (h, c), (h * r).sum()

        zeros = jnp.zeros((w.B, H), xs.dtype)
        _, per_step = jax.lax.scan(cell, (zeros, zeros), (xs, R))
        return per_step.sum()

    gradient = jax.jit(jax.grad(loss))

    def run():
        return jax.block_until_ready(gradient((W, U, b)))

    return run


def implementations(w: Workload) -> dict[str, Runner]:
    """Name → a zero-argument callable doing one forward plus backward, in the order the table lists them."""
    runs = {
        "engine, per-gate graph": engine(w, fused=False),
        "engine, fused fast path": engine(w, fused=True),
        "hand BPTT (lstm/derivation/hand.py)": hand_bptt(w),
        "numpy BPTT, hoisted (yardstick)": reference.numpy_bptt(w),
    }
    if torch_available():
        runs["torch.nn.LSTM"] = torch_lstm(w)
        runs["torch eager, per-gate"] = torch_per_gate(w)
    if jax_available() and w.dtype in (np.float32, np.float64):
        runs["JAX jit(grad(lax.scan))"] = jax_scan(w)
    runs["matmuls alone, per step"] = reference.matmuls_per_step(w)
    runs["matmuls alone, hoisted (floor)"] = reference.matmuls_hoisted(w)
    return runs
