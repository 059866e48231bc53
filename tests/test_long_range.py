"""The long-range tasks (copy memory, embedded Reber), the tanh RNN and RMSprop in training, and the queue of the
reproduced runs: data, criteria, short deterministic runs, checkpoints, the command line and its errors."""

import json
import re

import numpy as np
import pytest

from lstm_autograd.cli import main
from lstm_autograd.training import reproduce
from lstm_autograd.training.long_range import (
    REBER,
    SYMBOLS,
    CopyMemory,
    EmbeddedReber,
    embedded_reber_string,
    possible_next,
    strings_right,
)
from lstm_autograd.training.train import Settings, Trainer, train


def reber_pattern() -> re.Pattern:
    """The embedded grammar as a regular expression, written independently of the automaton the task walks."""
    s2 = "S*X"  # state 2 loops on S, leaves by X to state 4
    s3 = "T*V"  # state 3 loops on T, leaves by V to state 5
    # state 4: X → 3, S → end; state 5: P → 4, V → end
    four = f"(?:X{s3}P)*(?:S|X{s3}V)"
    inner = f"B(?:T{s2}{four}|P{s3}(?:V|P{four}))E"
    return re.compile(f"B(?:T{inner}T|P{inner}P)E")


def test_embedded_reber_strings_belong_to_the_grammar_and_the_sets_are_disjoint():
    pattern = reber_pattern()
    rng = np.random.default_rng(0)
    strings = [embedded_reber_string(rng) for _ in range(2000)]
    assert all(pattern.fullmatch(s) for s in strings)
    assert min(map(len, strings)) == 9  # B T B T X S E T E
    task = EmbeddedReber(seed=3)
    assert len(task.train_set) == len(task.test_set) == 256 and not set(task.train_set) & set(task.test_set)
    assert EmbeddedReber(seed=3).train_set == task.train_set and EmbeddedReber(seed=4).train_set != task.train_set


def test_possible_next_symbols():
    assert possible_next("BTBTXSETE") == ["TP", "B", "TP", "SX", "XS", "E", "T", "E"]
    assert possible_next("BPBPVVEPE") == ["TP", "B", "TP", "TV", "PV", "E", "P", "E"]
    rng = np.random.default_rng(1)
    for _ in range(500):  # the symbol that came next is always one the grammar allowed
        s = embedded_reber_string(rng)
        assert all(s[t + 1] in allowed for t, allowed in enumerate(possible_next(s)))
    assert set("".join(choice for state in REBER.values() for choice, _ in state)) == set(SYMBOLS) - {"B", "E"}


def test_the_success_criterion():
    strings = ["BTBTXSETE", "BPBPVVEPE"]
    xs, targets, mask = EmbeddedReber.encode(strings)
    assert xs.shape == targets.shape == (8, 2, 7) and mask[:, :, 0].sum() == 16
    oracle = np.zeros(xs.shape)
    for b, s in enumerate(strings):
        for t, allowed in enumerate(possible_next(s)):
            oracle[t, b, [SYMBOLS.index(c) for c in allowed]] = 1
    assert strings_right(oracle, strings).tolist() == [True, True]
    wrong = oracle.copy()
    wrong[6, 1, SYMBOLS.index("T")] = 1  # at the end of the second string, T as active as the right P
    assert strings_right(wrong, strings).tolist() == [True, False]
    padded = EmbeddedReber.encode(["BTBTXSETE", "BPBPVPXVVEPE"])[0]
    outputs = np.zeros(padded.shape)
    outputs[:, 0] = np.r_[oracle[:, 0], np.full((3, 7), -5.0)]  # past its end a string is not judged
    assert strings_right(outputs, ["BTBTXSETE", "BPBPVPXVVEPE"]).tolist() == [True, False]


def test_the_copy_memory_data_and_baseline():
    task = CopyMemory(length=6)
    xs, targets = task.batch(5, np.random.default_rng(0))
    assert xs.shape == (26, 5, 10) and targets.shape == (26, 5)
    codes = xs.argmax(axis=-1)
    np.testing.assert_array_equal(targets[-10:], codes[:10])  # the symbols, copied after the lag
    assert np.all(codes[:10] < 8) and np.all(codes[10:15] == 8) and np.all(codes[15] == 9) and np.all(codes[16:] == 8)
    assert np.all(targets[:16] == 8)
    assert CopyMemory(100).baseline == pytest.approx(10 * np.log(8) / 120) == pytest.approx(0.1733, abs=1e-4)


