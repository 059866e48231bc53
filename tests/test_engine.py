"""The Tensor and the reverse pass: accumulation, depth, memory, dtypes, modes and errors."""

import copy
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import Tensor, gradcheck, no_grad
from autograd.graph import walk


def test_data_conversion_and_properties():
    t = Tensor([[1, 2, 3]], name="x")
    assert t.dtype == np.float64 and t.shape == (1, 3) and t.name == "x" and t.grad is None
    assert Tensor(np.arange(3, dtype=np.int32)).dtype == np.float64
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(True).dtype == np.float64


@pytest.mark.parametrize("bad", ["abc", [[1, 2], [3]], {"a": 1}])
def test_non_numeric_data_is_refused_clearly(bad):
    with pytest.raises(TypeError, match="Tensor: expected numeric data"):
        Tensor(bad)


def test_float32_stays_float32_through_ops_numbers_and_gradients():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    W = Tensor(np.ones((3, 3), np.float32), requires_grad=True)
    y = ag.tanh(ag.sigmoid(x @ W) * 2.0 + 1 - 0.5) / 3.0
    loss = ag.mean(ag.log(ag.exp(y)))
    assert y.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32


def test_gradient_accumulates_where_a_tensor_feeds_several_ops():
    x = Tensor([2.0, 3.0], requires_grad=True)
    y = (x * x + x * 3.0 + ag.tanh(x)).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 3 + 1 - np.tanh(x.data) ** 2)


