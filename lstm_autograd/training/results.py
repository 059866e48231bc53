"""docs/results.md: the reproduced runs beside the papers' numbers, with their figures under docs/results/.

Written from the records `lstm-autograd reproduce run` leaves (one JSON per run); every number on the page comes
from one of them, and the page shows the command that made it. Runs without a record yet are reported as pending.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from autograd.files import atomic_write, check_folder, load_npz
from autograd.optim import not_finite
from lstm_autograd.training.long_range import CopyMemory
from lstm_autograd.training.plots import gradient_through_time, plot
from lstm_autograd.training.reproduce import Run, queue
from lstm_autograd.training.train import Settings, Trainer

ADDING_BASELINE = 1 / 6  # the variance of the sum of two uniforms: the MSE of always answering 1
ADDING_LEVEL = 0.01  # the held-out MSE whose first step the tables compare
# Arjovsky, Shah & Bengio (2016), Figure 2, read by eye: the LSTM's MSE, and the step by which it is reached
PAPER_ADDING = {100: (0.005, 5_000), 200: (0.01, 20_000), 400: (0.005, 30_000)}
# the same paper, Figure 1 (T = 100), read by eye: the LSTM's cross-entropy after so many training examples
PAPER_COPY = ((200_000, 0.168), (400_000, 0.163), (1_000_000, 0.145))
COLORS = {"lstm": ("#08519c", "#3182bd", "#6baed6"), "rnn": ("#a50f15", "#de2d26", "#fb6a4a")}
LABELS = {"lstm": "LSTM", "rnn": "tanh RNN"}


KINDS = {"object": (dict,), "list": (list,), "integer": (int,), "number": (int, float), "string": (str,),
         "string or null": (str, type(None))}
KIND_NAMES = {list: "list", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
# what the page reads of a record, parents before children ("[]": every item of a list, "[1]": its second)
FIELDS = (("command", "list"), ("command[]", "string"), ("settings", "object"), ("steps", "integer"),
          ("seconds", "number"), ("held_out", "object"), ("held_out.loss", "number"), ("evaluations", "list"),
          ("evaluations[]", "object"), ("evaluations[].step", "integer"), ("evaluations[].loss", "number"),
          ("machine", "object"), ("machine.load_average", "list"), ("machine.load_average[1]", "number"),
          ("code", "object"), ("code.commit", "string or null"))
_MISSING = object()


def _places(record: Any, field: str) -> list[tuple[str, Any]]:
    """(name, value) of every place `field` names in `record` (value _MISSING where there is none)."""
    places = [("", record)]
    for part in re.findall(r"[^.\[\]]+|\[\d*\]", field):
        if part == "[]":
            places = [(f"{name}[{i}]", item) for name, value in places for i, item in enumerate(value)]
        elif part.startswith("["):
            i = int(part[1:-1])
            places = [(f"{name}{part}", value[i] if i < len(value) else _MISSING) for name, value in places]
        else:
            places = [(f"{name}.{part}".lstrip("."), value.get(part, _MISSING)) for name, value in places]
    return places


def read_record(path: Path) -> dict[str, Any]:
    """A run's record, or one ValueError naming the file and what in it is not what `train --log` writes."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text; expected a run's record (JSON, as train --log writes)") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error}); expected a run's record, as train --log writes") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: expected a JSON object, got a {KIND_NAMES.get(type(record), 'value')} (a run's "
                         "record, as train --log writes)")
    for field, kind in FIELDS:
        for name, value in _places(record, field):
            if value is _MISSING:
                raise ValueError(f"{path}: {name} is missing; expected {_article(kind)}")
            if not isinstance(value, KINDS[kind]) or isinstance(value, bool):
                raise ValueError(f"{path}: {name} is {type(value).__name__} {value!r:.40}; expected {_article(kind)}")
    unknown = sorted(set(record["settings"]) - {field.name for field in fields(Settings)})
    if unknown:
        raise ValueError(f"{path}: settings: unknown {', '.join(unknown)}; expected those of lstm-autograd train")
    try:
        Settings(**record["settings"]).check()
    except ValueError as error:
        raise ValueError(f"{path}: settings: {str(error).removeprefix('train: ')}") from None
    return record


