"""Your own LSTM backward against the engine: `lstm.check_backward(...)`.

One random problem (a sequence, parameters, and the loss Σ_t h_t·dhs_t + h_T·dh_T + c_T·dc_T) in the layout
your code is written in (`lstm.own_backward.layouts`). Your forward, when given, is checked against the engine's
forward; your gradients against the engine's with `autograd.check_gradients`, which also checks the engine
against finite differences in float64, places any gradients you return at intermediate tensors, and runs the
Taylor remainder test. When something is wrong, the report says where:

- In which parameters, gates and units, and at which step. A parameter's gradient is a sum over the steps, so
  your code is run on parts of the problem and the differences taken. Where the layout lets a run start from
  any state (own, pytorch): on the sequence from step t on, started from the state h_{t−1}, c_{t−1} that the
  forward reaches. That run's gradients at h0 and c0 are the ∇h_{t−1}, ∇c_{t−1} your step t passes back, and
  its parameters' gradients minus those of the run from step t+1 on are step t's own contribution. Walking
  back from the loss, the first step whose contribution or passed-back gradient departs is where the mistake
  shows first. This reads your code as treating every step alike; when it does not (started at step t, it
  gives another ∇x_t than on the whole sequence: a loop bound), and in the CS231n layout, which fixes c0 = 0 so
  that no run can start mid-sequence, the runs are the first t+1 steps with the loss read at those steps: the
  first t where they go wrong, then step t alone (the inputs before it set to 0, the loss read at step t only,
  so that ∇W_x holds its own gate gradients and nothing of the steps before) to tell a mistake in its own
  lines from one in what it passes back.
- Whether your backward at least matches your own forward, when that forward is not an LSTM's (the Taylor
  test of your gradient against the loss your forward computes).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autograd import GradientReport, Tensor, check_gradients, no_grad, taylor_test
from autograd.check import MOST_ROWS
from autograd.diagnostics import Taylor, beyond_tolerance, describe_relative, relative_error
from autograd.files import strict_json
from lstm.derivation.problem import Problem, checked_sizes
from lstm.model.sequence import unroll
from lstm.names import GATE_OF, GATES, NAMES
from lstm.own_backward.layouts import LAYOUTS, Block, Hand, HandError, Layout

DEFAULT_FUNCTION = "backward"  # what a hand FILE.py names when :FUNCTION is left off (own, pytorch)


# ---------------------------------------------------------------------------------------------------------
# Loading your code.
# ---------------------------------------------------------------------------------------------------------


def load(spec: str, layout: str = "own") -> Hand:
    """`FILE.py[:FUNCTION]` for the own and pytorch layouts (FUNCTION defaults to `backward`; the module's
    `forward`, when it has one, is checked too), `FILE.py` for cs231n (its lstm_forward and lstm_backward)."""
    _layout(layout)
    path, function = split_spec(spec)
    file = Path(path)
    if file.suffix != ".py":
        raise HandError(f"hand= takes FILE.py[:FUNCTION], got {spec!r}")
    if not file.is_file():
        raise HandError(f"hand=: no file {path}")
    module = _import(file)
    if layout == "cs231n":
        if function is not None:
            raise HandError(f"hand={spec!r}: the cs231n layout reads lstm_forward and lstm_backward; name the file "
                            "alone")
        return hand_of(module, "cs231n", source=file.name)
    function = function or DEFAULT_FUNCTION
    backward = getattr(module, function, None)
    if not callable(backward):
        defined = sorted(name for name, value in vars(module).items()
                         if callable(value) and getattr(value, "__module__", None) == module.__name__)
        raise HandError(f"{file.name} has no function {function}; it defines {', '.join(defined) or 'none'}")
    forward = getattr(module, "forward", None)
    return Hand(backward, forward if callable(forward) else None, f"{file.name}:{function}")


def split_spec(spec: str) -> tuple[str, str | None]:
    """`FILE.py[:FUNCTION]` as the file and the function it names (None when left off)."""
    head, _, tail = spec.rpartition(":")
    return (head, tail) if head and tail.isidentifier() else (spec, None)


def _import(file: Path) -> ModuleType:
    """The file as a fresh module, its folder importable while it loads (it may import its neighbours)."""
    spec = importlib.util.spec_from_file_location(f"lstm_autograd_hand_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # the user's file may raise anything while it loads, exit included
        said = f": {error}" if str(error) else ""
        raise HandError(f"{file.name} raised {type(error).__name__} while loading{said}") from None
    finally:
        sys.path.remove(folder)
    return module


def hand_of(hand: Any, layout: str, forward: Callable[..., Any] | None = None, source: str | None = None) -> Hand:
    """What `check_backward` takes, as a Hand: a backward function (own, pytorch), or an object with
    lstm_forward and lstm_backward, such as a module (cs231n)."""
    if isinstance(hand, Hand):
        return hand
    if layout == "cs231n":
        missing = [name for name in ("lstm_forward", "lstm_backward") if not callable(getattr(hand, name, None))]
        if missing:
            raise HandError(f"the cs231n layout needs {' and '.join(missing)} in {source or hand!r}")
        return Hand(hand.lstm_backward, hand.lstm_forward, source or getattr(hand, "__name__", "cs231n"))
    if not callable(hand):
        raise HandError(f"hand must be a function with the {layout} layout's signature, got {type(hand).__name__}")
    return Hand(hand, forward, source or getattr(hand, "__qualname__", repr(hand)))


def _layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise HandError(f"layout must be one of {', '.join(LAYOUTS)}, got {name!r}")
    return LAYOUTS[name]


# ---------------------------------------------------------------------------------------------------------
# The engine's side.
# ---------------------------------------------------------------------------------------------------------


def _loss(layout: Layout, problem: Problem, tensors: dict[str, Tensor]) -> Tensor:
    """The problem's loss through the engine's graph built from the layout's arrays."""
    up = problem.astype(np.float64)
    hs, (h_T, c_T) = unroll(*layout.graph(tensors))
    return (hs * up.dhs).sum() + (h_T * up.dh_T).sum() + (c_T * up.dc_T).sum()


