"""Random programs over every primitive of the engine, replayable from a seed and run three ways.

A program declares leaves (0-d to 3-D, float32 or float64, some not C-contiguous in memory) and numpy constants,
then runs steps, one primitive each, written as a user writes them: an operator or method (`a + b`, `A @ x`,
`x[1:, np.array([0, 0])]`, `x.T`, `x.sum(axis=-1)`) or an `ag.` call (`ag.add(x, x, x)`), with numpy arrays,
numpy scalars and Python numbers on either side. It ends in one backward call: from a scalar loss summing
several outputs, or from a non-scalar output with an explicit upstream gradient `g`. Leaves feed many steps,
steps read the same tensor twice, results feed several later steps, some results and leaves reach no loss.

Values stay in safe domains by construction: the generator evaluates each step as it writes it and keeps only
steps whose values are moderate, so `log` sees values of at least 0.25, a divisor is at least 0.5 from 0 and
`exp` sees at most 2. Indices repeat elements, mask with booleans and step backwards; some tensors have a
zero-length axis, go through elementwise steps and are summed over it. A 3-D operand of matmul (numpy's batched
matmul, batch axes broadcasting) must be refused: `refused(lambda: a @ b)` holds the engine's message.

One program in ten is *extreme*: its leaves hold values at the edge of the dtype's range (±1e150 to 1e300 and
1e-300 in float64, sigmoid and tanh at ±1000, exp near 690, big over big, big times tiny), each read by one
step, after which only steps whose partials are at most about 1 in size follow, so every gradient stays finite.
Finite differences mean nothing there; torch is their gradients' reference.

`Program.source` is Python, and `run_engine` executes exactly that text, so what a failure prints is what ran.
`Program.values`, `Program.loss` (numpy, float64), `Program.values_in_dtype` (numpy, the program's dtype) and
`run_torch` evaluate the same steps without the engine. For
other tests (a Taylor-remainder test, say), `loss_and_gradients(seed)` gives the scalar loss as a function of the
leaves in numpy float64, the leaves' values, and the engine's gradients there.

    python tests/support/programs.py 17      # print program 17
"""

from __future__ import annotations

import functools
import operator
import random
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

LIMIT = 30.0  # largest magnitude of any value inside a program
LOSS_LIMIT = np.inf  # the loss's own steps are never refused: they sum values that are within LIMIT
MAX_SIZE = 36  # most elements of any value
LOG_FLOOR, DIVISOR_FLOOR, EXP_CEILING = 0.25, 0.5, 2.0
EXTREME_SHARE = 0.1
# per dtype: big and tiny values' decimal exponents, exp's ceiling, the largest value;
# headroom of 1e4 or more under the dtype's largest float, for the gradients' sums over fan-out and broadcasting
EXTREME = {np.float64: ((150, 300), (-300, -250), 690.0, 1e303), np.float32: ((15, 33), (-37, -30), 75.0, 1e36)}


# ---- the numpy meaning of each primitive: the generator's and the finite differences' reference ----------


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # e^1000 is inf, and 1/(1 + inf) is exactly 0
        return 1 / (1 + np.exp(-x))


NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "add": lambda *xs: functools.reduce(np.add, xs),
    "sub": np.subtract,
    "neg": np.negative,
    "hadamard": np.multiply,
    "div": np.divide,
    "matmul": np.matmul,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "sum": lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
    "mean": lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
    "reshape": lambda x, shape: np.reshape(x, shape),
    "transpose": lambda x, axes=None: np.transpose(x, axes),
    "getitem": lambda x, index: x[index],
    "concat": lambda *xs, axis=0: np.concatenate(xs, axis=axis),
    "stack": lambda *xs, axis=0: np.stack(xs, axis=axis),
    "log_softmax": lambda x, axis=-1: _log_softmax(x, axis),
}

OPERATORS = {"add": "+", "sub": "-", "hadamard": "*", "div": "/", "matmul": "@"}


# ---- programs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    name: str
    data: np.ndarray  # in the program's dtype and in the memory layout `declaration` makes
    declaration: str  # the numpy expression that makes `data`
    layout: str  # contiguous, fortran, transposed, swapped, strided, reversed or broadcast
    requires_grad: bool


@dataclass(frozen=True)
class Step:
    out: str
    op: str  # a key of autograd.ops.PRIMITIVES
    args: tuple[str, ...]  # leaves, earlier steps' outputs, constants
    params: dict[str, Any]
    form: str  # "operator" (`a + b`, `-a`, `a[i]`, `a.T`, `a.sum()`, `a.reshape()`) or "call" (`ag.add(a, b)`)
    shape: tuple[int, ...]


