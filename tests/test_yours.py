"""Your own backward against the engine: `compare --hand`, in the three layouts, with the bug zoo written in."""

import functools
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

import lstm
import lstm.derivation.compare as compare_module
from lstm import check_backward
from lstm.derivation import hand
from lstm.derivation.bugs import BUGS
from lstm.derivation.compare import compare, run_engine
from lstm.derivation.problem import Problem
from lstm.names import CELL_STATE, GATE, GATE_OF, HIDDEN_STATE
from lstm.own_backward import check as yours
from lstm.own_backward.check import HandReport
from lstm.own_backward.layouts import LAYOUTS, Hand, HandError
from lstm_autograd.cli import main

EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"
FILES = {layout: EXAMPLES / f"{layout}_lstm.py" for layout in ("own", "pytorch", "cs231n")}
H_BACK, C_BACK = "∇h_{t−1}", "∇c_{t−1}"

# Where each mistake must be located, with the default sizes (T = 5): the first step that departs and, there, the
# gates whose own lines depart and what is passed back wrong. In the own and pytorch layouts the runs start at
# any step, so the first departure walking back from the loss is the last step, T − 1 = 4, for every mistake
# that repeats at each step. The cs231n layout fixes c0 = 0, so its runs are the first steps: the forget gate
# does nothing at step 0 (∇f_0 = ∇c_0 ⊙ c_{−1} = 0), and what passes between steps first matters at t = 1.
FROM_STEP = {
    "tanh-forgotten": (4, "ifog", {H_BACK, C_BACK}),
    "forget-no-sigmoid-derivative": (4, "f", {H_BACK}),
    "no-carry": (4, "", {H_BACK, C_BACK}),
    "c-assigned": (4, "ifg", {H_BACK, C_BACK}),
    "w-h-uses-h-t": (4, "ifog", set()),
    "g-as-sigmoid": (4, "g", {H_BACK}),
    "skip-first-step": (0, "ifog", {"∇h0", "∇c0"}),  # not alike at every step: located by the first steps
}
FIRST_STEPS = {
    "tanh-forgotten": (0, "iog", {"∇h0"}),
    "forget-no-sigmoid-derivative": (1, "f", set()),
    "no-carry": (0, "", {"∇h0"}),
    "c-assigned": (1, "", set()),
    "w-h-uses-h-t": (0, "iog", set()),
    "g-as-sigmoid": (0, "g", {"∇h0"}),
    "skip-first-step": (0, "iog", {"∇h0"}),
}
EXPECTED = {"own": FROM_STEP, "pytorch": FROM_STEP, "cs231n": FIRST_STEPS}


def check(layout, mistake=None, monkeypatch=None, **options):
    if mistake:
        monkeypatch.setenv("LSTM_MISTAKE", mistake)
    return check_backward(yours.load(str(FILES[layout]), layout), layout=layout, **options)


@functools.cache
def zoo_report(layout, mistake):
    """The default check of the example file in `layout` with `mistake` written in (shared by the tests)."""
    with mock.patch.dict(os.environ, {"LSTM_MISTAKE": mistake}):
        return check(layout)


def test_the_example_files_hold_the_bug_zoo():
    assert set(FROM_STEP) == set(FIRST_STEPS) == {*BUGS, "skip-first-step"}
    for path in FILES.values():
        text = path.read_text()
        assert all(f'"{name}"' in text for name in [*FROM_STEP, "g-as-sigmoid-throughout"]), path.name


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_correct_backward_passes_in_each_layout(layout, capsys):
    report = check(layout)
    assert report.passed, report.format()
    assert report.forward is not None and report.forward.passed
    assert report.gradients.taylor.verdict == "right" and not report.locations
    assert main(["compare", "--hand", str(FILES[layout]), "--layout", layout]) == 0
    assert capsys.readouterr().out.rstrip().endswith("right: your gradients match the engine's")


