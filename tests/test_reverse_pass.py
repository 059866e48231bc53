"""The reverse pass's defects of issue 10, each as the case that exposed it: shared buffers, the fused path's
saved activations, gradcheck's blind spots, negative axes, numpy on the left, copies, threads, float32,
complex data and numpy's error state."""

import copy
import pickle
import threading

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, gradcheck, no_grad
from autograd.graph import Scatter, accumulate
from lstm import LSTM, hand
from lstm.derivation.compare import compare


def leaves(n, shape=(3,), dtype=np.float64):
    return [Tensor(np.ones(shape, dtype), requires_grad=True, name=f"x{k}") for k in range(n)]


# ---- 1. gradient buffers: in place only into what the pass made ---------------------------------------


def test_a_gradient_handed_on_unchanged_is_never_added_into():
    x, y, z = leaves(3)
    p, q = x * 2, y * 3
    s = (x + y + z) * np.ones(3)  # add hands the same array to x, y and z
    (s.sum() + p.sum() + q.sum()).backward()
    np.testing.assert_array_equal(z.grad, [1, 1, 1])
    np.testing.assert_array_equal(x.grad, [3, 3, 3])
    np.testing.assert_array_equal(y.grad, [4, 4, 4])


def test_a_read_only_gradient_is_summed_into_a_new_array():
    x, y, z = leaves(3)
    p, q = x * 2, y * 3
    s = x + y + z  # the gradient of s is sum's read-only broadcast of the seed
    (s.sum() + p.sum() + q.sum()).backward()
    np.testing.assert_array_equal(z.grad, [1, 1, 1])
    np.testing.assert_array_equal(x.grad, [3, 3, 3])


def test_reused_operands_with_an_explicit_upstream_gradient():
    a, b, c = leaves(3)
    u = np.array([1.0, 2.0, 3.0])
    ((((b - a) + c) + b) + a).backward(u)
    np.testing.assert_array_equal(a.grad, [0, 0, 0])
    np.testing.assert_array_equal(b.grad, 2 * u)
    np.testing.assert_array_equal(c.grad, u)


def test_zero_dimensional_inputs_accumulate():
    a, b = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    (a * a + a * b + b + a).backward()
    assert isinstance(a.grad, np.ndarray) and a.grad.shape == ()
    assert a.grad == 2 * 2 + 3 + 1 and b.grad == 2 + 1


def test_an_intermediate_feeding_several_ops_and_a_leaf_read_through_slices():
    x = Tensor(np.arange(4.0), requires_grad=True)
    h = ag.tanh(x)
    total = h[0] + h[1:3].sum() + h[np.array([3, 3])].sum() + h.sum()  # slices scatter into one buffer
    total.backward(retain_grads=True)
    np.testing.assert_allclose(h.grad, [2, 2, 2, 3])
    np.testing.assert_allclose(x.grad, [2, 2, 2, 3] * (1 - np.tanh(np.arange(4.0)) ** 2))


def test_accumulate_adds_in_place_only_into_the_sum_it_made():
    """The memory promise of one buffer per tensor: the first sum is a new array, owned; later gradients add into
    it in place; an arriving array, never owned, is never written."""
    arrived, more = np.ones(3), np.full(3, 2.0)
    first = accumulate(None, arrived)
    assert first[0] is arrived and first[1] is False
    total, owned = accumulate(first, more)
    assert owned and total is not arrived and np.array_equal(arrived, np.ones(3))
    again, still_owned = accumulate((total, owned), more)
    assert again is total and still_owned and np.array_equal(total, [5, 5, 5])
    scattered, owned = accumulate((arrived, False), Scatter((0,), np.array(4.0), (3,)))
    assert owned and scattered is not arrived and np.array_equal(scattered, [5, 1, 1])
    assert accumulate((scattered, True), Scatter((1,), np.array(1.0), (3,)))[0] is scattered
    dense, owned = accumulate(None, Scatter(slice(1, 3), np.ones(2), (3,)))
    assert owned and np.array_equal(dense, [0, 1, 1])


