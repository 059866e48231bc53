"""The multi-layer GRU, Elman RNN and LSTM (lstm.model.layers) against torch.nn.GRU, torch.nn.RNN and
torch.nn.LSTM: every layer option (an LSTM's proj_size too), forward and every gradient, in both dtypes
(tests/fixtures/torch_layers.npz, from generate.py); torch's state dicts both ways; dropout between layers in
training mode only; lstm.LSTM's one-layer exception."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from autograd import Tensor
from autograd.diagnostics import beyond_tolerance, rounding_tolerance
from autograd.graph import named, roundings
from lstm import GRU, LSTM, RNN, ElmanRNN
from lstm.model import sequence
from lstm.model.layers import LSTM as LayeredLSTM
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
    if kind == "lstm":
        model = LayeredLSTM(X, f["c0"].shape[-1], **arguments, proj_size=2 if "-p2" in options else 0)
    elif kind == "gru":
        model = GRU(X, H, **arguments)
    else:
        model = ElmanRNN(X, H, nonlinearity=kind.removeprefix("rnn-"), **arguments)
    model.load_state_dict({key.removeprefix("state/"): v for key, v in f.items() if key.startswith("state/")})
    return model


def inputs_and_loss(model, f, dtype):
    """Run the case's inputs through the model (its state the pair (h0, c0) for an LSTM); the loss torch's
    fixture back-propagated, and what to compare (torch's shapes: a one-layer model's (B, H) states reshaped)."""
    lstm_case = "c0" in f
    given = {k: Tensor(f[k].astype(dtype), requires_grad=True) for k in ("xs", "h0", "c0") if k in f}
    states = ("h0", "c0") if lstm_case else ("h0",)
    single = isinstance(model, sequence.LSTM) or model.num_layers * model.directions == 1
    state = [given[k][0] if single else given[k] for k in states]
    output, last = model(given["xs"], tuple(state) if lstm_case else state[0])
    last = last if lstm_case else (last,)
    lasts = dict(zip(("h_n", "c_n")[:len(last)], last, strict=True))
    if single:  # the one-layer model returns h_T as (B, H), and takes torch's (1, B, H) too
        for key, value in lasts.items():
            assert value.shape == f[key].shape[1:]
        lasts = {key: value.reshape(f[key].shape) for key, value in lasts.items()}
    loss = (output * f["d_output"].astype(dtype)).sum()
    for key, value in lasts.items():
        loss = loss + (value * f[f"d_{key}"].astype(dtype)).sum()
    return given, output, lasts, loss


def test_the_fixture_covers_every_layer_option_and_is_small():
    assert len(CASES) == 48 + 32
    assert sum(case.startswith("lstm/") for case in CASES) == 32
    assert sum("-p2" in case for case in CASES) == 16
    assert (Path(__file__).parent / "fixtures" / "torch_layers.npz").stat().st_size < 1_500_000


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_forward_and_every_gradient_match_torch(case, dtype):
    f = case_of(case)
    model = build(case, f, dtype)
    given, output, lasts, loss = inputs_and_loss(model, f, dtype)
    tol = 1e-12 if dtype == np.float64 else rounding_tolerance(dtype, roundings([loss]))
    loss.backward()
    mine = {"output": output.data, **{key: value.data for key, value in lasts.items()},
            **{f"grad_{key}": tensor.grad for key, tensor in given.items()},
            **{f"grad/{key}": g for key, g in model.grad_state_dict().items()},
            **{f"state/{key}": v for key, v in model.state_dict().items()}}
    expected = {key: v for key, v in f.items() if key not in ("xs", "h0", "c0", "d_output", "d_h_n", "d_c_n")}
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
    for case in ("gru/L2bi-bf-nobias-B2T3", "rnn-relu/L1uni-B2T1", "lstm/L2bi-bf-nobias-p2-B1T1"):
        fresh, stored = generate.layers(*cases[case]), case_of(case)
        assert set(fresh) == set(stored)
        for key, value in fresh.items():
            np.testing.assert_allclose(value, stored[key], rtol=1e-13, atol=1e-15, err_msg=f"{case} {key}")


# ---- lstm.LSTM: torch.nn.LSTM's arguments; the one-layer, one-direction default stays the twelve-name model ----


def arguments_of(case: str) -> dict:
    options = case.split("/")[1]
    return dict(num_layers=int(options[1]), bidirectional="bi" in options.split("-")[0],
                batch_first="-bf" in options, bias="-nobias" not in options,
                proj_size=2 if "-p2" in options else 0)


LSTM_CASES = [case for case in CASES if case.startswith("lstm/")]
PLAIN = [case for case in LSTM_CASES if case.split("/")[1].startswith("L1uni-B")]


def test_lstm_builds_the_twelve_name_model_only_for_the_plain_configuration():
    assert len(PLAIN) == 1
    for case in LSTM_CASES:
        f = case_of(case)
        model = LSTM(2, 3, **arguments_of(case), seed=0)
        assert isinstance(model, sequence.LSTM) == (case in PLAIN), case
        if case not in PLAIN:
            assert isinstance(model, LayeredLSTM)
            assert list(model.state_dict()) == [k.removeprefix("state/") for k in f if k.startswith("state/")]
    plain = LSTM(2, 3, seed=0)
    assert type(plain) is sequence.LSTM and sorted(plain.parameters()) == sorted(sequence.LSTM(2, 3).parameters())
    assert all(np.array_equal(a, b) for a, b in zip(plain.arrays().values(), sequence.LSTM(2, 3, seed=0).arrays()
                                                    .values(), strict=True))  # the same seed draws the same
    for other in (dict(num_layers=2), dict(bias=False), dict(batch_first=True), dict(bidirectional=True),
                  dict(proj_size=1), dict(dropout=0.5), dict(cell="cifg"), dict(cell="peephole")):
        assert isinstance(LSTM(2, 3, **other), LayeredLSTM), other
    assert type(LSTM(2, 3, 1, bias=True, batch_first=False, dropout=0, proj_size=0, cell="lstm")) is sequence.LSTM


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_the_plain_lstm_matches_torch_through_its_state_dict(dtype):
    """The fixture's one-layer case through the twelve-name model: torch's two biases summed on load, the
    gradient of the summed bias being torch's gradient of each."""
    f = case_of(PLAIN[0])
    model = LSTM(2, 3, dtype=dtype)
    model.load_state_dict({key.removeprefix("state/"): v for key, v in f.items() if key.startswith("state/")})
    given, output, lasts, loss = inputs_and_loss(model, f, dtype)
    assert isinstance(lasts["h_n"], Tensor) and "t0/forget gate/f_t" in named([output])
    tol = 1e-12 if dtype == np.float64 else rounding_tolerance(dtype, roundings([loss]))
    loss.backward()
    grads = sequence.LSTM.from_arrays({name: t.grad for name, t in model.parameters().items()}).state_dict()
    mine = {"output": output.data, **{key: value.data for key, value in lasts.items()},
            **{f"grad_{key}": tensor.grad for key, tensor in given.items()},
            **{f"grad/{key}": grads[key] for key in ("weight_ih_l0", "weight_hh_l0")},
            "grad/bias_ih_l0": grads["bias_ih_l0"], "grad/bias_hh_l0": grads["bias_ih_l0"]}
    for name, value in mine.items():
        assert value.shape == f[name].shape, name
        bad = beyond_tolerance(np.abs(value - f[name]), f[name], tol)
        assert not bad.any(), f"{name}: {np.abs(value - f[name]).max():.2e} > {tol:.1e}"
    sd = model.state_dict()
    summed = f["state/bias_ih_l0"] + f["state/bias_hh_l0"]
    np.testing.assert_allclose(sd["bias_ih_l0"], summed, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert not sd["bias_hh_l0"].any() and all(v.dtype == dtype for v in sd.values())


def test_the_plain_lstms_state_dict_round_trips():
    model = LSTM(3, 4, seed=1)
    sd = model.state_dict()
    assert list(sd) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert all(np.array_equal(a, b) for a, b in zip(sd.values(), model.to_stacked(), strict=True))
    other = LSTM(3, 4, seed=2)
    other.load_state_dict(sd)
    assert all(np.array_equal(other.arrays()[k], v) for k, v in model.arrays().items())  # exact: b + 0 = b
    split = {**sd, "bias_ih_l0": sd["bias_ih_l0"] - 0.25, "bias_hh_l0": np.full(16, 0.25)}
    other.load_state_dict(split)  # two biases come back summed
    np.testing.assert_allclose(other.state_dict()["bias_ih_l0"], sd["bias_ih_l0"], rtol=0, atol=1e-15)
    assert not other.state_dict()["bias_hh_l0"].any()


def test_the_plain_lstms_state_dict_round_trips_through_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, dtype=torch.float64)
    model = LSTM(3, 4)
    model.load_state_dict(module.state_dict())  # torch tensors, as they are
    xs = np.random.default_rng(0).standard_normal((5, 2, 3))
    output, (h_n, c_n) = module(torch.from_numpy(xs))
    hs, (h_T, c_T) = model(xs)
    np.testing.assert_allclose(hs.data, output.detach().numpy(), rtol=0, atol=1e-14)  # to the sum's rounding
    np.testing.assert_allclose(c_T.data, c_n[0].detach().numpy(), rtol=0, atol=1e-14)
    again = torch.nn.LSTM(3, 4, dtype=torch.float64)
    again.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    np.testing.assert_allclose(again(torch.from_numpy(xs))[0].detach().numpy(), hs.data, rtol=0, atol=1e-14)
    back = LSTM(3, 4)
    back.load_state_dict(again.state_dict())
    assert all(np.array_equal(back.state_dict()[k], v) for k, v in model.state_dict().items())  # exact


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_a_layered_lstm_state_dict_round_trip_is_exact(dtype):
    for model in (LSTM(2, 3, 2, bidirectional=True, proj_size=2, dtype=dtype, seed=1),
                  LSTM(2, 3, 2, bias=False, cell="peephole", dtype=dtype, seed=2),
                  LSTM(3, 4, cell="lstm1997", batch_first=True, dtype=dtype, seed=3),
                  LSTM(3, 4, 3, cell="cifg", proj_size=1, dtype=dtype, seed=4)):
        sd = model.state_dict()
        assert all(v.dtype == dtype for v in sd.values())
        other = LSTM(model.input_size, model.hidden_size, model.num_layers, bias=model.bias,
                     batch_first=model.batch_first, bidirectional=model.bidirectional, proj_size=model.proj_size,
                     cell=model.cell.name, dtype=dtype, seed=99)
        other.load_state_dict(sd)
        assert list(other.state_dict()) == list(sd)
        assert all(np.array_equal(other.state_dict()[key], v) for key, v in sd.items())
        xs = np.random.default_rng(0).standard_normal((4, 2, model.input_size))
        assert np.array_equal(model(xs)[0].data, other(xs)[0].data)
    peephole = LSTM(2, 3, 2, bidirectional=True, cell="peephole").state_dict()
    assert {"weight_ci_l0", "weight_cf_l1_reverse", "weight_co_l1"} <= set(peephole)
    assert peephole["weight_co_l1"].shape == (3,) and peephole["weight_ih_l1"].shape == (12, 6)