def engine_gradients(layout: Layout, problem: Problem) -> dict[str, np.ndarray]:
    """The engine's gradients of the problem's loss, by the layout's names, in float64."""
    leaves = {name: Tensor(np.asarray(a, np.float64), requires_grad=True, name=name)
              for name, a in layout.arrays(problem).items()}
    _loss(layout, problem, leaves).backward()
    return {name: leaf.grad for name, leaf in leaves.items()}


# ---------------------------------------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------------------------------------


@dataclass
class ForwardCheck:
    """Your forward's hs (and c_T) against the engine's."""

    max_diff: float
    worst: tuple[int, ...]  # (t, batch, unit)
    yours: float
    engine: float
    failing_steps: list[int]
    c_T_diff: float | None  # None: the layout's forward gives no c_T
    passed: bool
    own_taylor: Taylor | None = None  # your backward against your own forward's loss, when the forward departs

    @property
    def headline(self) -> str:
        where = f"hs first departs at t = {self.failing_steps[0]}" if self.failing_steps else "c_T departs"
        own = "" if self.own_taylor is None else {
            "right": "; your backward is right for it", "wrong": "; your backward is wrong even for it"}.get(
            self.own_taylor.verdict, "")
        return f"your forward ({where}){own}"

    def format(self, source: str, tolerance: float) -> list[str]:
        c_T = "" if self.c_T_diff is None else f", c_T within {self.c_T_diff:.2e}"
        if self.passed:
            return [f"forward ({source}): hs matches the engine's within {self.max_diff:.2e}{c_T}: right"]
        t, b, unit = self.worst
        lines = [f"forward ({source}): WRONG: hs departs from the engine's first at t = {self.failing_steps[0]} "
                 f"(wrong at t = {_steps(self.failing_steps)}); worst at t = {t}, batch {b}, unit {unit}: yours "
                 f"{self.yours:.6g}, the engine's {self.engine:.6g}" if self.failing_steps else
                 f"forward ({source}): WRONG: hs is right but c_T departs by {self.c_T_diff:.2e} (more than "
                 f"{tolerance:g}·max(1, |c_T|))",
                 "so your gradients below differentiate another function than the LSTM's; fix the forward first, "
                 "then the backward is located step by step"]
        if self.own_taylor is not None:
            verdict = {"right": "right for your own forward: the backward is consistent, the forward is wrong",
                       "wrong": "wrong even for your own forward: both need fixing"}.get(
                self.own_taylor.verdict, "inconclusive against your own forward")
            lines.append(f"your backward against your own forward (Taylor remainder test): {verdict}")
        return lines


