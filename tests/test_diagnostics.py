"""Diagnostics for failed checks, and checking a hand-written gradient function of any graph (a GRU here)."""

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from support import programs

import autograd as ag
from autograd import Tensor, check_gradients, diagnostics, gradcheck, taylor_test
from autograd.diagnostics import Sweep, Taylor, band, describe_relative, relative_error, step_sweep


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
    index = re.match(r"gradcheck: x at index (\(\d, \d\))", message)[1]
    assert f"finite differences at index {index} by step size" in message  # the sweep is at the worst element


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
    assert "\n\n\n" not in report.format() and "departure" not in report.format()  # no departure, not even its gap


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


def test_a_float32_gradcheck_runs_the_engine_in_float32_and_says_so():
    """A partial wrong only in float32 was passed: gradcheck converted float32 inputs to float64 first."""
    only_64 = ag.Primitive("tanh_right_in_float64", "tanh", np.tanh, (
        ag.Partial("1−tanh²", lambda u, ans, x: u * (1 - ans * ans) if ans.dtype == np.float64 else u),))
    assert gradcheck(lambda x: only_64(x).sum(), [Tensor(np.array([0.3, -0.2]), requires_grad=True)])
    x = Tensor(np.array([0.3, -0.2], np.float32), requires_grad=True, name="x")
    with pytest.raises(AssertionError, match="the engine ran in float32, the finite differences in float64"):
        gradcheck(lambda x: only_64(x).sum(), [x])


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
        program = programs.generate(seed)
        if program.extreme or any(leaf.data.dtype != np.float64 for leaf in program.leaves):
            continue  # values at the edge of the range: no step of any size is small against them
        loss, leaves, grads = programs.loss_and_gradients(seed)
        used = [k for k, g in enumerate(grads) if g is not None]  # leaves that require grad; the rest stay put

        def f(arrays, leaves=leaves, used=used, loss=loss):
            return loss([dict(zip(used, arrays, strict=True)).get(k, x) for k, x in enumerate(leaves)])

        point, right = [leaves[k] for k in used], [grads[k] for k in used]
        if not any(g.size for g in right):
            continue  # nothing to differentiate by: every leaf is empty
        assert taylor_test(f, point, right, seed=seed).verdict == "right", seed
        rng = np.random.default_rng(seed)
        scale = max(1.0, *(float(np.abs(g).max(initial=0.0)) for g in right))
        for size in (1e-3, 1e-5):
            wrong = [g.copy() for g in right]
            j = int(rng.choice([k for k, g in enumerate(wrong) if g.size]))  # an empty leaf has no element to move
            wrong[j].flat[int(rng.integers(wrong[j].size))] += size * scale
            assert taylor_test(f, point, wrong, seed=seed).verdict == "wrong", (seed, size)
        checked += 1
    assert checked > 150


# ---- the report of check_gradients, and what it checks ------------------------------------------------------

ROW = (r"(?P<name>\S+) +(?P<shape>\([\d, ]*\)) +(?P<diff>\d\.\d\de[+-]\d\d) +(?P<relative>\d\.\de[+-]\d\d) +"
       r"(?P<fd>\d\.\d\de[+-]\d\d|—)  (?P<result>pass|FAIL: (?P<band>[a-z ]+\w), worst at index (?P<worst>\(.*\)))")


def test_the_report_reads_as_two_tables_the_first_departure_and_a_count():
    report = check_gradients(gru, gru_inputs(1), lambda *a: gru_backward(*a, mistake="reset sigmoid"))
    lines = report.format().split("\n")
    assert lines[0] == ("hand-written gradients against the engine in float64; pass: |hand − engine| ≤ "
                        "1e-08·max(1, |engine|), and the engine within 1e-06·max(1, |fd|) of central finite "
                        "differences (float64)")
    k = 1
    for title, rows, fd in (("inputs", report.inputs, "number"), ("intermediates, walking back from the output",
                                                                    report.nodes, "—")):
        assert lines[k:k + 2] == ["", title]
        assert lines[k + 2].split() == ["shape", "|hand−engine|", "relative", "|engine−fd|", "result"]
        for row, line in zip(rows, lines[k + 3:k + 3 + len(rows)], strict=True):
            cells = re.fullmatch(ROW, line)
            assert cells and cells["name"] == row.name and cells["shape"] == str(row.shape), line
            assert (cells["fd"] == "—") == (fd == "—"), line
            assert cells["result"] == ("pass" if row.passed else f"FAIL: {row.band}, worst at index {row.worst}")
        k += 3 + len(rows)
    failed = sum(not row.passed for row in report.inputs + report.nodes)
    assert failed == 5 and lines[k:] == [
        "", "first departure, walking back from the output: r_pre",
        "the gradient at r, which it feeds, is right: the mistake is in the partial between them",
        "", *"\n".join(report.diagnosis()).split("\n"),
        "", f"{len(report.inputs) + len(report.nodes) - failed} passed, {failed} failed"]
    right = check_gradients(gru, gru_inputs(1), gru_backward)
    assert right.format().split("\n")[-4:] == ["", right.taylor.format().splitlines()[0], "",
                                                 f"{len(right.inputs) + len(right.nodes)} passed, 0 failed"]