@pytest.mark.parametrize("model", ["lstm", "rnn"])
def test_short_copy_runs_learn_the_blanks(model):
    """Seconds of training reach the memoryless baseline from ln 9 (remembering takes far longer, even at T = 2)."""
    result = train(Settings(task="copy", length=2, hidden_size=16, batch=16, steps=150, model=model, lr=0.01,
                            dtype="float32"), quiet=True)
    assert result["trainer"].losses[0] > 2 and result["test_loss"] < 1.05 * CopyMemory(2).baseline


def test_a_short_reber_run_learns_the_inner_grammar_and_stops_when_solved(monkeypatch):
    """In seconds the strings whose outer T/P the net guesses right pass the criterion: about half of them."""
    settings = Settings(task="reber", hidden_size=6, batch=1, steps=1000, optimizer="sgd", momentum=0.0, lr=0.5,
                        clip=0, forget_bias=2.0, evaluate_every=500, dtype="float32")
    result = train(settings, quiet=True)
    figures = [e["train_strings_right"] for e in result["trainer"].evaluations]
    assert result["steps"] == 1000 and figures[0] < 100 < figures[1] and not result["held_out"]["solved"]
    monkeypatch.setattr(EmbeddedReber, "evaluate", lambda self, model, readout: {"loss": 1.0, "solved": 1.0})
    assert train(settings, quiet=True)["steps"] == 500  # the first evaluation that says solved ends the trial


def test_training_stops_at_the_target_loss():
    settings = Settings(length=8, hidden_size=8, batch=16, steps=400, evaluate_every=50, target=0.5)
    result = train(settings, quiet=True)
    assert result["steps"] == 50 and [e["step"] for e in result["trainer"].evaluations] == [50]


def test_rnn_with_rmsprop_and_value_clipping_resumes_identically(tmp_path):
    settings = Settings(length=6, steps=6, hidden_size=5, batch=4, model="rnn", optimizer="rmsprop", lr=0.01,
                        alpha=0.9, clip_by="value", evaluate_every=2, dtype="float32")
    straight = train(settings, quiet=True)["trainer"]
    path = tmp_path / "run.npz"
    train(Settings(**{**settings.__dict__, "steps": 4}), checkpoint=str(path), every=4, quiet=True)
    resumed = train(settings, checkpoint=str(path), resume=True, quiet=True)["trainer"]
    assert resumed.losses == straight.losses and resumed.evaluations == straight.evaluations
    for name, t in straight.parameters().items():
        np.testing.assert_array_equal(resumed.parameters()[name].data, t.data)
    assert set(straight.parameters()) == {"rnn/W_xh", "rnn/W_hh", "rnn/b_h", "readout/W_y", "readout/b_y"}
    other = {**settings.__dict__, "model": "lstm", "clip_by": "norm"}
    with pytest.raises(ValueError, match="does not match this run: model 'rnn' there, 'lstm' here; clip_by 'value' "
                                         "there, 'norm' here \\(a resumed run keeps its settings"):
        Trainer(Settings(**other)).load(path)


def test_forget_bias_starts_b_f_there():
    trainer = Trainer(Settings(hidden_size=4, forget_bias=2.0))
    np.testing.assert_array_equal(trainer.model.parameters()["b_f"].data, np.full(4, 2.0))


@pytest.mark.parametrize("model", ["lstm", "rnn"])
def test_glorot_initialisation(model):
    trainer = Trainer(Settings(hidden_size=64, model=model, init="glorot", dtype="float32"))
    for name, t in trainer.parameters().items():
        assert t.dtype == np.float32
        if t.ndim == 1:
            np.testing.assert_array_equal(t.data, 0, err_msg=name)
        else:
            bound = np.sqrt(6 / sum(t.shape))
            assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.9 * bound, name
            assert abs(t.data.std() - bound / np.sqrt(3)) < 0.1 * bound, name  # uniform's standard deviation
    again = Trainer(Settings(hidden_size=64, model=model, init="glorot", dtype="float32"))
    assert all(np.array_equal(t.data, again.parameters()[n].data) for n, t in trainer.parameters().items())


