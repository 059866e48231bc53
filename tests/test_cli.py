"""The command line refuses nonsense in one line that names the option or the path: never a traceback, never a
silent success; --help shows every default; the HIPS autograd clash is one clear error."""

import argparse
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

import lstm_autograd.cli as cli
from lstm.derivation.compare import compare
from lstm_autograd.cli import build_parser, main
from lstm_autograd.options import memory_needed

ROOT = Path(__file__).parent.parent
HUGE = "100000"

# (arguments, what the one line must name); {tmp} is a fresh folder holding `afile`, `adir/` and `bad.json`
NONSENSE = [
    # compare
    (["compare", "--seed", "-1"], "argument --seed: expected a non-negative integer, got '-1'"),
    (["compare", "--hidden-size", "0"], "argument --hidden-size: expected a positive integer, got '0'"),
    (["compare", "--hidden-size", HUGE], "--hidden-size 100000 needs about"),
    (["compare", "--input-size", "-3"], "argument --input-size: expected a positive integer, got '-3'"),
    (["compare", "--input-size", "100000000"], "--input-size 100000000 needs about"),
    (["compare", "--batch", "0"], "argument --batch: expected a positive integer"),
    (["compare", "--length", "abc"], "argument --length: expected a positive integer, got 'abc'"),
    (["compare", "--length", "2.5"], "argument --length: expected a positive integer, got '2.5'"),
    (["compare", "--length", "1000000000000"], "--length 1000000000000 with --batch 2 needs about"),
    (["compare", "--steps", "0"], "argument --steps: expected a positive integer"),
    (["compare", "--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
    (["compare", "--bug", "nope"], "argument --bug: no bug named 'nope'"),
    (["compare", "--seed"], "argument --seed: expected one argument"),
    (["compare", "--nonsense"], "unrecognized arguments: --nonsense"),
    # render
    (["render", "--gate", "input", "-o", "{tmp}/x.png", "--format", "svg"], "x.png ends in .png but the format"),
    (["render", "--gate", "input", "-o", "{tmp}/x.svg", "--format", "png"], "x.svg ends in .svg but the format"),
    (["render", "--gate", "input", "-o", "{tmp}/x.jpg"], "cannot tell the format from the extension .jpg"),
    (["render", "--gate", "input", "-o", "{tmp}/nonexistent/x.svg"], "no such folder {tmp}/nonexistent"),
    (["render", "--gate", "input", "-o", "{tmp}/afile/x.svg"], "{tmp}/afile is not a folder"),
    (["render", "--gate", "forget", "-o", "{tmp}/adir"], "such as {tmp}/adir/forget.svg"),
    (["render", "--gate", "all", "-o", "{tmp}/x.svg"], "{tmp}/x.svg names a file, but -o must be a folder"),
    (["render", "--gate", "all", "-o", "{tmp}/afile"], "{tmp}/afile is a file; -o must be a folder"),
    (["render", "--gate", "all", "-o", "{tmp}/missing/deeper"], "no such folder {tmp}/missing"),
    (["render", "--gate", "input", "-o", ""], "argument -o/--output: expected a path, got ''"),
    (["render", "--gate", "nope", "-o", "{tmp}/x.svg"], "argument --gate: invalid choice: 'nope'"),
    (["render", "--gate", "input"], "the following arguments are required: -o/--output"),
    (["render", "--gate", "input", "-o", "{tmp}/x.svg", "--length", "-1"], "argument --length"),
    (["render", "--gate", "input", "-o", "{tmp}/x.svg", "--batch", "0"], "argument --batch"),
    (["render", "--gate", "input", "-o", "{tmp}/x.svg", "--hidden-size", HUGE], "--hidden-size 100000 needs"),
    (["render", "--gate", "input", "-o", "{tmp}/x.svg", "--bug", "nope"], "argument --bug: no bug named"),
    # demo: a folder it cannot write is found before the comparison runs (stdout stays empty)
    (["demo", "-o", "{tmp}/afile"], "{tmp}/afile is a file; -o must be a folder"),
    (["demo", "-o", ""], "argument -o/--output: expected a path, got ''"),
    (["demo", "-o", "{tmp}/missing/deeper"], "no such folder {tmp}/missing"),
    # explore and audit
    (["explore", "-o", "{tmp}/afile/x.html"], "cannot write {tmp}/afile/x.html: {tmp}/afile is not a folder"),
    (["explore", "-o", "{tmp}/adir"], "{tmp}/adir is a folder; expected a file name"),
    (["explore", "-o", "{tmp}/e.svg"], "the page is HTML; give a file name ending in .html, got {tmp}/e.svg"),
    (["explore", "-o", ""], "argument -o/--output: expected a path, got ''"),
    (["explore", "--bug", "nope", "-o", "{tmp}/x.html"], "argument --bug: no bug named 'nope'"),
    (["explore", "--hidden-size", HUGE, "-o", "{tmp}/x.html"], "--hidden-size 100000 needs about"),
    (["audit", "{tmp}/missing.md"], "{tmp}/missing.md"),
    (["audit", "{tmp}/afile", "--points", "0"], "argument --points: expected a positive integer, got '0'"),
    (["audit", "{tmp}/afile", "--seed", "-2"], "argument --seed: expected a non-negative integer, got '-2'"),
    # train: refused before the first step
    (["train", "adding", "--clip", "-1"], "argument --clip: expected a finite number ≥ 0, got '-1'"),
    (["train", "adding", "--lr", "-1"], "argument --lr: expected a positive finite number, got '-1'"),
    (["train", "adding", "--lr", "0"], "argument --lr: expected a positive finite number, got '0'"),
    (["train", "adding", "--lr", "inf"], "argument --lr: expected a positive finite number, got 'inf'"),
    (["train", "adding", "--lr", "nan"], "argument --lr: expected a positive finite number, got 'nan'"),
    (["train", "adding", "--lr", "fast"], "argument --lr: expected a positive finite number, got 'fast'"),
    (["train", "adding", "--hidden-size", "0"], "argument --hidden-size: expected a positive integer, got '0'"),
    (["train", "adding", "--batch", "0"], "argument --batch: expected a positive integer, got '0'"),
    (["train", "adding", "--length", "0"], "argument --length: expected a positive integer, got '0'"),
    (["train", "adding", "--length", "1"], "adding problem: length must be at least 2, got 1"),
    (["train", "adding", "--steps", "0"], "argument --steps: expected a positive integer, got '0'"),
    (["train", "adding", "--every", "-5"], "argument --every: expected a positive integer, got '-5'"),
    (["train", "adding", "--seed", "-1"], "argument --seed: expected a non-negative integer, got '-1'"),
    (["train", "adding", "--optimizer", "rms"], "argument --optimizer: invalid choice: 'rms'"),
    (["train", "adding", "--hidden-size", HUGE], "--hidden-size 100000 needs about"),
    (["train", "adding", "--text", "{tmp}/afile"], "text applies to the chars task only, not adding"),
    (["train", "chars", "--text", "{tmp}/none.txt"], "no such text file: {tmp}/none.txt"),
    (["train", "adding", "--checkpoint", "{tmp}/afile/c.npz"], "cannot write {tmp}/afile/c.npz"),
    (["train", "adding", "--checkpoint", ""], "argument --checkpoint: expected a path, got ''"),
    (["train", "adding", "--plot", "{tmp}/afile"], "{tmp}/afile is a file; expected a folder"),
    (["train", "adding", "--resume"], "--resume needs --checkpoint PATH"),
    (["train", "adding", "--resume", "--checkpoint", "{tmp}/none.npz"], "no such file: {tmp}/none.npz"),
    (["train", "adding", "--resume", "--checkpoint", "{tmp}/afile"], "{tmp}/afile: a text file"),
    (["train", "--steps", "5"], "the following arguments are required: task"),
    (["train", "adding", "--momentum", "-1"], "argument --momentum: expected a finite number ≥ 0, got '-1'"),
    (["train", "adding", "--optimizer", "sgd", "--momentum", "1.5"], "momentum must be a number in [0, 1), got 1.5"),
    (["train", "adding", "--alpha", "x"], "argument --alpha: expected a finite number ≥ 0, got 'x'"),
    (["train", "adding", "--forget-bias", "inf"], "argument --forget-bias: expected a finite number, got 'inf'"),
    (["train", "adding", "--target", "0"], "argument --target: expected a positive finite number, got '0'"),
    (["train", "adding", "--evaluate-every", "-1"], "argument --evaluate-every: expected a non-negative integer"),
    (["train", "adding", "--log", "{tmp}/afile/run.json"], "cannot write {tmp}/afile/run.json"),
    (["train", "reber", "--length", "5"], "--length does not apply to reber"),
    (["train", "copy", "--model", "rnn", "--forget-bias", "1"], "forget_bias is the LSTM's; the rnn has no forget"),
    (["compare", "--hand", "{tmp}/missing.py"], "{tmp}/missing.py"),
    (["compare", "--layout", "pytorch"], "--layout goes with --hand FILE.py[:FUNCTION]"),
    (["reproduce", "run", "--count", "0"], "argument --count: expected a positive integer, got '0'"),
    (["reproduce", "page", "--runs", "{tmp}/none"], "--runs {tmp}/none: no such folder of runs"),
    # the command itself
    ([], "the following arguments are required: COMMAND"),
    (["nonsense"], "argument COMMAND: invalid choice: 'nonsense'"),
]

# bench runs `python -m benchmarks` in a process of its own: its one line comes from there
BENCH_NONSENSE = [
    (["bench", "--table-from", "{tmp}/missing.json"], "--table-from: no such file: {tmp}/missing.json"),
    (["bench", "--table-from", "{tmp}/bad.json"], "--table-from: {tmp}/bad.json is not JSON"),
    (["bench", "--table-from", "{tmp}/list.json"], "--table-from: {tmp}/list.json is not the results of"),
    (["bench", "--table-from", "{tmp}/partial.json"], "it holds environment"),
    (["bench", "--table-from", "{tmp}/adir"], "--table-from: cannot read {tmp}/adir"),
    (["bench", "--repeats", "0"], "argument --repeats: expected a positive integer, got 0"),
    (["bench", "--repeats", "x"], "argument --repeats: invalid int value: 'x'"),
    (["bench", "--sizes", "XL"], "unknown sizes or dtypes: XL"),
]


@pytest.fixture
def place(tmp_path):
    (tmp_path / "afile").write_text("a file")
    (tmp_path / "adir").mkdir()
    (tmp_path / "bad.json").write_text("not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "partial.json").write_text('{"environment": {}}')
    return tmp_path


def filled(arguments: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in arguments]


def assert_one_line_naming(status: int, out: str, err: str, expected: str) -> None:
    assert status not in (0, None), f"exit status {status}"
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"
    assert lines[0].startswith("lstm-autograd") and lines[0].count("error:") == 1
    assert out == "", "nothing is done, so nothing is printed"


@pytest.mark.parametrize("arguments, expected", NONSENSE, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_nonsense_ends_in_one_line_naming_the_option_or_path(place, capsys, arguments, expected):
    status = main(filled(arguments, place))
    captured = capsys.readouterr()
    assert_one_line_naming(status, captured.out, captured.err, expected.replace("{tmp}", str(place)))
    for name in ("x.png", "x.svg", "x.jpg", "nonexistent", "missing"):
        assert not (place / name).exists(), f"{name} was created"


@pytest.mark.parametrize("arguments, expected", BENCH_NONSENSE, ids=lambda a: " ".join(a) if isinstance(a, list)
                         else "")
def test_bench_nonsense_ends_in_one_line_too(place, capfd, arguments, expected):
    status = main(filled(arguments, place))
    captured = capfd.readouterr()
    assert_one_line_naming(status, captured.out, captured.err, expected.replace("{tmp}", str(place)))


@pytest.mark.parametrize("arguments, expected", [
    (["compare", "--hidden-size", "-4"], "argument --hidden-size: expected a positive integer, got '-4'"),
    (["render", "--gate", "forget", "-o", "{tmp}/adir"], "such as {tmp}/adir/forget.svg"),
    (["compare", "--hidden-size", HUGE], "--hidden-size 100000 needs about"),
])
def test_nonsense_through_the_installed_command(place, arguments, expected):
    """The same through a real process: the console script's exit status and its whole stderr."""
    run = subprocess.run([sys.executable, "-m", "lstm_autograd", *filled(arguments, place)], capture_output=True,
                         text=True, cwd=place)
    assert_one_line_naming(run.returncode, run.stdout, run.stderr, expected.replace("{tmp}", str(place)))


def test_a_library_error_is_not_prefixed_twice(place, capsys):
    """Library messages start with their own name ("render: ..."); the command's line says it once."""
    assert main(["render", "--gate", "input", "-o", str(place / "x.jpg")]) == 2
    line = capsys.readouterr().err
    assert line.startswith("lstm-autograd render: error: cannot tell") and line.count("render:") == 1


@pytest.mark.parametrize("sizes", [(3, 150, 2, 2), (3, 4, 200, 4)], ids=["H", "T·B"])
def test_the_memory_estimate_is_the_comparisons_peak(sizes):
    """Where the parameters dominate and where the steps do: the estimate against tracemalloc's peak."""
    tracemalloc.start()
    compare(*sizes)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert 0.8 <= sum(memory_needed(*sizes).values()) / peak <= 1.5


def test_help_shows_every_default(capsys):
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    missing = []
    for name, command in commands.items():
        if name == "bench":  # its options are `python -m benchmarks`'s, below
            continue
        text = "".join(command.format_help().split())  # argparse wraps at hyphens too
        for action in command._actions:
            default = action.default
            if not action.option_strings or action.help == argparse.SUPPRESS or default is None or default is False \
                    or isinstance(action, argparse._HelpAction):
                continue
            if f"(default:{default})".replace(" ", "") not in text:
                missing.append(f"{name} {action.option_strings[0]} {default}")
    assert not missing
    text = " ".join(commands["render"].format_help().split())
    assert "(default: the one -o's extension names, else svg)" in text and "(default: when --length > 3)" in text
    text = " ".join(commands["train"].format_help().split())
    assert "--lr LR learning rate (default: 0.01)" in text and "(default: adding 50, chars 32, copy 100)" in text
    assert "(default: reber 50, others 0)" in text and "(default: sgd 0.9, rmsprop 0)" in text
    assert "(default: 1000; with --resume: the checkpoint's)" in text
    bench = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], capture_output=True, text=True)
    assert "(default: 7)" in bench.stdout and "(default: S,M,L)" in bench.stdout


def test_memory_the_estimate_let_through_is_one_line_naming_the_options(monkeypatch, capsys):
    def allocation_failed(*args, **kwargs):
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (100000, 100000)")

    monkeypatch.setattr(cli, "compare", allocation_failed)
    assert main(["compare"]) == 2
    assert capsys.readouterr().err == (
        "lstm-autograd compare: error: out of memory (Unable to allocate 74.5 GiB for an array with shape (100000, "
        "100000)); reduce the sizes: --hidden-size, --input-size, --batch or --length\n")
    monkeypatch.setattr(cli, "audit", allocation_failed)
    assert main(["audit", "docs/lstm-cell-partials.md"]) == 2  # it advised --hidden-size, which audit has not
    assert capsys.readouterr().err.endswith("); audit a smaller derivation, or fewer --points\n")


def test_an_interrupted_command_says_so_in_one_line(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "compare", interrupted)
    assert main(["compare"]) == 130
    assert capsys.readouterr().err == "lstm-autograd compare: interrupted\n"


def fake_autograd(tmp_path: Path) -> dict[str, str]:
    """An environment whose first `autograd` on the path is not ours, as when HIPS autograd is installed over it."""
    (tmp_path / "fake" / "autograd").mkdir(parents=True)
    (tmp_path / "fake" / "autograd" / "__init__.py").write_text('"""Another distribution\'s autograd."""\n')
    return {**os.environ, "PYTHONPATH": str(tmp_path / "fake")}


@pytest.mark.parametrize("package", ["lstm", "lstm.derivation.hand", "lstm_autograd.audit", "viz",
                                     "lstm_autograd.training", "benchmarks"])
def test_another_autograd_first_on_the_path_is_one_import_error_naming_both_and_the_fix(tmp_path, package):
    env = fake_autograd(tmp_path)
    if package == "benchmarks":  # a checkout's folder, not installed: found behind the foreign autograd
        env["PYTHONPATH"] += os.pathsep + str(ROOT)
    run = subprocess.run([sys.executable, "-c", f"import {package}"], capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    assert run.returncode == 1
    last = run.stderr.splitlines()[-1]
    assert last.startswith(f"ImportError: the package `autograd` imported from {tmp_path / 'fake'}")
    assert "is not lstm-autograd's engine" in last and "HIPS autograd" in last and "the PyPI package autograd" in last
    assert "pip uninstall autograd && pip install --force-reinstall --no-deps lstm-autograd" in last
    assert [line for line in run.stderr.splitlines() if line.startswith(("ImportError", "ModuleNotFound"))] == [last]


def test_an_autograd_left_without_its_init_says_to_reinstall(tmp_path):
    """What uninstalling HIPS autograd leaves of ours: the modules, without the __init__.py both wrote."""
    (tmp_path / "fake" / "autograd").mkdir(parents=True)
    (tmp_path / "fake" / "autograd" / "tensor.py").write_text("")
    # imported as Python imports such a folder, whether the project is installed in place or as a wheel (where a
    # PYTHONPATH folder without __init__.py would lose to the wheel's package)
    namespace = ("import importlib.machinery as m, importlib.util as u, sys; "
                 f"spec = m.PathFinder.find_spec('autograd', [{str(tmp_path / 'fake')!r}]); "
                 "sys.modules['autograd'] = u.module_from_spec(spec); import viz")
    run = subprocess.run([sys.executable, "-c", namespace], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1].startswith(f"ImportError: the package `autograd` at {tmp_path / 'fake'}")
    assert "has no __init__.py" in run.stderr and "pip install --force-reinstall --no-deps lstm-autograd" in run.stderr


def test_the_command_with_another_autograd_is_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "lstm_autograd", "compare"], capture_output=True, text=True,
                         cwd=tmp_path, env=fake_autograd(tmp_path))
    assert run.returncode == 1 and run.stdout == ""
    assert len(run.stderr.splitlines()) == 1
    assert run.stderr.startswith("lstm-autograd: error: the package `autograd` imported from")
    assert "pip uninstall autograd" in run.stderr


def test_the_real_engine_passes_the_check():
    from lstm.installed import foreign_engine

    assert foreign_engine() is None


def test_bench_table_from_a_saved_run(place, capfd):
    """The good path of --table-from still prints the table (the checks above refuse only what is not one)."""
    from benchmarks.__main__ import table_from
    from benchmarks.suite import Results, Timing, as_dict

    environment = {"python": "3.11", "machine": "x86_64", "cores": 2, "load_before": [0.5, 0, 0], "blas": [],
                   "versions": {"numpy": "2"}, "OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None}
    results = Results(environment, [Timing("S", "float64", "engine", 1.0, 0.9, 1.1)])
    (place / "run.json").write_text(json.dumps(as_dict(results)))
    assert "engine" in table_from(str(place / "run.json"))


@pytest.mark.parametrize("command", [["reproduce", "list"], ["audit", "docs/lstm-cell-partials.md"]])
def test_a_reader_that_leaves_early_gets_no_error(command):
    """`lstm-autograd reproduce list | head -1`: the pipe closes under the writer, which stops without a word."""
    root = Path(__file__).parent.parent
    with subprocess.Popen([sys.executable, "-m", "lstm_autograd", *command], cwd=root, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        process.stdout.close()  # before the first write: that write, or the flush at exit, finds no reader
        assert process.wait(timeout=120) == 141 and process.stderr.read() == ""


# ---- compare --hand: the verdict is the checker's alone ------------------------------------------------------

EXAMPLES = ROOT / "docs" / "examples"


def hand_file(folder: Path, *, loading: str = "", calling: str = "", returning: str = "grads") -> Path:
    """A backward in a file of its own: lstm.hand's (right), with `loading` run as the file loads, `calling` in
    each call before the gradients are made, and `returning` what it returns of them."""
    path = folder / "mine.py"
    path.write_text("\n".join([
        "import os, signal, sys", "from lstm.derivation.hand import backward as right", "", "",
        "class Stop(BaseException):",
        "    pass", "", "", loading, "", "", "def backward(params, xs, h0, c0, dhs, dh_T=None, dc_T=None):",
        f"    {calling or 'pass'}", "    grads = right(params, xs, h0, c0, dhs, dh_T, dc_T)", f"    return {returning}",
        ""]))
    return path


def compare_hand(path: Path, *options: str) -> subprocess.CompletedProcess:
    """`lstm-autograd compare --hand` in a process of its own: whatever the file does cannot end the test run."""
    return subprocess.run([sys.executable, "-m", "lstm_autograd", "compare", "--hand", str(path), *options],
                          capture_output=True, text=True, cwd=path.parent, timeout=300)


# what a backward's file does (as it loads, or in each call), and the one line that must say so
HOSTILE = [
    ({"loading": "sys.exit(0)"}, "mine.py raised SystemExit while loading: 0"),
    ({"loading": "os._exit(0)"}, "mine.py exited with status 0 while loading"),
    ({"loading": "raise Stop('no')"}, "mine.py raised Stop while loading: no"),
    ({"calling": "sys.exit(0)"}, "mine.py:backward: backward raised SystemExit: 0 (mine.py, line 13)"),
    ({"calling": "os._exit(0)"}, "mine.py:backward: backward exited with status 0 during the call"),
    ({"calling": "os.kill(os.getpid(), signal.SIGKILL)"},
     "mine.py:backward: backward was killed by signal 9 (SIGKILL) during the call"),
    ({"calling": "raise Stop('no')"}, "mine.py:backward: backward raised Stop: no (mine.py, line 13)"),
    ({"calling": "raise KeyboardInterrupt"}, "mine.py:backward: backward raised KeyboardInterrupt"),
    ({"calling": "dhs[-1] += dh_T"}, "mine.py:backward: backward modified its argument dhs in place; work on a copy"),
    ({"calling": "params['W_xi'][0, 0] = 0"},
     "mine.py:backward: backward modified its argument params['W_xi'] in place; work on a copy"),
    # a reply of its own making, which would exit the reader with status 0 as it is unpickled
    ({"loading": "import pickle; real = pickle.dumps; pickle.dumps = lambda value, protocol: real(('ok', "
                 "type('Exit', (), {'__reduce__': lambda self: (os._exit, (0,))})()), protocol)"},
     "mine.py: its process sent back something other than arrays (posix._exit)"),
]


@pytest.mark.parametrize("file, expected", HOSTILE, ids=[" ".join(f"{k}: {v}" for k, v in file.items())[:60]
                                                          for file, _ in HOSTILE])
def test_a_hand_that_exits_kills_itself_raises_or_modifies_its_input_is_one_line(tmp_path, file, expected):
    # before: sys.exit(0) and os._exit(0) exited 0 with no output; the rest ended in a traceback or a wrong verdict
    run = compare_hand(hand_file(tmp_path, **file))
    assert run.returncode == 2
    assert_one_line_naming(run.returncode, run.stdout, run.stderr, f"lstm-autograd compare: error: {expected}")


def test_a_cs231n_forward_that_exits_is_named(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text((EXAMPLES / "cs231n_lstm.py").read_text() + "\n\nright = lstm_forward\n\n\n"
                    "def lstm_forward(x, h0, Wx, Wh, b):\n    os._exit(3)\n")
    run = compare_hand(path, "--layout", "cs231n")
    assert_one_line_naming(run.returncode, run.stdout, run.stderr,
                           "mine.py: lstm_forward exited with status 3 during the call")


FAKE = ["65 passed, 0 failed", "right: your gradients match the engine's"]


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_what_a_hand_prints_never_reaches_the_report(tmp_path, json_output):
    """A backward that prints a passing report (as it loads and in every call, by print and straight to the file
    descriptor) and returns a wrong gradient: the report, on standard output, is the checker's alone."""
    fake = "\n".join(FAKE)
    path = hand_file(tmp_path, loading=f"print({fake!r})",
                     calling=f"print({fake!r}, flush=True); os.write(1, {fake.encode()!r}); sys.stdout.write({fake!r})",
                     returning="{**grads, 'W_hf': grads['W_hf'] + 0.1}")
    run = compare_hand(path, *(["--json"] if json_output else []))
    assert run.returncode == 1
    assert not any(line in run.stdout for line in FAKE), run.stdout
    assert FAKE[0] in run.stderr  # the user's own output is not lost: it is on standard error
    if json_output:
        assert json.loads(run.stdout)["passed"] is False
    else:
        assert run.stdout.startswith("Your backward against the engine: mine.py:backward (layout own)\n")
        assert run.stdout.rstrip().splitlines()[-1].startswith("WRONG: your backward, first at step t = ")