def test_each_row_holds_the_input_its_worst_element_and_the_errors_there():
    inputs = gru_inputs(1)
    report = check_gradients(gru, inputs, lambda *a: gru_backward(*a, mistake="tanh derivative"))
    hand = gru_backward(*[x.data for x in inputs], mistake="tanh derivative")
    engine = check_gradients(gru, inputs, gru_backward)  # right by hand: its engine column is the engine's gradient
    assert [row.shape for row in report.inputs] == [x.shape for x in inputs]
    for row, right in zip(report.inputs, engine.inputs, strict=True):
        truth = gru_backward(*[x.data for x in inputs])[row.name]
        diff = np.abs(hand[row.name] - truth)
        assert row.hand_vs_engine == pytest.approx(diff.max(), rel=1e-6, abs=1e-15)
        if not row.passed:
            assert row.worst == np.unravel_index(np.argmax(diff), diff.shape)
            assert row.relative == pytest.approx(relative_error(hand[row.name][row.worst], truth[row.worst]))
        assert isinstance(row.engine_vs_fd, float) and row.engine_vs_fd < 1e-6 and right.passed


def test_the_first_departure_names_every_tensor_it_feeds_each_once():
    """`a` feeds `c` directly and `b` through two unnamed products: both are named, once each."""

    def fn(x):
        a = ag.tanh(x).named("a")
        c = ag.exp(a).named("c")
        b = (a * 2.0 + a * 3.0).named("b")
        return (c * b).sum()

    def hand(x, forget_exp_partial=True):
        a = np.tanh(x)
        d_c, d_b = 5 * a, np.exp(a)
        d_a = (d_c if forget_exp_partial else d_c * np.exp(a)) + 5 * d_b
        return {"x": d_a * (1 - a * a), "a": d_a, "b": d_b, "c": d_c}

    x = Tensor(np.array([0.3, -0.5]), name="x")
    assert check_gradients(fn, [x], lambda x: hand(x, False)).passed
    report = check_gradients(fn, [x], hand)
    assert report.first_departure == "a" and sorted(report.departure_feeds) == ["b", "c"]
    assert (f"the gradient at {', '.join(report.departure_feeds)}, which it feeds, is right: the mistake is in the "
            "partial between them") in report.format().splitlines()


def test_a_wrong_gradient_at_the_output_itself_feeds_nothing():
    report = check_gradients(lambda x: (x * x).sum().named("L"), [Tensor([1.0, 2.0], name="x")],
                             lambda x: {"x": 4 * x, "L": 2.0})
    assert report.first_departure == "L" and report.departure_feeds == []
    assert "which it feeds" not in report.format()


def test_a_check_failing_only_at_an_intermediate_is_diagnosed_there_without_a_step_sweep():
    report = check_gradients(lambda x: (x * x).sum().named("L"), [Tensor([1.0, 2.0], name="x")],
                             lambda x: {"x": 2 * x, "L": 3.0})
    assert not report.passed and report.failing() == report.nodes and report.sweep is None
    text = report.format()
    assert "L at index (): relative error 6.7e-01: wrong" in text and "by step size" not in text


def test_the_diagnosis_is_of_the_worst_failing_input_even_where_an_intermediate_is_worse():
    def hand(x):
        return {"x": (1 - np.tanh(x) ** 2) * 1.001, "h": 2 * np.ones_like(x)}  # x 1e-3 off, h 0.5 off

    report = check_gradients(lambda x: ag.tanh(x).named("h").sum(), [Tensor([0.5, -1.0], name="x")], hand)
    assert [row.name for row in report.failing()] == ["x", "h"]
    assert report.diagnosis()[1].startswith("x at index (") and ": suspect" in report.diagnosis()[1]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_hand_gradient_that_is_not_finite_fails_and_reads_as_wrong(bad):
    # it passed: NaN compared with the tolerance is False, so "no element exceeds it", and its relative error was 0
    report = check_gradients(lambda x: (x * x).sum(), [Tensor([1.0, 2.0], name="x")],
                             lambda x: {"x": np.array([2.0, bad])})
    row = report.inputs[0]
    assert not report.passed and not row.passed and row.worst == (1,) and row.band == "wrong"
    assert np.isnan(row.relative) and report.taylor.verdict == "wrong"
    assert "x at index (1,): relative error nan: wrong" in report.format()


