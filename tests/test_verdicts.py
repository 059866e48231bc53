"""No false verdict: checkers refuse settings that would make them lie, the reverse pass refuses a primitive's
misshapen gradient, float32 is checked in float32, and the small untruths random programs found against torch."""

import math

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, check_gradients, gradcheck, optim
from autograd.diagnostics import rounding_tolerance
from autograd.graph import roundings
from lstm import LSTM, hand
from lstm.derivation.problem import Problem


def _square(x):
    return (x * x).sum()


def _wrong(x):
    return [3 * x]  # the gradient of Σx² is 2x


@pytest.mark.parametrize("setting", [{"atol": math.nan}, {"rtol": math.nan}, {"atol": math.inf}, {"atol": -1.0},
                                     {"eps": 0.0}, {"eps": -1e-6}, {"eps": math.nan}, {"eps": "1e-6"},
                                     {"rtol": True}])
def test_gradcheck_refuses_a_tolerance_or_step_that_is_not_a_finite_positive_number(setting):
    """atol=nan passed a wrong gradient (every comparison with NaN is False); eps=0 divided by zero."""
    wrong = ag.Primitive("double", "2·", lambda x: 2 * x, (ag.Partial("3", lambda u, ans, x: 3 * u),))
    name = next(iter(setting))
    with pytest.raises(ValueError, match=f"^gradcheck: {name} must be a finite (positive|non-negative) number, got"):
        gradcheck(lambda x: wrong(x).sum(), [Tensor(np.ones(2), requires_grad=True)], **setting)


@pytest.mark.parametrize("setting", [{"tolerance": math.nan}, {"tolerance": -1e-8}, {"tolerance": math.inf},
                                     {"fd_samples": 0}, {"fd_samples": 2.5}])
def test_check_gradients_refuses_a_tolerance_that_is_not_finite_or_a_sample_count_that_is_not_positive(setting):
    name = next(iter(setting))
    with pytest.raises(ValueError, match=f"^check_gradients: {name} must be a"):
        check_gradients(_square, [np.ones(2)], _wrong, **setting)


@pytest.mark.parametrize("returned,expected", [
    (lambda u, ans, x: np.ones(5), "has shape (5,), expected (2,)"),
    (lambda u, ans, x: np.ones((3, 5)), "has shape (3, 5), expected (2,)"),
    (lambda u, ans, x: np.ones((2, 1)), "has shape (2, 1), expected (2,)"),
    (lambda u, ans, x: u.astype(complex), "has dtype complex128, expected float64"),
])
def test_the_reverse_pass_refuses_a_gradient_that_is_not_of_its_operands_shape_and_dtype(returned, expected):
    """A vjp returning shape (5,) for a (2,) operand ended as x.grad of shape (5,)."""
    bad = ag.Primitive("bad", "?", lambda x: x * 1.0, (ag.Partial("?", returned),))
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises((ValueError, TypeError), match=r"^bad: the gradient for operand 0 " + expected.replace(
            "(", r"\(").replace(")", r"\)")):
        bad(x).sum().backward()
    assert x.grad is None