def test_gradients_the_user_sees_are_their_own_arrays():
    x, y = leaves(2)
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad, y.grad) and x.grad.flags.writeable
    x.grad += 1
    np.testing.assert_array_equal(y.grad, [1, 1, 1])


# ---- 2. the fused path keeps its saved activations while the graph is kept ----------------------------


def _fused_and_per_gate(seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((4, 2, 3))
    models = [LSTM(3, 5, seed=seed), LSTM(3, 5, seed=seed)]
    models[0].fused = True
    return models, xs


@pytest.mark.parametrize("keep", [{"retain_graph": True}, {"retain_grads": True}])
def test_fused_backward_twice_over_a_kept_graph_is_exact(keep):
    (fused, per_gate), xs = _fused_and_per_gate()
    runs = []
    for model in (fused, per_gate):
        hs, _ = model(xs)
        loss = (hs * hs).sum()
        loss.backward(**keep)
        loss.backward(**keep)
        runs.append(model.parameters())
    for name, t in runs[0].items():
        np.testing.assert_allclose(t.grad, runs[1][name].grad, rtol=1e-12, atol=1e-13, err_msg=name)


def test_fused_backward_from_c_T_after_h_T():
    (fused, per_gate), xs = _fused_and_per_gate(1)
    grads = []
    for model in (fused, per_gate):
        _, (h_T, c_T) = model(xs)
        h_T.sum().backward(retain_graph=True)
        c_T.sum().backward()
        grads.append({name: t.grad for name, t in model.parameters().items()})
    for name in grads[0]:
        np.testing.assert_allclose(grads[0][name], grads[1][name], rtol=1e-12, atol=1e-13, err_msg=name)


# ---- 3. gradcheck ---------------------------------------------------------------------------------------

LAYOUTS = {
    "transposed": lambda a: a.T,
    "fortran": np.asfortranarray,
    "axes swapped": lambda a: np.swapaxes(a.reshape(2, 3, 2), 0, 2).reshape(2, 6)[:, ::2].T,
    "strided": lambda a: (np.arange(24.0).reshape(4, 6) / 10)[:, ::2],
}
WRONG = ag.Primitive("wrong_tanh", "tanh", np.tanh, (ag.Partial("1", lambda u, ans, x: u),))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradcheck_perturbs_non_contiguous_inputs(layout):
    data = LAYOUTS[layout](np.random.default_rng(0).standard_normal((3, 4)))
    assert not data.flags.c_contiguous
    weights = np.random.default_rng(1).standard_normal(data.shape)
    assert gradcheck(lambda x: (ag.tanh(x) * weights).sum(), [Tensor(data, requires_grad=True)])
    with pytest.raises(AssertionError, match="finite difference"):
        gradcheck(lambda x: (WRONG(x) * weights).sum(), [Tensor(data, requires_grad=True)])


def test_gradcheck_fails_when_the_finite_difference_is_not_finite():
    x = Tensor([1.0 + 1e-8, 2.0], requires_grad=True, name="x")
    with pytest.raises(AssertionError, match=r"x at index \(0,\): the finite difference is not finite"):
        gradcheck(lambda x: ag.log(x - 1.0).sum(), [x])


@pytest.mark.parametrize("shape", [(1,), (1, 1), ()])
def test_gradcheck_takes_any_one_element_output(shape):
    x = Tensor([0.3, -0.2], requires_grad=True)
    assert gradcheck(lambda x: ag.tanh(x).sum().reshape(shape), [x])


# ---- 4. transpose with negative axes ---------------------------------------------------------------------


@pytest.mark.parametrize("shape,axes", [((2, 3), (-1, 0)), ((2, 3), (1, -2)), ((2, 3, 4), (-1, 0, -2)),
                                        ((2, 3, 4), (1, -1, 0))])
def test_transpose_with_negative_axes(shape, axes):
    x = Tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    weights = np.random.default_rng(1).standard_normal(np.transpose(x.data, axes).shape)
    (ag.transpose(x, axes=axes) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, np.transpose(weights, np.argsort(np.array(axes) % len(shape))))


def test_operands_must_be_tensors_and_parameters_keywords():
    with pytest.raises(TypeError, match=r"transpose: takes 1 operand\(s\), got 2"):
        ag.transpose(Tensor(np.ones((2, 3))), (1, 0))
    with pytest.raises(TypeError, match=r"^add: expected numeric data \(a number, a list of numbers or a numeric "
                                        r"ndarray\), got str of dtype <U1$"):
        Tensor(np.ones(2)) + "a"  # the primitive's name, not the Tensor's, since that is where it came


# ---- 5. numpy on the left -------------------------------------------------------------------------------


@pytest.mark.parametrize("make,expected", [
    (lambda x: np.ones(3) + x, np.ones(3)),
    (lambda x: np.float64(0.5) * x, np.full(3, 0.5)),
    (lambda x: np.arange(6.0).reshape(2, 3) @ x, np.arange(6.0).reshape(2, 3).sum(axis=0)),
    (lambda x: np.ones(3) - x, -np.ones(3)),
    (lambda x: np.full(3, 2.0) / x, -2 / np.arange(1.0, 4.0) ** 2),
])
def test_a_numpy_operand_on_the_left_gives_a_tensor(make, expected):
    x = Tensor(np.arange(1.0, 4.0), requires_grad=True)
    y = make(x)
    assert type(y) is Tensor
    y.sum().backward()
    np.testing.assert_allclose(x.grad, expected)


# ---- 6. copies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda t: pickle.loads(pickle.dumps(t)), copy.copy])
def test_a_copy_and_its_original_meet_in_one_graph(duplicate):
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = ag.tanh(x)
    twin = duplicate(y)
    assert twin.is_leaf and twin.requires_grad and twin.name is None
    (y * twin).sum().backward()
    np.testing.assert_allclose(twin.grad, np.tanh([1.0, 2.0]))
    np.testing.assert_allclose(x.grad, np.tanh([1.0, 2.0]) * (1 - np.tanh([1.0, 2.0]) ** 2))


def test_a_copied_model_trains_beside_the_original():
    model = LSTM(2, 3, seed=0)
    twin = copy.deepcopy(model)
    xs = np.ones((2, 1, 2))
    (model(xs)[0].sum() + twin(xs)[0].sum()).backward()
    for name, t in model.parameters().items():
        np.testing.assert_array_equal(t.grad, twin.parameters()[name].grad)
    assert pickle.loads(pickle.dumps(model)).parameters()["W_xi"].name == "W_xi"


# ---- 7. no_grad belongs to its thread -------------------------------------------------------------------


def test_no_grad_in_another_thread_does_not_stop_recording_here():
    inside, release = threading.Event(), threading.Event()

    def other():
        with no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    try:
        assert (Tensor([1.0], requires_grad=True) * 2).requires_grad
    finally:
        release.set()
        thread.join()


def test_no_grad_blocks_exiting_out_of_order_leave_recording_on():
    first, second = no_grad(), no_grad()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not (Tensor([1.0], requires_grad=True) * 2).requires_grad
    second.__exit__(None, None, None)
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad


# ---- 8. float32 stays float32 ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda x: x.mean(axis=0),
    lambda x: x.mean(axis=(0, 1)),
    lambda x: x + [1, 2, 3],
    lambda x: x + [0.5, 1.5, 2.5],  # a list of Python floats is float64 to numpy, and still takes x's dtype
    lambda x: x * np.arange(3),
    lambda x: np.arange(3) - x,
    lambda x: x / 3,
    lambda x: np.float64(0.5) * x,
    lambda x: True * x,
])
def test_float32_stays_float32_with_any_operand(make):
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    y = make(x)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32