def test_a_value_that_is_not_finite_has_no_relative_error_and_f_not_finite_no_taylor_verdict():
    with np.errstate(all="raise"):  # inf − inf is invalid, and its NaN is the answer here, not an error
        np.testing.assert_array_equal(relative_error([np.nan, np.inf, np.inf, 0.0], [1.0, 1.0, np.inf, 0.0]),
                                      [np.nan, np.nan, np.nan, 0.0])
    assert band(np.nan) == "wrong"
    with np.errstate(divide="ignore", invalid="ignore"):  # log at 0 and below it
        verdict = taylor_test(lambda arrays: float(np.log(arrays[0][0])), [np.array([0.0])], [np.array([1.0])]).verdict
    assert verdict == "inconclusive"


def test_hand_may_return_a_list_and_inputs_may_be_arrays_or_lists_in_any_float_dtype():
    seen = []

    def fn(a, b):
        seen.append([a.name, b.name])
        return (ag.tanh(a) * b).sum()

    a32 = np.array([0.25, -0.5], np.float32)  # exactly representable: the same point in float32 and float64
    report = check_gradients(fn, [a32, [1.5, 2.0]], lambda a, b: [(1 - np.tanh(a) ** 2) * b, np.tanh(a)])
    assert report.passed, report.format()
    assert [row.name for row in report.inputs] == ["input 0", "input 1"] and seen[0] == ["input 0", "input 1"]
    with pytest.raises(ValueError, match="check_gradients: hand returned 1 gradients for 2 inputs"):
        check_gradients(fn, [a32, [1.5, 2.0]], lambda a, b: [np.tanh(a)])
    for returned in (np.tanh(a32), None):  # an array alone is not one gradient per row
        with pytest.raises(TypeError, match="^check_gradients: hand must return a list of 2 arrays, one per input, "
                                            f"or a dict by input name; got {type(returned).__name__}$"):
            check_gradients(fn, [a32, [1.5, 2.0]], lambda a, b, returned=returned: returned)
    with pytest.raises(ValueError, match=r"^check_gradients: hand returned no gradient for input 1 \(it returned "
                                         r"'input 2', 'b'\)$"):
        check_gradients(fn, [a32, [1.5, 2.0]], lambda a, b: {"input 0": b, "input 2": a, "b": b})
    with pytest.raises(ValueError, match=r"^check_gradients: hand returned no gradient for input 1$"):
        check_gradients(fn, [a32, [1.5, 2.0]], lambda a, b: {"input 0": b})


def test_one_tensor_given_as_the_inputs_is_refused_rather_than_taken_apart_by_rows():
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    expected = r"inputs must be a list of fn's arguments, got a Tensor; pass \[x\] for one$"
    with pytest.raises(TypeError, match="^gradcheck: " + expected):
        gradcheck(lambda x: x.sum(), x)
    with pytest.raises(TypeError, match="^check_gradients: " + expected):
        check_gradients(lambda x: x.sum(), x, lambda x: [np.ones((3, 2))])


def test_an_input_the_output_does_not_use_has_a_zero_gradient_and_an_empty_input_a_row():
    report = check_gradients(lambda x, unused, empty: ag.tanh(x).sum() + empty.sum(),
                             [np.array([0.3, 0.1]), np.ones(2), np.zeros(0)],
                             lambda x, unused, empty: [1 - np.tanh(x) ** 2, np.zeros(2), np.zeros(0)])
    assert report.passed, report.format()
    empty = report.inputs[2]
    assert (empty.shape, empty.worst, empty.relative, empty.hand_vs_engine) == ((0,), (), 0.0, 0.0)


@pytest.mark.parametrize("off,passed", [(0.0, True), (0.5, True), (1.5, False)])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_the_hand_tolerance_is_relative_to_the_gradient_above_1(off, passed, scale):
    """|hand − engine| ≤ tolerance·max(1, |engine|): off by `off` tolerances passes or fails; exactly equal
    passes even with tolerance 0."""
    x = np.array([0.3, -0.8])
    right = scale * (1 - np.tanh(x) ** 2)
    report = check_gradients(lambda x: scale * ag.tanh(x).sum(), [x],
                             lambda x: [right + off * 1e-8 * np.maximum(1.0, np.abs(right))])
    assert report.passed == passed, report.format()
    if off == 0.0:
        assert check_gradients(lambda x: (x * x).sum(), [x], lambda x: [2 * x], tolerance=0.0).passed


LEAKY = ag.Primitive("leaky_zero", "0", lambda x: 0 * x, (ag.Partial("δ", lambda u, ans, x: u * LEAK),))
LEAK = 0.0


@pytest.mark.parametrize("leak,passed", [(1e-6, True), (1.5e-6, False), (0.5, False)])
def test_the_engine_is_checked_against_finite_differences_too(leak, passed, monkeypatch):
    """An engine whose partial is wrong fails even when the hand gradient agrees with it: the finite difference of
    a constant is exactly 0, and the engine may be off by at most 1e-6 (inclusive)."""
    monkeypatch.setitem(globals(), "LEAK", leak)
    report = check_gradients(lambda x: LEAKY(x).sum(), [np.array([0.5, 2.0])], lambda x: [np.full(2, leak)])
    assert report.inputs[0].hand_vs_engine == 0.0 and report.passed == passed


