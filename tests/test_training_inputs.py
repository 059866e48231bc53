"""`train` refuses what cannot train, keeps a resumed run the run it was, stops cleanly on Ctrl-C, and reads
only checkpoints it can trust."""

import json
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import lstm_autograd.training.train as training
from autograd import Tensor
from autograd.optim import SGD, Adam, RMSprop
from lstm_autograd.cli import main
from lstm_autograd.training import reproduce
from lstm_autograd.training.tasks import CharacterModel
from lstm_autograd.training.train import Settings, Trainer, train

SMALL = dict(length=6, hidden_size=3, batch=4)
SMALL_OPTIONS = ["--length", "6", "--hidden-size", "3", "--batch", "4"]


@pytest.mark.parametrize("change, message", [
    (dict(clip=-1.0), "clip must be a finite number ≥ 0 (0: no clipping), got -1.0"),
    (dict(clip=float("inf")), "clip must be a finite number"),
    (dict(lr=0.0), "lr must be a positive finite number, got 0.0"),
    (dict(lr=-1.0), "lr must be a positive finite number, got -1.0"),
    (dict(lr=float("nan")), "lr must be a positive finite number, got nan"),
    (dict(lr=float("inf")), "lr must be a positive finite number, got inf"),
    (dict(lr="0.1"), "lr must be a positive finite number, got '0.1'"),
    (dict(hidden_size=0), "hidden_size must be a positive integer, got 0"),
    (dict(batch=0), "batch must be a positive integer, got 0"),
    (dict(length=0), "length must be a positive integer, got 0"),
    (dict(steps=True), "steps must be a positive integer, got True"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(optimizer="rms"), "optimizer must be one of adam, sgd, rmsprop, got 'rms'"),
    (dict(task="copying"), "task must be one of adding, chars, copy, reber, got 'copying'"),
    (dict(alpha=1.0), "alpha must be a number in [0, 1), got 1.0"),
    (dict(momentum=float("nan")), "momentum must be a number in [0, 1), got nan"),
    (dict(target=0.0), "target must be a positive finite number, got 0.0"),
    (dict(forget_bias=float("inf")), "forget_bias must be a finite number, got inf"),
    (dict(evaluate_every=-1), "evaluate_every must be a non-negative integer, got -1"),
    (dict(model="gru"), "model must be one of lstm, rnn, got 'gru'"),
    (dict(text="zen.txt"), "text applies to the chars task only, not adding"),
])
def test_settings_that_cannot_train_are_refused_by_name(change, message):
    with pytest.raises(ValueError, match="^train: " + re.escape(message)):
        Trainer(Settings(**{**SMALL, **change}))


def test_a_negative_clip_no_longer_trains():
    """It flipped every gradient: the loss climbed from 0.65 to 242, and the exit status was 0."""
    assert main(["train", "adding", "--clip", "-1", "--steps", "3", "--quiet"]) == 2


def test_zero_sizes_are_refused_not_replaced_by_the_defaults(capsys):
    for option in ("--hidden-size", "--batch", "--length"):
        assert main(["train", "adding", option, "0", "--steps", "1"]) == 2
        assert f"argument {option}: expected a positive integer, got '0'" in capsys.readouterr().err


def run(tmp_path, *options, steps=2):
    return main(["train", "adding", *SMALL_OPTIONS, "--steps", str(steps), "--every", "1", "--quiet",
                 "--checkpoint", str(tmp_path / "c.npz"), *options])


@pytest.mark.parametrize("option, value, saved", [("--lr", "0.001", "0.01"), ("--seed", "3", "0"),
                                                  ("--batch", "5", "4"), ("--clip", "0", "1.0"),
                                                  ("--optimizer", "sgd", "'adam'"), ("--length", "7", "6")])
def test_resuming_with_another_setting_is_refused(tmp_path, capsys, option, value, saved):
    assert run(tmp_path) == 0
    assert run(tmp_path, "--resume", option, value, steps=4) == 2
    err = capsys.readouterr().err
    key = option.removeprefix("--").replace("-", "_")
    assert f"c.npz: the checkpoint does not match this run: {key} {saved} there" in err
    assert Trainer.step_of(np.load(tmp_path / "c.npz")) == 2  # untouched