@dataclass
class Program:
    seed: int
    dtype: type
    leaves: list[Leaf]
    constants: dict[str, Any]  # name → numpy array (declared), numpy scalar or Python number (written inline)
    declarations: dict[str, str]  # array constant → the numpy expression that makes it
    steps: list[Step]
    outputs: tuple[str, ...]  # the results the loss reads
    target: str  # backward starts here
    upstream: str | None  # the constant passed as `target.backward(g)`; None: a one-element loss
    refusals: dict[str, tuple[str, str]]  # name → the operands of a matmul the engine must refuse (a 3-D one)
    extreme: bool  # values at the edge of the dtype's range: torch, not finite differences, checks gradients

    # -- reading --------------------------------------------------------------------------------------------

    def tensors(self) -> set[str]:
        return {leaf.name for leaf in self.leaves} | {step.out for step in self.steps}

    def used(self) -> set[str]:
        """Every name the backward target is computed from (itself included)."""
        made_by = {step.out: step for step in self.steps}
        seen, todo = set(), [self.target]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(made_by[name].args if name in made_by else ())
        return seen

    def expects_grad(self) -> dict[str, bool]:
        """Leaf name → whether backward must give it a gradient: it requires grad and the target uses it."""
        used = self.used()
        return {leaf.name: leaf.requires_grad and leaf.name in used for leaf in self.leaves}

    def source(self) -> str:
        """The program as Python: the engine runs this text."""
        kind = "float32" if self.dtype == np.float32 else "float64"
        lines = [f"# fuzz program {self.seed} ({kind}); replay: python tests/test_fuzz.py {self.seed}",
                 f"# the loss reads {', '.join(self.outputs)}" + (f"; upstream gradient {self.upstream}"
                                                                  if self.upstream else "")]
        for leaf in self.leaves:
            lines.append(f"{leaf.name} = Tensor({leaf.declaration}, requires_grad={leaf.requires_grad}, "
                         f"name={leaf.name!r})")
        lines += [f"{name} = {text}" for name, text in self.declarations.items()]
        lines += [f"{step.out} = {self.expression(step)}" for step in self.steps]
        lines += [f"{name} = refused(lambda: {a} @ {b})" for name, (a, b) in self.refusals.items()]
        lines.append(f"{self.target}.backward({self.upstream or ''})")
        return "\n".join(lines)

    def expression(self, step: Step) -> str:
        args = [self._operand(a) for a in step.args]
        params = step.params
        if step.form == "operator":
            if step.op in OPERATORS:
                return f" {OPERATORS[step.op]} ".join(args)
            if step.op == "neg":
                return f"-{args[0]}"
            if step.op == "getitem":
                return f"{args[0]}[{_index_source(params['index'], subscript=True)}]"
            if step.op == "transpose":
                return f"{args[0]}.T"
            if step.op == "reshape":
                shape = params["shape"]
                return f"{args[0]}.reshape({', '.join(map(str, shape)) if shape else '()'})"
            return f"{args[0]}.{step.op}({_keywords(params)})"  # sum, mean
        if step.op == "getitem":
            return f"ag.getitem({args[0]}, index={_index_source(params['index'], subscript=False)})"
        keywords = _keywords(params)
        return f"ag.{step.op}({', '.join(args + ([keywords] if keywords else []))})"

    def _operand(self, name: str) -> str:
        if name not in self.constants or name in self.declarations:
            return name
        value = self.constants[name]
        if isinstance(value, np.generic):
            return f"np.{type(value).__name__}({value})"  # str: the shortest digits that give this value back
        return repr(value)

    # -- evaluating without the engine ------------------------------------------------------------------------

    def leaf_arrays(self) -> list[np.ndarray]:
        """The leaves' values as fresh C-contiguous float64 arrays, in declaration order."""
        return [np.array(leaf.data, dtype=np.float64, order="C") for leaf in self.leaves]

    @functools.cached_property
    def values(self) -> dict[str, Any]:
        """Every leaf's, constant's and step's value in numpy float64."""
        return self.evaluate(self.leaf_arrays(), self.steps)

    @functools.cached_property
    def values_in_dtype(self) -> dict[str, Any]:
        """Every value as numpy computes it in the program's dtype: the engine's arithmetic, step for step."""
        values = {**self.constants, **{leaf.name: leaf.data for leaf in self.leaves}}
        with np.errstate(all="ignore"):  # what overflows does so in the engine too, and is compared
            for step in self.steps:
                values[step.out] = NUMPY[step.op](*(values[a] for a in step.args), **step.params)
        return values

    def loss(self, arrays: Sequence[np.ndarray]) -> float:
        """The scalar that backward differentiates, as a function of the leaves (float64, in leaf order):
        the target itself, or its dot product with the upstream gradient."""
        values = self.evaluate(arrays, self._loss_steps)
        target = values[self.target]
        return float(np.add.reduce(target * values[self.upstream] if self.upstream else target, axis=None))

    def evaluate(self, arrays: Sequence[np.ndarray], steps: Sequence[Step]) -> dict[str, Any]:
        values = dict(self._constants64)
        values.update(zip([leaf.name for leaf in self.leaves], arrays, strict=True))
        for step in steps:
            values[step.out] = NUMPY[step.op](*(values[a] for a in step.args), **step.params)
        return values

    @functools.cached_property
    def _constants64(self) -> dict[str, Any]:
        return {name: np.asarray(value, dtype=np.float64) if isinstance(value, np.ndarray) else float(value)
                for name, value in self.constants.items()}

    @functools.cached_property
    def _loss_steps(self) -> list[Step]:
        used = self.used()
        return [step for step in self.steps if step.out in used]

    def features(self) -> set[str]:
        """What this program exercises, for a test that the generator covers what the fuzzer promises."""
        found = {"float32" if self.dtype == np.float32 else "float64"}
        found |= {"batched matmul refused"} if self.refusals else set()
        found |= {"extreme values"} | {f"extreme {step.op}" for step in self.steps} if self.extreme else set()
        uses = Counter(a for step in self.steps for a in step.args)
        tensors = self.tensors()
        for leaf in self.leaves:
            found |= {f"leaf ndim {leaf.data.ndim}", f"layout {leaf.layout}"}
            found |= set() if leaf.data.flags.c_contiguous else {"leaf data not C-contiguous"}
            found |= set() if leaf.data.flags.writeable else {"leaf data read-only"}
            found |= {"leaf used by 3 or more steps"} if uses[leaf.name] >= 3 else set()
            found |= {"unused leaf"} if uses[leaf.name] == 0 else set()
            found |= set() if leaf.requires_grad else {"leaf not requiring grad"}
        if any(uses[step.out] >= 2 for step in self.steps):
            found.add("result used by 2 or more steps")
        if tensors - self.used() - {leaf.name for leaf in self.leaves if uses[leaf.name] == 0}:
            found.add("tensor reaching no loss")
        found.add("explicit upstream gradient" if self.upstream else "scalar loss")
        found |= {"loss of 2 or more outputs"} if len(set(self.outputs)) >= 2 else set()
        if self.upstream and self.steps[-1].shape == ():
            found.add("explicit upstream gradient of a 0-d output")
        if not self.upstream and self.steps[-1].shape != ():
            found.add("one-element loss that is not 0-d")
        for step in self.steps:
            found |= {f"op {step.op}", f"{step.form} {step.op}"}
            found |= _step_features(self, step, tensors)
        return found