@dataclass
class Location:
    """Where one of the derivation's arrays goes wrong: its worst element by gate, unit and step."""

    label: str  # the derivation's name, and where it sits in the layout
    name: str
    gate: str | None  # the gate's key, for the twelve parameters
    unit: int | None
    step: int | None  # the worst step
    failing_steps: list[int]
    index: tuple[int, ...]  # the worst element, in the derivation's orientation
    relative: float

    def format(self) -> str:
        i = self.index
        if self.gate is not None:
            where = [f"gate {self.gate}", f"unit {self.unit}"]
            if self.step is not None:
                where.append(f"worst at t = {self.step} (wrong at t = {_steps(self.failing_steps)})")
        elif self.name == "xs":
            where = [f"worst at t = {i[0]}, batch {i[1]}, input {i[2]}",
                     f"wrong at t = {_steps(self.failing_steps)}"]
        else:
            where = [f"batch {i[0]}, unit {i[1]}"]
        return f"{self.label}: {', '.join(where)}; {describe_relative(self.relative).split(' (')[0]}"


PASSED_BACK = ("∇h_{t−1}", "∇c_{t−1}", "∇h0", "∇c0")  # what a step passes back to the one before


@dataclass
class StepCheck:
    """The per-step localisation: which of the derivation's arrays depart at each step, and at the first step
    that departs, whether in its own lines or in what it passes back to the step before."""

    method: str  # "from step" or "first steps"
    departing: dict[int, list[str]]  # step → what departs there
    first: int | None  # walking back from the loss (from step), or from the start (first steps)
    own: list[str]  # at `first`: what departs of the step's own lines (the parameters' contributions, ∇x_t)
    passed_back: list[str]  # at `first`: what departs of what it passes back
    note: str | None = None  # why the method is not the layout's usual one

    def format(self) -> list[str]:
        lines = [] if self.note is None else [self.note]
        if self.method == "from step":
            lines.append("per step: your backward on steps t … T−1 (from the state h_{t−1}, c_{t−1} the forward "
                         "reaches) minus on steps t+1 … T−1 is step t's own contribution, and its gradients at h0 "
                         "and c0 are the ∇h_{t−1}, ∇c_{t−1} step t passes back")
            if self.first is not None:
                lines.append(f"first departure, walking back from the loss: step t = {self.first}, {self.where}")
            return lines
        lines.append("per step: your backward on steps 0 … t minus on steps 0 … t−1 is the part of each gradient "
                     "due to the loss read at step t")
        if self.first is not None:
            lines.append(f"the first t at which your backward on steps 0 … t goes wrong: t = {self.first} (there: "
                         f"{_with_gates(self.departing[self.first])})")
            if self.first:
                t = self.first
                before = "x_0" if t == 1 else f"x_0 … x_{t - 1}"
                lines.append(f"step {t} alone ({before} set to 0 and the loss read at step {t} only, so that ∇W_x "
                             f"holds step {t}'s own gate gradients): {self.where}")
        return lines

    @property
    def where(self) -> str:
        if not self.own and not self.passed_back:  # the first steps' run of step t alone found its lines right
            return (f"its own gate gradients are right, so the mistake is in what it passes back to step "
                    f"{self.first - 1}")
        own = f"in its own lines: {_with_gates(self.own)}" if self.own else "its own lines right"
        return own + (f"; in what it passes back: {', '.join(self.passed_back)}" if self.passed_back else "")

    @property
    def headline(self) -> str:
        return "" if self.first is None else f"first at step t = {self.first}, {self.where}"


def _steps(steps: list[int]) -> str:
    return ", ".join(map(str, steps))


def _with_gates(labels: list[str]) -> str:
    """What departs, the parameters grouped by gate: 'W_xf, W_hf, b_f (gate f) and ∇x_t'."""
    parameters = [label for label in dict.fromkeys(labels) if label in GATE_OF]
    gates = sorted({GATE_OF[name].key for name in parameters}, key=[gate.key for gate in GATES].index)
    parts = []
    if len(parameters) == len(NAMES):
        parts.append("every parameter (gates i, f, o, g)")
    elif parameters:
        parts.append(f"{', '.join(parameters)} ({'gate' if len(gates) == 1 else 'gates'} {', '.join(gates)})")
    others = [label for label in dict.fromkeys(labels) if label not in GATE_OF]
    if others:
        parts.append(", ".join(others))
    return " and ".join(parts)