@pytest.mark.parametrize("mistake", FROM_STEP)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_mistake_is_caught_and_located_in_each_layout(layout, mistake):
    report = zoo_report(layout, mistake)
    step, gates, passed_back = EXPECTED[layout][mistake]
    assert not report.passed and report.forward.passed
    assert report.gradients.taylor.verdict == "wrong"
    assert report.steps.first == step, report.format()
    assert "".join(sorted({GATE_OF[name].key for name in report.steps.own if name in GATE_OF},
                          key="ifog".index)) == gates, report.format()
    assert set(report.steps.passed_back) == passed_back, report.format()
    assert f"WRONG: your backward, first at step t = {step}" in report.format()
    if mistake == "w-h-uses-h-t":  # only the recurrent weights: nothing else is touched
        assert {loc.name for loc in report.locations} == {GATE[k].W_h for k in "ifog"}


def test_the_report_names_parameter_gate_unit_and_step():
    report = zoo_report("pytorch", "forget-no-sigmoid-derivative")
    text = report.format()
    w_hf = next(loc for loc in report.locations if loc.name == "W_hf")
    assert (w_hf.label, w_hf.gate, w_hf.failing_steps) == ("W_hf = weight_hh[4:8]", "f", [0, 1, 2, 3, 4])
    assert f"W_hf = weight_hh[4:8]: gate f, unit {w_hf.unit}, worst at t = {w_hf.step} (wrong at t = 0, 1, 2, 3, " \
           f"4); relative error {w_hf.relative:.1e}: wrong" in text
    assert "first departure, walking back from the loss: step t = 4, in its own lines: W_xf, W_hf, b_f (gate f) " \
           "and ∇x_t; in what it passes back: ∇h_{t−1}" in text


def test_a_mistake_in_one_unit_is_located_at_that_unit():
    def backward(*args):
        grads = hand.backward(*args)
        grads["W_hf"][2, 1] += 0.1
        return grads

    report = check_backward(backward)
    assert [(loc.name, loc.gate, loc.unit, loc.index) for loc in report.locations] == [("W_hf", "f", 2, (2, 1))]


def test_a_wrong_forward_is_named_and_its_backward_checked_against_it():
    for layout in LAYOUTS:
        report = zoo_report(layout, "g-as-sigmoid-throughout")
        assert not report.passed and not report.forward.passed
        assert report.forward.failing_steps[0] == 0 and report.forward.own_taylor.verdict == "right"
        assert report.steps is None  # the backward is located once the forward is right
        assert "WRONG: your forward (hs first departs at t = 0); your backward is right for it" in report.format()


def test_gradients_at_intermediates_locate_the_first_departing_node():
    report = zoo_report("own", "forget-no-sigmoid-derivative")
    assert report.gradients.first_departure == "t4/forget gate/p"
    assert report.gradients.departure_feeds == ["t4/forget gate/f_t"]
    text = report.format()
    assert "first departure, walking back from the output: t4/forget gate/p" in text
    assert "… and 42 more intermediates further back: 2 pass, 40 fail" in text


def test_a_float32_backward_is_checked_against_float64(monkeypatch):
    report = check("own", dtype=np.float32)
    tolerance = Problem.random(3, 4, 2, 5, 0, np.float32).tolerances()["hand"]
    assert report.passed and f"your code runs in float32 (tolerance {tolerance:.2g}, the float rule)" in report.format()
    # the Taylor line agrees with the rows: it allows for the float32 gradient's rounding (it said "wrong")
    assert report.gradients.taylor.verdict == "right"
    assert not check("cs231n", "g-as-sigmoid", monkeypatch, dtype=np.float32).passed


def test_a_check_that_cannot_see_the_forget_gate_says_so(monkeypatch):
    report = check("cs231n", "forget-no-sigmoid-derivative", monkeypatch, length=1)
    assert report.passed and "note: with c0 = 0 and one step the forget gate has no effect" in report.format()
    assert not check("cs231n", "forget-no-sigmoid-derivative", monkeypatch, length=2).passed


