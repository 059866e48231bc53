"""Training: the loop, progress, evaluation and checkpoints that resume exactly where they stopped."""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

import numpy as np
from tqdm import tqdm

from autograd import Tensor, no_grad
from autograd.files import atomic_savez, check_destination, load_npz, locked, npz_headers
from autograd.graph import named
from autograd.optim import RULES, SGD, Adam, RMSprop, check_setting, clip_grad_norm, clip_grad_value, not_finite
from lstm import LSTM
from lstm.model.rnn import RNN
from lstm.names import HIDDEN_STATE
from lstm_autograd.training.long_range import CopyMemory, EmbeddedReber
from lstm_autograd.training.readout import Linear
from lstm_autograd.training.tasks import AddingProblem, CharacterModel

TASKS = ("adding", "chars", "copy", "reber")
OPTIMIZERS = ("adam", "sgd", "rmsprop")


@dataclass
class Settings:
    task: str = "adding"  # one of TASKS
    length: int = 50  # T: the adding problem's sequence length, the character model's window, the copy's lag
    hidden_size: int = 32
    batch: int = 32
    steps: int = 1000
    lr: float = 0.01
    optimizer: str = "adam"  # one of OPTIMIZERS
    clip: float = 1.0  # 0 turns clipping off
    seed: int = 0
    text: str | None = None  # the character model's text file; None: the Zen of Python
    model: str = "lstm"  # or "rnn", the plain tanh RNN
    dtype: str = "float64"  # or "float32"
    clip_by: str = "norm"  # "norm": the global norm of all gradients; "value": every element
    momentum: float | None = None  # SGD's (None: 0.9) or RMSprop's (None: 0)
    alpha: float = 0.99  # RMSprop's smoothing constant (its "decay")
    init: str = "pytorch"  # "pytorch": uniform(±1/√H); "glorot": uniform(±√(6/(fan_in + fan_out))), biases 0
    forget_bias: float | None = None  # the LSTM's b_f at the start (None: as `init` draws it)
    evaluate_every: int = 0  # steps between held-out evaluations; 0: only at the end
    target: float | None = None  # stop once the held-out loss is at most this (and a task's "solved" stops too)

    # what a resumed run may change: the total, and when it evaluates and stops; it trains exactly as the
    # uninterrupted run would
    RESUMABLE = ("steps", "evaluate_every", "target")

    def check(self) -> None:
        """Refuse settings that cannot train, naming the setting and the value given."""
        for key, least in (("length", 1), ("hidden_size", 1), ("batch", 1), ("steps", 1), ("seed", 0),
                           ("evaluate_every", 0)):
            if not _integer(getattr(self, key)) or getattr(self, key) < least:
                kind = "a positive integer" if least else "a non-negative integer"
                raise ValueError(f"train: {key} must be {kind}, got {getattr(self, key)!r}")
        choices = {"task": TASKS, "optimizer": OPTIMIZERS, "model": ("lstm", "rnn"), "dtype": ("float64", "float32"),
                   "clip_by": ("norm", "value"), "init": ("pytorch", "glorot")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"train: {key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        numbers = {"lr": RULES["lr"], "clip": (lambda x: x >= 0, "a finite number ≥ 0 (0: no clipping)"),
                   "alpha": RULES["alpha"], "momentum": RULES["momentum"],
                   "target": (lambda x: x > 0, "a positive finite number"),
                   "forget_bias": (lambda x: True, "a finite number")}
        for key, rule in numbers.items():
            value = getattr(self, key)
            if value is None and key in ("momentum", "target", "forget_bias"):
                continue
            check_setting("train", key, value, rule)
        if self.forget_bias is not None and self.model != "lstm":
            raise ValueError(f"train: forget_bias is the LSTM's; the {self.model} has no forget gate")
        if self.text is not None and self.task != "chars":
            raise ValueError(f"train: text applies to the chars task only, not {self.task}")


def _integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class Diverged(FloatingPointError):
    """A step whose loss or gradient is not finite, or a state that is not, about to be saved: the run stops there,
    the parameters as the step before left them."""


