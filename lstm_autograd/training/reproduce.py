"""The published runs, reproduced: one queue of `lstm-autograd train` commands in the papers' settings, run one at a
time, each leaving a record (JSON) and a checkpoint beside it, so an interrupted queue resumes where it stopped.

`docs/results.md` is written from these records by `training.results`; every number on it comes from one of them.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO, Any

import numpy as np

from autograd.files import atomic_write, strict_json

# Arjovsky, Shah & Bengio (2016), §4 and their code: RMSProp with learning rate 1e-3 and decay 0.9, gradients
# clipped at 1 (every element), batch 20, Glorot's initialisation; their LSTM starts its forget gate's bias at 1.
PAPER_2016 = ("--optimizer", "rmsprop", "--lr", "0.001", "--alpha", "0.9", "--clip", "1", "--clip-by", "value",
              "--batch", "20", "--init", "glorot", "--dtype", "float32")
# Hochreiter & Schmidhuber (1997), experiment 1: plain gradient descent, learning rate 0.5, one string per update.
# Their LSTM has no forget gate (the cell keeps its content): ours starts its forget gate nearly open, σ(5) ≈ 0.993.
PAPER_1997 = ("--optimizer", "sgd", "--momentum", "0", "--lr", "0.5", "--clip", "0", "--dtype", "float32",
              "--evaluate-every", "100")
SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Run:
    """One queued run: a setting (task, length, model, variant) and a seed, as `lstm-autograd train` arguments."""

    setting: str  # e.g. "adding-100-lstm"
    seed: int
    args: tuple[str, ...]  # without --seed

    @property
    def name(self) -> str:
        return f"{self.setting}-{self.seed}"

    @property
    def model(self) -> str:
        return "rnn" if "rnn" in self.args else "lstm"

    @property
    def command(self) -> list[str]:
        return ["lstm-autograd", "train", *self.args, "--seed", str(self.seed)]


def adding(T: int, model: str, steps: int, every: int, *extra: str) -> tuple[str, ...]:
    return ("adding", "--length", str(T), "--hidden-size", "128", *(("--model", "rnn") if model == "rnn" else ()),
            "--steps", str(steps), "--evaluate-every", str(every), *PAPER_2016, *extra)


def queue() -> list[Run]:
    """Every run, in the order they run: the adding problem at T = 100, the copying problem, the Reber grammar,
    the adding problem at T = 200 and 400, and last what was tried on the way.

    Step counts are the papers' where the budget of one shared core allows and cut where it does not; an LSTM run
    on the adding problem stops at the paper's level of MSE (--target). docs/results.md says where and why.
    """
    lstm = ("--forget-bias", "1")
    settings = [
        ("adding-100-lstm", SEEDS, adding(100, "lstm", 10_000, 250, *lstm, "--target", "0.005")),
        ("adding-100-rnn", SEEDS, adding(100, "rnn", 5_000, 250)),
        ("copy-100-lstm", SEEDS, ("copy", "--length", "100", "--hidden-size", "40", "--steps", "15000",
                                  "--evaluate-every", "500", *PAPER_2016, *lstm)),
        ("copy-100-rnn", SEEDS, ("copy", "--length", "100", "--hidden-size", "80", "--model", "rnn", "--steps",
                                 "5000", "--evaluate-every", "500", *PAPER_2016)),
        ("reber-lstm", range(30), ("reber", "--hidden-size", "6", "--steps", "20000", *PAPER_1997,
                                   "--forget-bias", "5")),
        # the tanh RNN as the RTRL net of their Table 1: 12 hidden units, learning rate 0.1
        ("reber-rnn", range(10), ("reber", "--model", "rnn", "--hidden-size", "12", "--steps", "20000",
                                  *PAPER_1997[:4], "--lr", "0.1", *PAPER_1997[6:])),
        ("adding-200-lstm", SEEDS, adding(200, "lstm", 10_000, 500, *lstm, "--target", "0.01")),
        ("adding-200-rnn", SEEDS, adding(200, "rnn", 3_000, 500)),
        ("adding-400-lstm", SEEDS, adding(400, "lstm", 8_000, 500, *lstm, "--target", "0.01")),
        ("adding-400-rnn", SEEDS, adding(400, "rnn", 2_000, 500)),
        # what was tried first: PyTorch's initialisation in place of Glorot's, and the forget gate's bias as drawn
        ("adding-100-lstm-pytorch-init", SEEDS, tuple(a for a in adding(100, "lstm", 10_000, 250, *lstm, "--target",
                                                                          "0.005") if a not in ("--init", "glorot"))),
        ("reber-lstm-forget-bias-drawn", range(10), ("reber", "--hidden-size", "6", "--steps", "20000", *PAPER_1997)),
    ]
    return [Run(setting, seed, args) for setting, seeds, args in settings for seed in seeds]


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), "load_average": os.getloadavg()}


def code_version() -> dict[str, Any]:
    """The commit the package was run from, and whether its tracked files differed from it; a source snapshot
    (`git archive`, as the queue's driver runs) names its commit in a file COMMIT."""
    root = Path(__file__).resolve().parent.parent
    if (root / "COMMIT").exists():
        return {"commit": (root / "COMMIT").read_text().strip(), "modified": False}

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    return {"commit": git("rev-parse", "HEAD"), "modified": bool(git("status", "--porcelain", "--untracked-files=no"))}


def write_record(path: str | os.PathLike, result: dict[str, Any], command: list[str]) -> Path:
    """The run as JSON, written whole or not at all: its command, settings, time, losses and held-out figures; a
    number that is not finite is written as null."""
    trainer = result["trainer"]
    record = {"command": command, "settings": asdict(trainer.settings), "steps": trainer.step,
              "seconds": trainer.seconds, "held_out": result["held_out"], "evaluations": trainer.evaluations,
              "losses": [float(f"{x:.6g}") for x in trainer.losses], "machine": machine(), "code": code_version(),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    with atomic_write(path) as file:
        file.write(strict_json(record, indent=1).encode())
    return Path(path)


def cli_module() -> str:
    """The package behind the `lstm-autograd` console script, so a run is `python -m` that package (its
    __main__ is the command)."""
    (script,) = entry_points(group="console_scripts", name="lstm-autograd")
    return script.module.partition(".")[0]


def run_queue(folder: str | os.PathLike, only: list[str] | None = None, count: int | None = None,
              stream: IO[str] | None = None) -> int:
    """Run the queued runs that have no record in `folder` yet (at most `count` of them), one at a time, each in
    its own process; a run with a checkpoint but no record resumes from it. Returns how many failed."""
    stream = stream or sys.stdout
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    runs = [run for run in queue() if not only or any(part in run.name for part in only)]
    if only and not runs:
        raise ValueError(f"reproduce: no queued run matches {' '.join(only)}; `lstm-autograd reproduce list` "
                         "names them")
    pending = [run for run in runs if not (folder / f"{run.name}.json").exists()]
    failed = 0
    for run in pending[:count]:
        record, checkpoint = folder / f"{run.name}.json", folder / f"{run.name}.npz"
        command = [sys.executable, "-m", cli_module(), *run.command[1:], "--checkpoint", str(checkpoint),
                   "--log", str(record), "--every", "500", *(["--resume"] if checkpoint.exists() else [])]
        print(f"{time.strftime('%H:%M:%S')} {run.name}: {shlex.join(run.command)}", file=stream, flush=True)
        with open(folder / f"{run.name}.out", "a") as out:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
        if code:
            failed += 1
            print(f"{run.name}: failed (exit {code}); see {folder / (run.name + '.out')}", file=stream, flush=True)
    return failed