def test_a_layered_lstm_round_trips_through_torch_with_its_projection():
    torch = pytest.importorskip("torch")
    model = LSTM(2, 3, 2, bidirectional=True, batch_first=True, proj_size=2, seed=1)
    module = model.to_torch()
    assert module.proj_size == 2 and set(module.state_dict()) == set(model.state_dict())
    assert module.weight_hr_l1_reverse.shape == (2, 3)
    back = LayeredLSTM.from_torch(module)
    assert back.proj_size == 2 and back.batch_first
    assert all(np.array_equal(back.state_dict()[k], v) for k, v in model.state_dict().items())
    xs = np.random.default_rng(0).standard_normal((2, 4, 2))
    output, (h_n, c_n) = module(torch.from_numpy(xs))
    mine, (h, c) = model(xs)
    for theirs, ours in ((output, mine), (h_n, h), (c_n, c)):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="^LSTM: the cell 'peephole' has no torch counterpart$"):
        LSTM(2, 3, 2, cell="peephole").to_torch()


@pytest.mark.parametrize("cell", ["lstm", "lstm1997", "peephole", "cifg"])
@pytest.mark.parametrize("layers, bidirectional, proj_size", [(1, False, 0), (1, False, 2), (2, True, 0),
                                                               (3, True, 2)])
