"""Every LSTM and RNN path on the shapes people forget (X, H, B, T each 1, 2 or 3; B also unbatched), in both
dtypes, against torch.nn.LSTM and torch.nn.RNN (tests/fixtures/torch_tiny_shapes.npz, from generate.py)."""

from pathlib import Path

import numpy as np
import pytest

from autograd import Tensor
from autograd.diagnostics import beyond_tolerance, rounding_tolerance
from autograd.graph import roundings
from lstm import LSTM
from lstm.model.rnn import RNN
from lstm.names import TORCH_ORDER

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "torch_tiny_shapes.npz")
CASES = sorted({key.rsplit("/", 1)[0] for key in FIXTURE.files if "/" in key})
PATHS = {"lstm": ("per-gate", "fused"), "rnn": ("per-gate",)}


def _lstm(case, dtype, path):
    model = LSTM.from_stacked(*(case[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")), dtype=dtype)
    model.fused = path == "fused"
    return model, ("h0", "c0"), lambda out: [out[0], *out[1]]


def _rnn(case, dtype, path):
    model = RNN(case["xs"].shape[-1], case["h0"].shape[-1], dtype=dtype)
    for name, value in (("W_xh", case["weight_ih"]), ("W_hh", case["weight_hh"]),
                        ("b_h", case["bias_ih"] + case["bias_hh"])):
        model.parameters()[name].data = value.astype(dtype)
    return model, ("h0",), lambda out: list(out)


def _stacked(model, kind, grads):
    """The model's parameter gradients in torch's names and layout."""
    if kind == "rnn":
        return {"weight_ih": grads["W_xh"], "weight_hh": grads["W_hh"], "bias": grads["b_h"]}
    return {torch_name: np.concatenate([grads[f"{prefix}{k}"] for k in TORCH_ORDER]) for torch_name, prefix in
            (("weight_ih", "W_x"), ("weight_hh", "W_h"), ("bias", "b_"))}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_every_path_matches_torch_on_the_shapes_people_forget(case, dtype):
    kind = case.split("/")[0]
    f = {key.rsplit("/", 1)[1]: FIXTURE[key] for key in FIXTURE.files if key.startswith(case + "/")}
    for path in PATHS[kind]:
        model, states, outputs = (_lstm if kind == "lstm" else _rnn)(f, dtype, path)
        xs, *state = (Tensor(f[k].astype(dtype), requires_grad=True) for k in ("xs", *states))
        out = outputs(model(xs, tuple(state) if kind == "lstm" else state[0]))
        finals = ("h_T", "c_T") if kind == "lstm" else ("h_T",)
        loss = (out[0] * f["dhs"].astype(dtype)).sum()
        for value, name in zip(out[1:], finals, strict=True):
            loss = loss + (value * f["d" + name].astype(dtype)).sum()
        tol = 1e-12 if dtype == np.float64 else rounding_tolerance(dtype, roundings([loss]))
        loss.backward()
        params = {name: p.grad for name, p in model.parameters().items()}
        mine = {"hs": out[0].data, **{name: v.data for name, v in zip(finals, out[1:], strict=True)},
                **{f"grad_{k}": t.grad for k, t in zip(("xs", *states), (xs, *state), strict=True)},
                **{f"grad_{k}": g for k, g in _stacked(model, kind, params).items()}}
        expected = dict(f, grad_bias=f["grad_bias_ih"])
        for name, value in mine.items():
            assert value.dtype == dtype, (path, name)
            bad = beyond_tolerance(np.abs(value - expected[name]), expected[name], tol)
            assert not bad.any(), f"{path} {name}: {np.abs(value - expected[name]).max():.2e} > {tol:.1e}"


def test_an_in_place_negative_of_a_strided_float32_view_is_what_the_fused_path_no_longer_relies_on():
    """The fused LSTM with H = 1 and a batch of 3 in float32: numpy 2.4.6 on AVX-512 negates a stride-4 float32
    view in place wrongly (docs/numpy-bug.md), which made every batch row but the first wrong."""
    f = {key.rsplit("/", 1)[1]: FIXTURE[key] for key in FIXTURE.files if key.startswith("lstm/X2H1B3T3/")}
    model, *_ = _lstm(f, np.float32, "fused")
    hs, _ = model(f["xs"].astype(np.float32), (f["h0"].astype(np.float32), f["c0"].astype(np.float32)))
    np.testing.assert_allclose(hs.data, f["hs"], rtol=0, atol=1e-6)
