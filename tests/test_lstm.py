"""The LSTM built from the primitives: PyTorch's numbers, the hand BPTT, shapes, layouts, files and errors."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor, gradcheck
from lstm import LSTM, NAMES, LSTMCell, hand
from lstm.model.cell import oriented_weights, step
from lstm.model.rnn import RNN
from lstm.names import TORCH_ORDER

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("torch_lstm_*.npz"))


def engine_gradients(model, xs, h0, c0, dhs, dh_T, dc_T):
    xs, h0, c0 = (Tensor(a, requires_grad=True) for a in (xs, h0, c0))
    hs, (h_T, c_T) = model(xs, (h0, c0))
    ((hs * dhs).sum() + (h_T * dh_T).sum() + (c_T * dc_T).sum()).backward()
    grads = {name: p.grad for name, p in model.parameters().items()}
    return hs, h_T, c_T, grads | {"xs": xs.grad, "h0": h0.grad, "c0": c0.grad}


def stacked_gradient(grads, prefix, H):
    return np.concatenate([grads[prefix.format(k)] for k in TORCH_ORDER]) if H else None


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_engine_and_hand_match_pytorch(path):
    f = np.load(path)
    model = LSTM.from_stacked(f["weight_ih"], f["weight_hh"], f["bias_ih"], f["bias_hh"])
    args = [f[k] for k in ("xs", "h0", "c0", "dhs", "dh_T", "dc_T")]
    hs, h_T, c_T, grads = engine_gradients(model, *args)
    np.testing.assert_allclose(hs.data, f["hs"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_T.data, f["h_T"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(c_T.data, f["c_T"], rtol=0, atol=1e-12)
    mine = hand.backward(model.arrays(), *args)
    H = model.hidden_size
    for source in (grads, mine):
        np.testing.assert_allclose(stacked_gradient(source, "W_x{}", H), f["grad_weight_ih"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(stacked_gradient(source, "W_h{}", H), f["grad_weight_hh"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(stacked_gradient(source, "b_{}", H), f["grad_bias_ih"], rtol=0, atol=1e-10)
        for name in ("xs", "h0", "c0"):
            np.testing.assert_allclose(source[name], f[f"grad_{name}"], rtol=0, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(X=st.integers(1, 5), H=st.integers(1, 5), B=st.sampled_from([None, 1, 3]), T=st.integers(1, 6),
       seed=st.integers(0, 1000))
def test_hand_backward_equals_the_engine(X, H, B, T, seed):
    rng = np.random.default_rng(seed)
    batch = () if B is None else (B,)
    model = LSTM(X, H, seed=seed)
    args = [rng.standard_normal(shape) for shape in
            [(T, *batch, X), (*batch, H), (*batch, H), (T, *batch, H), (*batch, H), (*batch, H)]]
    *_, grads = engine_gradients(model, *args)
    mine = hand.backward(model.arrays(), *args)
    assert set(mine) == set(NAMES) | {"xs", "h0", "c0"} and len(mine) == 15
    for name, g in grads.items():
        np.testing.assert_allclose(mine[name], g, rtol=1e-10, atol=1e-12, err_msg=name)


def test_hand_without_final_state_gradients():
    rng = np.random.default_rng(0)
    model = LSTM(2, 3, seed=1)
    xs, h0, c0, dhs = rng.standard_normal((4, 2)), np.zeros(3), np.zeros(3), rng.standard_normal((4, 3))
    *_, grads = engine_gradients(model, xs, h0, c0, dhs, np.zeros(3), np.zeros(3))
    mine = hand.backward(model.arrays(), xs, h0, c0, dhs)
    for name, g in grads.items():
        np.testing.assert_allclose(mine[name], g, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("batch", [(), (2,)])
def test_gradcheck_on_the_cell(batch):
    """The cell's step, with every parameter and input as a gradcheck input."""
    rng = np.random.default_rng(0)
    cell = LSTMCell(3, 2, seed=0)
    x, h, c = (Tensor(rng.standard_normal((*batch, n)), requires_grad=True, name=name)
               for name, n in (("x_t", 3), ("h_{t-1}", 2), ("c_{t-1}", 2)))
    weights = rng.standard_normal((*batch, 2))

    def loss(x, h, c, *params):
        h_t, c_t = step(oriented_weights(dict(zip(NAMES, params, strict=True)), bool(batch)), x, h, c)
        return (h_t * weights).sum() + (c_t * c_t).sum()

    assert gradcheck(loss, [x, h, c, *cell.parameters().values()])