def test_the_walk_lists_each_tensor_once_after_its_operands_from_several_roots():
    """The one walk the reverse pass, the renderer and the comparison share: roots that reach each other, or
    come twice, still list every tensor once, operands first."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = ag.tanh(x)
    z = y * 2.0
    w = ag.exp(x)
    order = walk([y, z, y, w])
    assert len(order) == len({id(t) for t in order}) == 5  # x, y, the constant 2.0, z, w
    assert {id(t) for t in order} >= {id(x), id(y), id(z), id(w)}
    position = {id(t): k for k, t in enumerate(order)}
    assert position[id(x)] < position[id(y)] < position[id(z)] and position[id(x)] < position[id(w)]


def test_the_package_exports_exactly_its_public_names():
    """`from autograd import *` gives every public name the package defines, and nothing it does not have."""
    public = {name for name, value in vars(ag).items() if not name.startswith("_") and not inspect.ismodule(value)}
    assert sorted(ag.__all__) == sorted(public)
    namespace = {}
    exec("from autograd import *", namespace)
    assert public <= set(namespace)


def test_leaf_gradients_accumulate_across_backward_calls_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])
    x.zero_grad()
    assert x.grad is None


def test_a_chain_100000_ops_deep_backpropagates():
    x = Tensor(0.3, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = ag.tanh(y) * 1.0
    y.backward()
    expected = 1.0
    value = 0.3
    for _ in range(100_000):
        value = np.tanh(value)
        expected *= 1 - value**2
    np.testing.assert_allclose(x.grad, expected, rtol=1e-9)


def test_intermediate_gradients_are_kept_on_request_and_dropped_by_default():
    x = Tensor([0.5, -1.0], requires_grad=True)
    h = ag.tanh(x)
    (h * h).sum().backward(retain_grads=True)
    np.testing.assert_allclose(h.grad, 2 * h.data)
    x2 = Tensor([0.5], requires_grad=True)
    h2 = ag.tanh(x2)
    (h2 * 2.0).sum().backward()
    assert h2.grad is None and x2.grad is not None


def test_the_graph_is_released_after_backward_unless_retained():
    x = Tensor([1.0], requires_grad=True)
    y = (ag.sigmoid(x) * 2.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    s = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(x.grad, [2 * 2 * s * (1 - s)])
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        y.backward()


def test_released_graph_frees_the_saved_activations():
    import gc
    import weakref

    x = Tensor(np.ones(10), requires_grad=True)
    hidden = ag.tanh(x)
    alive = weakref.ref(hidden)
    y = (hidden * 2.0).sum()
    del hidden
    y.backward()
    gc.collect()
    assert alive() is None


def test_no_grad_records_nothing_and_detach_cuts():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.is_leaf
    z = (x * 2.0).detach()
    assert not z.requires_grad and z.is_leaf
    assert (x * 2.0).requires_grad


def test_sigmoid_and_tanh_are_exact_and_quiet_at_extremes():
    x = Tensor([-1000.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, t = ag.sigmoid(x), ag.tanh(x)
        (s + t).sum().backward()
    np.testing.assert_array_equal(s.data, [0.0, 1.0])
    np.testing.assert_array_equal(t.data, [-1.0, 1.0])
    assert np.all(np.isfinite(x.grad))


def test_operators_accept_arrays_and_numbers_on_either_side():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (2.0 - x) * np.array([1.0, 3.0]) + 1 / x - (-x) @ np.array([1.0, 1.0])
    y.sum().backward()
    # the 0-d matmul result is broadcast over both elements of y, so its gradient counts twice
    np.testing.assert_allclose(x.grad, [-1 - 1 + 2, -3 - 0.25 + 2])


# ---- errors: what was expected and what came ------------------------------------------------------------


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: ag.matmul(np.ones((2, 3)), np.ones((4, 5))), r"matmul: \(2, 3\) @ \(4, 5\)"),
        (lambda: ag.matmul(np.ones((2, 2, 2)), np.ones((2, 2))), r"\(2, 2, 2\) @ \(2, 2\): operands must be 1-D"),
        (lambda: ag.add(np.ones((2, 3)), np.ones((4, 5))), r"add: \(2, 3\) \+ \(4, 5\)"),
        (lambda: ag.hadamard(np.ones(3), np.ones(4)), r"hadamard: \(3,\) ⊙ \(4,\)"),
        (lambda: Tensor(np.ones(3)) * Tensor(np.ones(2)), r"hadamard: \(3,\) ⊙ \(2,\)"),
    ],
)
def test_shape_mismatch_names_the_op_and_both_shapes(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_backward_errors_say_what_was_expected():
    x = Tensor(np.ones(3), requires_grad=True, name="h_t")
    with pytest.raises(ValueError, match=r"one-element tensor; tensor 'h_t' has 3 elements, so pass a grad of "
                                         r"shape \(3,\)$"):
        x.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(2,\), expected \(3,\)"):
        x.backward(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(1.0).backward()


def test_gradcheck_names_the_input_the_worst_index_and_both_values():
    wrong = ag.Primitive("wrong_square", "sq", lambda x: x * x, (ag.Partial("{0}", lambda g, ans, x: g * x),))
    x = Tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True, name="x")
    with pytest.raises(AssertionError, match=r"x at index \(1, 1\): engine 5, finite difference 10"):
        gradcheck(lambda x: wrong(x).sum(), [x])
    unnamed = Tensor([1.0], requires_grad=True)
    with pytest.raises(AssertionError, match="input 1"):
        gradcheck(lambda c, x: (wrong(x) * c).sum(), [Tensor([1.0]), unnamed])
    with pytest.raises(ValueError, match=r"one-element Tensor, got shape \(2, 2\)"):
        gradcheck(lambda x: x * 1.0, [x])


# ---- random expressions ---------------------------------------------------------------------------------

UNARY = [ag.sigmoid, ag.tanh, lambda t: t * 0.5, ag.neg]
BINARY = [ag.add, ag.sub, ag.hadamard]


@st.composite
def expressions(draw):
    """A random program over a, b, c of the primitives; each step reads earlier results."""
    steps = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 99), st.integers(0, 99)), min_size=1,
                          max_size=12))
    return steps


@settings(max_examples=40, deadline=None)
@given(program=expressions(), seed=st.integers(0, 2**16))
def test_random_expressions_of_the_primitives_pass_gradcheck(program, seed):
    rng = np.random.default_rng(seed)
    a = Tensor(rng.standard_normal((2, 3)), requires_grad=True, name="a")
    b = Tensor(rng.standard_normal((3,)), requires_grad=True, name="b")
    W = Tensor(rng.standard_normal((3, 3)), requires_grad=True, name="W")

    def fn(a, b, W):
        values = [a, b, W]
        for kind, i, j in program:
            x, y = values[i % len(values)], values[j % len(values)]
            if kind < len(UNARY):
                values.append(UNARY[kind](x))
            elif kind < 6:
                values.append(BINARY[kind - 4](x, y) if x.shape == y.shape or y.ndim == 1 else BINARY[kind - 4](x, b))
            else:
                values.append(x @ W if x.shape[-1] == 3 else ag.tanh(x))
        return ag.sum(values[-1] * values[-1]) + ag.sum(ag.sigmoid(a))

    assert gradcheck(fn, [a, b, W])


def test_data_that_is_not_a_regular_array_of_real_numbers_is_refused_naming_what_came():
    with pytest.raises(TypeError, match=r"^Tensor: expected numeric data of a regular shape, got list: "):
        Tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match=r"^Tensor: expected numeric data \(a number, a list of numbers or a numeric "
                                        r"ndarray\), got str of dtype <U1$"):
        Tensor("a")
    with pytest.raises(TypeError, match=r"^Tensor: complex data is not supported .*, got complex128$"):
        Tensor([1j])
    assert Tensor([True, False]).dtype == np.float64 and Tensor(np.arange(2, dtype=np.uint8)).dtype == np.float64


def test_a_tensor_made_from_a_tensor_takes_its_values_as_a_new_leaf():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor(x * 2.0)
    assert y.data.tolist() == [2.0, 4.0] and y.is_leaf and not y.requires_grad


def test_a_zero_dimensional_result_holds_an_ndarray_not_a_numpy_scalar():
    """numpy gives 0-d results as scalars (np.float64); a Tensor's data is an ndarray whatever its shape."""
    for total in (Tensor([1.0, 2.0]).sum(), Tensor(np.ones(2, np.float32)).mean(), Tensor(3.0) * 2.0):
        assert type(total.data) is np.ndarray and total.shape == () and type(total.numpy()) is np.ndarray


def test_a_tensor_prints_its_values_name_and_primitive_and_detach_keeps_the_name():
    x = Tensor(np.arange(9.0) / 3, requires_grad=True, name="x")  # past 8 elements, the middle is left out
    assert repr(x) == "Tensor([0.     0.3333 0.6667 ... 2.     2.3333 2.6667], name='x')"
    assert repr(ag.tanh(Tensor([0.0], requires_grad=True))) == "Tensor([0.], op=tanh)"
    kept = x.detach()
    assert kept.name == "x" and not kept.requires_grad and kept.data is x.data


def test_a_copy_keeps_the_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    (x * x).sum().backward()
    assert copy.deepcopy(x).grad.tolist() == [2.0, 4.0]