def _step_features(program: Program, step: Step, tensors: set[str]) -> set[str]:
    found = set()
    args, params = step.args, step.params
    ndims = [np.ndim(program.constants[a]) if a in program.constants else _ndim(program, a) for a in args]
    if len(set(args)) < len(args):
        found.add("same tensor twice in one step")
    if step.op == "add" and len(args) == 3:
        found.add("add of three operands" if len(set(args)) > 1 else "add of one tensor three times")
    if step.op in OPERATORS and step.form == "operator" and args[0] not in tensors:
        value = program.constants[args[0]]
        kind = ("numpy array" if isinstance(value, np.ndarray) else
                "numpy scalar" if isinstance(value, np.generic) else "Python number")
        found.add(f"{kind} on the left of {OPERATORS[step.op]}")
    if step.op in ("add", "sub", "hadamard", "div"):
        if len(set(ndims)) > 1:
            found.add("broadcast: fewer dims")
        shapes = [np.shape(program.constants[a]) if a in program.constants else _shape(program, a) for a in args]
        if any(s != step.shape and 1 in s for s in shapes):
            found.add("broadcast: size-1 axis")
    if step.op == "matmul":
        found.add(f"matmul {ndims[0]}-D @ {ndims[1]}-D")
    if step.op in ("sum", "mean"):
        axis = params.get("axis")
        keep = " keepdims" if params.get("keepdims") else ""
        found.add(f"{step.op} axis {'None' if axis is None else type(axis).__name__}{keep}")
        shape = _shape(program, args[0])
        for n in sorted({shape[a] for a in np.atleast_1d(axis)} if axis is not None and shape else ()):
            found |= {f"{step.op} over an axis of size {n}{keep}"} if n < 2 else set()
        found |= {f"{step.op} of a zero-size tensor"} if 0 in shape else set()
    if step.op in ("add", "sub", "hadamard", "div", "sigmoid", "tanh", "exp", "neg") and 0 in step.shape:
        found.add("zero-length axis through an elementwise op")
    if step.op == "transpose":
        axes = params.get("axes")
        if axes is not None and any(a < 0 for a in axes):
            found.add("transpose with negative axes")
        if axes is not None and len(axes) == 3:
            found.add("transpose of 3-D with explicit axes")
    if step.op == "getitem":
        items = params["index"] if isinstance(params["index"], tuple) else (params["index"],)
        picked = np.arange(np.prod(_shape(program, args[0]), dtype=int)).reshape(_shape(program, args[0]))
        if len(np.unique(picked[params["index"]])) < picked[params["index"]].size:
            found.add("index repeating an element")
        backwards = any(isinstance(item, slice) and (item.step or 1) < 0 for item in items)
        masks = [item for item in items if isinstance(item, np.ndarray) and item.dtype == bool]
        arrays = [item for item in items if isinstance(item, np.ndarray) and item.dtype != bool]
        for item in items:
            found |= {"integer index"} if isinstance(item, int) else set()
            found |= {"slice with a step"} if isinstance(item, slice) and item.step not in (None, 1) else set()
        found |= {"slice with a negative step"} if backwards else set()
        found |= {"boolean mask"} if masks else set()
        found |= {"boolean mask of 2 or more axes"} if any(m.ndim >= 2 for m in masks) else set()
        found |= {"boolean mask with an integer array"} if masks and arrays else set()
        found |= {"negative step with a mask or an integer array"} if backwards and (masks or arrays) else set()
        found |= {"index picking nothing"} if 0 in step.shape else set()
    if step.op in ("concat", "stack") and len(args) == 3:
        found.add(f"{step.op} of three operands")
    if step.op in ("concat", "stack", "log_softmax") and params.get("axis", 0) < 0:
        found.add(f"{step.op} along a negative axis")
    return found


def _shape(program: Program, name: str) -> tuple[int, ...]:
    for leaf in program.leaves:
        if leaf.name == name:
            return leaf.data.shape
    return next(step.shape for step in program.steps if step.out == name)


def _ndim(program: Program, name: str) -> int:
    return len(_shape(program, name))


def _keywords(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in params.items())


def _index_source(index: Any, subscript: bool) -> str:
    """`1:, np.array([0, 0])` inside brackets; `(slice(1, None, None), np.array([0, 0]))` as an argument."""
    def item(i: Any) -> str:
        if isinstance(i, slice) and subscript:
            return ":".join("" if v is None else str(v) for v in (i.start, i.stop, i.step)).removesuffix(":")
        if isinstance(i, np.ndarray):
            return f"np.array({i.tolist()})"
        return "..." if i is Ellipsis else repr(i)

    if not isinstance(index, tuple):
        return item(index)
    if subscript and index:
        return ", ".join(item(i) for i in index) + ("," if len(index) == 1 else "")
    return "(" + ", ".join(item(i) for i in index) + ("," if len(index) == 1 else "") + ")"


# ---- the engine, numpy, torch -------------------------------------------------------------------------------


@dataclass
class EngineRun:
    namespace: dict[str, Any]  # every name of the source after it ran (as far as it got)
    error: BaseException | None
    failed_line: str | None  # the line of the source that raised
    warned: list[str]  # the warnings the engine gave (sigmoid at ±1000, exp's underflow: none is due)

    def gradients(self, program: Program) -> dict[str, Any]:
        """Leaf name → its .grad after backward (None when it has none)."""
        return {leaf.name: self.namespace[leaf.name].grad for leaf in program.leaves}


def run_engine(program: Program) -> EngineRun:
    """Execute the program's source with the engine."""
    source = program.source()
    namespace: dict[str, Any] = {"np": np, "ag": ag, "Tensor": Tensor, "refused": refused}
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            exec(compile(source, f"<fuzz program {program.seed}>", "exec"), namespace)
        except Exception as error:  # the fuzzer reports whatever the engine raises, with the line
            tb, line = error.__traceback__, None
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == f"<fuzz program {program.seed}>":
                    line = source.splitlines()[tb.tb_lineno - 1]
                tb = tb.tb_next
            return EngineRun(namespace, error, line, [str(w.message) for w in warned])
    return EngineRun(namespace, None, None, [str(w.message) for w in warned])


def refused(call: Callable[[], Any]) -> str | None:
    """The message of the ValueError call() raises; None when it raises none."""
    try:
        call()
    except ValueError as error:
        return str(error)
    return None


def run_torch(program: Program) -> dict[str, np.ndarray | None]:
    """Every leaf's gradient from torch, in the program's dtype (None where torch gives none)."""
    import torch

    kind = torch.float32 if program.dtype == np.float32 else torch.float64
    values: dict[str, Any] = {
        name: torch.tensor(np.array(value), dtype=kind) if isinstance(value, np.ndarray) else float(value)
        for name, value in program.constants.items()
    }
    leaves = {leaf.name: torch.tensor(np.array(leaf.data), dtype=kind, requires_grad=leaf.requires_grad)
              for leaf in program.leaves}
    values.update(leaves)
    ops = _torch_ops(torch)
    for step in program.steps:
        values[step.out] = ops[step.op](*(values[a] for a in step.args), **step.params)
    target = values[program.target]
    # the loss as a sum: torch's backward(grad) would import sympy, seconds for nothing here
    (target * values[program.upstream] if program.upstream else target).sum().backward()
    return {name: None if t.grad is None else t.grad.numpy() for name, t in leaves.items()}