@dataclass
class HandReport:
    settings: dict[str, Any]
    tolerance: float
    forward: ForwardCheck | None
    gradients: GradientReport
    locations: list[Location] = field(default_factory=list)
    steps: StepCheck | None = None

    @property
    def passed(self) -> bool:
        return (self.forward is None or self.forward.passed) and self.gradients.passed

    def to_json(self) -> str:
        g = self.gradients
        return strict_json({
            "passed": self.passed, "settings": self.settings, "tolerance": self.tolerance,
            "forward": None if self.forward is None else {k: v for k, v in asdict(self.forward).items()
                                                          if k != "own_taylor"},
            "rows": [asdict(row) for row in g.inputs + g.nodes], "first_departure": g.first_departure,
            "locations": [asdict(loc) for loc in self.locations],
            "steps": None if self.steps is None else asdict(self.steps),
            "taylor": {"verdict": g.taylor.verdict, "order": g.taylor.order,
                       "symmetric_order": g.taylor.symmetric_order},
        }, indent=2, ensure_ascii=False)

    def format(self, full: bool = False) -> str:
        """The report as text. A long list of intermediates is cut after the first departure and a long table
        shows only its failing rows (`GradientReport.tables`); `full=True` shows every row."""
        s, g = self.settings, self.gradients
        sizes = (f"T={s['length']} N={s['batch']} D={s['input_size']} H={s['hidden_size']}" if s["layout"] == "cs231n"
                 else f"T={s['length']} B={s['batch']} X={s['input_size']} H={s['hidden_size']}")
        loss = ("Σ_t h_t·dh_t, c0 = 0 (the layout's)" if s["layout"] == "cs231n" else
                "Σ_t h_t·dhs_t + h_T·dh_T + c_T·dc_T")
        lines = [f"Your backward against the engine: {s['source']} (layout {s['layout']})",
                 f"{sizes} {s['dtype']} seed={s['seed']}; the loss {loss}, its upstream gradients random"]
        if s["layout"] == "cs231n" and s["length"] == 1:
            lines.append("note: with c0 = 0 and one step the forget gate has no effect, so its lines go unchecked: "
                         "check two steps or more")
        if s["dtype"] == "float32":
            lines.append(f"your code runs in float32 (tolerance {self.tolerance:.2g}, the float rule); the engine "
                         "and finite differences in float64")
        lines += ["", *(self.forward.format(s["forward"], self.tolerance) if self.forward else
                        [f"forward: not given (define {LAYOUTS[s['layout']].forward_signature} beside the backward "
                         "to have it checked too)"])]
        lines += ["", g.header(), *(g.tables() if full else g.tables(most_nodes=MOST_NODES, most_rows=MOST_ROWS))]
        if g.departure():
            lines += ["", *g.departure()]
        if self.locations:
            lines += ["", "Where it goes wrong", *self.steps.format(), *(loc.format() for loc in self.locations)]
        lines += ["", *(g.taylor.format().splitlines()[:1] if g.passed else g.diagnosis()), "", g.count()]
        if self.passed:
            lines.append("right: your gradients match the engine's")
        else:
            wrong = [self.forward.headline] if self.forward and not self.forward.passed else []
            if self.steps and self.steps.first is not None:
                wrong.append(f"your backward, {self.steps.headline}")
            lines.append("WRONG: " + "; ".join(wrong or ["your backward"]))
        return "\n".join(lines)


MOST_NODES = 12  # intermediates listed before the table is cut after the first departure


# ---------------------------------------------------------------------------------------------------------
# The check.
# ---------------------------------------------------------------------------------------------------------


def check(hand: Any, layout: str = "own", *, forward: Callable[..., Any] | None = None, input_size: int = 3,
          hidden_size: int = 4, batch: int = 2, length: int = 5, seed: int = 0, dtype: Any = np.float64,
          fd_samples: int = 24) -> HandReport:
    """Check a hand-written LSTM backward in `layout` (own, pytorch, cs231n; see `lstm.own_backward.layouts`)
    against the engine on one random problem; see the module doc for how it locates a mistake."""
    lay = _layout(layout)
    user = hand_of(hand, layout, forward)
    lay.require(user)
    dtype = checked_sizes("compare", dtype, input_size=input_size, hidden_size=hidden_size, batch=batch,
                          length=length)
    problem = lay.restrict(Problem.random(input_size, hidden_size, batch, length, seed, dtype))
    tol = problem.tolerances()["hand"]
    arrays = lay.arrays(problem)

    mine = lay.backward(user, problem)
    checked = _check_forward(lay, user, problem, mine, tol, seed) if user.forward else None
    inputs = [Tensor(np.asarray(a, np.float64), name=name) for name, a in arrays.items()]
    report = check_gradients(lambda *tensors: _loss(lay, problem, dict(zip(arrays, tensors, strict=True))), inputs,
                             lambda *_: mine, tolerance=tol, fd_samples=fd_samples, seed=seed)
    settings = {"layout": layout, "source": user.source, "forward": _forward_source(user),
                "input_size": input_size, "hidden_size": hidden_size, "batch": batch, "length": length,
                "seed": seed, "dtype": dtype.name}
    result = HandReport(settings, tol, checked, report)
    # a wrong forward makes every gradient another function's: the backward is located once the forward is right
    if not report.passed and (checked is None or checked.passed):
        result.steps, result.locations = _locate(lay, user, problem, mine, tol)
    return result


