"""Diagnostics for failed checks, and checking a hand-written gradient function of any graph (a GRU here)."""

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, check_gradients, gradcheck, taylor_test
from autograd.diagnostics import band, relative_error, step_sweep


@pytest.mark.parametrize("relative,name", [(0.5, "wrong"), (1e-2 * 1.01, "wrong"), (1e-3, "suspect"),
                                           (1e-5, "acceptable only in float32 or at a kink"), (1e-9, "right"),
                                           (0.0, "right")])
def test_relative_error_bands(relative, name):
    assert band(relative) == name


def test_relative_error_is_symmetric_and_zero_where_both_are():
    np.testing.assert_array_equal(relative_error(np.array([1.0, 0.0, -2.0]), np.array([3.0, 0.0, 2.0])),
                                  [2 / 3, 0.0, 2.0])


def _quartic(arrays):
    x = arrays[0]
    return float(np.sum(np.sin(x) * x**3))


@pytest.mark.parametrize("error", [0.0, 1e-5, 1e-2, 1.0])
@pytest.mark.parametrize("seed", range(5))
def test_the_taylor_test_separates_right_from_wrong_without_a_tolerance(error, seed):
    x = np.random.default_rng(seed).standard_normal(5) * 2
    right = np.cos(x) * x**3 + 3 * np.sin(x) * x**2
    wrong = right + error * np.random.default_rng(seed + 10).standard_normal(5)
    result = taylor_test(_quartic, [x], [wrong], seed=seed)
    assert result.verdict == ("right" if error == 0 else "wrong"), result.format()
    assert result.symmetric_order == pytest.approx(3 if error == 0 else 1, abs=0.2)
    if error >= 1e-2:
        assert result.order == pytest.approx(1, abs=0.2)


def test_the_step_sweep_shows_truncation_and_rounding():
    x = np.array([0.7])
    sweep = step_sweep(_quartic, [x], 0, (0,), float(np.cos(0.7) * 0.7**3 + 3 * np.sin(0.7) * 0.7**2))
    errors = [abs(fd - sweep.claimed) for _, fd in sweep.rows]
    best = int(np.argmin(errors))
    assert 0 < best < len(errors) - 1 and errors[0] > 100 * errors[best] and errors[-1] > 100 * errors[best]


def test_a_failing_gradcheck_prints_the_diagnosis():
    wrong = ag.Primitive("wrong_tanh", "tanh", np.tanh, (ag.Partial("1−tanh²", lambda u, ans, x: u * (1 - ans)),))
    x = Tensor([[0.3, -0.2], [0.5, 1.0]], requires_grad=True, name="x")
    with pytest.raises(AssertionError) as failure:
        gradcheck(lambda x: (wrong(x) * np.arange(4.0).reshape(2, 2)).sum(), [x])
    message = str(failure.value)
    assert message.splitlines()[0].startswith("gradcheck: x at index")
    assert "relative error" in message and ": wrong (above 1e-2 wrong" in message
    assert "r(ε) falls like ε^1.0" in message and "the gradient is wrong" in message
    assert "finite differences at index" in message


# ---- your own gradient function, for any graph: a GRU step -------------------------------------------------

H, X = 3, 2


def gru(x, h, W_z, U_z, W_r, U_r, W_n, U_n, R):
    """One GRU step from the primitives, every tensor named as the hand derivation below calls it."""
    z = ag.sigmoid((W_z @ x + U_z @ h).named("z_pre")).named("z")
    r = ag.sigmoid((W_r @ x + U_r @ h).named("r_pre")).named("r")
    n = ag.tanh((W_n @ x + r * (U_n @ h)).named("n_pre")).named("n")
    h_next = ((1 - z) * n + z * h).named("h_next")
    return (h_next * R).sum()


def gru_backward(x, h, W_z, U_z, W_r, U_r, W_n, U_n, R, mistake=None):
    sigmoid = lambda p: 1 / (1 + np.exp(-p))  # noqa: E731
    z, r = sigmoid(W_z @ x + U_z @ h), sigmoid(W_r @ x + U_r @ h)
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
    return [Tensor(rng.standard_normal(shape), name=name) for name, shape in shapes.items()]


def test_a_right_hand_written_gru_backward_passes():
    report = check_gradients(gru, gru_inputs(), gru_backward)
    assert report.passed, report.format()
    assert report.taylor.verdict == "right" and report.first_departure is None
    assert [row.name for row in report.nodes][0] == "h_next"  # walking back from the output


@pytest.mark.parametrize("mistake,departs,feeds,wrong", [
    ("tanh derivative", "n_pre", ["n"], {"x", "h", "W_n", "U_n", "W_r", "U_r"}),
    ("reset sigmoid", "r_pre", ["r"], {"x", "h", "W_r", "U_r"}),
])
def test_a_wrong_gru_backward_is_located_at_its_partial(mistake, departs, feeds, wrong):
    report = check_gradients(gru, gru_inputs(1), lambda *a: gru_backward(*a, mistake=mistake))
    assert not report.passed and report.taylor.verdict == "wrong"
    assert {row.name for row in report.inputs if not row.passed} == wrong
    assert report.first_departure == departs and report.departure_feeds == feeds
    assert f"first departure, walking back from the output: {departs}" in report.format()


def test_check_gradients_names_what_it_cannot_use():
    with pytest.raises(ValueError, match=r"hand returned gradients for bogus, which name neither an input"):
        check_gradients(gru, gru_inputs(), lambda *a: gru_backward(*a) | {"bogus": np.ones(2)})
    with pytest.raises(ValueError, match=r"hand's gradient for x has shape \(3,\), expected \(2,\)"):
        check_gradients(gru, gru_inputs(), lambda *a: gru_backward(*a) | {"x": np.ones(3)})
    with pytest.raises(ValueError, match="hand returned no gradient for R"):
        check_gradients(gru, gru_inputs(), lambda *a: {k: v for k, v in gru_backward(*a).items() if k != "R"})