def test_the_runs_on_parts_of_the_problem_mean_what_the_report_says():
    problem = Problem.random(3, 4, 2, 5, 0, np.float64)
    own = LAYOUTS["own"]
    for t in range(1, 5):  # from step t: its gradients at h0 and c0 are what step t passes back to h_{t−1}, c_{t−1}
        part = yours.engine_gradients(own, problem.from_step(t))
        dhs = problem.dhs.copy()
        dhs[:t] = 0  # the whole problem, with the loss read at steps t … T−1 only
        later = run_engine(problem.replace(dhs=dhs)).nodes
        np.testing.assert_allclose(part["h0"], later[str(HIDDEN_STATE.at(t - 1))].grad, atol=1e-14)
        f_t = later[str(GATE["f"].at(t))].data  # ∇c_{t−1} = ∇c_t ⊙ f_t, before step t−1 adds its path through h
        np.testing.assert_allclose(part["c0"], later[str(CELL_STATE.at(t))].grad * f_t, atol=1e-14)
    alone = problem.step_alone(3)  # ∇W_x is step 3's own ∇p_3ᵀ x_3, with the loss read at step 3 alone
    grads, trace = hand.bptt(alone.params, alone.xs, alone.h0, alone.c0, alone.dhs, alone.dh_T, alone.dc_T)
    for k in "ifog":
        np.testing.assert_allclose(grads[GATE[k].W_x], trace[f"t3/{GATE[k].section}/p"].T @ alone.xs[3])


def test_one_function_per_job_each_with_one_kind_of_report():
    """lstm.compare was a module made callable, returning a Report or, given hand=, a HandReport."""
    assert lstm.compare is compare and isinstance(lstm.compare(length=2), compare_module.Report)
    assert isinstance(lstm.check_backward(hand.backward, length=2), HandReport)
    assert lstm.check_backward(hand.backward, length=2).passed
    with pytest.raises(TypeError):
        lstm.compare(hand=hand.backward)  # the old spelling is refused, not half-supported