def _forward_source(user: Hand) -> str | None:
    """The forward as the report names it: in the backward's file, when it came from one."""
    if user.forward is None:
        return None
    file = user.source.partition(":")[0]
    name = getattr(user.forward, "__qualname__", "forward")
    return f"{file}:{name}" if file.endswith(".py") else name


def _check_forward(lay: Layout, user: Hand, problem: Problem, mine: dict[str, np.ndarray], tol: float,
                   seed: int) -> ForwardCheck:
    arrays = lay.arrays(problem)
    yours = lay.run_forward(user, arrays)
    T, B, H = problem.dhs.shape
    if yours.hs.shape != (T, B, H):
        raise HandError(f"{user.source}: the forward's hs has shape {yours.hs.shape} in (T, B, H) order, expected "
                        f"{(T, B, H)}")
    with no_grad():
        tensors = {name: Tensor(np.asarray(a, np.float64), name=name) for name, a in arrays.items()}
        hs, (_, c_T) = unroll(*lay.graph(tensors))
    diff = np.abs(yours.hs - hs.data)
    wrong = beyond_tolerance(diff, hs.data, tol)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    c_T_diff = None
    c_T_wrong = False
    if yours.c_T is not None:
        if yours.c_T.shape != (B, H):
            raise HandError(f"{user.source}: the forward's c_T has shape {yours.c_T.shape}, expected {(B, H)}")
        c_T_gap = np.abs(yours.c_T - c_T.data)
        c_T_diff = float(c_T_gap.max())
        c_T_wrong = bool(beyond_tolerance(c_T_gap, c_T.data, tol).any())
    checked = ForwardCheck(float(diff.max()), worst, float(yours.hs[worst]), float(hs.data[worst]),
                           [int(t) for t in np.flatnonzero(wrong.any(axis=(1, 2)))], c_T_diff,
                           not wrong.any() and not c_T_wrong)
    if not checked.passed:
        names = list(arrays)

        def own_loss(point: list[np.ndarray]) -> float:
            out = lay.run_forward(user, dict(zip(names, point, strict=True)))
            c_term = 0.0 if out.c_T is None else float((out.c_T * problem.dc_T).sum())
            return float((out.hs * problem.dhs).sum() + (out.hs[-1] * problem.dh_T).sum()) + c_term

        checked.own_taylor = taylor_test(own_loss, [np.asarray(arrays[n], np.float64) for n in names],
                                         [mine[n] for n in names], seed)
    return checked


def _fails(mine: np.ndarray, engine: np.ndarray, tol: float) -> np.ndarray:
    return beyond_tolerance(np.abs(mine - engine), engine, tol)


def _locate(lay: Layout, user: Hand, problem: Problem, mine: dict[str, np.ndarray],
            tol: float) -> tuple[StepCheck, list[Location]]:
    """Run your backward and the engine on the parts of the problem (see the module doc) and name, for every
    failing array of the derivation, its worst element by gate, unit and step."""
    T = problem.length
    blocks = lay.blocks(problem.h0.shape[-1])
    method, note = lay.steps, None
    if method == "from step":
        yours = [lay.backward(user, problem.from_step(t)) for t in range(T)]
        xs = next(block for block in blocks if block.name == "xs")
        if any(_fails(xs.take(yours[t][xs.array])[0], xs.take(mine[xs.array])[t], tol).any() for t in range(T)):
            method = "first steps"
            note = ("your backward does not treat every step alike: started at step t, it gives another ∇x_t than "
                    "on the whole sequence (a loop bound?), so the runs on the first steps are used instead")
    if method == "first steps":
        yours = [lay.backward(user, problem.first_steps(t + 1)) for t in range(T)]
    parts = [problem.from_step(t) if method == "from step" else problem.first_steps(t + 1) for t in range(T)]
    engine = [engine_gradients(lay, part) for part in parts]
    full = engine_gradients(lay, problem)
    from_step = method == "from step"
    departing: dict[int, list[str]] = {t: [] for t in range(T)}
    locations = []
    for block in blocks:
        if block.name in NAMES:
            location = _parameter(block, yours, engine, from_step, tol)
            for t in [] if location is None else location.failing_steps:
                departing[t].append(block.name)
        else:
            location = _whole_array(block, mine, full, tol)
            _departures(block, yours, engine, full, mine, from_step, tol, departing)
        if location is not None:
            locations.append(location)
    steps = [t for t, labels in departing.items() if labels]
    first = (max(steps) if from_step else min(steps)) if steps else None
    own = [] if first is None else [label for label in departing[first] if label not in PASSED_BACK]
    passed_back = [] if first is None else [label for label in departing[first] if label in PASSED_BACK]
    if first and not from_step:  # the run on the first steps mixes step t's lines with the steps' before it
        alone = problem.step_alone(first)
        yours_alone, engine_alone = lay.backward(user, alone), engine_gradients(lay, alone)
        own = [block.name for block in blocks if block.name in GATE_OF and GATE_OF[block.name].W_x == block.name
               and _fails(block.take(yours_alone[block.array]), block.take(engine_alone[block.array]), tol).any()]
        passed_back = []
    return StepCheck(method, departing, first, own, passed_back, note), locations


