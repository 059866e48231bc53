"""The multi-layer GRU and Elman RNN (lstm.model.layers) against torch.nn.GRU and torch.nn.RNN: every layer option,
forward and every gradient, in both dtypes (tests/fixtures/torch_layers.npz, from generate.py); torch's state
dicts both ways; dropout between layers in training mode only."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from autograd import Tensor
from autograd.diagnostics import beyond_tolerance, rounding_tolerance
from autograd.graph import named, roundings
from lstm import GRU, RNN, ElmanRNN
from lstm.names import unscoped

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "torch_layers.npz")
CASES = sorted({key.split("/")[0] + "/" + key.split("/")[1] for key in FIXTURE.files if "/" in key})


def case_of(case: str) -> dict[str, np.ndarray]:
    return {key[len(case) + 1:]: FIXTURE[key] for key in FIXTURE.files if key.startswith(case + "/")}


def build(case: str, f: dict[str, np.ndarray], dtype, **extra):
    """The model the case's name and state dict describe, holding the case's parameters."""
    kind, options = case.split("/")
    layers, bidirectional = int(options[1]), "bi" in options.split("-")[0]
    arguments = dict(num_layers=layers, bidirectional=bidirectional, batch_first="-bf" in options,
                     bias="-nobias" not in options, dtype=dtype, **extra)
    X, H = f["xs"].shape[-1], f["h0"].shape[-1]
    if kind == "gru":
        model = GRU(X, H, **arguments)
    else:
        model = ElmanRNN(X, H, nonlinearity=kind.removeprefix("rnn-"), **arguments)
    model.load_state_dict({key.removeprefix("state/"): v for key, v in f.items() if key.startswith("state/")})
    return model


def test_the_fixture_covers_every_layer_option_and_is_small():
    assert len(CASES) == 48
    assert (Path(__file__).parent / "fixtures" / "torch_layers.npz").stat().st_size < 1_500_000


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_forward_and_every_gradient_match_torch(case, dtype):
    f = case_of(case)
    model = build(case, f, dtype)
    xs, h0 = (Tensor(f[k].astype(dtype), requires_grad=True) for k in ("xs", "h0"))
    single = model.num_layers * model.directions == 1
    output, h_n = model(xs, h0)
    if single:  # the one-layer model returns h_T as (B, H), and takes torch's (1, B, H) too
        assert h_n.shape == f["h_n"].shape[1:]
        h_n = h_n.reshape(f["h_n"].shape)
    loss = (output * f["d_output"].astype(dtype)).sum() + (h_n * f["d_h_n"].astype(dtype)).sum()
    tol = 1e-12 if dtype == np.float64 else rounding_tolerance(dtype, roundings([loss]))
    loss.backward()
    mine = {"output": output.data, "h_n": h_n.data, "grad_xs": xs.grad, "grad_h0": h0.grad,
            **{f"grad/{key}": g for key, g in model.grad_state_dict().items()},
            **{f"state/{key}": v for key, v in model.state_dict().items()}}
    expected = {key: v for key, v in f.items() if key not in ("xs", "h0", "d_output", "d_h_n")}
    assert set(mine) == set(expected)
    for name, value in mine.items():
        assert value.dtype == dtype, name
        assert value.shape == expected[name].shape, name
        bad = beyond_tolerance(np.abs(value - expected[name]), expected[name], tol)
        assert not bad.any(), f"{name}: {np.abs(value - expected[name]).max():.2e} > {tol:.1e}"


def test_every_tensor_of_a_stacked_bidirectional_model_says_its_layer_and_direction():
    model = GRU(2, 3, 2, bidirectional=True, seed=0)
    output, h_n = model(np.ones((3, 2, 2)))
    names = named([output, h_n])
    assert "l1/reverse/t2/new gate/n_t" in names and "l0/t0/reset gate/r_t" in names
    assert "l1/reverse/W_xr" in names and "l0/hidden state update/h_t" not in names
    assert unscoped("l1/reverse/t2/new gate/n_t") == ("l1/reverse", unscoped("t2/new gate/n_t")[1])
    steps = [name for name in names if unscoped(name)[1].step is not None]
    assert steps and all(unscoped(name)[0] for name in steps)  # no step's tensor outside a layer's scope
    assert set(model.parameters()) == {f"{scope}/{k}_{side}{gate}" for scope in ("l0", "l0/reverse", "l1",
                                                                                "l1/reverse")
                                       for k, side in (("W", "x"), ("W", "h"), ("b", "x"), ("b", "h"))
                                       for gate in "rzn"}
    one = GRU(2, 3, seed=0)
    assert sorted(one.parameters())[:3] == ["W_hn", "W_hr", "W_hz"]  # one layer, one direction: the plain names
    assert "t0/reset gate/r_t" in named(list(one(np.ones((2, 2)))))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_a_state_dict_round_trip_is_exact_through_plain_arrays(dtype):
    for model in (GRU(2, 3, 2, bidirectional=True, dtype=dtype, seed=1),
                  GRU(2, 3, 2, bias=False, cell="gru-cho", dtype=dtype, seed=2),
                  ElmanRNN(3, 2, 3, nonlinearity="relu", bidirectional=True, dtype=dtype, seed=3)):
        sd = model.state_dict()
        assert all(v.dtype == dtype for v in sd.values())
        other = type(model)(model.input_size, model.hidden_size, model.num_layers, bias=model.bias,
                            bidirectional=model.bidirectional, dtype=dtype, seed=99,
                            **({"cell": model.cell.name} if isinstance(model, GRU) else
                               {"nonlinearity": model.nonlinearity}))
        other.load_state_dict(sd)
        again = other.state_dict()
        assert list(again) == list(sd)
        assert all(np.array_equal(again[key], sd[key]) for key in sd)
        xs = np.random.default_rng(0).standard_normal((4, 2, model.input_size))
        assert np.array_equal(model(xs)[0].data, other(xs)[0].data)


def test_a_state_dict_round_trip_through_torch_is_exact():
    torch = pytest.importorskip("torch")
    for model in (GRU(2, 3, 2, bidirectional=True, batch_first=True, seed=1),
                  GRU(2, 3, 1, bias=False, dtype=np.float32, seed=2),
                  ElmanRNN(3, 2, 2, nonlinearity="relu", bidirectional=True, seed=3)):
        module = model.to_torch()
        assert set(module.state_dict()) == set(model.state_dict())
        back = type(model).from_torch(module)
        assert back.dtype == model.dtype and back.batch_first == model.batch_first
        assert all(np.array_equal(back.state_dict()[k], v) for k, v in model.state_dict().items())
        fresh = type(module)(**model.torch_arguments(), dtype=next(module.parameters()).dtype)
        fresh.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
        assert all(torch.equal(fresh.state_dict()[k], module.state_dict()[k]) for k in module.state_dict())
        model.load_state_dict(module.state_dict())  # torch tensors, as they are
        assert all(np.array_equal(model.state_dict()[k], v.numpy()) for k, v in module.state_dict().items())
    with pytest.raises(ValueError, match="^GRU: the cell 'gru-cho' has no torch counterpart$"):
        GRU(2, 3, cell="gru-cho").to_torch()


def test_bad_state_dicts_are_refused_in_one_line_naming_the_key():
    model = GRU(2, 3, 2, bidirectional=True, seed=0)
    sd = model.state_dict()
    before = model.state_dict()
    cases = [({k: v for k, v in sd.items() if k != "weight_hh_l1_reverse"}, "missing key weight_hh_l1_reverse"),
             ({**sd, "weight_hr_l0": np.zeros((3, 3))}, "unexpected key weight_hr_l0"),
             ({**sd, "weight_ih_l1": np.zeros((9, 3))}, "weight_ih_l1 must have shape (9, 6), got (9, 3)"),
             ({**sd, "bias_ih_l0": np.array(["a"] * 9)}, "bias_ih_l0 must hold real numbers, got dtype <U1")]
    for given, said in cases:
        with pytest.raises(ValueError, match=f"^GRU.load_state_dict: {re.escape(said)}$"):
            model.load_state_dict(given)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in before.items())  # nothing half-loaded
    with pytest.raises(ValueError, match=r"^GRU.load_state_dict: missing keys bias_ih_l0, bias_hh_l0"):
        GRU(2, 3, bias=True).load_state_dict(GRU(2, 3, bias=False).state_dict())
    with pytest.raises(ValueError, match=r"^GRU.load_state_dict: unexpected keys bias_ih_l0, bias_hh_l0$"):
        GRU(2, 3, bias=False).load_state_dict(GRU(2, 3).state_dict())


def test_dropout_acts_between_layers_in_training_mode_only():
    xs = np.random.default_rng(0).standard_normal((5, 4, 2))
    model = GRU(2, 8, 3, dropout=0.5, seed=7)
    plain = GRU(2, 8, 3, seed=7)
    assert model.training  # a new model trains, as torch's
    assert model.eval() is model and not model.training
    first, again = model(xs)[0].data, model(xs)[0].data
    assert np.array_equal(first, again) and np.array_equal(first, plain(xs)[0].data)
    model.train()
    output, h_n = model(xs)
    dropped = named([output])
    assert set(n for n in dropped if "dropout" in n) == {"l1/dropout", "l1/dropout mask", "l2/dropout",
                                                        "l2/dropout mask"}  # never on the input, nor the output
    for layer in (1, 2):
        mask = dropped[f"l{layer}/dropout mask"].data
        assert set(np.unique(mask)) == {0.0, 2.0}  # kept ones scaled by 1/(1 − p)
        assert 0.3 < (mask == 0).mean() < 0.7
        assert np.array_equal(dropped[f"l{layer}/dropout"].data == 0, mask == 0)
    assert not np.array_equal(output.data, first)
    assert not np.array_equal(model(xs)[0].data, output.data)  # a new mask each call
    (output.sum() + h_n.sum()).backward()  # the gradient flows through the kept ones alone
    assert all(p.grad is not None for p in model.parameters().values())


@pytest.mark.parametrize("arguments, said", [
    ({"num_layers": 0}, "num_layers must be a positive integer, got 0"),
    ({"dropout": 1.5}, "dropout must be a number in [0, 1], got 1.5"),
    ({"bidirectional": "yes"}, "bidirectional must be True or False, got 'yes'"),
    ({"cell": "lstm"}, "cell must be 'gru' or 'gru-cho', got 'lstm'"),
])
def test_bad_arguments_are_refused_in_one_line(arguments, said):
    with pytest.raises(ValueError, match=f"^GRU: {re.escape(said)}$"):
        GRU(2, 3, **arguments)


def test_bad_inputs_and_states_are_refused_naming_the_shapes():
    model = GRU(2, 3, 2, bidirectional=True)
    with pytest.raises(ValueError, match=re.escape("GRU: h0 must have shape (4, 5, 3), got (2, 5, 3)")):
        model(np.zeros((4, 5, 2)), np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=re.escape("GRU: xs must have shape (T, B, X) or (T, X) with X = 2")):
        model(np.zeros((4, 5, 3)))
    one = ElmanRNN(2, 3, batch_first=True)
    with pytest.raises(ValueError, match=re.escape("ElmanRNN: h0 must have shape (1, 5, 3) or (5, 3), got (5,")):
        one(np.zeros((5, 4, 2)), np.zeros((5, 4)))
    output, h_T = one(np.zeros((5, 4, 2)), np.zeros((1, 5, 3)))  # torch's (1, B, H) is accepted
    assert output.shape == (5, 4, 3) and h_T.shape == (5, 3)


def test_a_one_layer_elman_rnn_is_the_plain_rnn_when_its_second_bias_is_zero():
    """What merging lstm.model.rnn.RNN into ElmanRNN rests on: the same seed draws the same W_xh, W_hh and b_h
    (as b_xh), and the step computes the same values under the same names."""
    xs = np.random.default_rng(1).standard_normal((4, 2, 3))
    plain, elman = RNN(3, 4, seed=5), ElmanRNN(3, 4, seed=5)
    elman.load_state_dict({**elman.state_dict(), "bias_hh_l0": np.zeros(4)})
    (hs, h_T), (output, h_n) = plain(xs), elman(xs)
    assert np.array_equal(hs.data, output.data) and np.array_equal(h_T.data, h_n.data)
    ours = {name for name in named([output]) if name.startswith("t")}
    assert ours == {name for name in named([hs]) if name.startswith("t")}


def test_the_fixture_is_what_the_generator_writes_with_this_torch():
    """Where torch is installed: two cases regenerated agree with the committed file (same seeds, same draws)."""
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("generate", Path(__file__).parent / "fixtures" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    cases = generate.layer_cases()
    assert sorted(cases) == CASES
    for case in ("gru/L2bi-bf-nobias-B2T3", "rnn-relu/L1uni-B2T1"):
        fresh, stored = generate.layers(*cases[case]), case_of(case)
        assert set(fresh) == set(stored)
        for key, value in fresh.items():
            np.testing.assert_allclose(value, stored[key], rtol=1e-13, atol=1e-15, err_msg=f"{case} {key}")