def test_a_broadcast_gradient_is_still_summed_back_to_its_operand():
    x = Tensor(np.ones(3), requires_grad=True)
    ag.add(x, np.ones((4, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(3, 4.0))


def test_div_gives_the_denominators_gradient_where_the_product_of_upstream_and_result_overflows():
    """1e300 / 1e150 with upstream 1e200: −u·ans/b overflowed to −inf; −u·(ans/b) is −1e200, as torch gives."""
    a, b = Tensor(np.array([1e300]), requires_grad=True), Tensor(np.array([1e150]), requires_grad=True)
    with np.errstate(over="raise"):
        (a / b).backward(np.array([1e200]))
    np.testing.assert_allclose(b.grad, [-1e200])
    np.testing.assert_allclose(a.grad, [1e50])


def test_log_softmax_over_a_zero_length_axis_is_empty_as_torch_returns():
    x = Tensor(np.zeros((3, 0)), requires_grad=True)
    with np.errstate(all="raise"):
        y = ag.log_softmax(x, axis=-1)
        y.sum().backward()
    assert y.shape == (3, 0) and x.grad.shape == (3, 0)


@pytest.mark.parametrize("make", [list, np.array])
def test_an_index_changed_after_the_forward_moves_no_gradient(make):
    x = Tensor(np.arange(4.0), requires_grad=True)
    index = make([0, 1])
    y = x[index]
    z = ag.getitem(x, index=(index,))
    index[0] = 3
    (y.sum() + 10 * z.sum()).backward()
    np.testing.assert_array_equal(x.grad, [11.0, 11.0, 0.0, 0.0])


def test_from_stacked_adds_float32_biases_in_the_models_float64():
    """As torch's .double() model: the two biases widened, then added (added in float32 it was one ulp off)."""
    rng = np.random.default_rng(3)
    weights = [rng.standard_normal(shape).astype(np.float32) for shape in ((8, 1), (8, 2), (8,), (8,))]
    model = LSTM.from_stacked(*weights, dtype=np.float64)
    _, _, bias_ih, bias_hh = weights
    np.testing.assert_array_equal(model.to_stacked()[2], bias_ih.astype(np.float64) + bias_hh.astype(np.float64))


# ---- float32, checked in float32 ------------------------------------------------------------------------------


def test_check_gradients_runs_the_engine_in_float32_with_the_float_rule_and_labels_agree_with_verdicts():
    """A right float32 hand read "0 passed, 14 failed" with rows labelled "FAIL: right"; the engine ran in
    float64 only, so float32 was never tested."""
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    report = check_gradients(lambda x: ag.tanh(x).sum(), [x], lambda x: [1 - np.tanh(x) ** 2])
    assert report.passed and report.dtype == "float32", report.format()
    assert report.tolerance == rounding_tolerance(np.float32, 1 + 12)  # tanh, then a sum of 12 > 1e-6
    assert "in float32" in report.header() and report.taylor.verdict == "right"
    slightly = check_gradients(lambda x: ag.tanh(x).sum(), [x],
                               lambda x: [(1 - np.tanh(x) ** 2) * (1 + 3 * report.tolerance)])
    assert not slightly.passed
    for row in slightly.inputs:
        assert row.band not in ("right", "acceptable only in float32 or at a kink"), slightly.format()
    assert ": beyond rounding, though small (" in slightly.diagnosis()[1]


def test_a_float32_lstm_hand_passes_at_any_length_and_the_taylor_line_agrees():
    """At T = 500 float32 rounding (9.1e-5) neared the fixed 1e-4; the rule grows with the computation."""
    problem = Problem.random(3, 4, 2, 60, 0, np.float32)
    tolerance = problem.tolerances()["hand"]
    exact = hand.backward(*_arguments(problem.astype(np.float64)))
    mine = hand.backward(*_arguments(problem))
    worst = max(float((np.abs(mine[k] - exact[k]) / np.maximum(1, np.abs(exact[k]))).max()) for k in exact)
    assert worst < tolerance / 4 and problem.astype(np.float64).tolerances()["hand"] == 1e-10


def _arguments(problem):
    return (problem.params, problem.xs, problem.h0, problem.c0, problem.dhs, problem.dh_T, problem.dc_T)


@pytest.mark.parametrize("optimizer", [optim.SGD, optim.Adam, optim.RMSprop])
def test_an_optimizer_steps_a_parameter_that_is_a_strided_float32_view_in_place_and_right(optimizer):
    """The in-place update of a stride-4 float32 view is the case numpy 2.4.6 gets wrong for `negative`; the
    optimizers assign into such a view instead, and the array the caller holds moves."""
    base = np.arange(1, 17, dtype=np.float32)
    view = Tensor(base[::4], requires_grad=True)
    copy = Tensor(base[::4].copy(), requires_grad=True)
    for t in (view, copy):
        t.grad = np.array([1.0, -2.0, 3.0, -4.0], np.float32)
        optimizer([t], lr=0.1).step()
    np.testing.assert_array_equal(view.data, copy.data)
    np.testing.assert_array_equal(base[::4], copy.data)


@pytest.mark.parametrize("sizes", [(1, 1, 1, 1), (3, 4, 2, 1), (3, 4, 2, 3), (5, 7, 1, 2), (2, 3, 4, 6)])
def test_a_problems_roundings_are_those_of_its_graph(sizes):
    X, H, B, T = sizes
    problem = Problem.random(X, H, B, T, 0, np.float64)
    model = LSTM.from_arrays(problem.params)
    hs, (h_T, c_T) = model(Tensor(problem.xs, requires_grad=True), (Tensor(problem.h0), Tensor(problem.c0)))
    loss = (hs * problem.dhs).sum() + (h_T * problem.dh_T).sum() + (c_T * problem.dc_T).sum()
    assert problem.roundings() == roundings([loss])


def test_compare_json_writes_null_for_a_number_that_is_not_finite(capsys):
    """`compare --hand … --json` printed a bare NaN, which is not JSON, for a hand gradient holding NaN."""
    import json

    from lstm import check_backward
    from lstm.derivation import hand as reference

    def nan_backward(*args, **kwargs):
        grads = reference.backward(*args, **kwargs)
        grads["W_xi"] = np.full_like(grads["W_xi"], np.nan)
        return grads

    text = check_backward(nan_backward, length=2).to_json()
    report = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in the JSON"))
    row = next(r for r in report["rows"] if r["name"] == "W_xi")
    assert report["passed"] is False and row["hand_vs_engine"] is None


def test_gradcheck_with_no_input_that_requires_grad_says_so():
    """It raised backward's RuntimeError about 'the tensor of shape ()', naming no input."""
    for inputs in ([Tensor([1.0])], []):
        with pytest.raises(ValueError, match="^gradcheck: no input requires grad"):
            gradcheck(lambda *a: ag.sum(Tensor([1.0]) * 2), inputs)


@pytest.mark.parametrize("seed", [-1, "a", 1.5, True])
def test_a_models_seed_that_numpy_cannot_take_is_refused_naming_seed(seed):
    """numpy's own message ('expected non-negative integer', 'SeedSequence expects int') named no argument."""
    from lstm import GRU
    for model in (lambda: LSTM(3, 4, seed=seed), lambda: GRU(3, 4, seed=seed)):
        with pytest.raises(ValueError, match=r"seed must be a non-negative integer or None, got"):
            model()


def test_a_file_name_too_long_is_one_line_in_the_commands_words(tmp_path, capsys):
    """It printed Python's '[Errno 36] File name too long: …'."""
    from lstm_autograd.cli import main

    for name in ("a" * 300 + ".svg", "b" * 300 + "/x.svg"):
        assert main(["render", "--gate", "input", "-o", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "[Errno" not in err and "too long" in err, err