def test_lstm_shapes_are_torchs_with_the_one_layer_exception(cell, layers, bidirectional, proj_size):
    D, B, T, X, H = 2 if bidirectional else 1, 5, 4, 2, 3
    H_out = proj_size or H
    model = LSTM(X, H, layers, bidirectional=bidirectional, proj_size=proj_size, cell=cell, bias=False, seed=0)
    output, (h_n, c_n) = model(np.ones((T, B, X)))
    assert output.shape == (T, B, D * H_out)
    count = D * layers
    assert (h_n.shape, c_n.shape) == (((B, H_out), (B, H)) if count == 1 else ((count, B, H_out), (count, B, H)))
    output, (h_n, c_n) = model(np.ones((T, X)))  # unbatched
    assert output.shape == (T, D * H_out)
    assert (h_n.shape, c_n.shape) == (((H_out,), (H,)) if count == 1 else ((count, H_out), (count, H)))
    states = (np.zeros((count, B, H_out)), np.zeros((count, B, H)))
    again, (h_again, c_again) = model(np.ones((T, B, X)), states)  # torch's shapes are always accepted
    assert again.shape == (T, B, D * H_out) and c_again.shape[-2:] == (B, H) and h_again.shape[-2:] == (B, H_out)
    if count == 1:
        assert model(np.ones((T, B, X)), (states[0][0], states[1][0]))[1][0].shape == (B, H_out)