def test_a_float64_array_promotes_and_the_float32_gradient_stays_float32():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = x * np.ones(3)  # a float64 array promotes, as in numpy
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_pytorch_float32_weights_build_a_float32_model():
    rng = np.random.default_rng(0)
    stacked = [rng.standard_normal(s).astype(np.float32) for s in ((8, 3), (8, 2), (8,), (8,))]
    model = LSTM.from_stacked(*stacked)
    assert model.dtype == np.float32
    hs, _ = model(np.ones((2, 3), np.float32))
    assert hs.dtype == np.float32
    assert LSTM.from_stacked(*stacked, dtype=np.float64).dtype == np.float64


# ---- 9. complex data is refused everywhere ---------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: Tensor([1 + 2j]),
    lambda: Tensor([1.0]) + np.array([1j]),
    lambda: Tensor([1.0]) * 1j,
    lambda: Tensor([1.0]) * np.complex128(1j),
    lambda: ag.add(np.ones(1), [2j]),
    lambda: Tensor([1.0], requires_grad=True).sum().backward(np.complex128(1)),
    lambda: LSTM(1, 1).load_arrays({name: np.ones(t.shape, complex) for name, t in LSTM(1, 1).parameters().items()}),
])
def test_complex_data_is_refused_with_one_clear_error(make):
    with pytest.raises(TypeError, match=r"complex data is not supported \(real float32 or float64 only\)"):
        make()