def _article(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def load_records(folder: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Run name → its record, for every queued run that has one in `folder`."""
    records = {}
    for run in queue():
        path = Path(folder) / f"{run.name}.json"
        if path.exists():
            records[run.name] = read_record(path)
    return records


def settings_named(*names: str) -> dict[str, list[Run]]:
    """Those of the queue's settings, each with its runs, in queue order."""
    grouped: dict[str, list[Run]] = {}
    for run in queue():
        if run.setting in names:
            grouped.setdefault(run.setting, []).append(run)
    return grouped


def spread(values: list[float], fmt: Callable[[float], str]) -> str:
    """'median (lowest–highest)', or the one value when they all print alike."""
    if not values:
        return "—"
    if len(set(map(fmt, values))) == 1:
        return fmt(values[0])
    return f"{fmt(float(np.median(values)))} ({fmt(min(values))}–{fmt(max(values))})"


def count(n: float) -> str:
    return f"{n:,.0f}"


def first_step(record: dict[str, Any], at_most: float) -> int | None:
    """The first evaluated step whose held-out loss is at most `at_most`, or None."""
    return next((e["step"] for e in record["evaluations"] if e["loss"] <= at_most), None)


def final_losses(records: list[dict[str, Any]], digits: int = 4) -> str:
    """The held-out loss at the end of each run, as `spread` gives it."""
    return spread([r["held_out"]["loss"] for r in records], lambda x: f"{x:.{digits}f}")


def at_the_end(records: list[dict[str, Any]], digits: int = 4) -> str:
    """'held-out loss after steps' over the runs, or — before any has a record."""
    if not records:
        return "—"
    return f"{final_losses(records, digits)} after {spread([r['steps'] for r in records], count)}"


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


class Page:
    """The page's text and figures, section by section, from the records in `runs`."""

    def __init__(self, runs: str | os.PathLike, output: str | os.PathLike) -> None:
        self.runs, self.output = Path(runs), Path(output)
        self.records = load_records(runs)
        self.figures: list[Path] = []

    def done(self, runs: list[Run]) -> list[dict[str, Any]]:
        return [self.records[run.name] for run in runs if run.name in self.records]

    def status(self, runs: list[Run]) -> str:
        have = len(self.done(runs))
        return "" if have == len(runs) else f" ({have} of {len(runs)} runs done; the rest pending)"

    def in_results(self, name: str) -> Path:
        """Where a figure goes: the folder results/ beside the page, created with the first figure."""
        return check_folder(self.output / "results") / name

    def figure(self, name: str, settings: dict[str, list[Run]], *args: Any, **options: Any) -> str:
        """The figure `plot` draws, and its link; none before any run of `settings` has a record."""
        if not any(self.done(runs) for runs in settings.values()):
            return ""
        path = plot(self.in_results(name), *args, **options)
        self.figures.append(path)
        return f"![{args[0]}](results/{name})"

    def commands(self, settings: dict[str, list[Run]]) -> str:
        lines = []
        for runs in settings.values():
            seeds = " ".join(str(run.seed) for run in runs)
            lines.append(f"{shlex.join(runs[0].command[:-2])} --seed S   # S = {seeds}")
        return "```sh\n" + "\n".join(lines) + "\n```"

    def curves(self, settings: dict[str, list[Run]], label: Callable[[list[Run]], str] | None = None):
        """A `draw` that adds every run's held-out curve, one setting in blues, the next in reds."""

        def draw(ax):
            for colors, runs in zip((COLORS["lstm"], COLORS["rnn"]), settings.values(), strict=False):
                name = label(runs) if label else LABELS[runs[0].model]
                for k, record in enumerate(self.done(runs)):
                    steps = [e["step"] for e in record["evaluations"]]
                    ax.plot(steps, [e["loss"] for e in record["evaluations"]], color=colors[k % 3],
                            linewidth=1, label=f"{name}, seed {record['settings']['seed']}")

        return draw

    # ---- the adding problem --------------------------------------------------------------------------------

    def reached(self, records: list[dict[str, Any]]) -> str:
        """Steps to the held-out MSE of ADDING_LEVEL over the runs, and how many never got there."""
        if not records:
            return "—"
        reached = [first_step(r, ADDING_LEVEL) for r in records]
        hits = [s for s in reached if s is not None]
        missed = [r["steps"] for r, s in zip(records, reached, strict=True) if s is None]
        return ", ".join(part for part in (spread(hits, count) if hits else "",
                                           f"{len(missed)} of {len(records)} not within {spread(missed, count)}"
                                           if missed else "") if part)

    def tried(self) -> str:
        """The adding problem's LSTM at T = 100 as first run, with PyTorch's initialisation."""
        settings = settings_named("adding-100-lstm-pytorch-init")
        if not settings:
            return ""
        (runs,) = settings.values()
        records = self.done(runs)
        both = {**settings_named("adding-100-lstm"), **settings}
        glorot = self.done(both.get("adding-100-lstm", []))

        def label(runs: list[Run]) -> str:
            return "PyTorch's init" if runs is settings["adding-100-lstm-pytorch-init"] else "Glorot's init"

        figure = self.figure("adding-100-initialisation.svg", both, "adding problem, T = 100: the LSTM's "
                             "initialisation", "step", "MSE on 1,000 held-out sequences", self.curves(both, label))
        return f"""### What was tried first: PyTorch's initialisation{self.status(runs)}

The same LSTM runs at T = 100 with every parameter drawn uniform(±1/√H), PyTorch's initialisation and this
project's default, in place of Glorot's rule (forget-gate bias 1 in both):

| T = 100, LSTM | steps to held-out MSE ≤ {ADDING_LEVEL} | held-out MSE at the end |
| --- | --- | --- |
| Glorot's initialisation (the table above) | {self.reached(glorot)} | {final_losses(glorot)} |
| PyTorch's initialisation | {self.reached(records)} | {final_losses(records)} |

{self.commands(settings)}

{figure}
"""

    def adding(self) -> str:
        rows, figures, all_settings = [], [], {}
        for T, (paper_mse, paper_step) in PAPER_ADDING.items():
            settings = settings_named(f"adding-{T}-lstm", f"adding-{T}-rnn")
            if not settings:
                continue
            all_settings.update(settings)
            lstm = self.done(settings.get(f"adding-{T}-lstm", []))
            rnn = self.done(settings.get(f"adding-{T}-rnn", []))
            rows.append(f"| {T} | ≈ {paper_mse} by ≈ {paper_step:,} | {self.reached(lstm)} | "
                        f"{at_the_end(lstm)} | at the baseline | {at_the_end(rnn, 3)} | "
                        f"{spread([r['seconds'] for r in lstm], duration)} / "
                        f"{spread([r['seconds'] for r in rnn], duration)} |")

            def draw(ax, settings=settings, T=T, paper=(paper_step, paper_mse)):
                self.curves(settings)(ax)
                ax.axhline(ADDING_BASELINE, color="black", linestyle=":", linewidth=1, label="baseline 0.167")
                ax.plot(*paper, marker="*", markersize=12, color="#31a354", linestyle="none",
                        label="paper's LSTM (Fig. 2)")

            figures.append(self.figure(f"adding-{T}.svg", settings, f"adding problem, T = {T}: held-out MSE", "step",
                                       "MSE on 1,000 held-out sequences", draw))
        status = self.status([run for runs in all_settings.values() for run in runs])
        table = "\n".join([
            f"| T | paper: LSTM | ours: LSTM, steps to held-out MSE ≤ {ADDING_LEVEL} | ours: LSTM, held-out MSE "
            "at the end | paper: tanh RNN | ours: tanh RNN, held-out MSE at the end | wall time per run, "
            "LSTM / RNN |",
            "| ---: | --- | --- | --- | --- | --- | --- |", *rows])
        return f"""## The adding problem{status}

Arjovsky, Shah & Bengio (2016), §4.2: two sequences of length T, values uniform in [0, 1] and a marker that is 1
at exactly two steps, one in each half; the target is the sum of the two marked values. Always answering 1 scores
MSE 1/6 ≈ 0.167, the baseline. Their settings, which we follow: 128 hidden units for the LSTM and for the tanh
RNN, RMSProp with learning rate 10⁻³ and decay (α) 0.9, gradients clipped at 1 (their code clamps every element,
`--clip-by value`), batch 20, and, from their code, Glorot's initialisation (`--init glorot`: weights
uniform(±√(6/(fan_in + fan_out))), biases 0) with the LSTM's forget-gate bias at 1 (`--forget-bias 1`). Float32
and the fused LSTM path. Every step draws a fresh batch (they drew batches from a fixed set of 100,000 sequences); the
held-out MSE is on 1,000 sequences no training batch contains, evaluated every 250 steps at T = 100 and every
500 at T = 200 and 400 (so a step count below is the first evaluation that reached the level). An LSTM run stops
at the paper's level of MSE (`--target`) or at its step budget; "median (lowest–highest)" over the seeds.

{table}

The paper's numbers are read by eye from its Figure 2 (one run per model). The commands:

{self.commands(all_settings)}

{chr(10).join(f for f in figures if f)}

{self.tried()}"""

    # ---- the copying memory problem --------------------------------------------------------------------------

    def copy(self) -> str:
        settings = settings_named("copy-100-lstm", "copy-100-rnn")
        if not settings:
            return ""
        T = 100
        baseline = CopyMemory(T).baseline
        rows = []
        for runs in settings.values():
            records = self.done(runs)
            model = runs[0].model
            below = [first_step(r, 0.95 * baseline) for r in records]
            hits = [s for s in below if s is not None]
            rows.append(f"| ours: {LABELS[model]}, H = {runs[0].args[runs[0].args.index('--hidden-size') + 1]} | "
                        f"{at_the_end(records)} | " +
                        (f"{len(hits)} of {len(records)}" if records else "—") +
                        (f", from {spread(hits, count)}" if hits else "") +
                        f" | {spread([r['seconds'] for r in records], duration)} |")
        paper = "; ".join(f"≈ {ce} after {n:,} examples ({n // 20:,} steps)" for n, ce in PAPER_COPY)

        def draw(ax):
            self.curves(settings)(ax)
            ax.axhline(baseline, color="black", linestyle=":", linewidth=1, label=f"baseline {baseline:.3f}")
            ax.plot([n // 20 for n, _ in PAPER_COPY], [ce for _, ce in PAPER_COPY], marker="*", markersize=10,
                    color="#31a354", linestyle="none", label="paper's LSTM (Fig. 1)")

        figure = self.figure("copy-100.svg", settings, f"copying memory, T = {T}: held-out cross-entropy", "step",
                             "cross-entropy on 1,000 held-out sequences", draw)
        status = self.status([run for runs in settings.values() for run in runs])
        return f"""## The copying memory problem, T = {T}{status}

The same paper, §4.1: 10 symbols drawn from 8 categories, T − 1 blanks, a delimiter, 10 more blanks; the target
is T + 10 blanks and then the 10 symbols; the loss is the cross-entropy averaged over all T + 20 steps. Predicting
the blanks and then any of the 8 symbols (no memory) scores 10 ln 8 / (T + 20) = {baseline:.4f}, the baseline.
Their settings again (RMSProp 10⁻³, decay 0.9, clipping at 1 by element, batch 20, Glorot's initialisation,
forget-gate bias 1), with their sizes: 40 hidden units for the LSTM, 80 for the tanh RNN.

| | held-out cross-entropy at the end | runs 5 % below the baseline | wall time per run |
| --- | --- | --- | --- |
| paper: LSTM (Fig. 1, read by eye) | {paper} | from ≈ 200,000 examples on, slowly | — |
| paper: tanh RNN | at the baseline | none | — |
{chr(10).join(rows)}

{self.commands(settings)}

{figure}
"""

    # ---- the embedded Reber grammar ------------------------------------------------------------------------

    def reber(self) -> str:
        labels = {"reber-lstm": "LSTM, forget-gate bias 5", "reber-rnn": "tanh RNN",
                  "reber-lstm-forget-bias-drawn": "LSTM, forget-gate bias as drawn (tried first)"}
        settings = settings_named(*labels)
        if not settings:
            return ""
        rows = []
        for setting, runs in settings.items():
            records = self.done(runs)
            solved = [r["steps"] for r in records if r["held_out"].get("solved")]
            cap = max((r["settings"]["steps"] for r in records), default=0)
            mean = f"mean {np.mean(solved):,.0f}; median " if solved else ""
            trials = f"{len(solved)} of {len(records)} (within {cap:,})" if records else "—"
            rows.append(f"| ours: {labels[setting]} | {trials} | "
                        f"{mean}{spread(solved, count)} | {spread([r['seconds'] for r in records], duration)} |")

        def draw(ax):
            for (setting, runs), color in zip(settings.items(), ("#08519c", "#a50f15", "#6baed6"), strict=False):
                records = self.done(runs)
                solved = sorted(r["steps"] for r in records if r["held_out"].get("solved"))
                if records:
                    cap = max(r["settings"]["steps"] for r in records)
                    steps = [0, *solved, cap]
                    fraction = [0, *(np.arange(1, len(solved) + 1) / len(records)), len(solved) / len(records)]
                    ax.step(steps, fraction, where="post", color=color,
                            label=f"{labels[setting]} ({len(records)} trials)")
            ax.axvline(8_440, color="#31a354", linestyle="--", linewidth=1,
                       label="paper: mean of the best LSTM setting")
            ax.set_ylim(-0.02, 1.02)  # up to all trials solved: the room above the curves holds the legend

        figure = self.figure("reber.svg", settings, "embedded Reber grammar: trials solved", "training strings seen",
                             "fraction of trials solved", draw, yscale="linear")
        status = self.status([run for runs in settings.values() for run in runs])
        return f"""## The embedded Reber grammar{status}

Hochreiter & Schmidhuber (1997), experiment 1: predict the next symbol of strings of the embedded Reber grammar
(B, then T or P, a Reber string, the same T or P again, E), 7 input and 7 output units, one-hot. As there: 256
training strings and 256 test strings drawn at random (no test string is a training string), training strings
picked at random from the training set one at a time, the state reset to zero before each string, logistic
output units trained on the squared error against the next symbol, plain gradient descent (one string per
update, no momentum, no clipping). The LSTM has their best setting's 6 cells and learning rate 0.5; their LSTM
has no forget gate (its cells keep their content), so ours starts its forget gate nearly open (`--forget-bias 5`,
σ(5) ≈ 0.993; the last row is the same LSTM with the bias as drawn, what was tried first). The tanh RNN is
sized like the RTRL net of their Table 1: 12 hidden units, learning rate 0.1.
**Their criterion, which we implement exactly**
(`training.long_range.strings_right`): a trial is solved when, for every string of the training and the test set,
at every step, the output units of all the symbols the grammar allows next are more active than every other
unit. We check it every 100 strings, and a trial ends when it holds or after its budget.

| | trials solved | training strings until solved | wall time per trial |
| --- | --- | --- | --- |
| paper (Table 1): LSTM, all five settings, 30 trials each | 148 of 150 | — | — |
| paper (Table 1): LSTM, fastest setting (3 blocks of 2 cells, learning rate 0.5) | 30 of 30 | mean 8,440 | — |
| paper (Table 1): RTRL, 12 hidden units, learning rate 0.1 | "some fraction" | — | — |
| paper (Table 1): Elman net trained by Elman's procedure, 15 hidden units | 0 % | not within 200,000 | — |
{chr(10).join(rows)}

{self.commands(settings)}

{figure}
"""

    # ---- the gradient through time -------------------------------------------------------------------------

    def trained(self, name: str) -> tuple[Trainer, Trainer, int] | None:
        """The run's trained model from its last checkpoint and the same model untrained, both in float64 (float32
        would round the vanishing gradients to zero), and the step the checkpoint holds."""
        record, path = self.records.get(name), self.runs / f"{name}.npz"
        if record is None or not path.exists():
            return None
        settings = Settings(**{**record["settings"], "dtype": "float64"})
        trained, untrained = Trainer(settings), Trainer(settings)
        arrays = load_npz(path)
        broken = not_finite({key: arrays[key] for key in trained.parameters()})
        if broken:  # a diverged run's: its figure would be NaN
            raise ValueError(f"{path}: {broken}")
        for key, t in trained.parameters().items():
            t.data = arrays[key].astype(np.float64)
        return trained, untrained, int(arrays["meta/step"])

    def gradients(self) -> str:
        norms = {}
        for name in ("adding-100-lstm-0", "adding-100-rnn-0"):
            pair = self.trained(name)
            if pair is None:
                continue
            trained, untrained, step = pair
            task, seed = trained.task, trained.settings.seed
            xs, targets = task.batch(8, np.random.default_rng([seed, 0]))
            label = LABELS[trained.settings.model]
            for when, t in (("untrained", untrained), (f"after {step:,} steps", trained)):
                norms[f"{label}, {when}"] = t.gradient_through_time(xs, targets)
        if not norms:
            return ""
        path = gradient_through_time(norms, self.in_results("gradient-through-time.svg"),
                                     "adding problem, T = 100: ‖∂L/∂h_t‖ through time")
        self.figures.append(path)
        rows = "\n".join(f"| {label} | {n[-1]:.2e} | {n[len(n) // 2]:.2e} | {n[0]:.2e} | {n[0] / n[-1]:.1e} |"
                         for label, n in norms.items())
        return f"""## The gradient through time

‖∂L/∂h_t‖ at every step t of 8 held-out sequences of the adding problem (T = 100), for the LSTM and the tanh RNN
of seed 0, untrained and as their last checkpoint left them (computed in float64, through the per-step graph).
The marked steps lie anywhere in the sequence, so what the loss at the last step tells the weights about them
arrives through ∂L/∂h_t at early and middle t:

| model | ‖∂L/∂h_99‖ | ‖∂L/∂h_50‖ | ‖∂L/∂h_0‖ | ‖∂L/∂h_0‖ / ‖∂L/∂h_99‖ |
| --- | ---: | ---: | ---: | ---: |
{rows}

![gradient through time](results/gradient-through-time.svg)
"""

    # ---- the whole page ------------------------------------------------------------------------------------

    def machine(self) -> str:
        if not self.records:
            return "No run has a record yet."
        machines = {json.dumps({k: v for k, v in r["machine"].items() if k in ("cpu", "cores", "python", "numpy")},
                               sort_keys=True) for r in self.records.values()}
        loads = [r["machine"]["load_average"][1] for r in self.records.values()]
        commits = sorted({r["code"]["commit"][:7] if r["code"]["commit"] else "unknown"
                          for r in self.records.values()})
        total = sum(r["seconds"] for r in self.records.values())
        described = "; ".join(", ".join(f"{k} {v}" for k, v in json.loads(m).items()) for m in machines)
        return (f"{described}; one thread per run (OPENBLAS_NUM_THREADS=1), `nice`d, on a machine shared with "
                f"other jobs (load average over 5 minutes at the end of the runs: "
                f"{spread(loads, lambda x: f'{x:.1f}')}). {len(self.records)} runs, {total / 3600:.1f} hours in all. "
                f"Code: commit{'s' if len(commits) > 1 else ''} {', '.join(commits)}.")

    def text(self) -> str:
        sections = [self.adding(), self.copy(), self.reber(), self.gradients()]
        return f"""# The published results, reproduced

Does this LSTM, built from the engine's primitives, behave like the LSTM of the literature? Below, the classic
long-range tasks in the papers' own settings, each beside the papers' numbers and beside a plain tanh RNN built
from the same primitives (`lstm/model/rnn.py`). Every number on this page comes from a run whose command it shows;
the page itself is written from the runs' records:

```sh
lstm-autograd reproduce list                     # every run: name and command
lstm-autograd reproduce run --runs runs          # run them one at a time (resumable: a run with a record is done)
lstm-autograd reproduce page --runs runs         # this page and docs/results/*.svg from the records
```

Machine: {self.machine()}

{chr(10).join(s for s in sections if s)}
{self.differences()}"""

    def differences(self) -> str:
        def budget(setting: str) -> str:
            runs = settings_named(setting).get(setting)
            return f"{int(runs[0].args[runs[0].args.index('--steps') + 1]):,}" if runs else "—"

        return f"""## Where ours differs from theirs, and why

- **The LSTM.** Ours is the LSTM of the derivation: input, forget and output gates, no peepholes, a zero initial
  state. Arjovsky et al.'s LSTM adds a peephole from the cell to the output gate and learns its initial state; we
  follow their initialisation. Hochreiter & Schmidhuber's 1997 LSTM has no forget gate at all, memory blocks of 2
  cells sharing their gates, output-gate biases starting at −1, −2, −3, and a gradient truncated outside the
  cells; ours has 6 cells with their own gates, a forget gate that starts nearly open, and the full gradient
  through time.
- **The initialisation.** The 2016 runs use Glorot's rule, as the paper's code does; this project's default is
  PyTorch's uniform(±1/√H), which the runs under "What was tried first" compare.
- **The optimiser.** RMSprop here is torch.optim.RMSprop's: the running average of g² starts at 0 and ε = 10⁻⁸
  is added to its square root. Their Theano code starts it at 10⁻³ and adds no ε.
- **The data.** Each step draws a fresh batch; the 2016 paper drew its batches from a fixed set of 100,000
  training sequences and measured on 10,000; we measure on 1,000 held-out sequences.
- **The budget.** The runs share a 2-core machine with other jobs, and a step of the LSTM at T = 400 takes about
  0.2 s of one core, so the 2016 paper's 30,000 steps at T = 400 (and 20,000 and more at T = 200) would take
  hours per seed. The LSTM's budgets are cut to {budget("adding-100-lstm")}, {budget("adding-200-lstm")} and
  {budget("adding-400-lstm")} steps at T = 100, 200 and 400, and its runs stop at the paper's level of MSE; the
  tanh RNN, which sits at the baseline at every T in the paper, gets {budget("adding-100-rnn")},
  {budget("adding-200-rnn")} and {budget("adding-400-rnn")} steps. On the copying problem the paper trains for
  1,000,000 examples (50,000 steps); our LSTM gets {budget("copy-100-lstm")} steps and the RNN
  {budget("copy-100-rnn")}. A Reber trial gets {budget("reber-lstm")} strings.
"""


def write_page(runs: str | os.PathLike, output: str | os.PathLike) -> list[Path]:
    """docs/results.md (in `output`) and its figures (in `output`/results) from the records in `runs`; both folders
    are created when missing (the parent of `output` must exist)."""
    check_folder(output)
    page = Page(runs, output)
    text = page.text()
    path = Path(output) / "results.md"
    with atomic_write(path) as file:
        file.write(text.encode())
    return [path, *page.figures]