def test_the_finite_difference_tolerance_grows_with_the_gradient():
    x = np.array([0.3, -0.8])
    report = check_gradients(lambda x: 1e4 * ag.tanh(x).sum(), [x], lambda x: [1e4 * (1 - np.tanh(x) ** 2)])
    assert report.passed and report.inputs[0].engine_vs_fd > 1e-9, report.format()


def test_a_finite_difference_that_is_not_finite_fails_the_check():
    """A step out of the domain (log below 0) is no evidence that the engine is right there."""
    with np.errstate(invalid="ignore", divide="ignore"):  # the steps below 0, and the sweep's onto 0
        report = check_gradients(lambda x: ag.log(x).sum(), [np.array([1e-7, 1.0])], lambda x: [1 / x])
    assert not report.passed and np.isnan(report.inputs[0].engine_vs_fd)


def test_large_inputs_are_differenced_at_a_reproducible_sample_of_their_elements():
    """fd_samples (24) distinct elements of a 30-element input, chosen by `seed`, which also picks the Taylor
    test's direction: the same seed gives the same report, another seed another sample."""
    point = np.random.default_rng(0).standard_normal((5, 6))
    moved = []

    def fn(W):
        single = np.flatnonzero(W.data != point)
        if len(single) == 1:  # a finite difference moves one element; the Taylor test moves them all
            moved.append(int(single[0]))
        return ag.tanh(W).sum()

    def hand(W):
        return [1 - np.tanh(W) ** 2]

    report = check_gradients(fn, [point], hand)
    assert report.passed and len(set(moved)) == 24 and len(moved) == 48
    sample, moved[:] = set(moved), []
    same = check_gradients(fn, [point], hand, seed=0)
    assert set(moved) == sample  # the same elements, not just the same worst error
    assert (same.inputs[0].engine_vs_fd, same.taylor.remainders) == (report.inputs[0].engine_vs_fd,
                                                                     report.taylor.remainders)
    moved.clear()
    other = check_gradients(fn, [point], hand, seed=1, fd_samples=10)
    assert len(set(moved)) == 10 and other.taylor.remainders != report.taylor.remainders


def test_check_gradients_refuses_what_it_cannot_check():
    with pytest.raises(ValueError, match=r"check_gradients: fn must return a one-element Tensor, got shape \(2,\)$"):
        check_gradients(lambda x: x * 2.0, [np.ones(2)], lambda x: [2 * x])
    with pytest.raises(ValueError, match=r"check_gradients: fn must return a one-element Tensor, got float$"):
        check_gradients(lambda x: 1.0, [np.ones(2)], lambda x: [2 * x])
    with pytest.raises(ValueError, match=r"the gradient for h_next has shape \(2,\), expected \(3,\)"):
        check_gradients(gru, gru_inputs(), lambda *a: gru_backward(*a) | {"h_next": np.ones(2)})
    with pytest.raises(TypeError, match="^check_gradients: expected numeric data"):
        check_gradients(lambda x: x.sum(), [["a", "b"]], lambda x: [np.ones(2)])
    with pytest.raises(TypeError, match="^check_gradients: hand's gradient for input 0: expected numeric data"):
        check_gradients(lambda x: x.sum(), [np.ones(2)], lambda x: [["a", "b"]])
    with pytest.raises(ValueError, match="^check_gradients: got no inputs; expected at least one array or Tensor"):
        check_gradients(lambda: ag.Tensor(1.0), [], lambda: {})


# ---- gradcheck ----------------------------------------------------------------------------------------------


def test_numerical_gradient_of_some_elements_leaves_the_rest_nan():
    x = np.array([1.0, 2.0, 3.0])
    grad = ag.numerical_gradient(lambda: float(np.sum(x**2)), x, indices=[1])
    assert np.isnan(grad[[0, 2]]).all() and grad[1] == pytest.approx(4.0)


def test_gradcheck_works_on_copies_and_takes_constants():
    x = Tensor(np.array([0.3, -0.7], np.float32), requires_grad=True, name="x")
    assert gradcheck(lambda x, w: (ag.tanh(x) * w).sum(), [x, np.array([1.0, 2.0])])
    assert x.grad is None and x.dtype == np.float32


def test_gradcheck_uses_the_step_it_is_given_and_an_exact_match_passes_with_no_tolerance():
    cube = Tensor([1.0], requires_grad=True)
    assert gradcheck(lambda x: (x * x * x).sum(), [cube])
    with pytest.raises(AssertionError, match="finite difference 3.01"):  # (x + ε)³ − (x − ε)³ = 6x²ε + 2ε³
        gradcheck(lambda x: (x * x * x).sum(), [cube], eps=0.1)
    assert gradcheck(lambda x: x.sum(), [Tensor([0.5], requires_grad=True)], eps=0.25, atol=0.0, rtol=0.0)