def test_resuming_takes_the_checkpoints_settings_and_continues_as_one_run_would(tmp_path, capsys):
    assert run(tmp_path, "--lr", "0.003", "--seed", "5") == 0
    assert run(tmp_path, "--resume", steps=4) == 0  # no --lr, no --seed: the checkpoint's
    with np.load(tmp_path / "c.npz") as resumed:
        recorded = json.loads(str(resumed["meta/settings"]))
        losses = resumed["meta/losses"]
    assert recorded["lr"] == 0.003 and recorded["seed"] == 5 and recorded["steps"] == 4
    straight = train(Settings(**SMALL, steps=4, lr=0.003, seed=5), quiet=True)["trainer"]
    np.testing.assert_array_equal(losses, straight.losses)


def test_steps_is_a_total_and_resuming_at_it_says_nothing_is_left(tmp_path, capsys):
    assert main(["train", "--help"]) == 0
    assert "the run's total of optimizer steps, counted from its first" in " ".join(capsys.readouterr().out.split())
    options = ["train", "adding", *SMALL_OPTIONS, "--checkpoint", str(tmp_path / "c.npz"), "--log",
               str(tmp_path / "run.json")]
    assert main([*options, "--steps", "3"]) == 0
    capsys.readouterr()
    assert main([*options, "--resume"]) == 0  # as a queue does for a run killed before its record was written
    out = capsys.readouterr().out
    assert out.startswith(f"adding: nothing left to run, {tmp_path / 'c.npz'} is at step 3 (--steps is the run's "
                          "total) in ")
    assert json.loads((tmp_path / "run.json").read_text())["steps"] == 3
    assert main([*options, "--resume", "--steps", "2"]) == 2
    assert capsys.readouterr().err == (f"lstm-autograd train: error: {tmp_path / 'c.npz'} is at step 3, past steps 2, "
                                       "the run's total (counted from its first step); ask for at least as many\n")


def test_the_summary_counts_the_steps_of_this_process(tmp_path, capsys):
    options = ["train", "adding", *SMALL_OPTIONS, "--every", "1", "--checkpoint", str(tmp_path / "c.npz")]
    assert main([*options, "--steps", "3"]) == 0
    assert capsys.readouterr().out.startswith("adding: 3 steps in ")
    assert main([*options, "--steps", "4", "--resume"]) == 0
    assert capsys.readouterr().out.startswith("adding: 1 steps (from step 3 to 4) in ")