def test_every_tensor_of_a_layered_lstm_says_its_layer_and_direction_and_the_plain_one_keeps_its_names():
    model = LSTM(2, 3, 2, bidirectional=True, proj_size=2, cell="peephole", seed=0)
    output, (h_n, c_n) = model(np.ones((3, 2, 2)))
    names = named([output, h_n, c_n])
    assert {"l1/reverse/t2/cell state update/c_t", "l0/t0/input gate/u", "l1/t1/hidden state update/m_t",
            "l0/reverse/w_co", "l1/W_hr", "h_n", "c_n"} <= set(names)
    assert set(model.parameters()) >= {"l0/w_ci", "l1/reverse/W_hr", "l1/reverse/b_hg"}
    plain = LSTM(2, 3, seed=0)
    hs, (h_T, c_T) = plain(np.ones((3, 2, 2)))
    names = named([hs, h_T, c_T])
    assert {"t2/cell state update/c_t", "t0/input gate/p", "W_xi", "b_g"} <= set(names)
    assert sorted(plain.parameters()) == sorted(f"{k}_{g}" if k == "b" else f"{k}{g}" for g in "ifog"
                                                for k in ("W_x", "W_h", "b"))


def test_bad_lstm_state_dicts_and_arguments_are_refused_in_one_line():
    plain = LSTM(2, 3, seed=0)
    sd = plain.state_dict()
    for given, said in [({k: v for k, v in sd.items() if k != "bias_hh_l0"}, "missing key bias_hh_l0"),
                        ({**sd, "weight_hr_l0": np.zeros((2, 3))}, "unexpected key weight_hr_l0"),
                        ({**sd, "weight_hh_l0": np.zeros((12, 2))},
                         "weight_hh_l0 must have shape (12, 3), got (12, 2)"),
                        ({**sd, "bias_ih_l0": np.array(["a"] * 12)},
                         "bias_ih_l0 must hold real numbers, got dtype <U1"),
                        ([1, 2], "expected a dict of arrays, got list")]:
        with pytest.raises(ValueError, match=f"^LSTM.load_state_dict: {re.escape(said)}$"):
            plain.load_state_dict(given)
    assert all(np.array_equal(plain.state_dict()[k], v) for k, v in sd.items())  # nothing half-loaded
    with pytest.raises(ValueError, match="^LSTM.load_state_dict: missing keys weight_ci_l0, weight_cf_l0, "
                                         "weight_co_l0$"):
        LSTM(2, 3, cell="peephole", bias=False).load_state_dict(LSTM(2, 3, bias=False).state_dict())
    with pytest.raises(ValueError, match=re.escape("LSTM.load_state_dict: weight_hh_l0 must have shape (12, 2), "
                                                   "got (12, 3)")):
        LSTM(2, 3, proj_size=2).load_state_dict({**LSTM(2, 3, proj_size=2).state_dict(), "weight_hh_l0":
                                                  np.zeros((12, 3))})
    with pytest.raises(ValueError, match="^LSTM.load_state_dict: unexpected key weight_hr_l0$"):
        LSTM(2, 3, bias=False).load_state_dict(LSTM(2, 3, bias=False, proj_size=1).state_dict())
    for arguments, said in [({"proj_size": 3}, "proj_size must be smaller than hidden_size (3), got 3"),
                            ({"proj_size": -1}, "proj_size must be a non-negative integer, got -1"),
                            ({"cell": "gru"}, "cell must be one of 'lstm', 'lstm1997', 'peephole', 'cifg', got 'gru'"),
                            ({"num_layers": 0}, "num_layers must be a positive integer, got 0")]:
        with pytest.raises(ValueError, match=f"^LSTM: {re.escape(said)}$"):
            LSTM(2, 3, **arguments)
    with pytest.raises(ValueError, match=re.escape("LSTM: c0 must have shape (2, 5, 3), got (2, 5, 2)")):
        LSTM(2, 3, 2, proj_size=2)(np.zeros((4, 5, 2)), (np.zeros((2, 5, 2)), np.zeros((2, 5, 2))))
    with pytest.raises(ValueError, match=re.escape("LSTM: state must be a pair (h0, c0)")):
        LSTM(2, 3, 2)(np.zeros((4, 5, 2)), np.zeros((2, 5, 3)))