def test_ten_thousand_steps_run_forward_and_backward():
    rng = np.random.default_rng(0)
    model = LSTM(2, 3, seed=0)
    hs, (h_T, c_T) = model(rng.standard_normal((10_000, 2)))
    (hs.sum() + c_T.sum()).backward()
    assert hs.shape == (10_000, 3) and np.all(np.isfinite(model.parameters()["W_hf"].grad))


def test_intermediate_tensors_carry_the_derivation_names():
    cell = LSTMCell(3, 2, seed=0)
    h_t, c_t = cell(np.ones(3))
    assert h_t.name == "hidden state update/h_t" and c_t.name == "cell state update/c_t"
    q = h_t.parents[1]
    assert q.name == "hidden state update/q" and q.parents[0] is c_t
    i_t = c_t.parents[1].parents[0]
    assert i_t.name == "input gate/i_t" and i_t.parents[0].name == "input gate/p"
    assert [operand.name for operand in i_t.parents[0].parents] == ["input gate/q", "input gate/v", "b_i"]


def test_equal_seeds_give_identical_parameters_and_pytorch_initialisation_bounds():
    a, b = LSTMCell(5, 7, seed=3), LSTMCell(5, 7, seed=3)
    for name in NAMES:
        np.testing.assert_array_equal(a.parameters()[name].data, b.parameters()[name].data)
        assert np.abs(a.parameters()[name].data).max() <= 1 / np.sqrt(7)
    assert a.parameters()["W_xi"].shape == (7, 5) and a.parameters()["W_hg"].shape == (7, 7)
    assert a.parameters()["b_o"].shape == (7,)
    assert not np.array_equal(a.parameters()["W_xi"].data, LSTMCell(5, 7, seed=4).parameters()["W_xi"].data)


def test_float32_model_stays_float32():
    model = LSTM(3, 4, dtype=np.float32, seed=0)
    hs, (h_T, c_T) = model(np.ones((2, 1, 3)))
    hs.sum().backward()
    assert hs.dtype == np.float32 and model.parameters()["W_xi"].grad.dtype == np.float32


def test_unbatched_and_batched_shapes():
    model = LSTM(3, 4, seed=0)
    hs, (h, c) = model(np.ones((5, 3)))
    assert hs.shape == (5, 4) and h.shape == (4,) and c.shape == (4,)
    hs, (h, c) = model(np.ones((5, 2, 3)))
    assert hs.shape == (5, 2, 4) and h.shape == (2, 4)


def test_stacked_layout_round_trip_and_bias_sum():
    rng = np.random.default_rng(0)
    w_ih, w_hh, b_ih, b_hh = rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), rng.standard_normal(8), \
        rng.standard_normal(8)
    cell = LSTMCell.from_stacked(w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_array_equal(cell.parameters()["W_xg"].data, w_ih[4:6])  # PyTorch's third block is g
    np.testing.assert_array_equal(cell.parameters()["b_o"].data, b_ih[6:] + b_hh[6:])
    out = cell.to_stacked()
    np.testing.assert_array_equal(out[0], w_ih)
    np.testing.assert_array_equal(out[1], w_hh)
    np.testing.assert_allclose(out[2], b_ih + b_hh)
    np.testing.assert_array_equal(out[3], np.zeros(8))


def test_from_stacked_names_wrong_shapes():
    with pytest.raises(ValueError, match=r"^from_stacked: weight_ih has shape \(7, 3\), expected \(8, 3\)$"):
        LSTMCell.from_stacked(np.ones((7, 3)), np.ones((8, 2)), np.ones(8), np.ones(8))
    with pytest.raises(ValueError, match=r"^from_stacked: weight_ih has shape \(12, 3\), expected \(16, 3\)$"):
        LSTM.from_stacked(np.ones((12, 3)), np.ones((16, 4)), np.ones(16), np.ones(16))  # the others are not blamed
    with pytest.raises(ValueError, match=r"weight_ih has shape \(5,\), expected \(4·H, X\); weight_hh has shape "
                                         r"\(\), expected \(4·H, H\)"):
        LSTM.from_stacked(np.ones(5), np.ones(()), np.ones(3), np.ones(7))
    with pytest.raises(ValueError, match=r"weight_hh has shape \(8, 3\), expected \(8, 2\); bias_hh has shape"):
        LSTM.from_stacked(np.ones((8, 3)), np.ones((8, 3)), np.ones(8), np.ones(7))


def test_save_and_load_round_trip(tmp_path):
    model = LSTM(3, 4, seed=5)
    path = model.save(tmp_path / "weights.npz")
    loaded = LSTM.load(path)
    for name in NAMES:
        np.testing.assert_array_equal(loaded.parameters()[name].data, model.parameters()[name].data)
    assert sorted(np.load(path).files) == sorted(NAMES)


def test_load_names_missing_extra_and_misshapen_arrays(tmp_path):
    arrays = LSTMCell(3, 4, seed=0).arrays()
    del arrays["b_f"]
    arrays["W_hg"] = np.ones((4, 5))
    arrays["bias"] = np.ones(3)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"missing b_f \(4,\); unexpected bias; W_hg has shape \(4, 5\), expected"):
        LSTMCell.load(tmp_path / "bad.npz")
    (tmp_path / "truncated.npz").write_bytes((tmp_path / "bad.npz").read_bytes()[:100])
    with pytest.raises(ValueError, match="truncated.npz"):
        LSTMCell.load(tmp_path / "truncated.npz")
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        LSTMCell.load(tmp_path / "nowhere.npz")