def test_ctrl_c_is_one_line_with_the_step_and_the_intact_checkpoint_and_exit_130(tmp_path):
    path = tmp_path / "c.npz"
    process = subprocess.Popen([sys.executable, "-m", "lstm_autograd", "train", "adding", *SMALL_OPTIONS, "--steps",
                                "1000000", "--every", "2", "--checkpoint", str(path), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # a shell's background job starts with Ctrl-C ignored, and Python then keeps it so
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("lstm-autograd train: interrupted at step ") and " of 1000000; the checkpoint " in err
    saved = int(err.split("(step ")[1].split(")")[0])
    trainer = Trainer(Settings(**SMALL, steps=1000000))
    trainer.load(path)  # whole, and at the step the line names
    assert trainer.step == saved >= 2


@pytest.mark.parametrize("options, says", [
    ([], "interrupted at step 3 of 50; nothing saved (no checkpoint)"),
    (["--checkpoint", "{tmp}/c.npz", "--every", "10"],
     "interrupted at step 3 of 50; {tmp}/c.npz has no step yet (the first is saved at step 10)"),
    (["--checkpoint", "{tmp}/c.npz", "--every", "2"],
     "interrupted at step 3 of 50; the checkpoint {tmp}/c.npz (step 2) is intact"),
])
def test_ctrl_c_says_what_the_checkpoint_holds(tmp_path, monkeypatch, capsys, options, says):
    real = Trainer.train_step

    def interrupted_after_step_three(trainer):
        if trainer.step == 3:
            raise KeyboardInterrupt
        return real(trainer)

    monkeypatch.setattr(Trainer, "train_step", interrupted_after_step_three)
    arguments = [o.replace("{tmp}", str(tmp_path)) for o in options]
    assert main(["train", "adding", *SMALL_OPTIONS, "--steps", "50", "--quiet", *arguments]) == 130
    with pytest.raises(training.Interrupted):  # still a KeyboardInterrupt for whoever calls train()
        train(Settings(**SMALL, steps=50), quiet=True)
    err = capsys.readouterr().err
    assert err == f"lstm-autograd train: {says.replace('{tmp}', str(tmp_path))}" + (
        "; resuming continues from it\n" if "intact" in says else "\n")


@pytest.mark.parametrize("options, message", [
    (["--checkpoint", "{tmp}/afile/c.npz"], "cannot write {tmp}/afile/c.npz: {tmp}/afile is not a folder"),
    (["--checkpoint", "{tmp}/missing/c.npz"], "cannot write {tmp}/missing/c.npz: no such folder {tmp}/missing"),
    (["--checkpoint", "{tmp}"], "{tmp} is a folder; expected a file name"),
    (["--plot", "{tmp}/afile"], "{tmp}/afile is a file; expected a folder"),
    (["--plot", "{tmp}/missing/plots"], "cannot write {tmp}/missing/plots: no such folder {tmp}/missing"),
])
def test_unwritable_checkpoint_or_plot_paths_are_found_before_the_first_step(tmp_path, monkeypatch, capsys, options,
                                                                              message):
    pytest.importorskip("matplotlib")

    def never(trainer):
        raise AssertionError("trained before checking the paths")

    monkeypatch.setattr(Trainer, "train_step", never)
    (tmp_path / "afile").write_text("a file")
    arguments = [o.replace("{tmp}", str(tmp_path)) for o in options]
    assert main(["train", "adding", *SMALL_OPTIONS, "--steps", "5", *arguments]) == 2
    assert capsys.readouterr().err == f"lstm-autograd train: error: {message.replace('{tmp}', str(tmp_path))}\n"


def saved_run(tmp_path, optimizer="adam"):
    settings = Settings(**SMALL, steps=2, optimizer=optimizer)
    train(settings, checkpoint=str(tmp_path / "c.npz"), every=1, quiet=True)
    with np.load(tmp_path / "c.npz") as file:
        return settings, {name: file[name] for name in file.files}


BROKEN = [  # (what is done to the checkpoint's arrays, what the one line must say after the file's name)
    (lambda a: a.pop("lstm/W_xi"), "missing lstm/W_xi"),
    (lambda a: a.update({"lstm/W_hf": np.ones((2, 2))}), r"lstm/W_hf has shape \(2, 2\), expected \(3, 3\)"),
    (lambda a: a.update({"readout/b_y": np.ones(1) * 1j}), "readout/b_y holds complex128 data, expected real numbers"),
    (lambda a: a.pop("meta/step"), "missing meta/step"),
    (lambda a: a.update({"meta/step": np.array("two")}), "meta/step must be a non-negative integer, got <U3"),
    (lambda a: a.update({"meta/step": np.array(-1)}), "meta/step must be a non-negative integer"),
    (lambda a: a.pop("meta/losses"), "missing meta/losses"),
    (lambda a: a.update({"meta/losses": np.ones(5)}), r"meta/losses has shape \(5,\), expected \(2,\)"),
    (lambda a: a.pop("meta/settings"), "not a training checkpoint"),
    (lambda a: a.update({"meta/settings": np.array("{not json")}), "meta/settings is not JSON"),
    (lambda a: a.update({"meta/settings": np.array("[1, 2]")}), "meta/settings must be a JSON object"),
    (lambda a: a.update({"meta/settings": np.array(json.dumps({"task": "adding", "colour": 3}))}),
     "meta/settings has settings this version does not know: colour"),
    (lambda a: a.update({"meta/settings": np.array(json.dumps({**SMALL, "lr": "fast"}))}),
     "meta/settings: lr must be a positive finite number, got 'fast'"),
    (lambda a: [a.pop(k) for k in list(a) if k.startswith("optim/exp_avg_sq/")],
     r"missing optim/exp_avg_sq/lstm/W_xi, optim/exp_avg_sq/lstm/W_hi, optim/exp_avg_sq/lstm/b_i … \(14 of the "
     r"optimizer's state; the run would go on from zeros\)"),
    (lambda a: a.pop("optim/steps"), "in optim/: Adam: the state has no steps"),
    (lambda a: a.update({"meta/evaluations": np.array("[{")}), "meta/evaluations is not JSON"),
    (lambda a: a.update({"meta/evaluations": np.array("{}")}), "meta/evaluations must be a JSON array, got object"),
    (lambda a: a.update({"meta/seconds": np.array("soon")}), "meta/seconds must be a number of seconds"),
    (lambda a: a.update({"optim/lr": np.array(-0.1)}), "in optim/: Adam: state lr must be a positive finite number"),
    (lambda a: a.update({"optim/exp_avg/lstm/b_i": np.ones(7)}),
     r"optim/exp_avg/lstm/b_i has shape \(7,\), expected \(3,\)$"),  # from its header, before its data is read
    (lambda a: a.update({"optim/exp_avg/lstm/W_zz": np.ones(3)}), "state for unknown parameter 'lstm/W_zz'"),
    (lambda a: a["lstm/W_hf"].__setitem__((0, 1), np.nan), r"lstm/W_hf is not finite \(1 of its 9 values\)$"),
    (lambda a: [a[k].__setitem__(0, np.inf) for k in ("lstm/b_i", "lstm/b_f")],
     r"lstm/b_i is not finite \(1 of its 3 values\); so is 1 more array$"),
    (lambda a: a["optim/exp_avg_sq/lstm/b_i"].__setitem__(2, np.inf),
     r"in optim/: Adam: state exp_avg_sq/lstm/b_i is not finite \(1 of its 3 values\)$"),
]


@pytest.mark.parametrize("damage, message", BROKEN, ids=[m.split(" ")[0] + str(i) for i, (_, m) in enumerate(BROKEN)])
def test_a_malformed_checkpoint_is_refused_naming_the_file_and_the_key(tmp_path, damage, message):
    settings, arrays = saved_run(tmp_path)
    damage(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    trainer = Trainer(settings)
    before = {name: p.data.copy() for name, p in trainer.parameters().items()}
    with pytest.raises(ValueError, match=f"^{tmp_path / 'bad.npz'}: .*{message}"):
        trainer.load(tmp_path / "bad.npz")
    assert trainer.step == 0 and trainer.optimizer.steps == 0 and trainer.optimizer.buffers == {}
    for name, p in trainer.parameters().items():
        np.testing.assert_array_equal(p.data, before[name])


def test_a_malformed_checkpoint_through_the_command_is_one_line(tmp_path, capsys):
    _, arrays = saved_run(tmp_path)
    arrays.pop("lstm/b_g")
    np.savez(tmp_path / "c.npz", **arrays)
    assert run(tmp_path, "--resume", steps=4) == 2
    assert capsys.readouterr().err == f"lstm-autograd train: error: {tmp_path / 'c.npz'}: missing lstm/b_g\n"


def test_an_sgd_run_resumes_with_its_momentum(tmp_path):
    settings, arrays = saved_run(tmp_path, "sgd")
    trainer = Trainer(settings)
    trainer.load(tmp_path / "c.npz")
    assert set(trainer.optimizer.buffers) == {"momentum"}
    arrays.pop("optim/momentum/readout/W_y")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="missing optim/momentum/readout/W_y"):
        Trainer(settings).load(tmp_path / "bad.npz")


def test_optimizers_load_all_or_nothing():
    for optimizer in (Adam, SGD):
        params = Trainer(Settings(**SMALL)).parameters()
        fresh = optimizer(params, lr=0.1)
        with pytest.raises(ValueError, match="the state has no lr"):
            fresh.load_state_dict({"steps": np.array(3), "exp_avg/lstm/W_xi": np.ones((3, 2))})
        assert fresh.steps == 0 and fresh.buffers == {}


def test_samples_start_from_the_text_given(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("Zebras graze; zebras graze; zebras graze.\n" * 4)
    assert CharacterModel(text.read_text(), 8).prompt == "Zebras"
    assert main(["train", "chars", "--text", str(text), "--steps", "2", "--every", "2", "--length", "8",
                 "--hidden-size", "4"]) == 0
    err = capsys.readouterr().err
    assert "sampled:\n    Zebras" in err and "Beautiful" not in err


def test_the_zen_is_sampled_from_its_own_first_word():
    assert CharacterModel.from_file(None, 8).prompt == "The"


def test_text_with_the_adding_problem_is_refused(tmp_path, capsys):
    assert main(["train", "adding", "--text", str(tmp_path / "zen.txt"), "--steps", "1"]) == 2
    assert capsys.readouterr().err == "lstm-autograd train: error: text applies to the chars task only, not adding\n"


@pytest.mark.parametrize("after_rename, step", [(True, 4), (False, 2)])
def test_ctrl_c_during_a_save_names_the_step_the_file_holds(tmp_path, monkeypatch, after_rename, step):
    real = Trainer.save

    def interrupted_save(trainer, path):
        if trainer.step == 4:
            if after_rename:
                real(trainer, path)
            raise KeyboardInterrupt
        return real(trainer, path)

    monkeypatch.setattr(Trainer, "save", interrupted_save)
    with pytest.raises(training.Interrupted, match=rf"interrupted at step 4 of 50; the checkpoint .* \(step {step}\)"):
        train(Settings(**SMALL, steps=50), checkpoint=str(tmp_path / "c.npz"), every=2, quiet=True)
    assert Trainer.step_of(np.load(tmp_path / "c.npz")) == step


@pytest.mark.parametrize("optimizer, settings", [(Adam, {}), (SGD, {"momentum": 0.9}), (SGD, {}),
                                                 (RMSprop, {}), (RMSprop, {"momentum": 0.5, "centered": True})])
def test_each_optimizer_declares_the_state_a_step_gives_every_parameter(optimizer, settings):
    params = Trainer(Settings(**SMALL)).parameters()
    for t in params.values():
        t.grad = np.ones_like(t.data)
    stepped = optimizer(params, lr=0.1, **settings)
    stepped.step()
    assert set(stepped.buffers) == set(stepped.state_kinds())
    assert all(set(buffer) == set(params) for buffer in stepped.buffers.values())


def test_an_rmsprop_run_without_its_square_averages_is_refused(tmp_path):
    settings, arrays = saved_run(tmp_path, "rmsprop")
    for key in [k for k in arrays if k.startswith("optim/square_avg/")]:
        arrays.pop(key)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="missing optim/square_avg/lstm/W_xi"):
        Trainer(settings).load(tmp_path / "bad.npz")


def test_resuming_may_change_the_total_the_evaluations_and_the_target(tmp_path, capsys):
    assert run(tmp_path) == 0
    assert run(tmp_path, "--resume", "--evaluate-every", "1", "--target", "1e-9", steps=4) == 0
    with np.load(tmp_path / "c.npz") as resumed:
        recorded = json.loads(str(resumed["meta/settings"]))
        evaluations = json.loads(str(resumed["meta/evaluations"]))
    assert (recorded["steps"], recorded["evaluate_every"], recorded["target"]) == (4, 1, 1e-9)
    assert [e["step"] for e in evaluations] == [2, 3, 4]


@pytest.mark.parametrize("options, message", [
    (["--alpha", "0.9"], "--alpha applies to --optimizer rmsprop only, not adam"),
    (["--momentum", "0.5"], "--momentum applies to --optimizer sgd or rmsprop, not adam"),
])
def test_options_a_resumed_optimizer_would_ignore_are_refused(tmp_path, capsys, options, message):
    assert run(tmp_path) == 0
    assert run(tmp_path, "--resume", *options, steps=4) == 2
    assert capsys.readouterr().err == f"lstm-autograd train: error: {message}\n"


DIVERGING = dict(**SMALL, optimizer="sgd", lr=1e100, clip=0.0)  # the loss overflows at step 3
DIVERGING_OPTIONS = [*SMALL_OPTIONS, "--optimizer", "sgd", "--lr", "1e100", "--clip", "0"]
TOO_HIGH = ("the learning rate may be too high (--lr 1e+100) for gradients that are not clipped (--clip 0): try a "
            "lower --lr, or --clip 1")


def test_a_diverging_run_stops_in_one_line_keeps_its_finite_checkpoint_and_exits_3(tmp_path, capsys):
    path = tmp_path / "c.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarnings spilled onto the terminal
        assert main(["train", "adding", *DIVERGING_OPTIONS, "--steps", "20", "--every", "1", "--quiet",
                     "--checkpoint", str(path)]) == 3
    assert capsys.readouterr().err == (f"lstm-autograd train: error: step 3: the loss is not finite (inf); {TOO_HIGH}; "
                                       f"the checkpoint {path} (step 2) is intact and finite\n")
    trainer = Trainer(Settings(**DIVERGING, steps=20))
    trainer.load(path)
    assert trainer.step == 2 and all(np.isfinite(p.data).all() for p in trainer.parameters().values())


def test_the_issues_command_small_exits_3_with_one_line_and_no_warnings(tmp_path):
    done = subprocess.run([sys.executable, "-m", "lstm_autograd", "train", "adding", *DIVERGING_OPTIONS, "--steps",
                           "50", "--every", "1"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 3 and "Warning" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("lstm-autograd train: error: step 3: the loss is not finite")
    assert done.stderr.count("error") == 1 and done.stdout == ""


@pytest.mark.parametrize("change, checkpoint, kept", [
    ({"clip": 1.0, "lr": 1e300}, None,
     "the learning rate may be too high (--lr 1e+300): try a lower one; nothing saved (no checkpoint)"),
    ({}, "c.npz", f"{TOO_HIGH}; c.npz has no step yet (the first is saved at step 20)"),
])
def test_the_line_gives_the_advice_that_fits_and_says_what_is_kept(tmp_path, monkeypatch, change, checkpoint, kept):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(training.Diverged, match=r"^step \d+: the loss is not finite \(inf\); " + re.escape(kept) + "$"):
        train(Settings(**{**DIVERGING, **change}, steps=20), checkpoint=checkpoint, every=30, quiet=True)
    assert not (tmp_path / "c.npz").exists()


def test_a_gradient_that_is_not_finite_stops_the_step_before_clipping_hides_it(monkeypatch):
    trainer = Trainer(Settings(**SMALL, clip_by="value"))  # clipping by value made an infinite gradient ±1
    bias = trainer.parameters()["readout/b_y"]
    backward = Tensor.backward

    def overflowing(self, *args, **kwargs):
        backward(self, *args, **kwargs)
        bias.grad[...] = np.inf

    monkeypatch.setattr(Tensor, "backward", overflowing)
    before = {name: p.data.copy() for name, p in trainer.parameters().items()}
    with pytest.raises(training.Diverged, match=r"^step 1: the gradient of readout/b_y is not finite \(1 of its 1 "
                       r"values\)$"):
        trainer.train_step()
    assert trainer.losses == [] and trainer.optimizer.steps == 0
    for name, p in trainer.parameters().items():
        np.testing.assert_array_equal(p.data, before[name])


def test_a_checkpoint_is_never_written_with_numbers_that_are_not_finite(tmp_path):
    trainer = Trainer(Settings(**SMALL))
    trainer.train_step()
    trainer.save(tmp_path / "c.npz")
    trainer.train_step()
    trainer.optimizer.buffers["exp_avg"]["lstm/W_hf"][1, 1] = np.nan  # as an update that overflowed leaves it
    with pytest.raises(training.Diverged, match=r"^step 2: optim/exp_avg/lstm/W_hf is not finite \(1 of its 9 "
                       r"values\)$"):
        trainer.save(tmp_path / "c.npz")
    assert Trainer.step_of(np.load(tmp_path / "c.npz")) == 1


def test_the_log_writes_null_for_numbers_that_are_not_finite(tmp_path):
    result = train(Settings(**SMALL, steps=1), quiet=True)
    result["held_out"]["loss"] = float("nan")
    result["trainer"].losses.append(float("inf"))
    reproduce.write_record(tmp_path / "run.json", result, ["lstm-autograd", "train"])

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    record = json.loads((tmp_path / "run.json").read_text(), parse_constant=refuse)
    assert record["held_out"]["loss"] is None and record["losses"][-1] is None


def test_ctrl_c_inside_a_checkpoint_write_waits_for_it_and_stops_after_the_step(tmp_path, monkeypatch, capsys):
    """The flaky Ctrl-C test's race: a SIGINT landing inside numpy's zip writer raised KeyboardInterrupt there,
    the ZipFile could not close ("Can't close the ZIP file while there is an open writing handle"), and the run
    ended with that error, exit 2. Now Ctrl-C is noted and acted on between steps."""
    import numpy.lib.format

    real, saves = numpy.lib.format.write_array, []

    def write_array(*args, **kwargs):
        saves.append(1)
        if len(saves) == 3:  # the first checkpoint, mid-write
            signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(numpy.lib.format, "write_array", write_array)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a command's own process
    try:
        path = tmp_path / "c.npz"
        code = main(["train", "adding", *SMALL_OPTIONS, "--steps", "50", "--every", "2", "--checkpoint", str(path),
                     "--quiet"])
    finally:
        signal.signal(signal.SIGINT, previous)
    err = capsys.readouterr().err
    assert code == 130 and err.count("\n") == 1, err
    assert err.startswith("lstm-autograd train: interrupted at step 2 of 50; the checkpoint ") and "(step 2)" in err
    trainer = Trainer(Settings(**SMALL, steps=50))
    trainer.load(path)  # whole, and at the step the run stopped
    assert trainer.step == 2