def _contributions(gradients: list[dict[str, np.ndarray]], block: Block, from_step: bool) -> list[np.ndarray]:
    """Step t's part of a parameter's gradient, from the runs on the parts: differences of consecutive runs."""
    cut = [block.take(g[block.array]) for g in gradients]
    zero = np.zeros_like(cut[0])
    with np.errstate(invalid="ignore"):  # a hand gradient's inf less itself: NaN, which then fails its step
        if from_step:
            return [cut[t] - (cut[t + 1] if t + 1 < len(cut) else zero) for t in range(len(cut))]
        return [cut[t] - (cut[t - 1] if t else zero) for t in range(len(cut))]


def _parameter(block: Block, yours: list[dict[str, np.ndarray]], engine: list[dict[str, np.ndarray]],
               from_step: bool, tol: float) -> Location | None:
    mine, theirs = _contributions(yours, block, from_step), _contributions(engine, block, from_step)
    failing = [t for t in range(len(mine)) if _fails(mine[t], theirs[t], tol).any()]
    if not failing:
        return None
    excess = np.stack([np.abs(m - e) / np.maximum(1.0, np.abs(e)) for m, e in zip(mine, theirs, strict=True)])
    t, *index = (int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
    index = tuple(index)
    return Location(block.label, block.name, GATE_OF[block.name].key, index[0], t, failing, index,
                    float(relative_error(mine[t][index], theirs[t][index])))


def _whole_array(block: Block, mine: dict[str, np.ndarray], engine: dict[str, np.ndarray],
                 tol: float) -> Location | None:
    """xs, h0 or c0 on the whole problem: each holds its own steps or batch rows."""
    yours, theirs = block.take(mine[block.array]), block.take(engine[block.array])
    wrong = _fails(yours, theirs, tol)
    if not wrong.any():
        return None
    excess = np.abs(yours - theirs) / np.maximum(1.0, np.abs(theirs))
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
    steps = [int(t) for t in np.flatnonzero(wrong.any(axis=(1, 2)))] if block.name == "xs" else []
    return Location(block.label, block.name, None, None, None, steps, index,
                    float(relative_error(yours[index], theirs[index])))


def _departures(block: Block, yours: list[dict[str, np.ndarray]], engine: list[dict[str, np.ndarray]],
                full: dict[str, np.ndarray], mine: dict[str, np.ndarray], from_step: bool, tol: float,
                departing: dict[int, list[str]]) -> None:
    """xs, h0, c0 in the per-step localisation. From step t: ∇x_t, and the run's gradients at h0 and c0, which
    are the ∇h_{t−1} and ∇c_{t−1} step t passes back. First steps: any of the run's own gradients."""
    symbol = ({"xs": "∇x_t", "h0": "∇h_{t−1}", "c0": "∇c_{t−1}"} if from_step else
              {"xs": "∇xs", "h0": "∇h0", "c0": "∇c0"})[block.name]
    for t in departing:
        if block.name == "xs" and from_step:
            wrong = _fails(block.take(mine[block.array])[t], block.take(full[block.array])[t], tol).any()
        else:
            wrong = _fails(yours[t][block.array], engine[t][block.array], tol).any()
        if wrong:
            departing[t].append(symbol)