def test_an_lstms_dropout_acts_between_layers_in_training_mode_only():
    xs = np.random.default_rng(0).standard_normal((5, 4, 2))
    model, plain = LSTM(2, 8, 2, dropout=0.5, proj_size=3, seed=7), LSTM(2, 8, 2, proj_size=3, seed=7)
    output, (h_n, c_n) = model(xs)
    assert {n for n in named([output]) if "dropout" in n} == {"l1/dropout", "l1/dropout mask"}
    assert not np.array_equal(output.data, plain(xs)[0].data)
    (output.sum() + h_n.sum() + c_n.sum()).backward()
    assert all(p.grad is not None for p in model.parameters().values())
    model.eval()
    assert np.array_equal(model(xs)[1][1].data, plain(xs)[1][1].data)


def test_lstm_from_torch_picks_the_model_and_to_torch_gives_the_same_outputs():
    torch = pytest.importorskip("torch")
    xs = np.random.default_rng(0).standard_normal((3, 2, 2))
    for arguments, kind in (({}, sequence.LSTM), ({"num_layers": 2, "proj_size": 1}, LayeredLSTM),
                            ({"bias": False}, LayeredLSTM)):
        torch.manual_seed(0)
        module = torch.nn.LSTM(2, 3, **arguments, dtype=torch.float64)
        model = LSTM.from_torch(module)
        assert type(model) is kind
        expected = module(torch.from_numpy(xs))[0].detach().numpy()
        np.testing.assert_allclose(model(xs)[0].data, expected, rtol=0, atol=1e-14)
        np.testing.assert_allclose(model.to_torch()(torch.from_numpy(xs))[0].detach().numpy(), expected, rtol=0,
                                   atol=1e-14)
    plain = LSTM(2, 3, dtype=np.float32, seed=0)
    assert plain.training and plain.eval() is plain and not plain.training
    module = plain.to_torch()
    assert not module.training and next(module.parameters()).dtype == torch.float32
    assert LSTM.from_torch(module).dtype == np.float32
