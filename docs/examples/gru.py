"""Beyond the LSTM: a GRU step built from the engine's primitives, its backward written by hand, and
`autograd.check_gradients` between the two.

    python docs/examples/gru.py                    # the right backward
    python docs/examples/gru.py "reset sigmoid"    # the reset gate's sigmoid derivative left off

Every tensor of the forward is named (`.named("r_pre")`), and the hand backward returns its gradient at each
under the same name, so the check can say where, walking back from the output, the two first part.
"""

import sys

import numpy as np

import autograd as ag

H, X = 3, 2
MISTAKES = ("tanh derivative", "reset sigmoid")


def gru(x, h, W_z, U_z, W_r, U_r, W_n, U_n, R):
    """One GRU step, and the loss R·h_next."""
    z = ag.sigmoid((W_z @ x + U_z @ h).named("z_pre")).named("z")
    r = ag.sigmoid((W_r @ x + U_r @ h).named("r_pre")).named("r")
    n = ag.tanh((W_n @ x + r * (U_n @ h)).named("n_pre")).named("n")
    h_next = ((1 - z) * n + z * h).named("h_next")
    return (h_next * R).sum()


def gru_backward(x, h, W_z, U_z, W_r, U_r, W_n, U_n, R, mistake=None):
    """The same step's gradients by hand: the inputs', and the intermediates' by their names."""
    z, r = 1 / (1 + np.exp(-(W_z @ x + U_z @ h))), 1 / (1 + np.exp(-(W_r @ x + U_r @ h)))
    n = np.tanh(W_n @ x + r * (U_n @ h))
    d_h_next = R
    d_n = d_h_next * (1 - z)
    d_z = d_h_next * (h - n)
    d_n_pre = d_n * (1 - n * n) if mistake != "tanh derivative" else d_n * (1 - n)
    d_r = d_n_pre * (U_n @ h)
    d_z_pre = d_z * z * (1 - z)
    d_r_pre = d_r * r * (1 - r) if mistake != "reset sigmoid" else d_r
    d_h = d_h_next * z + U_z.T @ d_z_pre + U_r.T @ d_r_pre + U_n.T @ (d_n_pre * r)
    return {"x": W_z.T @ d_z_pre + W_r.T @ d_r_pre + W_n.T @ d_n_pre, "h": d_h,
            "W_z": np.outer(d_z_pre, x), "U_z": np.outer(d_z_pre, h), "W_r": np.outer(d_r_pre, x),
            "U_r": np.outer(d_r_pre, h), "W_n": np.outer(d_n_pre, x), "U_n": np.outer(d_n_pre * r, h),
            "R": (1 - z) * n + z * h, "h_next": d_h_next, "n": d_n, "z": d_z, "r": d_r, "n_pre": d_n_pre,
            "z_pre": d_z_pre, "r_pre": d_r_pre}


def gru_inputs(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"x": (X,), "h": (H,), "W_z": (H, X), "U_z": (H, H), "W_r": (H, X), "U_r": (H, H), "W_n": (H, X),
              "U_n": (H, H), "R": (H,)}
    return [ag.Tensor(rng.standard_normal(shape), name=name) for name, shape in shapes.items()]


if __name__ == "__main__":
    mistake = sys.argv[1] if len(sys.argv) > 1 else None
    if mistake not in (None, *MISTAKES):
        sys.exit(f"gru.py: the mistakes are {', '.join(MISTAKES)}; got {mistake!r}")
    report = ag.check_gradients(gru, gru_inputs(1), lambda *a: gru_backward(*a, mistake=mistake))
    print(report.format())
    sys.exit(0 if report.passed else 1)
