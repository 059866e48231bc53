"""Diagnostics for failed checks, and checking a hand-written gradient function of any graph (a GRU here)."""

import importlib.util
from pathlib import Path

import numpy as np
import programs
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


# ---- your own gradient function, for any graph: the README's GRU step (docs/examples/gru.py) ---------------

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "gru.py"
_spec = importlib.util.spec_from_file_location("gru_example", EXAMPLE)
gru_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gru_example)
gru, gru_backward, gru_inputs = gru_example.gru, gru_example.gru_backward, gru_example.gru_inputs


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


def test_a_failing_check_prints_the_band_the_taylor_test_and_the_step_sweep():
    right = check_gradients(gru, gru_inputs(1), gru_backward)
    assert "diagnosis" not in right.format() and right.sweep is None
    report = check_gradients(gru, gru_inputs(1), lambda *a: gru_backward(*a, mistake="reset sigmoid"))
    text = report.format()
    worst = max((row for row in report.inputs if not row.passed), key=lambda row: row.relative)
    assert f"diagnosis (the engine and finite differences in float64)\n{worst.name} at index {worst.worst}: " \
           f"relative error {worst.relative:.1e}: wrong" in text
    assert report.taylor.format() in text and text.count("\n  ε = ") == len(report.taylor.epsilons[::3])
    assert (report.sweep.of, report.sweep.index) == (worst.name, worst.worst)
    mine = gru_backward(*[x.data for x in gru_inputs(1)], mistake="reset sigmoid")[worst.name][worst.worst]
    engine = gru_backward(*[x.data for x in gru_inputs(1)])[worst.name][worst.worst]
    assert report.sweep.claimed == mine
    assert abs(dict(report.sweep.rows)[1e-5] - engine) < 1e-9  # the sweep's best steps find the true value
    assert f"finite differences of {worst.name} at index {worst.worst} by step size (claimed {mine:.10g}):" in text


def test_a_long_list_of_intermediates_is_cut_after_the_first_departure():
    right = check_gradients(gru, gru_inputs(1), gru_backward)
    assert right.tables(most_nodes=3)[-1] == "… 7 intermediates: 7 pass, 0 fail"
    assert "h_next" in "\n".join(right.tables()) and "h_next" not in "\n".join(right.tables(most_nodes=3))
    wrong = check_gradients(gru, gru_inputs(1), lambda *a: gru_backward(*a, mistake="reset sigmoid"))
    lines = wrong.tables(most_nodes=3)
    assert lines[-2].startswith("r_pre") and lines[-1] == "… and 2 more intermediates further back: 2 pass, 0 fail"
    assert len(wrong.tables(most_nodes=7)) == len(wrong.tables())  # short enough: nothing is cut


def test_a_float32_gradcheck_says_it_ran_in_float64():
    wrong = ag.Primitive("wrong_tanh", "tanh", np.tanh, (ag.Partial("1−tanh²", lambda u, ans, x: u * (1 - ans)),))
    for dtype, said in ((np.float32, True), (np.float64, False)):
        x = Tensor(np.array([0.3, -0.2], dtype), requires_grad=True, name="x")
        with pytest.raises(AssertionError) as failure:
            gradcheck(lambda x: (wrong(x) * np.array([1.0, 2.0])).sum(), [x])
        assert ("the check ran in float64: the float32 inputs were converted first" in str(failure.value)) == said


def test_the_taylor_test_reads_rounding_where_the_terms_are_larger_than_the_value():
    # f is linear and its value small, but it is computed through terms of 1e3 that cancel: its rounding is that
    # of 1e3, far above 1e-14·|f|; a right gradient must not read as wrong for it (the fuzzer's program 1127)
    def f(arrays):
        return float(np.sum((arrays[0] + 1e3) - 1e3) * 1e-2)

    x = np.random.default_rng(0).standard_normal(6)
    assert taylor_test(f, [x], [np.full(6, 1e-2)]).verdict == "right"
    assert taylor_test(f, [x], [np.full(6, 1e-2) + 1e-4 * np.eye(6)[2]]).verdict == "wrong"


def test_the_taylor_test_separates_right_from_wrong_gradients_on_the_fuzzers_programs():
    """The engine's gradients of the float64 programs (which tests/test_fuzz.py holds to central differences and
    torch) are right; the same with one element moved by 1e-3 or 1e-5 of the gradients' scale are wrong. (A float32
    program's gradients are right only to float32, which the test, in float64, rightly sees.)"""
    checked = 0
    for seed in range(0, 1500, 5):  # a fifth of the fuzzer's programs, from all of its range
        if any(leaf.data.dtype != np.float64 for leaf in programs.generate(seed).leaves):
            continue
        loss, leaves, grads = programs.loss_and_gradients(seed)
        used = [k for k, g in enumerate(grads) if g is not None]  # leaves that require grad; the rest stay put

        def f(arrays, leaves=leaves, used=used, loss=loss):
            return loss([dict(zip(used, arrays, strict=True)).get(k, x) for k, x in enumerate(leaves)])

        point, right = [leaves[k] for k in used], [grads[k] for k in used]
        assert taylor_test(f, point, right, seed=seed).verdict == "right", seed
        rng = np.random.default_rng(seed)
        scale = max(1.0, *(float(np.abs(g).max(initial=0.0)) for g in right))
        for size in (1e-3, 1e-5):
            wrong = [g.copy() for g in right]
            j = int(rng.integers(len(wrong)))
            wrong[j].flat[int(rng.integers(wrong[j].size))] += size * scale
            assert taylor_test(f, point, wrong, seed=seed).verdict == "wrong", (seed, size)
        checked += 1
    assert checked > 150
