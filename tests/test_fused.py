"""The fused fast path: the per-gate path's numbers, to 1e-12, in every shape and dtype."""

import numpy as np
import pytest

from autograd import Tensor, gradcheck
from lstm import LSTM, NAMES
from lstm.model.fused import lstm_sequence


def gradients(model, xs, state, upstream):
    xs = Tensor(xs, requires_grad=True)
    h0, c0 = (Tensor(s, requires_grad=True) for s in state)
    hs, (h_T, c_T) = model(xs, (h0, c0))
    ((hs * upstream).sum() + (c_T * c_T).sum() + h_T.sum()).backward()
    return hs.data, {n: model.parameters()[n].grad for n in NAMES} | {"xs": xs.grad, "h0": h0.grad, "c0": c0.grad}


@pytest.mark.parametrize("shape", [(7, 3, 4), (5, 4), (1, 1, 4), (3, 2, 4)])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_fused_equals_the_per_gate_graph(shape, dtype, tol):
    rng = np.random.default_rng(1)
    H = 5
    xs = rng.standard_normal(shape).astype(dtype)
    state = [rng.standard_normal((*shape[1:-1], H)).astype(dtype) for _ in "hc"]
    upstream = rng.standard_normal((*shape[:-1], H)).astype(dtype)
    results = []
    for fused in (False, True):
        model = LSTM(4, H, seed=3, dtype=dtype)
        model.fused = fused
        results.append(gradients(model, xs, state, upstream))
    (hs, grads), (hs_fused, grads_fused) = results
    np.testing.assert_allclose(hs_fused, hs, rtol=0, atol=tol)
    for name, g in grads.items():
        assert grads_fused[name].dtype == dtype
        np.testing.assert_allclose(grads_fused[name], g, rtol=0, atol=tol, err_msg=name)


def test_fused_is_exact_at_extreme_preactivations():
    model = LSTM(2, 3, seed=0)
    model.fused = True
    hs, (h_T, c_T) = model(np.array([[1e4, -1e4], [-1e4, 1e4]]))
    hs.sum().backward()
    assert np.all(np.isfinite(hs.data)) and np.all(np.isfinite(model.parameters()["W_xi"].grad))


def test_each_declared_partial_of_the_fused_primitive_passes_gradcheck():
    rng = np.random.default_rng(0)
    T, B, X, H = 3, 2, 2, 3
    operands = [Tensor(rng.standard_normal(shape) * 0.5, requires_grad=True, name=name) for name, shape in
                [("xs", (T, B, X)), ("h0", (B, H)), ("c0", (B, H)), ("W_x", (4 * H, X)), ("W_h", (4 * H, H)),
                 ("b", (4 * H,))]]
    weights = rng.standard_normal((2, T, B, H))
    assert gradcheck(lambda *ops: (lstm_sequence(*ops) * weights).sum(), operands)
    out = lstm_sequence(*operands)
    alone = [lstm_sequence.vjp(k, weights, out) for k in range(len(operands))]
    joint = lstm_sequence.gradients(weights, out)  # one partial alone gives the same
    for a, j in zip(alone, joint, strict=True):
        np.testing.assert_array_equal(a, j)
    again = lstm_sequence.gradients(weights, out)  # not told it is the last: what it saved is still intact
    for j, g in zip(joint, again, strict=True):
        np.testing.assert_array_equal(j, g)