@pytest.mark.parametrize("options, message", [
    (["--optimizer", "rmsprop", "--alpha", "2"], r"alpha must be a number in \[0, 1\), got 2.0"),
    (["--optimizer", "sgd", "--momentum", "1.5"], r"momentum must be a number in \[0, 1\), got 1.5"),
    (["--lr", "0"], "argument --lr: expected a positive finite number, got '0'"),
    (["--clip", "-1"], "argument --clip: expected a finite number ≥ 0, got '-1'"),
    (["--evaluate-every", "-1"], "argument --evaluate-every: expected a non-negative integer, got '-1'"),
    (["--target", "0"], "argument --target: expected a positive finite number, got '0'"),
    (["--model", "rnn", "--forget-bias", "1"], "forget_bias is the LSTM's; the rnn has no forget gate"),
    (["--hidden-size", "0"], "argument --hidden-size: expected a positive integer, got '0'"),  # was the default
    (["--batch", "0"], "argument --batch: expected a positive integer, got '0'"),
    (["--length", "0"], "argument --length: expected a positive integer, got '0'"),
])
def test_train_command_refuses_bad_options_in_one_line(options, message, capsys, tmp_path):
    assert main(["train", "copy", "--steps", "1", "--checkpoint", str(tmp_path / "c.npz"), *options]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.count("\n") == 1
    assert not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize("options, message", [
    (["reber", "--length", "20"], "train: error: --length does not apply to reber"),
    (["copy", "--text", "x.txt"], "train: error: text applies to the chars task only, not copy"),
    (["copy", "--alpha", "0.9"], "train: error: --alpha applies to --optimizer rmsprop only, not adam"),
    (["copy", "--optimizer", "sgd", "--alpha", "0.9"], "--alpha applies to --optimizer rmsprop only, not sgd"),
    (["copy", "--momentum", "0.5"], "train: error: --momentum applies to --optimizer sgd or rmsprop, not adam"),
])
def test_train_command_refuses_options_that_would_be_ignored(options, message, capsys):
    assert main(["train", *options, "--steps", "1"]) == 2
    assert message in capsys.readouterr().err


def test_reproduce_command_errors(tmp_path, capsys):
    assert main(["reproduce", "page", "--runs", str(tmp_path / "none")]) == 2
    assert f"--runs {tmp_path / 'none'}: no such folder of runs" in capsys.readouterr().err
    assert main(["reproduce", "run", "--runs", str(tmp_path), "--count", "0"]) == 2
    assert "argument --count: expected a positive integer, got '0'" in capsys.readouterr().err


def test_train_command_reber_with_a_record(tmp_path, capsys):
    log = tmp_path / "run.json"
    assert main(["train", "reber", "--steps", "20", "--evaluate-every", "10", "--optimizer", "sgd", "--lr", "0.1",
                 "--log", str(log), "--quiet"]) == 0
    record = json.loads(log.read_text())
    assert record["command"][:3] == ["lstm-autograd", "train", "reber"] and record["steps"] == 20
    assert [e["step"] for e in record["evaluations"]] == [10, 20] and len(record["losses"]) == 20
    assert record["settings"]["hidden_size"] == 6 and record["settings"]["batch"] == 1
    assert record["machine"]["cores"] >= 1 and "commit" in record["code"]


def test_the_queue_names_each_run_once_and_every_run_is_valid():
    from lstm_autograd.cli import build_parser, train_settings

    runs = reproduce.queue()
    assert len({run.name for run in runs}) == len(runs)
    for run in runs:
        settings = train_settings(build_parser().parse_args(run.command[1:]))
        assert settings.task == run.setting.split("-")[0] and settings.seed == run.seed
        assert settings.model == run.model and settings.dtype == "float32"


def test_run_queue_runs_what_has_no_record_one_at_a_time(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reproduce, "queue", lambda: [
        reproduce.Run("adding-tiny", 0, ("adding", "--length", "4", "--hidden-size", "3", "--batch", "2", "--steps",
                                         "4")),
        reproduce.Run("copy-tiny", 0, ("copy", "--length", "2", "--hidden-size", "3", "--batch", "2", "--steps",
                                       "2"))])
    assert main(["reproduce", "run", "--runs", str(tmp_path), "--count", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adding-tiny-0.json", "adding-tiny-0.npz",
                                                          "adding-tiny-0.out"]
    assert main(["reproduce", "list", "--runs", str(tmp_path), "--pending"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split() == ["copy-tiny-0", "lstm-autograd", "train", "copy",
                                                                 "--length", "2", "--hidden-size", "3", "--batch",
                                                                 "2", "--steps", "2", "--seed", "0"]
    assert main(["reproduce", "run", "--runs", str(tmp_path)]) == 0  # the adding run has its record: only the copy
    assert capsys.readouterr().out.count("lstm-autograd train") == 1
    record = json.loads((tmp_path / "copy-tiny-0.json").read_text())
    assert record["command"][-4:-2] == ["--log", str(tmp_path / "copy-tiny-0.json")]
    assert main(["reproduce", "run", "--runs", str(tmp_path), "--only", "nothing"]) == 2
    assert "no queued run matches nothing" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["copy", "reber"])
def test_train_command_plots_the_new_tasks_for_the_rnn(task, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["train", task, "--model", "rnn", "--steps", "2", "--hidden-size", "4", "--plot",
                 str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert "‖∂L/∂h_t‖" in (tmp_path / "gradient-through-time.svg").read_text()