def test_gradcheck_refuses_a_result_that_is_not_a_tensor():
    with pytest.raises(ValueError, match=r"one-element Tensor, got float$"):
        gradcheck(lambda x: 1.0, [Tensor([1.0], requires_grad=True)])


def test_gradcheck_fails_on_a_gradient_that_is_not_finite():
    nan_grad = ag.Primitive("nan_grad", "f", np.tanh, (ag.Partial("nan", lambda u, ans, x: u * np.where(x > 0, np.nan,
                                                                                                        1.0)),))
    with pytest.raises(AssertionError, match=r"x at index \(1,\): engine nan"):
        gradcheck(lambda x: nan_grad(x).sum(), [Tensor([-0.5, 0.5], requires_grad=True, name="x")])


@pytest.mark.parametrize("fn,x", [(ag.log, 1e-7), (ag.log, 1e-6), (ag.exp, 709.7827128933)],
                         ids=["step below 0", "step onto 0", "step past overflow"])
def test_gradcheck_reports_a_step_out_of_the_domain_under_numpy_raise(fn, x):
    """invalid, divide by zero and overflow, which a user's np.seterr(all="raise") would make errors, show as a
    finite difference that is not finite."""
    with np.errstate(all="raise"), pytest.raises(AssertionError, match="the finite difference is not finite"):
        gradcheck(lambda t: fn(t).sum(), [Tensor([x], requires_grad=True)])


# ---- the diagnostics' parts, each held to what its docstring says -------------------------------------------------


def test_relative_error_is_taken_in_float64_broadcasts_and_never_reads_uninitialized_memory():
    assert relative_error(np.float32(1), np.float32(3)) == 2 / 3  # float32's quotient would be 0.6666667
    # an int8 −128 is its own absolute value: only as a float is it 128 away from 0
    assert relative_error(np.int8(-128), 0.0) == 1.0 and relative_error(0.0, np.int8(-128)) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns when `where` leaves an output it allocated unwritten
        np.testing.assert_array_equal(relative_error(np.array([2.0, 0.0]), 0.0), [1.0, 0.0])
        np.testing.assert_array_equal(relative_error(0.0, np.array([[0.0], [-4.0]])), [[0.0], [1.0]])


@pytest.mark.parametrize("size", [1000, 5000, 20000, 100000])
def test_relative_error_is_zero_where_both_are_at_every_size(size):
    # where both are 0 nothing is divided: the result there is what the output held before, which must be 0 and
    # not whatever memory numpy handed out (at these sizes, malloc's, which is not cleared)
    a = np.zeros(size)
    a[::2] = 1.0
    np.testing.assert_array_equal(relative_error(a, np.zeros(size))[1::2], 0.0)


@pytest.mark.parametrize("relative,name", [(1e-2, "suspect"), (1e-4, "acceptable only in float32 or at a kink"),
                                           (1e-7, "right"), (1.0000001e-7, "acceptable only in float32 or at a kink")])
def test_a_relative_error_on_a_bound_falls_in_the_band_below(relative, name):
    assert band(relative) == name


def test_the_relative_error_is_described_with_its_band_and_the_bands_bounds():
    assert describe_relative(0.5) == "relative error 5.0e-01: wrong (above 1e-2 wrong, below 1e-7 right, in float64)"
    assert describe_relative(3e-9) == "relative error 3.0e-09: right (above 1e-2 wrong, below 1e-7 right, in float64)"


def test_the_taylor_test_and_the_sweep_print_their_slopes_and_every_third_row():
    taylor = Taylor([0.1, 0.05, 0.025, 0.0125], [1e-3, 2.5e-4, 6.25e-5, 1.5625e-5],
                    [2e-4, 2.5e-5, 3.125e-6, 3.90625e-7], 2.0, None, "right")
    assert taylor.format().splitlines() == [
        "Taylor remainder test: r(ε) falls like ε^2.00 (ε² when right, ε when wrong), the symmetric one like ε^— "
        "(ε³ when right, ε when wrong) → the gradient is right",
        "  ε = 1.00e-01   r = 1.000e-03   symmetric 2.000e-04",
        "  ε = 1.25e-02   r = 1.563e-05   symmetric 3.906e-07"]
    assert Sweep((1, 0), 0.5, [(0.1, 0.51), (0.01, 0.5001)], "w").format().splitlines() == [
        "finite differences of w at index (1, 0) by step size (claimed 0.5):",
        "  eps = 1e-01   fd = 0.51   |fd − claimed| = 1.00e-02",
        "  eps = 1e-02   fd = 0.5001   |fd − claimed| = 1.00e-04"]
    assert Sweep((2,), -1.25, [(0.1, -1.0)]).format().splitlines()[0] == (
        "finite differences at index (2,) by step size (claimed -1.25):")


