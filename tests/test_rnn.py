"""The plain tanh RNN: finite differences, PyTorch's nn.RNN, the formula by hand, names, shapes and errors."""

import numpy as np
import pytest

from autograd import Tensor, gradcheck
from lstm.model.rnn import NAMES, RNN, run
from lstm.names import HIDDEN_STATE


def by_hand(params, xs, h):
    """h_t = tanh(W_xh x_t + W_hh h_{t−1} + b_h), in numpy, one column per sequence."""
    hs = []
    for x in xs:
        h = np.tanh(x @ params["W_xh"].T + h @ params["W_hh"].T + params["b_h"])
        hs.append(h)
    return np.stack(hs)


@pytest.mark.parametrize("batch", [(), (3,)])
def test_gradcheck_against_finite_differences(batch):
    rng = np.random.default_rng(0)
    model = RNN(2, 4, seed=0)
    xs = Tensor(rng.standard_normal((5, *batch, 2)), requires_grad=True, name="xs")
    h0 = Tensor(rng.standard_normal((*batch, 4)), requires_grad=True, name="h0")
    weights = rng.standard_normal((5, *batch, 4))

    def loss(xs, h0, *params):
        hs, h_T = run(dict(zip(NAMES, params, strict=True)), xs, h0)
        return (hs * weights).sum() + (h_T * h_T).sum()

    assert gradcheck(loss, [xs, h0, *model.parameters().values()])


def test_forward_is_the_formula():
    rng = np.random.default_rng(1)
    model = RNN(3, 5, seed=1)
    xs, h0 = rng.standard_normal((7, 2, 3)), rng.standard_normal((2, 5))
    hs, h_T = model(xs, h0)
    np.testing.assert_allclose(hs.data, by_hand(model.arrays(), xs, h0), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(h_T.data, hs.data[-1])
    unbatched, _ = model(xs[:, 0])
    np.testing.assert_allclose(unbatched.data, by_hand(model.arrays(), xs[:, :1], np.zeros((1, 5)))[:, 0],
                               rtol=0, atol=1e-14)


def test_matches_pytorch_rnn_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    model = RNN(3, 4, seed=2)
    xs, h0, dhs = rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((6, 2, 4))
    reference = torch.nn.RNN(3, 4, nonlinearity="tanh").double()
    with torch.no_grad():
        reference.weight_ih_l0.copy_(torch.tensor(model.arrays()["W_xh"]))
        reference.weight_hh_l0.copy_(torch.tensor(model.arrays()["W_hh"]))
        reference.bias_ih_l0.copy_(torch.tensor(model.arrays()["b_h"]))
        reference.bias_hh_l0.zero_()
    txs, th0 = torch.tensor(xs, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    ths, _ = reference(txs, th0)
    (ths * torch.tensor(dhs)).sum().backward()
    mine_xs, mine_h0 = Tensor(xs, requires_grad=True), Tensor(h0, requires_grad=True)
    hs, _ = model(mine_xs, mine_h0)
    (hs * dhs).sum().backward()
    np.testing.assert_allclose(hs.data, ths.detach().numpy(), rtol=0, atol=1e-12)
    grads = model.parameters()
    np.testing.assert_allclose(grads["W_xh"].grad, reference.weight_ih_l0.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads["W_hh"].grad, reference.weight_hh_l0.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads["b_h"].grad, reference.bias_ih_l0.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mine_xs.grad, txs.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mine_h0.grad, th0.grad.numpy()[0], rtol=0, atol=1e-12)


def test_h_t_carry_the_lstm_names_and_float32_stays_float32():
    model = RNN(2, 3, dtype=np.float32, seed=0)
    hs, h_T = model(np.ones((4, 2)))
    assert h_T.name == str(HIDDEN_STATE.at(3)) and hs.dtype == np.float32
    (hs.sum()).backward()
    assert all(t.grad.dtype == np.float32 for t in model.parameters().values())


def test_equal_seeds_equal_parameters_and_pytorch_bounds():
    a, b = RNN(3, 16, seed=5), RNN(3, 16, seed=5)
    for name, t in a.parameters().items():
        np.testing.assert_array_equal(t.data, b.parameters()[name].data)
        assert np.abs(t.data).max() <= 1 / 4
    assert a.arrays()["W_xh"].shape == (16, 3) and a.arrays()["W_hh"].shape == (16, 16)


@pytest.mark.parametrize("make, message", [
    (lambda: RNN(0, 3), "RNN: input_size must be a positive integer, got 0"),
    (lambda: RNN(2, 3, dtype=np.int32), "RNN: dtype must be float32 or float64, got int32"),
    (lambda: RNN(2, 3)(np.ones((4, 5))), r"RNN: xs must have shape \(T, B, X\) or \(T, X\) with X = 2, got \(4, 5\)"),
    (lambda: RNN(2, 3)(np.ones((0, 2))), r"RNN: xs must hold at least one step, got shape \(0, 2\)"),
    (lambda: RNN(2, 3)(np.ones((4, 5, 2)), np.zeros((4, 3))), r"RNN: h0 must have shape \(5, 3\), got \(4, 3\)"),
])
def test_errors_name_what_was_expected_and_given(make, message):
    with pytest.raises(ValueError, match=message):
        make()
