"""The published runs, reproduced: one queue of `lstm-autograd train` commands in the papers' settings, run one at a
time, each leaving a record (JSON) and a checkpoint beside it, so an interrupted queue resumes where it stopped.

`docs/results.md` is written from these records by `viz.results`; every number on it comes from one of them.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO, Any

import numpy as np

from lstm.files import atomic_write

ADDING = ["--optimizer", "rmsprop", "--lr", "0.001", "--alpha", "0.9", "--clip", "1", "--clip-by", "value",
          "--batch", "20", "--dtype", "float32"]
SEEDS = (0, 1, 2)


def queue() -> list[tuple[str, list[str]]]:
    """(name, `lstm-autograd train` arguments) of every run, in the order they run: the longest task first.

    The step counts are the papers' where the 2-core budget allows, and cut where it does not (docs/results.md
    says where and why).
    """
    runs = []
    for T, steps, rnn_steps, every in ((100, 10_000, 5_000, 100), (200, 20_000, 4_000, 200),
                                       (400, 20_000, 3_000, 250)):
        for seed in SEEDS:
            runs.append((f"adding-{T}-lstm-{seed}", ["adding", "--length", str(T), "--hidden-size", "128",
                                                     "--steps", str(steps), "--evaluate-every", str(every),
                                                     "--target", "0.005", *ADDING, "--seed", str(seed)]))
        for seed in SEEDS:
            runs.append((f"adding-{T}-rnn-{seed}", ["adding", "--model", "rnn", "--length", str(T), "--hidden-size",
                                                    "128", "--steps", str(rnn_steps), "--evaluate-every",
                                                    str(every), *ADDING, "--seed", str(seed)]))
    return runs


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
    """The commit the package was run from, and whether its tracked files differed from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    return {"commit": git("rev-parse", "HEAD"), "modified": bool(git("status", "--porcelain", "--untracked-files=no"))}


def write_record(path: str | os.PathLike, result: dict[str, Any], command: list[str]) -> Path:
    """The run as JSON, written whole or not at all: its command, settings, time, losses and held-out figures."""
    trainer = result["trainer"]
    record = {"command": command, "settings": asdict(trainer.settings), "steps": trainer.step,
              "seconds": trainer.seconds, "held_out": result["held_out"], "evaluations": trainer.evaluations,
              "losses": [float(f"{x:.6g}") for x in trainer.losses], "machine": machine(), "code": code_version(),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    with atomic_write(path) as file:
        file.write(json.dumps(record, indent=1).encode())
    return Path(path)


def cli_module() -> str:
    """The module behind the `lstm-autograd` console script, so a run is `python -m` that module."""
    (script,) = entry_points(group="console_scripts", name="lstm-autograd")
    return script.module


def run_queue(folder: str | os.PathLike, only: list[str] | None = None, stream: IO[str] | None = None) -> int:
    """Run every queued run that has no record in `folder` yet, one at a time, each in its own process; a run
    with a checkpoint but no record resumes from it. Returns how many runs failed."""
    stream = stream or sys.stdout
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    runs = [(name, args) for name, args in queue() if not only or any(part in name for part in only)]
    if only and not runs:
        raise ValueError(f"reproduce: no queued run matches {' '.join(only)}; `lstm-autograd reproduce list` "
                         "names them")
    failed = 0
    for name, args in runs:
        record, checkpoint = folder / f"{name}.json", folder / f"{name}.npz"
        if record.exists():
            continue
        command = [sys.executable, "-m", cli_module(), "train", *args, "--checkpoint", str(checkpoint),
                   "--log", str(record), "--every", "500", *(["--resume"] if checkpoint.exists() else [])]
        print(f"{time.strftime('%H:%M:%S')} {name}: {shlex.join(command[3:])}", file=stream, flush=True)
        with open(folder / f"{name}.out", "a") as out:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
        if code:
            failed += 1
            print(f"{name}: failed (exit {code}); see {folder / (name + '.out')}", file=stream, flush=True)
    return failed