def test_the_taylor_test_halves_a_step_from_0_1_along_the_seeds_direction_scaled_to_the_point():
    # f = ½‖x‖²: along d, with gradient x + δ, r(ε) = |ε²‖d‖²/2 − ε δ·d| and the symmetric one 2ε|δ·d|, exactly
    x, delta = np.full((2, 2), -3.0), np.array([[0.0, 1e-3], [0.0, 0.0]])
    result = taylor_test(lambda arrays: 0.5 * float(np.sum(arrays[0] ** 2)), [x], [x + delta], seed=4, halvings=30)
    d = np.random.default_rng(4).standard_normal((2, 2)) * 3.0  # the points' mean magnitude, 3
    assert result.epsilons == [0.1 * 0.5**k for k in range(31)]
    for e, r, s in zip(result.epsilons[:10], result.remainders, result.symmetric, strict=False):
        assert r == pytest.approx(abs(e * e * np.sum(d * d) / 2 - e * np.sum(delta * d)), rel=1e-6)
        assert s == pytest.approx(2 * e * abs(np.sum(delta * d)), rel=1e-6)
    small = taylor_test(lambda arrays: 0.5 * float(np.sum(arrays[0] ** 2)), [x / 30], [x / 30], seed=4)
    unit = np.random.default_rng(4).standard_normal((2, 2))  # mean magnitude 0.1: the direction is not shrunk
    assert small.remainders[0] == pytest.approx(0.01 * np.sum(unit * unit) / 2, rel=1e-9)


@pytest.mark.parametrize("order,symmetric,verdict", [
    (1.2, None, "wrong"), (None, 1.2, "wrong"), (2.0, 1.2, "wrong"), (1.21, 2.4, "inconclusive"),
    (1.8, 2.5, "right"), (None, None, "right"), (None, 2.5, "right"), (1.8, None, "right"),
    (1.79, 3.0, "inconclusive"), (2.0, 2.49, "inconclusive")])
def test_the_taylor_verdict_reads_both_slopes_at_their_bounds(order, symmetric, verdict):
    assert diagnostics._verdict(order, symmetric) == verdict


@pytest.mark.parametrize("remainders,noise,order", [
    ([1024, 64, 16, 8, 4], 0.0, 1.0),  # the median of the last three slopes (4, 2, 1, 1 → 1)
    ([16, 4, 2, 1], 1.0, 1.5),  # a remainder at the floor is rounding: (2, 1) is left out
    ([4, 1, 2], 1.0, None),  # so is a pair whose first remainder is at the floor
    ([1e-20, 1e-21], 1e-14, None)])
def test_the_slope_is_read_above_the_rounding_floor(remainders, noise, order):
    assert diagnostics._order(remainders, [noise] * len(remainders)) == order


def test_the_rounding_floor_is_a_hundred_times_the_median_of_the_last_five_remainders_or_the_noise():
    """Ten times let rounding's scatter through: the fuzzer's program 970 (a division) read 'inconclusive',
    its last slopes measured among rounding."""
    assert diagnostics._floors([100.0, 1, 2, 3, 4, 5], 0.0, [1.0] * 6, 0.0) == [300.0] * 6
    assert diagnostics._floors([1e-30] * 6, 1e-20, [1.0] * 6, 0.0) == [1e-20] * 6


def test_the_rounding_floor_adds_the_gradients_own_rounding_at_each_step():
    assert diagnostics._floors([1e-30] * 6, 1e-20, [1.0, 0.5, 0.25, 0, 0, 0], 4.0) == [4, 2, 1, 1e-20, 1e-20, 1e-20]


def test_the_step_sweep_differences_one_element_for_steps_1e_1_to_1e_10():
    point = [np.array([1.0, 2.0]), np.array([[0.5, -1.0]])]
    sweep = step_sweep(lambda arrays: float(arrays[0] @ arrays[0] + np.sum(arrays[1] ** 3)), point, 1, (0, 1), 3.0,
                       of="w")
    assert [step for step, _ in sweep.rows] == [10.0**-k for k in range(1, 11)]
    assert sweep.rows[0][1] == pytest.approx(3 * 1.0 + 0.1**2, rel=1e-12)  # (x+ε)³−(x−ε)³ over 2ε, at x = −1
    assert (sweep.index, sweep.claimed, sweep.of) == ((0, 1), 3.0, "w")
    np.testing.assert_array_equal(point[1], [[0.5, -1.0]])  # the point itself is never moved