def _json(arrays: dict[str, np.ndarray], key: str, kind: type, path: str | os.PathLike) -> Any:
    """The JSON a checkpoint holds at `key`, of `kind`, or one ValueError naming the file and the key."""
    try:
        value = json.loads(str(arrays[key]))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: {key} is not JSON ({error})") from None
    if not isinstance(value, kind):
        names = {dict: "object", list: "array"}
        raise ValueError(f"{path}: {key} must be a JSON {names[kind]}, got {names.get(type(value), 'a value')}")
    return value


def checkpoint_settings(path: str | os.PathLike) -> Settings:
    """The settings of the run a checkpoint holds, read alone: of the other arrays, only the headers."""
    return saved_settings(npz_headers(path) | load_npz(path, names=("meta/settings",)), path)


def saved_settings(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> Settings:
    """The settings a checkpoint's run was made with, or one ValueError naming the file and what is wrong. A
    setting the checkpoint does not hold (it predates the setting) was that setting's default."""
    if "meta/settings" not in arrays:
        raise ValueError(f"{path}: not a training checkpoint (it has no meta/settings; it holds "
                         f"{', '.join(list(arrays)[:6])}{', …' if len(arrays) > 6 else ''})")
    saved = _json(arrays, "meta/settings", dict, path)
    unknown = sorted(set(saved) - {field.name for field in fields(Settings)})
    if unknown:
        raise ValueError(f"{path}: meta/settings has settings this version does not know: {', '.join(unknown)}")
    settings = Settings(**saved)
    try:
        settings.check()
    except ValueError as error:
        raise ValueError(f"{path}: meta/settings: {str(error).removeprefix('train: ')}") from None
    return settings


def make_task(settings: Settings) -> AddingProblem | CharacterModel | CopyMemory | EmbeddedReber:
    if settings.task == "adding":
        return AddingProblem(settings.length)
    if settings.task == "chars":
        return CharacterModel.from_file(settings.text, settings.length)
    if settings.task == "copy":
        return CopyMemory(settings.length)
    if settings.task == "reber":
        return EmbeddedReber(settings.seed)
    raise ValueError(f"train: task must be one of {', '.join(TASKS)}, got {settings.task!r}")


def glorot(params: dict[str, Tensor], seed: int) -> None:
    """Glorot & Bengio's uniform(±√(6/(fan_in + fan_out))) for every weight matrix and zero for every bias, in
    place: the initialisation of Arjovsky, Shah & Bengio's code for their LSTM and tanh RNN."""
    rng = np.random.default_rng([seed, 1])
    for t in params.values():
        if t.ndim == 2:
            fan_out, fan_in = t.shape
            bound = np.sqrt(6 / (fan_in + fan_out))
            t.data[...] = rng.uniform(-bound, bound, t.shape)
        else:
            t.data[...] = 0


def make_optimizer(settings: Settings, params: dict) -> SGD | Adam | RMSprop:
    if settings.optimizer == "adam":
        return Adam(params, lr=settings.lr)
    if settings.optimizer == "sgd":
        return SGD(params, lr=settings.lr, momentum=0.9 if settings.momentum is None else settings.momentum)
    return RMSprop(params, lr=settings.lr, alpha=settings.alpha, momentum=settings.momentum or 0.0)


class Trainer:
    """An LSTM (or the tanh RNN) and a linear readout trained on one task; the batch of step k depends only on
    (seed, k)."""

    def __init__(self, settings: Settings) -> None:
        settings.check()
        self.settings = settings
        self.task = make_task(settings)
        if settings.model == "lstm":
            self.model = LSTM(self.task.input_size, settings.hidden_size, dtype=settings.dtype, seed=settings.seed)
            self.model.fused = True
        else:
            self.model = RNN(self.task.input_size, settings.hidden_size, dtype=settings.dtype, seed=settings.seed)
        self.readout = Linear(settings.hidden_size, self.task.output_size, dtype=settings.dtype,
                              seed=settings.seed + 1)
        if settings.init == "glorot":
            glorot(self.parameters(), settings.seed)
        if settings.forget_bias is not None:
            self.model.parameters()["b_f"].data[...] = settings.forget_bias
        self.optimizer = make_optimizer(settings, self.parameters())
        self.step = 0
        self.losses: list[float] = []
        self.evaluations: list[dict[str, float]] = []  # the step and the held-out figures, every evaluate_every
        self.seconds = 0.0  # training time over every session of this run, resumed ones included

    def parameters(self) -> dict:
        return {**{f"{self.settings.model}/{name}": p for name, p in self.model.parameters().items()},
                **{f"readout/{name}": p for name, p in self.readout.parameters().items()}}

    def train_step(self) -> float:
        """One optimizer step; Diverged, before the update, when the loss or a gradient is not finite."""
        self.step += 1
        xs, targets = self.task.batch(self.settings.batch, np.random.default_rng([self.settings.seed, self.step]))
        with np.errstate(all="ignore"):  # overflow shows as a loss or gradient that is not finite: checked below
            loss = self.task.loss(self.model, self.readout, xs, targets)
            value = loss.item()
            if not math.isfinite(value):
                raise Diverged(f"step {self.step}: the loss is not finite ({value})")
            self.optimizer.zero_grad()
            loss.backward()
            broken = not_finite({name: p.grad for name, p in self.optimizer.params.items() if p.grad is not None})
            if broken:  # before clipping, which would make an infinite gradient ±clip or NaN of a finite one
                raise Diverged(f"step {self.step}: the gradient of {broken}")
            if self.settings.clip:
                clip = clip_grad_norm if self.settings.clip_by == "norm" else clip_grad_value
                clip(self.optimizer.params, self.settings.clip)
            self.optimizer.step()
        self.losses.append(value)
        return value

    def evaluate(self, count: int = 1000) -> float:
        """The loss on `count` held-out sequences, drawn from another seed than any training batch (those are
        (seed, k) with k ≥ 1)."""
        xs, targets = self.task.batch(count, np.random.default_rng([self.settings.seed, 0]))
        with no_grad():
            return self.task.loss(self.model, self.readout, xs, targets).item()

    def gradient_through_time(self, xs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """‖∂L/∂h_t‖ at every step t of the loss on (xs, targets): through the per-gate graph of a copy of the
        model (the fused path has no h_t to ask; the LSTM and the tanh RNN name their h_t alike), leaving no
        gradient behind on the trainer's parameters."""
        model = copy.deepcopy(self.model)
        if isinstance(model, LSTM):
            model.fused = False
        loss = self.task.loss(model, self.readout, xs, targets)
        loss.backward(retain_grads=True)
        self.optimizer.zero_grad()  # the readout's, from this backward
        nodes = named([loss])
        return np.array([np.linalg.norm(nodes[str(HIDDEN_STATE.at(t))].grad) for t in range(len(xs))])

    @property
    def done(self) -> bool:
        """The run reached what it trains for: the task's criterion ("solved"), or the target held-out loss."""
        if not self.evaluations:
            return False
        last = self.evaluations[-1]
        return bool(last.get("solved")) or (self.settings.target is not None and last["loss"] <= self.settings.target)

    def measure(self) -> dict[str, float]:
        """The held-out figures at this step, recorded in `evaluations`: the loss (on the task's own held-out set
        where it has one), and whatever else the task measures (the Reber criterion: "solved")."""
        evaluate = getattr(self.task, "evaluate", None)
        with np.errstate(all="ignore"):  # an overflow is a loss that is not finite, said below
            figures = evaluate(self.model, self.readout) if evaluate else {"loss": self.evaluate()}
        if not math.isfinite(figures["loss"]):
            raise Diverged(f"step {self.step}: the held-out loss is not finite ({figures['loss']})")
        self.evaluations.append({"step": self.step, **figures})
        return figures

    # ---- checkpoints ------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Parameters, optimizer state, step, losses and settings as .npz; a crash leaves the old file whole, and
        a state that is not finite (an update that overflowed) is never written: Diverged, the old file kept."""
        arrays = {name: p.data for name, p in self.parameters().items()}
        arrays.update({f"optim/{k}": v for k, v in self.optimizer.state_dict().items()})
        broken = not_finite(arrays)
        if broken:
            raise Diverged(f"step {self.step}: {broken}")
        arrays.update({"meta/step": np.array(self.step), "meta/losses": np.array(self.losses),
                       "meta/settings": np.array(json.dumps(asdict(self.settings))),
                       "meta/evaluations": np.array(json.dumps(self.evaluations)),
                       "meta/seconds": np.array(self.seconds)})
        return atomic_savez(path, arrays)

    def load(self, path: str | os.PathLike) -> None:
        """Continue the run a checkpoint holds. Everything is checked before anything is changed: a checkpoint of
        another run (a setting differs that a resumed run may not change), or one with a key missing or of the
        wrong shape or type, is refused with one ValueError naming the file and the key."""
        # the settings and step read first, the rest's headers checked against them before its data is read
        meta = npz_headers(path) | load_npz(path, names=("meta/settings", "meta/step"))
        saved = saved_settings(meta, path)
        differ = [f"{key} {getattr(saved, key)!r} there, {getattr(self.settings, key)!r} here"
                  for key in asdict(saved) if key not in Settings.RESUMABLE
                  and getattr(saved, key) != getattr(self.settings, key)]
        if differ:
            raise ValueError(f"{path}: the checkpoint does not match this run: {'; '.join(differ)} (a resumed run "
                             f"keeps its settings; only {', '.join(Settings.RESUMABLE)} may change)")
        params = self.parameters()
        shapes = {name: p.shape for name, p in params.items()}
        arrays = load_npz(path, shapes | {f"optim/{kind}/{name}": shape for kind in self.optimizer.state_kinds()
                                          for name, shape in shapes.items()})
        expected = shapes | {"meta/step": (), "meta/losses": (self.step_of(meta, path),)}
        problems = [f"missing {name}" for name in expected if name not in arrays]
        problems += [f"{name} has shape {arrays[name].shape}, expected {shape}"
                     for name, shape in expected.items() if name in arrays and arrays[name].shape != shape]
        problems += [f"{name} holds {arrays[name].dtype} data, expected real numbers"
                     for name in expected if name in arrays and arrays[name].dtype.kind not in "biuf"]
        seconds = arrays.get("meta/seconds", np.array(0.0))  # checkpoints from before it had none
        if seconds.shape != () or seconds.dtype.kind not in "iuf" or not seconds >= 0:
            problems.append(f"meta/seconds must be a number of seconds, got {seconds.dtype} of shape {seconds.shape}")
        if problems:
            raise ValueError(f"{path}: " + "; ".join(problems))
        broken = not_finite({name: arrays[name] for name in params})
        if broken:  # a diverged run's: every step from it would be NaN
            raise ValueError(f"{path}: {broken}")
        evaluations = _json(arrays, "meta/evaluations", list, path) if "meta/evaluations" in arrays else []
        state = {k.removeprefix("optim/"): v for k, v in arrays.items() if k.startswith("optim/")}
        if self.step_of(arrays) > 0:  # every parameter has a gradient at every step, so each has all its state
            missing = [f"optim/{kind}/{name}" for kind in self.optimizer.state_kinds() for name in params
                       if f"{kind}/{name}" not in state]
            if missing:
                raise ValueError(f"{path}: missing {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} "
                                 f"({len(missing)} of the optimizer's state; the run would go on from zeros)")
        try:
            self.optimizer.load_state_dict(state)  # all or nothing
        except ValueError as error:
            raise ValueError(f"{path}: in optim/: {error}") from None
        for name, p in params.items():
            p.data = arrays[name].astype(p.dtype)
        self.step = int(arrays["meta/step"])
        self.losses = [float(x) for x in arrays["meta/losses"]]
        self.evaluations = evaluations
        self.seconds = float(seconds)

    @staticmethod
    def step_of(arrays: dict[str, np.ndarray], path: str | os.PathLike = "checkpoint") -> int:
        """The step a checkpoint was saved at (0 when it has none: the checks that follow name what is missing)."""
        if "meta/step" not in arrays:
            return 0
        step = arrays["meta/step"]
        if step.shape != () or step.dtype.kind not in "iu" or step < 0:
            raise ValueError(f"{path}: meta/step must be a non-negative integer, got {step.dtype} of shape "
                             f"{step.shape}")
        return int(step)


class Progress:
    """A tqdm bar on a terminal; a plain line every `every` steps otherwise; nothing when quiet.

    tqdm, not rich: one small pure-Python dependency that already knows terminals, widths and rates.
    """

    def __init__(self, total: int, start: int, *, quiet: bool, every: int, stream: IO[str] | None = None):
        self.stream = stream or sys.stderr
        self.quiet, self.every, self.total = quiet, max(1, every), total
        self.started, self.first = time.perf_counter(), start
        self.bar = None
        if not quiet and self.stream.isatty():
            self.bar = tqdm(total=total, initial=start, file=self.stream, unit="step", dynamic_ncols=True)

    def update(self, step: int, loss: float) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self.bar.update(1)
        elif step % self.every == 0 or step == self.total:
            rate = (step - self.first) / max(time.perf_counter() - self.started, 1e-9)
            print(f"step {step}/{self.total}  loss {loss:.4f}  {rate:.1f} steps/s", file=self.stream, flush=True)

    def write(self, text: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _kept(checkpoint: str | os.PathLike | None, saved: int | None, first: int) -> str:
    """What the checkpoint holds when a run stops early; `first` is the step of its first save."""
    if checkpoint is None:
        return "nothing saved (no checkpoint)"
    if saved is None:
        return f"{checkpoint} has no step yet (the first is saved at step {first})"
    return f"the checkpoint {checkpoint} (step {saved}) is intact"


def _advice(settings: Settings) -> str:
    """What may make a diverged run train, in the command line's words."""
    if settings.clip:
        return f"the learning rate may be too high (--lr {settings.lr:g}): try a lower one"
    return (f"the learning rate may be too high (--lr {settings.lr:g}) for gradients that are not clipped (--clip 0): "
            "try a lower --lr, or --clip 1")


def _step_in(checkpoint: str | os.PathLike) -> int | None:
    try:
        return Trainer.step_of(load_npz(checkpoint), checkpoint)
    except (OSError, ValueError):
        return None


def printable(text: str) -> str:
    """`text` safe to print: a control or format character but newline and tab (an escape sequence of a user's
    file would retitle or clear the terminal; U+202E would reverse the line) written as its escape, \\x1b."""
    return "".join(c.encode("unicode_escape").decode("ascii") if c not in "\n\t" and unicodedata.category(c) in
                   ("Cc", "Cf", "Zl", "Zp") else c for c in text)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training, saying the step reached and what the checkpoint holds (a KeyboardInterrupt still,
    so that whoever catches that catches this)."""


def train(settings: Settings, *, checkpoint: str | None = None, resume: bool = False, every: int = 100,
          quiet: bool = False, stream: IO[str] | None = None) -> dict[str, Any]:
    """Train up to `settings.steps`, a total counted from the run's first step (a resumed run trains what is left,
    and one already there trains nothing: `steps_run` is 0), checkpointing every `every` steps; returns the figures
    of the run.

    Everything that can be checked is checked before the first step: the settings, the checkpoint (its folder
    writable; with `resume`, the run it holds), and that steps are left to run. A step whose loss or gradient is
    not finite raises Diverged, one line naming the step, what may help and what the checkpoint holds (never a
    state that is not finite)."""
    if not _integer(every) or every < 1:
        raise ValueError(f"train: every must be a positive number of steps, got {every!r}")
    if resume and checkpoint is None:
        raise ValueError("train: resume needs a checkpoint to resume from (--checkpoint PATH)")
    trainer = Trainer(settings)
    if checkpoint is not None:
        check_destination(checkpoint)
    # a second run on the checkpoint would interleave its saves with this one's: refused while this one trains
    with locked(checkpoint) if checkpoint is not None else nullcontext():
        return _train(trainer, checkpoint, resume, every, quiet, stream)


@contextmanager
def _ctrl_c_between_steps() -> Iterator[list[int]]:
    """Ctrl-C noted and acted on between steps: raised inside numpy's zip writer, it left a broken checkpoint
    write and another error in its place. A second Ctrl-C interrupts at once, as usual."""
    usual = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or usual is not signal.default_int_handler:
        yield []  # signals are the main thread's; and an ignored Ctrl-C stays ignored
        return
    pressed: list[int] = []
    # SIGTERM (`timeout`, a scheduler) too, unless someone else handles it: the same clean stop, said so
    term = signal.getsignal(signal.SIGTERM)
    watched = {signal.SIGINT: usual, **({signal.SIGTERM: term} if term is signal.SIG_DFL else {})}

    def note(signum: int, frame: Any) -> None:
        pressed.append(signum)
        for number, handler in watched.items():  # a second signal acts at once, as usual
            signal.signal(number, handler)

    for number in watched:
        signal.signal(number, note)
    try:
        yield pressed
    finally:
        for number, handler in watched.items():
            signal.signal(number, handler)


def _train(trainer: Trainer, checkpoint: str | None, resume: bool, every: int, quiet: bool,
           stream: IO[str] | None) -> dict[str, Any]:
    """train's steps, its checkpoint held."""
    settings = trainer.settings
    if resume:
        trainer.load(checkpoint)
        if trainer.step > settings.steps:
            raise ValueError(f"{checkpoint} is at step {trainer.step}, past steps {settings.steps}, the run's total "
                             "(counted from its first step); ask for at least as many")
    first, saved, saving = trainer.step, trainer.step if resume else None, False
    progress = Progress(settings.steps, trainer.step, quiet=quiet, every=every, stream=stream)
    started, before = time.perf_counter(), trainer.seconds
    try:
        with _ctrl_c_between_steps() as pressed:
            while trainer.step < settings.steps and not trainer.done:
                loss = trainer.train_step()
                progress.update(trainer.step, loss)
                last = trainer.step == settings.steps
                if last or settings.evaluate_every and trainer.step % settings.evaluate_every == 0:
                    figures = ", ".join(f"{k} {v:.5g}" for k, v in trainer.measure().items())
                    progress.write(f"step {trainer.step}, held out: {figures}")
                trainer.seconds = before + time.perf_counter() - started
                if trainer.step % every == 0 or last or trainer.done:
                    if checkpoint:
                        saving = True
                        trainer.save(checkpoint)
                        saved, saving = trainer.step, False
                    if isinstance(trainer.task, CharacterModel):
                        prompt = trainer.task.prompt
                        sample = trainer.task.sample(trainer.model, trainer.readout, prompt, 80,
                                                     np.random.default_rng(trainer.step))
                        shown = printable(prompt + sample).replace("\n", "\n    ")
                        progress.write(f"step {trainer.step}, sampled:\n    {shown}")
                if pressed:  # after the step and its checkpoint, never inside them
                    raise KeyboardInterrupt
    except Diverged as error:  # nothing saved since `saved`: save refuses a state that is not finite
        kept = _kept(checkpoint, saved, min(every, settings.steps))
        raise Diverged(f"{error}; {_advice(settings)}; {kept}{'' if saved is None else ' and finite'}") from None
    except KeyboardInterrupt:
        if saving:  # the file holds the step before, or this one if the rename was done: it says which
            saved = _step_in(checkpoint)
        kept = _kept(checkpoint, saved, min(every, settings.steps))
        resumable = "" if saved is None else "; resuming continues from it"
        how = "terminated" if signal.SIGTERM in pressed else "interrupted"
        raise Interrupted(f"{how} at step {trainer.step} of {settings.steps}; {kept}{resumable}") from None
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    if not (trainer.evaluations and trainer.evaluations[-1]["step"] == trainer.step):
        trainer.measure()
    final = trainer.evaluations[-1]
    return {"steps": trainer.step, "steps_run": trainer.step - first, "seconds": seconds,
            "train_loss": trainer.losses[-1] if trainer.losses else None, "test_loss": final["loss"],
            "held_out": final, "settings": asdict(settings), "trainer": trainer}