def test_wrong_input_width_and_state_shape_name_expected_and_given():
    cell = LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(B, X\) or \(X,\) with X = 3, got \(2, 5\)"):
        cell(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"state h must have shape \(2, 4\), got \(2, 3\)"):
        cell(np.ones((2, 3)), (np.zeros((2, 3)), np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"xs must have shape \(T, B, X\) or \(T, X\) with X = 3, got \(3,\)"):
        LSTM(3, 4)(np.ones(3))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        LSTM(3, 0)


def test_load_of_a_training_checkpoint_says_where_the_parameters_are(tmp_path):
    arrays = {f"lstm/{name}": a for name, a in LSTM(3, 4, seed=0).arrays().items()}
    arrays |= {"readout/W": np.ones((1, 4)), "readout/b": np.ones(1), "meta/step": np.array(3)}
    np.savez(tmp_path / "checkpoint.npz", **arrays)
    with pytest.raises(ValueError) as caught:
        LSTM.load(tmp_path / "checkpoint.npz")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'checkpoint.npz'}: none of the twelve parameters W_xi, W_hi")
    assert "they are under 'lstm/' here (a training checkpoint keeps the LSTM's this way); it holds 15 arrays" \
        in message
    assert "(1, 1)" not in message and "unexpected" not in message


@pytest.mark.parametrize("change, expected", [
    ({"W_xi": None}, r"w.npz: missing W_xi \(4, 3\)$"),
    ({"W_xi": np.ones(3)}, r"w.npz: W_xi has shape \(3,\), expected \(4, 3\)$"),
    ({"W_xi": None, "W_xf": None, "W_xo": None, "W_xg": None},
     r"w.npz: missing W_xi \(4, X\); missing W_xf \(4, X\); missing W_xo \(4, X\); missing W_xg \(4, X\)$"),
])
def test_one_missing_or_misshapen_array_is_named_alone(tmp_path, change, expected):
    arrays = LSTM(3, 4, seed=0).arrays() | change
    np.savez(tmp_path / "w.npz", **{name: a for name, a in arrays.items() if a is not None})
    with pytest.raises(ValueError, match=expected):
        LSTM.load(tmp_path / "w.npz")


def hand_arguments(**changes):
    model = LSTM(3, 4, seed=0)
    arguments = dict(params=model.arrays(), xs=np.ones((5, 2, 3)), h0=np.zeros((2, 4)), c0=np.zeros((2, 4)),
                     dhs=np.ones((5, 2, 4)))
    return arguments | changes