def test_a_gradcheck_slightly_off_prints_the_relative_error_and_band_of_the_worst_element():
    off = ag.Primitive("tanh_off", "tanh", np.tanh,
                       (ag.Partial("1−tanh²", lambda u, ans, x: u * (1 - ans * ans) * 1.005),))
    with pytest.raises(AssertionError) as failure:
        gradcheck(lambda x: off(x).sum(), [Tensor([0.3, -0.2], requires_grad=True)])
    assert "relative error 5.0e-03: suspect (above 1e-2 wrong" in str(failure.value)


def test_unless_told_the_taylor_tests_steps_reach_where_rounding_alone_is_left_along_a_repeatable_direction():
    """The floor is read from the last five remainders, so by default the steps must go on halving until a right
    gradient's remainder (about c·ε², c read at the first step) is lost under f's rounding; and the direction is
    the same at every call, so a verdict can be repeated."""
    x = np.array([0.5, -1.5])
    right = np.cos(x) * x**3 + 3 * np.sin(x) * x**2
    test = taylor_test(_quartic, [x], [right])
    steps, remainders = test.epsilons, test.remainders
    c = remainders[0] / steps[0] ** 2
    assert all(r > 100 * c * e**2 for e, r in zip(steps[-5:], remainders[-5:], strict=True))  # far off c·ε²
    assert max(remainders[-5:]) < 1e-14 * abs(_quartic([x]))  # rounding of f's size: no slope left in them
    assert test.verdict == "right" and test.order == pytest.approx(2, abs=0.1)
    again, other = taylor_test(_quartic, [x], [right]), taylor_test(_quartic, [x], [right], seed=1)
    assert again.remainders == remainders and other.remainders != remainders


def test_the_taylor_test_and_the_sweep_work_at_a_float32_point_in_float64():
    x = np.array([0.1, -0.7, 1.3], np.float32)
    x64 = x.astype(np.float64)
    grad = np.cos(x64) * x64**3 + 3 * np.sin(x64) * x64**2
    # _quartic computes in the dtype it is given, as user code does
    assert taylor_test(_quartic, [x], [grad]).remainders == taylor_test(_quartic, [x64], [grad]).remainders
    assert step_sweep(_quartic, [x], 0, (1,), 1.0).rows == step_sweep(_quartic, [x64], 0, (1,), 1.0).rows


