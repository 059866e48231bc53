"""Training: the loop, progress, evaluation and checkpoints that resume exactly where they stopped."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from tqdm import tqdm

from autograd import no_grad
from autograd.files import atomic_savez, load_npz
from autograd.graph import named
from autograd.optim import SGD, Adam, clip_grad_norm
from lstm import LSTM
from lstm.names import HIDDEN_STATE
from training.readout import Linear
from training.tasks import AddingProblem, CharacterModel


@dataclass
class Settings:
    task: str = "adding"  # "adding" or "chars"
    length: int = 50  # T: the adding problem's sequence length, the character model's window
    hidden_size: int = 32
    batch: int = 32
    steps: int = 1000
    lr: float = 0.01
    optimizer: str = "adam"  # "adam" or "sgd" (with momentum 0.9)
    clip: float = 1.0  # global gradient norm; 0 turns clipping off
    seed: int = 0
    text: str | None = None  # the character model's text file; None: the Zen of Python

    # what a checkpoint must agree on to be resumed (steps, lr and the like may change)
    SHAPE_KEYS = ("task", "length", "hidden_size", "optimizer", "text")


def make_task(settings: Settings) -> AddingProblem | CharacterModel:
    if settings.task == "adding":
        return AddingProblem(settings.length)
    if settings.task == "chars":
        return CharacterModel.from_file(settings.text, settings.length)
    raise ValueError(f"train: task must be 'adding' or 'chars', got {settings.task!r}")


class Trainer:
    """An LSTM and a linear readout trained on one task; the batch of step k depends only on (seed, k)."""

    def __init__(self, settings: Settings) -> None:
        for key in ("length", "hidden_size", "batch", "steps"):
            if getattr(settings, key) < 1:
                raise ValueError(f"train: {key} must be a positive integer, got {getattr(settings, key)}")
        if settings.seed < 0 or not settings.lr > 0:
            raise ValueError(f"train: seed must be ≥ 0 and lr > 0, got seed {settings.seed}, lr {settings.lr}")
        self.settings = settings
        self.task = make_task(settings)
        self.model = LSTM(self.task.input_size, settings.hidden_size, seed=settings.seed)
        self.model.fused = True
        self.readout = Linear(settings.hidden_size, self.task.output_size, seed=settings.seed + 1)
        params = self.parameters()
        if settings.optimizer == "adam":
            self.optimizer = Adam(params, lr=settings.lr)
        elif settings.optimizer == "sgd":
            self.optimizer = SGD(params, lr=settings.lr, momentum=0.9)
        else:
            raise ValueError(f"train: optimizer must be 'adam' or 'sgd', got {settings.optimizer!r}")
        self.step = 0
        self.losses: list[float] = []

    def parameters(self) -> dict:
        return {**{f"lstm/{name}": p for name, p in self.model.parameters().items()},
                **{f"readout/{name}": p for name, p in self.readout.parameters().items()}}

    def train_step(self) -> float:
        self.step += 1
        xs, targets = self.task.batch(self.settings.batch, np.random.default_rng([self.settings.seed, self.step]))
        loss = self.task.loss(self.model, self.readout, xs, targets)
        self.optimizer.zero_grad()
        loss.backward()
        if self.settings.clip:
            clip_grad_norm(self.optimizer.params, self.settings.clip)
        self.optimizer.step()
        self.losses.append(loss.item())
        return self.losses[-1]

    def evaluate(self, count: int = 1000) -> float:
        """The loss on `count` held-out sequences, drawn from another seed than any training batch (those are
        (seed, k) with k ≥ 1)."""
        xs, targets = self.task.batch(count, np.random.default_rng([self.settings.seed, 0]))
        with no_grad():
            return self.task.loss(self.model, self.readout, xs, targets).item()

    def gradient_through_time(self, xs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """‖∂L/∂h_t‖ at every step t of the loss on (xs, targets): through the per-gate graph of a copy of the
        model (the fused path has no h_t to ask), leaving no gradient behind on the trainer's parameters."""
        model = LSTM.from_arrays(self.model.arrays(), dtype=self.model.dtype)
        loss = self.task.loss(model, self.readout, xs, targets)
        loss.backward(retain_grads=True)
        self.optimizer.zero_grad()  # the readout's, from this backward
        nodes = named([loss])
        return np.array([np.linalg.norm(nodes[str(HIDDEN_STATE.at(t))].grad) for t in range(len(xs))])

    # ---- checkpoints ------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Parameters, optimizer state, step, losses and settings as .npz; a crash leaves the old file whole."""
        arrays = {name: p.data for name, p in self.parameters().items()}
        arrays.update({f"optim/{k}": v for k, v in self.optimizer.state_dict().items()})
        arrays.update({"meta/step": np.array(self.step), "meta/losses": np.array(self.losses),
                       "meta/settings": np.array(json.dumps(asdict(self.settings)))})
        return atomic_savez(path, arrays)

    def load(self, path: str | os.PathLike) -> None:
        arrays = load_npz(path)
        if "meta/settings" not in arrays or "meta/step" not in arrays:
            raise ValueError(f"{path}: not a training checkpoint (no meta/settings, meta/step)")
        saved = json.loads(str(arrays["meta/settings"]))
        differ = [f"{key} {saved.get(key)!r} there, {getattr(self.settings, key)!r} here"
                  for key in Settings.SHAPE_KEYS if saved.get(key) != getattr(self.settings, key)]
        if differ:
            raise ValueError(f"{path}: the checkpoint does not match this run: " + "; ".join(differ))
        params = self.parameters()
        problems = [f"missing {name}" for name in params if name not in arrays]
        problems += [f"{name} has shape {arrays[name].shape}, expected {p.shape}"
                     for name, p in params.items() if name in arrays and arrays[name].shape != p.shape]
        if problems:
            raise ValueError(f"{path}: " + "; ".join(problems))
        for name, p in params.items():
            p.data = arrays[name].astype(p.dtype)
        self.optimizer.load_state_dict({k.removeprefix("optim/"): v for k, v in arrays.items()
                                        if k.startswith("optim/")})
        self.step = int(arrays["meta/step"])
        self.losses = [float(x) for x in arrays["meta/losses"]]


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


def train(settings: Settings, *, checkpoint: str | None = None, resume: bool = False, every: int = 100,
          quiet: bool = False, stream: IO[str] | None = None) -> dict[str, Any]:
    """Train to `settings.steps`, checkpointing every `every` steps; returns the figures of the run."""
    if every < 1:
        raise ValueError(f"train: every must be a positive number of steps, got {every}")
    trainer = Trainer(settings)
    if resume:
        if checkpoint is None:
            raise ValueError("train: --resume needs --checkpoint PATH")
        trainer.load(checkpoint)
    progress = Progress(settings.steps, trainer.step, quiet=quiet, every=every, stream=stream)
    started = time.perf_counter()
    try:
        while trainer.step < settings.steps:
            loss = trainer.train_step()
            progress.update(trainer.step, loss)
            if trainer.step % every == 0 or trainer.step == settings.steps:
                if checkpoint:
                    trainer.save(checkpoint)
                if isinstance(trainer.task, CharacterModel):
                    sample = trainer.task.sample(trainer.model, trainer.readout, "Beautiful", 80,
                                                 np.random.default_rng(trainer.step))
                    text = ("Beautiful" + sample).replace("\n", "\n    ")
                    progress.write(f"step {trainer.step}, sampled:\n    {text}")
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    return {"steps": trainer.step, "seconds": seconds, "train_loss": trainer.losses[-1] if trainer.losses else None,
            "test_loss": trainer.evaluate(), "settings": asdict(settings), "trainer": trainer}