@pytest.mark.parametrize("changes, error, expected", [
    (dict(dhs=np.ones((6, 2, 4))), ValueError,
     r"dhs must have shape \(T, B, H\) = \(5, 2, 4\) for xs \(5, 2, 3\) and H = 4, got \(6, 2, 4\)"),
    (dict(dhs=np.ones((5, 2, 1))), ValueError, r"dhs must have shape \(T, B, H\) = \(5, 2, 4\).*got \(5, 2, 1\)"),
    (dict(h0=np.zeros(4)), ValueError, r"h0 must have shape \(B, H\) = \(2, 4\) .* got \(4,\)"),
    (dict(c0=np.zeros((3, 4))), ValueError, r"c0 must have shape \(B, H\) = \(2, 4\) .* got \(3, 4\)"),
    (dict(dh_T=np.zeros((2, 5))), ValueError, r"dh_T must have shape \(B, H\) = \(2, 4\) .* got \(2, 5\)"),
    (dict(dc_T=np.zeros(4)), ValueError, r"dc_T must have shape"),
    (dict(xs=np.ones((5, 2, 2))), ValueError,
     r"xs must have shape \(T, B, X\) or \(T, X\) with T ≥ 1 and X = 3, got \(5, 2, 2\)"),
    (dict(xs=np.ones((0, 2, 3))), ValueError, r"xs must .* with T ≥ 1 and X = 3, got \(0, 2, 3\)"),
    (dict(params=LSTM(3, 4).parameters()), TypeError,
     r"params\['W_xi'\]: got a Tensor; the hand BPTT takes numpy arrays: pass its .data \(for a model's "
     r"parameters, model.arrays\(\), not model.parameters\(\)\)"),
    (dict(xs=Tensor(np.ones((5, 2, 3)))), TypeError, r"xs: got a Tensor; .* pass its .data"),
    (dict(params=[1, 2]), TypeError, "params must be a dict of the twelve parameters W_xi, .* got list"),
    (dict(params={name: np.zeros((4, 3)) for name in ("W_xi", "W_xq")}), ValueError,
     r"params: missing W_hi \(4, 4\);.* unexpected W_xq"),
    (dict(xs=np.ones((5, 2, 3)) * 1j), TypeError, "xs: complex data is not supported"),
    (dict(dhs="ones"), TypeError, "dhs: expected numeric data"),
    (dict(h0=None), TypeError, "h0 is None; expected an array"),
    (dict(dhs=[[1.0], [1.0, 2.0]]), TypeError, "dhs: expected numeric data of a regular shape"),
])
def test_hand_backward_checks_its_arguments_first(changes, error, expected):
    with pytest.raises(error, match="^hand.backward: " + expected):
        hand.backward(**hand_arguments(**changes))


def test_hand_backward_refuses_complex_data_in_the_engines_words():
    with pytest.raises(TypeError) as engine:
        Tensor(np.ones(3) * 1j)
    with pytest.raises(TypeError) as mine:
        hand.backward(**hand_arguments(xs=np.ones((5, 2, 3)) * 1j))
    assert str(mine.value).removeprefix("hand.backward: xs: ") == str(engine.value).removeprefix("Tensor: ")


def test_hand_backward_takes_numbers_lists_and_integers():
    arguments = hand_arguments()
    listed = hand_arguments(xs=arguments["xs"].astype(int).tolist(), dhs=arguments["dhs"].tolist(), h0=0 * np.ones(
        (2, 4), dtype=np.int32))
    for name, grad in hand.backward(**listed).items():
        np.testing.assert_array_equal(grad, hand.backward(**arguments)[name])


@pytest.mark.parametrize("call, expected", [
    (lambda: LSTMCell(3, 4)(np.ones((2, 3)) * 1j), "LSTMCell: x: complex data is not supported"),
    (lambda: LSTMCell(3, 4)("abc"), "LSTMCell: x: expected numeric data"),
    (lambda: LSTMCell(3, 4)(np.ones((2, 3)), (np.zeros((2, 4)) * 1j, np.zeros((2, 4)))),
     "LSTMCell: state h: complex data"),
    (lambda: LSTM(3, 4)(np.ones((5, 2, 3), complex)), "LSTM: xs: complex data is not supported"),
    (lambda: LSTM(3, 4)(np.ones((5, 2, 3)), (np.zeros((2, 4)), [[1.0], [1.0, 2.0]])),
     "LSTM: state c: expected numeric data of a regular shape"),
    (lambda: RNN(3, 4)(np.ones((5, 3)) * 1j), "RNN: xs: complex data"),
    (lambda: RNN(3, 4)(np.ones((5, 3)), "zeros"), "RNN: h0: expected numeric data"),
])
def test_inputs_and_states_that_are_not_real_numbers_are_refused_naming_the_model_and_argument(call, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not cast to their real part with numpy's ComplexWarning
        with pytest.raises(TypeError, match="^" + re.escape(expected)):
            call()


def test_a_models_input_takes_its_dtype_and_a_tensor_is_taken_as_it_is():
    assert LSTMCell(3, 4)(np.ones((2, 3), np.float32))[0].dtype == np.float64
    assert LSTM(3, 4, dtype=np.float32)([[1, 2, 3]])[0].dtype == np.float32
    xs = Tensor(np.ones((5, 3)), name="mine")
    RNN(3, 4)(xs)
    assert xs.name == "mine"