def test_user_code_that_fails_is_named_in_one_line(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text("def backward(params, xs, h0, c0, dhs, dh_T=None, dc_T=None):\n    return params['nope']\n")
    assert main(["compare", "--hand", str(path)]) == 2
    assert capsys.readouterr().err.strip() == ("lstm-autograd compare: error: mine.py:backward: backward raised "
                                               "KeyError: 'nope' (mine.py, line 2)")
    path.write_text("import numpy as np\ndef backward(params, xs, h0, c0, dhs, dh_T=None, dc_T=None):\n"
                    "    return {name: np.zeros(2) for name in params}\n")
    assert main(["compare", "--hand", f"{path}:backward"]) == 2
    assert "backward returned no gradient for xs, h0, c0 (expected the keys W_xi" in capsys.readouterr().err


@pytest.mark.parametrize("returned,message", [
    ("grads['W_hf'] = grads['W_hf'].T[:, :3]", r"backward's gradient for W_hf has shape \(4, 3\), expected \(4, 4\)"),
    ("grads['t9/forget gate/f_t'] = 0", r"returned 't9/forget gate/f_t', which is neither one of W_xi"),
    ("grads['dW'] = 0", r"returned 'dW', which is neither one of W_xi"),
    ("grads['t1/forget gate/nope'] = grads['h0']", "hand returned gradients for t1/forget gate/nope, which name"),
    ("grads = list(grads.values())", "backward must return a dict with the keys W_xi"),
    ("grads['W_Xi'] = grads.pop('W_xi')", r"returned no gradient for W_xi \(expected the keys W_xi, .*, c0\); "
                                          r"it returned 'W_Xi' instead$"),
    ("grads = {name: g.astype('float32') for name, g in grads.items()}",
     r"backward's gradient for W_xi is float32, but the problem is float64: return float64 arrays, or check in "
     r"float32 \(dtype='float32'\)$"),
])
def test_what_a_backward_returns_is_checked(returned, message):
    def backward(*args):
        grads = hand.backward(*args)
        exec(returned, {}, scope := {"grads": grads})
        return scope["grads"]

    with pytest.raises(ValueError, match=message):
        check_backward(backward)


@pytest.mark.parametrize("spoil", ["grads['W_xi'][0, 0] = np.nan", "grads['W_xi'][0, 0] = np.inf",
                                   "grads['h0'][...] = np.nan"])
def test_a_backward_with_a_value_that_is_not_finite_fails(spoil):
    # it passed: a NaN compared with the tolerance is False, so it never "exceeded" it
    def backward(*args):
        grads = hand.backward(*args)
        exec(spoil, {"np": np}, {"grads": grads})
        return grads

    report = check_backward(backward)
    assert not report.passed and report.format().count("FAIL") >= 1


def test_bad_hands_and_options_are_refused(tmp_path, capsys):
    cases = [
        (["--hand", "nope.py"], "--hand: no file nope.py"),
        (["--hand", "README.md"], "--hand takes FILE.py[:FUNCTION], got 'README.md'"),
        (["--hand", f"{FILES['own']}:nope"], "own_lstm.py has no function nope; it defines backward, forward, "
                                             "g_activation, run, sigmoid"),
        (["--hand", str(FILES["own"]), "--layout", "cs231n"], "the cs231n layout needs lstm_forward and "
                                                             "lstm_backward in 'own_lstm.py'"),
        (["--hand", f"{FILES['cs231n']}:lstm_backward", "--layout", "cs231n"], "the cs231n layout reads "
                                                                               "lstm_forward and lstm_backward"),
        (["--layout", "pytorch"], "--layout goes with --hand FILE.py[:FUNCTION]"),
        (["--hand", str(FILES["own"]), "--bug", "no-carry"], "--bug switches a mistake into this library's"),
    ]
    for argv, message in cases:
        assert main(["compare", *argv]) == 2
        assert message in capsys.readouterr().err, argv
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('no module named cs231n')\n")
    assert main(["compare", "--hand", str(broken)]) == 2
    assert "broken.py raised ImportError while loading: no module named cs231n" in capsys.readouterr().err
    with pytest.raises(ValueError, match="layout must be one of own, pytorch, cs231n, got 'keras'"):
        check_backward(hand.backward, layout="keras")
    with pytest.raises(ValueError, match="hand must be a function with the own layout's signature, got int"):
        check_backward(3)


def test_compare_hand_exits_one_and_prints_json_when_wrong(monkeypatch, capsys):
    monkeypatch.setenv("LSTM_MISTAKE", "c-assigned")
    assert main(["compare", "--hand", str(FILES["cs231n"]), "--layout", "cs231n", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["passed"] and report["steps"]["first"] == 1 and report["taylor"]["verdict"] == "wrong"
    assert {row["name"] for row in report["rows"]} == {"x", "h0", "Wx", "Wh", "b"}


def test_a_forward_of_another_signature_is_named_with_the_way_out(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text("from lstm.derivation.hand import backward\n\n\ndef forward(x):\n    return x\n")
    assert main(["compare", "--hand", str(path)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "forward raised TypeError: forward() takes 1 positional argument but 4 were given; a file's function forward "
        "is called as forward(params, xs, h0, c0) → (hs, (h_T, c_T)): rename it to check the backward alone")


# ---- the documentation shows the commands' real output -------------------------------------------------------

ROOT = Path(__file__).parent.parent
PAGES = ("docs/compare.md", "docs/your-backward.md", "docs/check-gradients.md")


def rounding_blurred(text):
    """Numbers at rounding level, and the diagnosis' tables (which reach rounding by design), may differ from
    machine to machine with the order of floating-point sums; everything else must match exactly."""
    text = re.sub(r"^  (ε|eps) = .*$", r"  \1 row", text, flags=re.M)
    text = re.sub(r"ε\^\d\.\d\d", "ε^n", text)  # the orders are read where rounding begins
    return re.sub(r"\d\.\d\d?e-(?:09|1\d|[2-9]\d)|0\.00?e\+00", "≈0", text)


def readme_commands():
    """Each `$ command` of the pages' console blocks, with the output the page shows for it."""
    found = []
    for page in PAGES:
        for block in re.findall(r"```console\n(.*?)```", (ROOT / page).read_text(), re.S):
            for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
                command, _, output = part.partition("\n")
                found.append((command, output))
    return found


def run_readme_command(command, capsys):
    words = shlex.split(command)
    env = dict(word.split("=", 1) for word in words if "=" in word.split("/")[0])
    words = [word for word in words if "=" not in word.split("/")[0]]
    if words[0] == "python":
        done = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True)
        return done.stdout
    assert words[0] == "lstm-autograd", command
    with mock.patch.dict(os.environ, env):
        main(words[1:])
    return capsys.readouterr().out


def test_the_readme_shows_each_layout_and_the_gru_with_their_real_output(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    commands = readme_commands()
    shown = " ".join(command for command, _ in commands)
    assert all(f"--layout {layout}" in shown for layout in ("pytorch", "cs231n")) and "gru.py" in shown
    for command, output in commands:
        assert rounding_blurred(run_readme_command(command, capsys)) == rounding_blurred(output), command


def test_the_pages_table_of_the_zoo_is_the_reports_last_lines():
    page = (ROOT / "docs" / "your-backward.md").read_text()
    rows = re.findall(r"^\| `([a-z-]+)` \| (WRONG: .*?) \| (WRONG: .*?) \|$", page, re.M)
    assert [name for name, _, _ in rows] == [*FROM_STEP, "g-as-sigmoid-throughout"]
    for name, own, cs231n in rows:
        for layout, shown in (("own", own), ("pytorch", own), ("cs231n", cs231n)):
            assert zoo_report(layout, name).format().splitlines()[-1] == shown, (layout, name)


BATCHED_FIXTURES = [path for path in sorted((ROOT / "tests" / "fixtures").glob("torch_lstm_*.npz"))
                    if np.load(path)["xs"].ndim == 3]  # the layouts take a batch axis


@pytest.mark.parametrize("path", BATCHED_FIXTURES, ids=lambda p: p.stem)
def test_the_pytorch_layout_is_torch_nn_lstms(path):
    """torch.nn.LSTM's own gradients (the fixtures) are what the pytorch layout's engine graph gives, and its blocks
    find each of the derivation's parameters where torch keeps it; and so is the example file's backward."""
    f = np.load(path)
    params = lstm.LSTM.from_stacked(f["weight_ih"], f["weight_hh"], f["bias_ih"], f["bias_hh"]).arrays()
    problem = Problem(params, *(f[k] for k in ("xs", "h0", "c0", "dhs", "dh_T", "dc_T")))
    layout = LAYOUTS["pytorch"]
    torch = {name: f[f"grad_{name}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    torch |= {"input": f["grad_xs"], "h_0": f["grad_h0"], "c_0": f["grad_c0"]}
    engine = yours.engine_gradients(layout, problem)
    mine = layout.backward(yours.load(str(FILES["pytorch"]), "pytorch"), problem)
    derivation = run_engine(problem).grads
    for name, grad in torch.items():
        np.testing.assert_allclose(engine[name], grad, rtol=0, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(mine[name], grad, rtol=0, atol=1e-10, err_msg=name)
    for block in layout.blocks(problem.h0.shape[-1]):
        np.testing.assert_allclose(block.take(torch[block.array]), derivation[block.name], rtol=0, atol=1e-10,
                                   err_msg=block.label)


# ---- nothing your code does can make, change or stop the verdict -------------------------------------------


class Stop(BaseException):
    """A BaseException of the user's own, which an `except Exception` lets through."""


@pytest.mark.parametrize("raised, shown", [(SystemExit(0), "SystemExit: 0"), (SystemExit(), "SystemExit"),
                                           (GeneratorExit(), "GeneratorExit"), (Stop("no"), "Stop: no")],
                         ids=["exit-0", "exit", "generator-exit", "own-base-exception"])
def test_a_base_exception_your_code_raises_is_one_line_naming_it(raised, shown):
    def backward(*args):
        raise raised

    with pytest.raises(HandError) as caught:
        check_backward(backward)
    line = str(caught.value)
    assert line.startswith(f"{backward.__qualname__}: backward raised {shown} (test_yours.py, line ")
    assert "\n" not in line

    def interrupted(*args):  # Ctrl-C stays Ctrl-C
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_backward(interrupted)


def test_a_file_that_exits_while_loading_is_one_line(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("import sys\nsys.exit(0)\n")
    with pytest.raises(HandError, match=r"^mine\.py raised SystemExit while loading: 0$"):
        yours.load(str(path))


def spoiled(function, statement):
    """`function`, after which `statement` is run on the arguments it was handed (its result stays right)."""
    signature = inspect.signature(function)

    def spoiling(*args):
        result = function(*args)
        exec(statement, {"np": np}, dict(signature.bind(*args).arguments))
        return result

    return spoiling


# (layout, the function, what it does to its arguments, the argument named)
MUTATIONS = [
    ("own", "backward", "params['W_hf'][0, 0] += 1", "params['W_hf']"),
    ("own", "backward", "xs[0] = 0", "xs"),
    ("own", "backward", "h0 += 1", "h0"),
    ("own", "backward", "c0 *= 2", "c0"),
    ("own", "backward", "dhs[-1] += dh_T", "dhs"),
    ("own", "backward", "dh_T[...] = 0", "dh_T"),
    ("own", "backward", "dc_T.fill(0)", "dc_T"),
    ("own", "forward", "params['b_f'][:] = 0", "params['b_f']"),
    ("pytorch", "backward", "weight_hh[4:8] = 0", "weight_hh"),
    ("pytorch", "backward", "bias_ih += 1", "bias_ih"),
    ("pytorch", "backward", "d_output[-1] += d_h_n", "d_output"),
    ("pytorch", "forward", "input[0] = 0", "input"),
    ("cs231n", "forward", "x[:, 0] = 0", "x"),
    ("cs231n", "forward", "Wx *= 2", "Wx"),
    ("cs231n", "backward", "dh[:, -1] = 0", "dh"),
]


@pytest.mark.parametrize("layout, function, statement, argument", MUTATIONS,
                         ids=[f"{layout}-{function}-{argument}" for layout, function, _, argument in MUTATIONS])
def test_a_function_that_modifies_an_argument_in_place_is_refused_naming_it(layout, function, statement, argument):
    # before: the check ran on the modified arrays, and blamed step 0 or nothing
    user = yours.load(str(FILES[layout]), layout)
    functions = {"backward": user.backward, "forward": user.forward}
    functions[function] = spoiled(functions[function], statement)
    role = {"cs231n": f"lstm_{function}"}.get(layout, function)
    with pytest.raises(HandError) as caught:
        check_backward(Hand(functions["backward"], functions["forward"], user.source), layout=layout)
    assert str(caught.value) == f"{user.source}: {role} modified its argument {argument} in place; work on a copy"


def test_all_rows_lists_every_intermediate_of_your_check(monkeypatch, capsys):
    report = zoo_report("own", "skip-first-step")
    nodes, text, full = report.gradients.nodes, report.format(), report.format(full=True)
    assert f"\n… {len(nodes)} intermediates: {len(nodes)} pass, 0 fail\n" in text  # cut: every one passes
    assert all(f"\n{row.name} " in full for row in nodes) and "intermediates:" not in full
    assert len(full.splitlines()) == len(text.splitlines()) + 3 + len(nodes) - 1  # title, columns, rows; no count
    monkeypatch.setenv("LSTM_MISTAKE", "skip-first-step")
    assert main(["compare", "--hand", str(FILES["own"]), "--all-rows"]) == 1
    assert capsys.readouterr().out == full + "\n"