def test_the_taylor_test_takes_an_empty_input_quietly_and_refuses_a_gradient_missing():
    x = np.array([0.5, -1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the mean magnitude of an empty input is not taken
        assert taylor_test(lambda arrays: _quartic([arrays[1]]), [np.zeros(0), x], [np.zeros(0), np.cos(x)]).epsilons
    with pytest.raises(ValueError):  # zip(..., strict=True): one gradient for two inputs
        taylor_test(lambda arrays: _quartic([arrays[1]]), [x, x], [np.cos(x)])


def test_at_a_kink_the_one_sided_remainder_alone_reads_the_gradient_wrong():
    # |x| is even: the symmetric remainder |f(εd) − f(−εd) − 2ε·0| is 0 at every step and cannot tell that 0 is
    # no gradient of |x| at 0; the one-sided one falls like ε and can
    result = taylor_test(lambda arrays: float(np.sum(np.abs(arrays[0]))), [np.zeros(3)], [np.zeros(3)])
    assert (result.order, result.symmetric_order, result.verdict) == (pytest.approx(1.0), None, "wrong")


@pytest.mark.parametrize("unit", [1e-12, 1e12])
@pytest.mark.parametrize("error", [0.0, 1e-2])
def test_the_taylor_verdict_does_not_depend_on_the_units_of_f(unit, error):
    x = np.array([0.4, -1.1, 2.0])
    gradient = np.cos(x) * x**3 + 3 * np.sin(x) * x**2 + error
    result = taylor_test(lambda arrays: unit * _quartic(arrays), [x], [unit * gradient])
    assert result.verdict == taylor_test(_quartic, [x], [gradient]).verdict == ("wrong" if error else "right")


def test_a_function_at_zero_with_a_large_slope_reads_its_rounding_at_the_size_of_its_values_along_the_steps():
    # f(0) = 0 but f(εd) ≈ 1e6·ε·Σd: its rounding falls like ε, as a wrong gradient's remainder would, and is
    # rounding all the same; a right gradient must not read as wrong for it
    def f(arrays):
        return float(np.sum(1e6 * arrays[0] + 0.5 * arrays[0] ** 2))

    x = np.zeros(4)
    assert taylor_test(f, [x], [np.full(4, 1e6)]).verdict == "right"
    assert taylor_test(f, [x], [np.full(4, 1e6) + 1e-3 * np.eye(4)[1]]).verdict == "wrong"


def _falls_like_e2_then_flat_at(height):
    return lambda e, noise: 0.01 * e * e if 0.01 * e * e > 2 * noise else height * noise if e > 1e-10 else 0.0


@pytest.mark.parametrize("remainder,verdict", [
    (_falls_like_e2_then_flat_at(0.7), "right"), (_falls_like_e2_then_flat_at(1.3), "wrong"),
    (lambda e, noise: 40 * noise * e / 0.1 if e > 0.1 / 40 else 0.0, "wrong")],
    ids=["falls-like-e2-then-flat-below-the-noise", "then-flat-above-it", "falls-like-e-above-it"])
def test_the_noise_is_1e_14_of_the_largest_value_f_takes_along_the_steps_to_first_order(remainder, verdict):
    # f has the value 1 and the slope 90 along seed 0's direction, and the remainder(ε) given, on both sides of 0
    # (the symmetric remainder is 0): the noise is 1e-14·(|f(x)| + |∇f·d|·ε₀) = 1e-14·(1 + 90·0.1); the last
    # five remainders are 0, so no floor is read from them; a remainder at the noise or below it is rounding
    noise, d = 1e-13, np.random.default_rng(0).standard_normal()

    def f(arrays):
        e = abs(arrays[0][0] / d)
        return 1.0 + 90 * arrays[0][0] / d + (remainder(e, noise) if e else 0.0)

    assert taylor_test(f, [np.zeros(1)], [np.array([90 / d])]).verdict == verdict


# ---- a long report: the failing rows and a count by default, every row with full=True ---------------------

LONG = 500  # steps of a scalar-weight recurrence that names two tensors a step: 1,000 intermediates


def recurrence(w, xs):
    h = None
    for t in range(xs.shape[0]):
        a = (xs[t] if h is None else w * h + xs[t]).named(f"a_{t}")
        h = ag.tanh(a).named(f"h_{t}")
    return h.sum()


def recurrence_backward(w, xs, wrong_at=None, carried=False):
    """Right, except the gradient at a_{wrong_at} doubled: reported only, or `carried` on back."""
    hs, h = [], np.zeros_like(xs[0])
    for t in range(len(xs)):
        h = np.tanh(xs[t] if t == 0 else w * h + xs[t])
        hs.append(h)
    grads, dh, dw, dxs = {}, np.ones_like(h), np.zeros_like(w), np.zeros_like(xs)
    for t in reversed(range(len(xs))):
        grads[f"h_{t}"] = dh.copy()
        da = dh * (1 - hs[t] ** 2)
        grads[f"a_{t}"] = 2 * da if t == wrong_at else da
        da = grads[f"a_{t}"] if carried else da
        dxs[t] = da
        if t:
            dw += (da * hs[t - 1]).sum()
            dh = w * da
    return {"w": dw, "xs": dxs} | grads


def long_check(wrong_at=None, carried=False):
    xs = np.random.default_rng(0).normal(size=(LONG, 2)) * 0.5
    return check_gradients(recurrence, [Tensor(np.array(0.9), name="w"), Tensor(xs, name="xs")],
                           lambda w, xs: recurrence_backward(w, xs, wrong_at, carried), fd_samples=4)


def test_a_long_report_shows_its_failing_rows_and_counts_the_rest():
    report = long_check(wrong_at=LONG - 5)
    text = report.format()
    assert len(report.nodes) == 2 * LONG and len(text.splitlines()) <= 60
    assert [row.name for row in report.failing()] == [f"a_{LONG - 5}"]
    assert re.search(rf"^a_{LONG - 5} .*FAIL: wrong", text, re.M) and "\n… 999 more rows pass\n" in text
    assert f"first departure, walking back from the output: a_{LONG - 5}" in text
    assert text.endswith("1001 passed, 1 failed") and "\nh_0 " not in text
    full = report.format(full=True)
    assert len(full.splitlines()) > 2 * LONG and all(f"\n{row.name} " in full for row in report.nodes)
    assert "more rows" not in full and full.count("\n") == text.count("\n") + 2 * LONG - 2
    right = long_check()
    assert right.tables(most_rows=20)[-2:] == ["intermediates, walking back from the output", "… all 1,000 rows pass"]
    assert len(right.format().splitlines()) < 15


def test_a_long_report_with_many_failing_rows_lists_the_first_ones():
    report = long_check(wrong_at=LONG - 10, carried=True)
    failing = [row.name for row in report.nodes if not row.passed]
    assert len(failing) > 20
    text = report.format()
    assert len(text.splitlines()) <= 70 and all(f"\n{name} " in text for name in failing[:20])
    assert f"\n{failing[20]} " not in text
    left = 2 * LONG - 20
    assert f"\n… {left} more rows: {left - (len(failing) - 20)} pass, {len(failing) - 20} fail\n" in text


def test_a_short_report_is_the_full_one():
    for mistake in (None, "reset sigmoid"):
        report = check_gradients(gru, gru_inputs(1), lambda *a, m=mistake: gru_backward(*a, mistake=m))
        assert report.format() == report.format(full=True)
        assert report.tables(most_rows=20) == report.tables()