def _torch_reduce(name: str) -> Callable[..., Any]:
    def reduce(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if axis is None:
            whole = getattr(x, name)()
            return whole.reshape((1,) * x.dim()) if keepdims else whole
        return getattr(x, name)(dim=axis, keepdim=keepdims)

    return reduce


def _torch_getitem(torch: Any, x: Any, index: Any) -> Any:
    # numpy's meaning of any index, whatever torch's own indexing makes of it: gather by flat position
    positions = np.asarray(np.arange(x.numel()).reshape(tuple(x.shape))[index])
    flat = torch.tensor(positions.reshape(-1).tolist(), dtype=torch.long)  # typed: it may be empty
    return x.reshape(-1)[flat].reshape(positions.shape)


def _torch_ops(torch: Any) -> dict[str, Callable[..., Any]]:
    return {
        "add": lambda *xs: functools.reduce(operator.add, xs),
        "sub": operator.sub,
        "neg": operator.neg,
        "hadamard": operator.mul,
        "div": operator.truediv,
        "matmul": torch.matmul,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "exp": torch.exp,
        "log": torch.log,
        "sum": _torch_reduce("sum"),
        "mean": _torch_reduce("mean"),
        "reshape": lambda x, shape: x.reshape(shape),
        "transpose": lambda x, axes=None: x.permute(tuple(reversed(range(x.dim()))) if axes is None else axes),
        "getitem": lambda x, index: _torch_getitem(torch, x, index),
        "concat": lambda *xs, axis=0: torch.cat(xs, dim=axis),
        "stack": lambda *xs, axis=0: torch.stack(xs, dim=axis),
        "log_softmax": lambda x, axis=-1: torch.log_softmax(x, dim=axis),
    }


def loss_and_gradients(seed: int) -> tuple[Callable[[Sequence[np.ndarray]], float], list[np.ndarray],
                                           list[np.ndarray | None]]:
    """For program `seed`: f(leaves) → the loss in numpy float64, the leaves' values, the engine's gradients.

    Leaves come in declaration order; a gradient is None where the engine gave none. Raises whatever the
    engine raised.
    """
    program = generate(seed)
    run = run_engine(program)
    if run.error is not None:
        raise run.error
    grads = run.gradients(program)
    return program.loss, program.leaf_arrays(), [grads[leaf.name] for leaf in program.leaves]


# ---- the generator ------------------------------------------------------------------------------------------


class _Rejected(Exception):
    """A proposed step whose values leave the safe range: the generator drops it and tries another."""


def generate(seed: int) -> Program:
    """The program of this seed (the same program for the same seed)."""
    return _Writer(seed).program()


class _Writer:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.dtype = np.float32 if self.rng.random() < 0.3 else np.float64
        self.extreme = self.rng.random() < EXTREME_SHARE
        self.limit = EXTREME[self.dtype][3] if self.extreme else LIMIT
        self.refusals: dict[str, tuple[str, str]] = {}
        self.leaves: list[Leaf] = []
        self.constants: dict[str, Any] = {}
        self.declarations: dict[str, str] = {}
        self.steps: list[Step] = []
        self.values: dict[str, np.ndarray] = {}  # tensors (leaves and steps' outputs) → float64 value
        self.requires: dict[str, bool] = {}
        self.uses: Counter[str] = Counter()

    # -- the whole program ------------------------------------------------------------------------------------

    def program(self) -> Program:
        rng = self.rng
        for _ in range(rng.randrange(1, 4)):
            self.leaf(self.shape())
        proposals = [self.elementwise, self.elementwise, self.chain, self.unary, self.matmul, self.exp,
                     self.log, self.div, self.reduce, self.reshape, self.transpose, self.getitem, self.concat,
                     self.stack, self.log_softmax, self.empty]
        if self.extreme:  # then steps whose partials are at most about 1: no gradient grows past the dtype's range
            proposals = [self.extreme_step] * 4 + [self.chain, self.unary, self.reduce, self.reshape, self.transpose,
                                                   self.getitem, self.concat, self.stack, self.log_softmax]
        for _ in range(rng.randrange(3, 9)):
            for _attempt in range(20):
                if self.attempt(proposals[rng.randrange(len(proposals))]):
                    break
        if rng.random() < 0.25:
            self.leaf(self.shape())  # declared and never used: its grad stays None
        if rng.random() < 0.1:
            self.attempt(self.batched_matmul)
        if not any(self.requires.values()):  # backward needs a leaf that requires grad
            x = self.pick()
            self.commit("hadamard", [x, self.leaf(self.values[x].shape, requires_grad=True)], form="operator",
                        limit=LOSS_LIMIT)
        outputs, target, upstream = self.loss()
        return Program(self.seed, self.dtype, self.leaves, self.constants, self.declarations, self.steps, outputs,
                       target, upstream, self.refusals, self.extreme)

    def attempt(self, propose: Callable[[], Any]) -> bool:
        """Run one proposal; on rejection, forget the leaves, constants and steps it made."""
        leaves, steps = len(self.leaves), len(self.steps)
        constants, declarations, uses = dict(self.constants), dict(self.declarations), Counter(self.uses)
        try:
            propose()
            return True
        except _Rejected:
            for name in [leaf.name for leaf in self.leaves[leaves:]] + [step.out for step in self.steps[steps:]]:
                del self.values[name], self.requires[name]
            del self.leaves[leaves:], self.steps[steps:]
            self.constants, self.declarations, self.uses = constants, declarations, uses
            return False

    def loss(self) -> tuple[tuple[str, ...], str, str | None]:
        """Sum several outputs into the loss, or pass an upstream gradient to one: the outputs, target and g."""
        rng = self.rng
        grads = [name for name in self.values if self.requires[name] and self.values[name].size]
        sinks = [name for name in grads if self.uses[name] == 0 and name.startswith("v")] or grads
        outputs = sinks if rng.random() < 0.6 else rng.sample(sinks, min(len(sinks), rng.randrange(1, 4)))
        if rng.random() < 0.3:
            outputs.append(grads[rng.randrange(len(grads))])  # also a result other steps read
        if rng.random() < 0.45:
            main = max(outputs, key=lambda name: self.values[name].size)
            terms = [self.term(name) for name in outputs if name != main]
            target = main if not terms else self.commit("add", [main, *terms], form="call" if len(terms) > 1
                                                        else "operator", limit=LOSS_LIMIT)
            upstream = self.array(self.values[target].shape, 0.2, 1, signed=True, named="g", layout=True)
            return tuple(outputs), target, upstream
        terms = [self.term(name) for name in outputs]
        target = terms[0] if len(terms) == 1 else self.commit(
            "add", terms, form="call" if len(terms) == 3 or rng.random() < 0.5 else "operator", limit=LOSS_LIMIT)
        if rng.random() < 0.1:
            target = self.commit("reshape", [target], shape=((1,), (1, 1))[rng.randrange(2)], limit=LOSS_LIMIT)
        return tuple(outputs), target, None

    def term(self, name: str) -> str:
        """A 0-d summary of `name`; weighted sums mostly, so that no element hides behind a plain sum."""
        rng, shape = self.rng, self.values[name].shape
        r = rng.random()
        if shape == () and r < 0.5:
            return name
        if r < 0.65:
            weights = self.array(shape if rng.random() < 0.7 else self.partner(shape, smaller=True), 0.2, 1,
                                 signed=True)
            product = self.commit("hadamard", self.ordered([name, weights]), form=self.form(), limit=LOSS_LIMIT)
            return self.commit("sum", [product], form=self.form(), limit=LOSS_LIMIT)
        return self.commit("sum" if r < 0.85 else "mean", [name], form=self.form(), limit=LOSS_LIMIT)

    # -- proposals: each writes one primitive step (and perhaps the leaves, constants and helpers it needs) -----

    def elementwise(self) -> None:
        op = ("add", "sub", "hadamard")[self.rng.randrange(3)]
        a = self.pick()
        if op == "add" and self.rng.random() < 0.25:  # variadic: ag.add(a, b, c), ag.add(a, a, a)
            operands = [a] * 3 if self.rng.random() < 0.3 else [a, self.broadcast_partner(a), self.broadcast_partner(a)]
            self.commit(op, self.ordered(operands), form="call")
            return
        b = self.broadcast_partner(a)
        constant_first = b not in self.values and self.rng.random() < 0.65  # `2.0 * x`, `np.ones(3) - x`
        self.commit(op, [b, a] if constant_first else self.ordered([a, b]), form=self.form())

    def chain(self) -> None:
        """A running sum `a - b + c + b`: each partial is ±1, so one gradient array reaches every term."""
        total = self.pick()
        for _ in range(self.rng.randrange(2, 5)):
            shape = self.values[total].shape
            term = self.pick(lambda v, shape=shape: v.shape == shape)  # then one gradient array reaches both
            term = term if term is not None and self.rng.random() < 0.8 else self.broadcast_partner(total)
            op = "add" if self.rng.random() < 0.6 else "sub"
            total = self.commit(op, [total, term] if op == "sub" or self.rng.random() < 0.7 else [term, total],
                                form=self.form())

    def unary(self) -> None:
        op = ("sigmoid", "tanh", "neg")[self.rng.randrange(3)]
        self.commit(op, [self.pick()], form=self.form() if op == "neg" else "call")

    def exp(self) -> None:
        x = self.pick(lambda v: v.max() <= EXP_CEILING)
        self.commit("exp", [x if x is not None else self.commit("tanh", [self.pick()])])

    def log(self) -> None:
        x = self.pick(lambda v: v.min() >= LOG_FLOOR)
        self.commit("log", [x if x is not None and self.rng.random() < 0.6 else self.positive()])

    def div(self) -> None:
        """A quotient whose denominator stays at least DIVISOR_FLOOR away from 0."""
        rng = self.rng
        r = rng.random()
        if r < 0.35:  # a constant over a tensor: a number, or an array that broadcasts with it
            denominator = self.divisor()
            numerator = self.number() if r < 0.2 else self.array(self.partner(self.values[denominator].shape), -2, 2)
            self.commit("div", [numerator, denominator], form=self.form())
            return
        numerator = self.pick()
        if r < 0.5:
            denominator = self.number()
        elif r < 0.6 and np.abs(self.values[numerator]).min() >= DIVISOR_FLOOR:
            denominator = numerator  # x / x
        elif r < 0.75:
            denominator = self.array(self.partner(self.values[numerator].shape), DIVISOR_FLOOR, 2, signed=True)
        else:
            denominator = self.divisor()
        self.commit("div", [numerator, denominator], form=self.form())

    def matmul(self) -> None:
        rng = self.rng
        x = self.pick(lambda v: v.ndim in (1, 2)) or self.leaf(self.shape(ndim=rng.randrange(1, 3)))
        shape = self.values[x].shape
        x_left = rng.random() < 0.5
        inner = shape[-1] if x_left else shape[0]
        r = rng.random()
        square = len(shape) == 1 or shape[0] == shape[1]
        if r < 0.2 and square:
            self.commit("matmul", [x, x], form=self.form())
            return
        other_shape = (inner,) if rng.random() < 0.35 else (inner, self.dim()) if x_left else (self.dim(), inner)
        fits = (lambda v: v.ndim in (1, 2) and v.shape[0] == inner) if x_left else (
            lambda v: v.ndim in (1, 2) and v.shape[-1] == inner)
        other = self.pick(fits) if r < 0.45 else None
        if other is None:
            other = self.array(other_shape, -1.5, 1.5) if r < 0.75 else self.leaf(other_shape)
        self.commit("matmul", [x, other] if x_left else [other, x], form=self.form())

    def reduce(self) -> None:
        rng = self.rng
        x = self.pick()
        ndim = self.values[x].ndim
        params: dict[str, Any] = {}
        r = rng.random()
        if ndim and r < 0.45:
            params["axis"] = rng.randrange(-ndim, ndim)
        elif ndim >= 2 and r < 0.75:
            axes = rng.sample(range(ndim), rng.randrange(1, ndim + 1))
            params["axis"] = tuple(a - ndim * (rng.random() < 0.3) for a in axes)
        elif r < 0.8:
            params["axis"] = None
        if rng.random() < 0.4:
            params["keepdims"] = True
        self.commit("sum" if rng.random() < 0.5 else "mean", [x], form=self.form(), **params)

    def reshape(self) -> None:
        rng = self.rng
        x = self.pick()
        size = self.values[x].size
        shape = self.shape_of_size(size)
        if shape and rng.random() < 0.3:
            unknown = rng.randrange(len(shape))
            shape = tuple(-1 if i == unknown else n for i, n in enumerate(shape))
        self.commit("reshape", [x], form=self.form(), shape=shape)

    def transpose(self) -> None:
        rng = self.rng
        x = self.pick(lambda v: v.ndim >= 1) or self.leaf(self.shape(ndim=3))
        ndim = self.values[x].ndim
        if ndim == 2 and rng.random() < 0.4:
            self.commit("transpose", [x], form="operator")
            return
        params = {}
        if rng.random() < 0.8:
            params["axes"] = tuple(a - ndim * (rng.random() < 0.5) for a in rng.sample(range(ndim), ndim))
        self.commit("transpose", [x], **params)

    def getitem(self) -> None:
        x = self.pick(lambda v: v.ndim >= 1) or self.leaf(self.shape(ndim=self.rng.randrange(1, 4)))
        index = self.index(self.values[x].shape)
        self.commit("getitem", [x], form="operator" if self.rng.random() < 0.7 else "call", index=index)

    def concat(self) -> None:
        rng = self.rng
        x = self.pick(lambda v: v.ndim >= 1) or self.leaf(self.shape(ndim=rng.randrange(1, 4)))
        shape = self.values[x].shape
        axis = rng.randrange(-len(shape), len(shape))

        def fits(v: np.ndarray) -> bool:
            return v.ndim == len(shape) and all(a == b for i, (a, b) in enumerate(zip(v.shape, shape, strict=True))
                                                if i != axis % len(shape))

        operands = [x] + [self.partner_of_shape(x, fits, lambda: tuple(
            self.dim() if i == axis % len(shape) else n for i, n in enumerate(shape)))
            for _ in range(1 + (rng.random() < 0.3))]
        self.commit("concat", self.ordered(operands), axis=axis)

    def stack(self) -> None:
        rng = self.rng
        x = self.pick(lambda v: v.ndim <= 2)
        x = x if x is not None else self.leaf(self.shape(ndim=rng.randrange(0, 3)))
        shape = self.values[x].shape
        operands = [x] + [self.partner_of_shape(x, lambda v: v.shape == shape, lambda: shape)
                          for _ in range(1 + (rng.random() < 0.3))]
        self.commit("stack", self.ordered(operands), axis=rng.randrange(-len(shape) - 1, len(shape) + 1))

    def log_softmax(self) -> None:
        x = self.pick(lambda v: v.ndim >= 1) or self.leaf(self.shape(ndim=self.rng.randrange(1, 4)))
        ndim = self.values[x].ndim
        self.commit("log_softmax", [x], axis=self.rng.randrange(-ndim, ndim))

    def empty(self) -> None:
        """A tensor with a zero-length axis (a leaf, or an index picking nothing) through elementwise steps, then
        summed over its zero-length axes into a tensor with elements (mean there would be NaN, with a warning)."""
        rng = self.rng
        x = self.pick(lambda v: v.ndim >= 1)
        if x is None or rng.random() < 0.4:
            shape = list(self.shape(ndim=rng.randrange(1, 4)))
            shape[rng.randrange(len(shape))] = 0
            e = self.leaf(tuple(shape))
        else:
            shape = self.values[x].shape
            axis = rng.randrange(len(shape))
            n = rng.randrange(shape[axis] + 1)
            nothing = (slice(n, n), slice(n, n, -1), np.zeros(shape[axis], dtype=bool))[rng.randrange(3)]
            e = self.commit("getitem", [x], form=self.form(), index=(*[slice(None)] * axis, nothing))
        for _ in range(rng.randrange(3)):
            op = ("sigmoid", "tanh", "exp", "neg", "add", "sub", "hadamard", "div")[rng.randrange(8)]
            if op in ("sigmoid", "tanh", "exp", "neg"):
                e = self.commit(op, [e], form=self.form() if op == "neg" else "call")
                continue
            stretched = tuple(1 if n == 0 else n for n in self.values[e].shape)[rng.randrange(2):]
            partner = (self.number() if rng.random() < 0.3 else
                       self.leaf(stretched, low=DIVISOR_FLOOR if op == "div" else None))  # it broadcasts over 0 rows
            e = self.commit(op, [e, partner] if op == "div" or rng.random() < 0.5 else [partner, e], form=self.form())
        shape = self.values[e].shape
        zero, rest = [a for a, n in enumerate(shape) if n == 0], [a for a, n in enumerate(shape) if n]
        if rest and rng.random() < 0.3:  # over axes with elements: the result is empty still, and no NaN
            e = self.commit("mean", [e], form=self.form(), axis=rng.choice(rest), keepdims=rng.random() < 0.5)
            shape = self.values[e].shape
            zero = [a for a, n in enumerate(shape) if n == 0]
        axis = (None if rng.random() < 0.2 else zero[0] - len(shape) * (rng.random() < 0.3) if len(zero) == 1
                else tuple(zero))
        self.commit("sum", [e], form=self.form(), axis=axis, keepdims=rng.random() < 0.5)

    def batched_matmul(self) -> None:
        """numpy's batched matmul (a 3-D operand, batch axes broadcasting), which the engine refuses by design."""
        rng = self.rng
        x = self.pick(lambda v: v.ndim in (2, 3)) or self.leaf(self.shape(ndim=3))
        shape = self.values[x].shape
        batch = (rng.choice((1, 2)),) if len(shape) == 2 else (rng.choice((1, shape[0])),)
        left = rng.random() < 0.5
        other_shape = (*batch, shape[-1], self.dim()) if left else (*batch, self.dim(), shape[-2])
        other = self.array(other_shape, -1, 1) if rng.random() < 0.5 else self.leaf(other_shape)
        a, b = (x, other) if left else (other, x)
        np.matmul(self.value(a), self.value(b))  # numpy multiplies these
        self.refusals[f"r{len(self.refusals)}"] = (a, b)

    def extreme_step(self) -> None:
        """One step on fresh leaves whose values take it to the edge of the dtype's range, its gradients finite."""
        rng = self.rng

        def leaf(shape: tuple[int, ...], *kinds: str) -> str:
            values = [self.extreme_value(rng.choice(kinds)) for _ in range(int(np.prod(shape)))]
            return self.leaf(shape, values=np.array(values).reshape(shape))

        shape = self.shape()
        kind = rng.randrange(8)
        if kind == 0:
            self.commit(("sigmoid", "tanh")[rng.randrange(2)], [leaf(shape, "saturating", "moderate")])
        elif kind == 1:
            self.commit("exp", [leaf(shape, "near exp's top", "moderate")])
        elif kind == 2:  # big over big: a moderate ratio, whose gradient over the divisor is tiny
            self.commit("div", [leaf(shape, "big"), leaf(shape, "big")], form=self.form())
        elif kind == 3:
            self.commit("hadamard", self.ordered([leaf(shape, "big"), leaf(shape, "tiny", "moderate")]),
                        form=self.form())
        elif kind == 4:  # gradients 1/x up to the dtype's largest values
            self.commit("log", [leaf(shape, "positive big", "tiny")])
        elif kind == 5 and shape:
            self.commit("log_softmax", [leaf(shape, "saturating")], axis=rng.randrange(-len(shape), len(shape)))
        elif kind == 6 and len(shape) in (1, 2):
            self.commit("matmul", [leaf(shape, "big"), leaf((shape[-1],), "moderate")], form=self.form())
        else:
            self.commit(("add", "sub")[rng.randrange(2)], [leaf(shape, "big"), leaf(shape, "big", "tiny")],
                        form=self.form())

    def extreme_value(self, kind: str) -> float:
        """One value of a kind: big, positive big, tiny (positive), moderate, saturating, near exp's top."""
        rng = self.rng
        big, tiny, ceiling, _ = EXTREME[self.dtype]
        sign = 1 if kind in ("positive big", "tiny") else rng.choice((-1, 1))
        if kind in ("big", "positive big", "tiny"):
            exponent = rng.randrange(*(tiny if kind == "tiny" else big))
            return sign * float(f"{rng.uniform(1, 9.99):.2f}e{exponent}")  # printed exactly
        low, high = {"moderate": (0.5, 2), "saturating": (100, 1000), "near exp's top": (ceiling - 10, ceiling)}[kind]
        return sign * round(rng.uniform(low, high), 2)

    # -- operands ---------------------------------------------------------------------------------------------

    def pick(self, fits: Callable[[np.ndarray], bool] = lambda v: True) -> Any:
        """An existing tensor that fits (None if none does); tensors already read are likelier (fan-out)."""
        names = [name for name, value in self.values.items() if value.size and fits(value)]  # empties: empty()
        if not names:
            return None
        return self.rng.choices(names, [1.0 + self.uses[name] for name in names])[0]

    def broadcast_partner(self, a: str) -> str:
        """Something to combine elementwise with `a`: itself, another tensor, a new leaf, a constant."""
        rng, shape = self.rng, self.values[a].shape
        r = rng.random()
        if r < 0.15:
            return a
        if r < 0.35:
            other = self.pick(lambda v: _broadcasts(v.shape, shape))
            if other is not None:
                return other
        if r < 0.5:
            return self.leaf(self.partner(shape))
        if r < 0.7:
            return self.array(self.partner(shape), -2, 2)
        return self.number()

    def partner_of_shape(self, x: str, fits: Callable[[np.ndarray], bool], shape: Callable[[], tuple]) -> str:
        r = self.rng.random()
        if r < 0.3:
            return x
        other = self.pick(fits) if r < 0.55 else None
        if other is not None:
            return other
        return self.leaf(shape()) if r < 0.8 else self.array(shape(), -2, 2)

    def ordered(self, operands: list[str]) -> list[str]:
        """Operands in a random order, so constants land on the left too."""
        return self.rng.sample(operands, len(operands))

    def positive(self) -> str:
        """A tensor of values ≥ 1 made from another: z·z + 1, or exp of something ≤ 2."""
        rng = self.rng
        z = self.pick()
        if rng.random() < 0.5:
            square = self.commit("hadamard", [z, z], form=self.form())
            return self.commit("add", self.ordered([square, self.constant(1.0)]), form=self.form())
        small = self.pick(lambda v: -3 <= v.min() and v.max() <= EXP_CEILING) or self.commit("tanh", [z])
        return self.commit("exp", [small])

    def divisor(self) -> str:
        """A tensor whose values are at least 0.5 away from 0."""
        found = self.pick(lambda v: np.abs(v).min() >= DIVISOR_FLOOR)
        if found is not None and self.rng.random() < 0.5:
            return found
        if self.rng.random() < 0.4:
            return self.leaf(self.shape(), low=DIVISOR_FLOOR)
        return self.positive()

    # -- leaves and constants ---------------------------------------------------------------------------------

    def leaf(self, shape: tuple[int, ...], low: float | None = None, requires_grad: bool | None = None,
             values: np.ndarray | None = None) -> str:
        rng = self.rng
        name = f"x{len(self.leaves)}"
        if values is None:
            values = self.uniform(shape, -2, 2) if low is None else self.uniform(shape, low, 2, signed=True)
        layout = "contiguous" if rng.random() < 0.4 or 0 in shape else rng.choice(_layouts(shape))
        data, declaration = self.lay_out(values, layout)
        grad = rng.random() < 0.85 if requires_grad is None else requires_grad
        self.leaves.append(Leaf(name, data, declaration, layout, grad))
        self.values[name] = np.array(data, dtype=np.float64)
        self.requires[name] = grad
        return name

    def array(self, shape: tuple[int, ...], low: float, high: float, signed: bool = False,
              named: str | None = None, layout: bool = False) -> str:
        name = named or f"c{len(self.declarations)}"
        values = self.uniform(shape, low, high, signed)
        kind = self.rng.choice(_layouts(shape)) if layout and self.rng.random() < 0.5 else "contiguous"
        self.constants[name], self.declarations[name] = self.lay_out(values, kind)
        return name

    def number(self) -> str:
        """A Python number (int or float) or a numpy scalar of the program's dtype; 0.5 ≤ |number| ≤ 2."""
        rng = self.rng
        value: Any = round(rng.uniform(0.5, 2), 2) * rng.choice((-1, 1))
        r = rng.random()
        if r < 0.2:
            value = int(np.sign(value) * max(1, round(abs(value))))
        elif r < 0.65:
            value = self.dtype(value)
        return self.constant(value)

    def constant(self, value: Any) -> str:
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name

    def uniform(self, shape: tuple[int, ...], low: float, high: float, signed: bool = False) -> np.ndarray:
        """Values rounded to two decimals, so the printed program is exact; `signed`: either sign, |v| in range."""
        size = int(np.prod(shape))
        values = [round(self.rng.uniform(low, high), 2) * (self.rng.choice((-1, 1)) if signed else 1)
                  for _ in range(size)]
        return np.array(values, dtype=np.float64).reshape(shape)

    def lay_out(self, values: np.ndarray, layout: str) -> tuple[np.ndarray, str]:
        """The array of `values` in the program's dtype, laid out in memory as `layout` says, and its source:
        a C-ordered array `stored`, and the view of it that holds `values`."""
        rng, shape = self.rng, values.shape
        stored, view, text = values, (lambda a: a), "{}"
        if layout == "fortran":
            view, text = np.asfortranarray, "np.asfortranarray({})"
        elif layout == "transposed":
            stored, view, text = values.T, np.transpose, "{}.T"
        elif layout == "swapped":
            i, j = ((0, 1), (0, 2), (1, 2))[rng.randrange(3)]
            stored, view, text = values.swapaxes(i, j), (lambda a: a.swapaxes(i, j)), f"{{}}.swapaxes({i}, {j})"
        elif layout in ("strided", "reversed"):
            axis = rng.randrange(len(shape))
            cut = (slice(None),) * axis + (slice(None, None, 2) if layout == "strided" else slice(None, None, -1),)
            if layout == "strided":
                stored = np.full(shape[:axis] + (2 * shape[axis],) + shape[axis + 1:], 9.99)  # 9.99: never read
                stored[cut] = values
            else:
                stored = values[cut]
            view, text = (lambda a: a[cut]), f"{{}}[{_index_source(cut, subscript=True)}]"
        elif layout == "broadcast":
            stretched = rng.choice([i for i, n in enumerate(shape) if n > 1])
            stored = values[tuple(slice(0, 1) if i == stretched or rng.random() < 0.5 else slice(None)
                                  for i in range(len(shape)))]
            view, text = (lambda a: np.broadcast_to(a, shape)), f"np.broadcast_to({{}}, {shape!r})"
        array = np.array(stored, dtype=self.dtype, order="C")
        made = f"np.array({stored.tolist()!r}, dtype=np.{self.dtype.__name__})"
        made = f"np.zeros({shape!r}, dtype=np.{self.dtype.__name__})" if not values.size else made  # [] loses shape
        return view(array), text.format(made)

    # -- shapes and indices -----------------------------------------------------------------------------------

    def dim(self) -> int:
        return self.rng.choices((1, 2, 3), (0.25, 0.45, 0.3))[0]

    def shape(self, ndim: int | None = None) -> tuple[int, ...]:
        ndim = self.rng.choices(range(4), (0.15, 0.3, 0.3, 0.25))[0] if ndim is None else ndim
        while True:
            shape = tuple(self.dim() for _ in range(ndim))
            if int(np.prod(shape)) <= 12:
                return shape

    def shape_of_size(self, size: int) -> tuple[int, ...]:
        """A random shape of up to 3 dims holding `size` elements."""
        rng = self.rng
        factors = [d for d in range(1, size + 1) if size % d == 0]
        while True:
            first = rng.choice(factors)
            second = rng.choice([d for d in factors if (size // first) % d == 0])
            shape = tuple(n for n in (first, second, size // first // second) if n != 1 or rng.random() < 0.3)
            if len(shape) <= 3 and (shape or size == 1):
                return shape

    def partner(self, shape: tuple[int, ...], smaller: bool = False) -> tuple[int, ...]:
        """A shape that broadcasts with `shape`: fewer dims, more dims, size-1 axes, or stretching its 1s."""
        rng = self.rng
        for _ in range(10):
            new = list(shape)
            r = rng.random()
            if r < 0.35 and shape:
                new = new[rng.randrange(1, len(shape) + 1):]
            elif r < 0.55 and len(shape) < 3 and not smaller:
                new = [self.dim() for _ in range(rng.randrange(1, 4 - len(shape)))] + new
            new = [1 if rng.random() < 0.3 else 2 + rng.randrange(2) if n == 1 and not smaller and
                   rng.random() < 0.3 else n for n in new]
            if _broadcasts(tuple(new), shape) and (not smaller or np.broadcast_shapes(tuple(new), shape) == shape):
                return tuple(new)
        return shape

    def index(self, shape: tuple[int, ...]) -> Any:
        """A numpy index: integers, slices with steps (backwards too), integer arrays that repeat an element,
        boolean masks of one axis or of several, `...`, None."""
        rng = self.rng
        for _ in range(20):
            count = rng.randrange(1, len(shape) + 1)
            trailing = rng.random() < 0.2
            axes = shape[len(shape) - count:] if trailing else shape[:count]
            length, items = rng.randrange(1, 4), []
            if count >= 2 and rng.random() < 0.15:  # one mask over two or three axes
                covered = rng.randrange(2, count + 1)
                items.append(self.mask(axes[:covered]))
                axes = axes[covered:]
            for n in axes:
                r = rng.random()
                if r < 0.2:
                    items.append(rng.randrange(-n, n))
                elif r < 0.42:
                    items.append(self.slice(n))
                elif r < 0.64 and sum(isinstance(i, np.ndarray) for i in items) < 2:
                    items.append(self.index_array(n, length))
                elif r < 0.85:
                    items.append(self.mask((n,)))
                else:
                    items.append(slice(None))
            if trailing:
                items.insert(0, Ellipsis)
            if rng.random() < 0.1:
                items.insert(rng.randrange(len(items) + 1), None)
            index = tuple(items) if len(items) > 1 or rng.random() < 0.2 else items[0]
            try:
                picked = np.empty(shape)[index]
            except IndexError:  # a mask's and an integer array's lengths that do not broadcast
                continue
            if picked.size and picked.ndim <= 3:
                return index
        return 0

    def slice(self, n: int) -> slice:
        rng = self.rng
        while True:
            start, stop = (None if rng.random() < 0.4 else rng.randrange(-n, n) for _ in range(2))
            step = (None, 1, 2, -1, -2)[rng.randrange(5)]
            if len(range(n)[slice(start, stop, step)]):
                return slice(start, stop, step)

    def mask(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.array([self.rng.random() < 0.6 for _ in range(int(np.prod(shape)))], dtype=bool).reshape(shape)

    def index_array(self, n: int, length: int) -> np.ndarray:
        """Integer positions on an axis of length n, mostly with one element twice (once perhaps as i − n)."""
        rng = self.rng
        positions = [rng.randrange(-n, n) for _ in range(length + 1)]
        if rng.random() < 0.7:
            positions[-1] = positions[0] - n if positions[0] >= 0 else positions[0] + n
        return np.array(positions, dtype=np.int64)

    # -- writing a step -----------------------------------------------------------------------------------------

    def form(self) -> str:
        return "operator" if self.rng.random() < 0.6 else "call"

    def value(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        value = self.constants[name]
        return np.asarray(value, dtype=np.float64) if isinstance(value, np.ndarray) else float(value)

    def commit(self, op: str, args: Sequence[str], form: str = "call", limit: float | None = None,
               **params: Any) -> str:
        """Write the step if its value is moderate (else reject the proposal); return its output's name."""
        if not any(a in self.values for a in args):
            raise _Rejected  # only constants: the result would not be a Tensor
        if form == "operator" and op in OPERATORS and len(args) != 2:
            form = "call"
        try:
            with np.errstate(all="ignore"):  # an overflow gives inf, refused below
                out = np.asarray(NUMPY[op](*(self.value(a) for a in args), **params), dtype=np.float64)
        except (ValueError, IndexError):  # shapes that do not fit
            raise _Rejected from None
        if not (out.size <= MAX_SIZE and out.ndim <= 3 and np.all(np.abs(out) <= (limit or self.limit))):
            raise _Rejected
        name = f"v{len(self.steps)}"
        self.steps.append(Step(name, op, tuple(args), params, form, out.shape))
        self.values[name] = out
        self.requires[name] = any(self.requires.get(a, False) for a in args)
        self.uses.update(a for a in args if a in self.values)
        return name


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        shape = np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return len(shape) <= 3 and int(np.prod(shape)) <= MAX_SIZE


def _layouts(shape: tuple[int, ...]) -> list[str]:
    """The memory layouts an array of this shape can take (contiguous: plain C order)."""
    found = ["contiguous"]
    if len(shape) >= 1:
        found += ["strided", "reversed"]
        if max(shape) > 1:
            found.append("broadcast")
    if len(shape) >= 2:
        found += ["fortran", "transposed"]
    if len(shape) == 3:
        found.append("swapped")
    return found


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(generate(int(argument)).source(), end="\n\n")