# ---- 10. underflow is an answer, not an error ------------------------------------------------------------


@pytest.fixture
def raise_on_every_floating_point_error():
    with np.errstate(all="raise"):
        yield


@pytest.mark.usefixtures("raise_on_every_floating_point_error")
@pytest.mark.parametrize("fn", [
    ag.sigmoid, ag.exp, ag.tanh,
    lambda x: ag.log_softmax(x.reshape(1, 2), axis=1),
    lambda x: ag.cross_entropy(x.reshape(1, 2), [0]) + ag.cross_entropy(x.reshape(1, 2), [1]),
])
def test_extremes_underflow_quietly_under_numpy_raise(fn):
    x = Tensor([-1000.0, 1000.0], requires_grad=True) if fn is not ag.exp else Tensor([-1000.0], requires_grad=True)
    fn(x).sum().backward()
    assert np.all(np.isfinite(x.grad))


@pytest.mark.usefixtures("raise_on_every_floating_point_error")
@pytest.mark.parametrize("fused", [False, True])
def test_the_lstm_saturates_quietly_under_numpy_raise(fused):
    model = LSTM(2, 3, seed=0)
    model.fused = fused
    xs = np.array([[[1000.0, -1000.0]], [[-1000.0, 1000.0]], [[0.5, 0.1]]])
    hs, _ = model(xs)
    hs.sum().backward()
    hand.backward(model.arrays(), xs, np.zeros((1, 3)), np.zeros((1, 3)), np.ones(hs.shape))
    assert all(np.all(np.isfinite(t.grad)) for t in model.parameters().values())


@pytest.mark.usefixtures("raise_on_every_floating_point_error")
def test_the_comparison_runs_under_numpy_raise():
    assert compare(length=3).passed


def test_an_upstream_gradient_takes_the_tensors_dtype_and_a_bad_one_is_named():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    (x * 2.0).backward(np.ones(3))  # a float64 upstream gradient: float32 work stays float32
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="^backward: expected numeric data"):
        (x * 2.0).backward("abc")
    # a float64 upstream gradient is rounded to float32 first, as if it had been given in float32
    rng = np.random.default_rng(0)
    x0, upstream = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5))
    grads = []
    for given in (upstream, upstream.astype(np.float32), Tensor(upstream)):
        x = Tensor(x0, requires_grad=True)
        (ag.tanh(x * 1.1) * ag.sigmoid(x)).backward(given)
        grads.append(x.grad)
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[2], grads[1])
    with pytest.raises(ValueError, match=r"^backward: grad may be omitted only for a one-element tensor; the tensor "
                                         r"of shape \(3,\) has 3 elements, so pass a grad of shape \(3,\)$"):
        (Tensor(np.ones(3), requires_grad=True) * 2.0).backward()
