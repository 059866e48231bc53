"""Differential fuzzing of the engine: thousands of random programs (tests/support/programs.py) over every primitive.

Every leaf's gradient is checked against central finite differences of the program in numpy float64 always
(but in the extreme programs, whose values are at the edge of the dtype's range: there, only that it is finite),
and against torch when it is installed; on the way, every step's value, shape and dtype, that backward leaves
inputs alone, that the engine gives no warning, and that a batched matmul is refused with one line naming the
op and both shapes. A failure names the seeds, says what went wrong and prints the program as the Python the
engine ran. Run programs again with

    python tests/test_fuzz.py SEED [SEED ...]
"""

from __future__ import annotations

import functools
import sys
from collections import Counter

import numpy as np
import pytest
from support.programs import OPERATORS, Program, Step, generate, loss_and_gradients, run_engine, run_torch

from autograd import PRIMITIVES, Tensor

SEEDS = range(1500)
CHUNK = 100  # programs per test item
EPS = 1e-6
# Gradients: |engine − reference| ≤ ATOL·scale + RTOL·|reference|, elementwise; scale is the largest sum of
# magnitudes in a step the loss uses (at least 1), since the loss's rounding error is a few ulps of that and finite
# differences divide it by 2·EPS. Measured over 6,000 programs against torch in float64: finite differences are off
# by at most 5e-10·scale, a float32 engine by 2.5e-7·scale, a float64 engine by 5e-16·scale; so a right engine
# stays 20 times inside these bounds.
GRADIENT_TOLERANCE = {
    "finite differences": {np.float64: (1e-8, 1e-7), np.float32: (5e-6, 1e-5)},
    "torch": {np.float64: (1e-14, 1e-13), np.float32: (5e-6, 1e-5)},
}
# Values: |engine − numpy| ≤ TOL·max(1, max |numpy|) in each step.
VALUE_TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}
# Extreme programs, against torch: |engine − torch| ≤ ATOL·bound + RTOL·|torch|, elementwise, where bound is the
# leaf's share of `bounds` (the largest term its gradient sums), since the scale above (a sum of values up to 1e300)
# would excuse any tiny gradient; their values: against numpy in the program's dtype (float32 cancels as the engine
# does), relative to the step's largest value, plus the dtype's smallest normal number.
EXTREME_TOLERANCE = {np.float64: (1e-13, 1e-12), np.float32: (5e-6, 1e-5)}

program_of = functools.cache(generate)
run_of = functools.cache(lambda seed: run_engine(program_of(seed)))  # one engine run serves both references


# ---- the checks ---------------------------------------------------------------------------------------------


def problems(seed: int) -> list[str]:
    """What the engine gets wrong on this program, against numpy and central differences (empty: nothing)."""
    program, run = program_of(seed), run_of(seed)
    found = forward_problems(program, run.namespace)
    if run.error is not None:
        return [*found, f"the engine raised {type(run.error).__name__}: {run.error}\n      in: {run.failed_line}"]
    grads = run.gradients(program)
    if program.extreme:  # finite differences of values near 1e300 mean nothing: torch checks these
        found += [f"{name}.grad is not finite" for name, grad in grads.items()
                  if isinstance(grad, np.ndarray) and not np.all(np.isfinite(grad))]
    else:
        found += gradient_problems(program, grads, central_differences(program), "finite differences")
    found += [f"the engine warned: {message}" for message in run.warned]
    return found + refusal_problems(program, run.namespace) + ownership_problems(program, run.namespace, grads)


def torch_problems(seed: int) -> list[str]:
    """What the engine's gradients get wrong on this program against torch's (empty: nothing)."""
    program, run = program_of(seed), run_of(seed)
    if run.error is not None:
        return [f"the engine raised {type(run.error).__name__}: {run.error}\n      in: {run.failed_line}"]
    reference, expected = run_torch(program), program.expects_grad()
    disagree = [name for name, grad in reference.items() if (grad is None) == expected[name]]
    assert not disagree, f"program {seed}: torch and tests/support/programs.py disagree on which leaves get gradients"
    return gradient_problems(program, run.gradients(program), reference, "torch")


def central_differences(program: Program) -> dict[str, np.ndarray]:
    """∂loss/∂leaf by central differences of the program in numpy float64, for every leaf the loss uses."""
    arrays, expected = program.leaf_arrays(), program.expects_grad()
    found = {}
    for leaf, x in zip(program.leaves, arrays, strict=True):
        if not expected[leaf.name]:
            continue
        grad = np.empty(x.shape)
        for i in range(x.size):
            kept = x.flat[i]
            x.flat[i] = kept + EPS
            up = program.loss(arrays)
            x.flat[i] = kept - EPS
            down = program.loss(arrays)
            x.flat[i] = kept
            grad.flat[i] = (up - down) / (2 * EPS)
        found[leaf.name] = grad
    return found


def forward_problems(program: Program, namespace: dict) -> list[str]:
    """The first step that ran and is not a Tensor of numpy's shape, the program's dtype and numpy's value."""
    reference = program.values_in_dtype if program.extreme else program.values
    for step in program.steps:
        if step.out not in namespace:
            break
        got, want = namespace[step.out], np.asarray(reference[step.out], dtype=np.float64)
        if not isinstance(got, Tensor):
            found = f"gave {_describe(got)}, not a Tensor"
        elif got.shape != step.shape or got.dtype != program.dtype:
            found = f"gave shape {got.shape} {got.dtype}; numpy gives {step.shape} {np.dtype(program.dtype)}"
        else:
            largest = np.max(np.abs(want), initial=0.0)
            excess = np.abs(got.data - want) - VALUE_TOLERANCE[program.dtype] * (
                largest + np.finfo(program.dtype).tiny if program.extreme else max(1.0, largest))
            if np.all(excess <= 0):
                continue
            worst = _worst(excess)
            found = f"at {list(worst)}: engine {got.data[worst]:.10g}, numpy {want[worst]:.10g}"
        return [f"{step.out} = {program.expression(step)} {found}"]
    return []


def gradient_problems(program: Program, grads: dict, reference: dict[str, np.ndarray], against: str) -> list[str]:
    """Each leaf's gradient: None exactly where the loss does not use the leaf or it does not require grad;
    elsewhere an array of the leaf's shape and the program's dtype, close to `reference`."""
    found, expected, size = [], program.expects_grad(), scale(program)
    terms = bounds(program) if program.extreme else {}
    atol, rtol = (EXTREME_TOLERANCE if program.extreme else GRADIENT_TOLERANCE[against])[program.dtype]
    for leaf in program.leaves:
        grad, name = grads[leaf.name], leaf.name
        if not expected[name]:
            if grad is not None:
                why = "the loss does not use it" if leaf.requires_grad else "it does not require grad"
                found.append(f"{name}.grad should be None ({why}), got {_describe(grad)}")
            continue
        if not isinstance(grad, np.ndarray) or grad.shape != leaf.data.shape or grad.dtype != program.dtype:
            found.append(f"{name}.grad is {_describe(grad)}; expected an array of shape {leaf.data.shape} "
                         f"{np.dtype(program.dtype)}")
            continue
        want, bound = reference[name], terms.get(name, size)
        excess = np.abs(grad - want) - (atol * bound + rtol * np.abs(want))
        if not np.all(excess <= 0):  # NaN fails too
            worst = _worst(excess)
            found.append(f"{name}.grad{list(worst)}: engine {grad[worst]:.10g}, {against} {want[worst]:.10g} "
                         f"(scale {bound:.3g}); all of {name}.grad, flat:\n      engine {_flat(grad)}\n"
                         f"      {against} {_flat(want)}")
    return found


def refusal_problems(program: Program, namespace: dict) -> list[str]:
    """Each batched matmul refused with a ValueError of one line that names the op and both shapes."""
    found = []
    for name, (a, b) in program.refusals.items():
        message, shapes = namespace[name], tuple(np.shape(namespace[x]) for x in (a, b))
        if message is None or "\n" in message or not message.startswith(f"matmul: {shapes[0]} @ {shapes[1]}"):
            found.append(f"{a} @ {b} with shapes {shapes}: expected a one-line ValueError 'matmul: "
                         f"{shapes[0]} @ {shapes[1]}...', got {message!r}")
    return found


def ownership_problems(program: Program, namespace: dict, grads: dict) -> list[str]:
    """Backward leaves the leaves' data and the upstream gradient as they were, and each leaf's gradient is an
    array of its own that can be written (optimizers and clip_grad_norm scale gradients in place)."""
    found = [f"backward changed {leaf.name}.data" for leaf in program.leaves
             if not np.array_equal(namespace[leaf.name].data, leaf.data)]
    if program.upstream and not np.array_equal(namespace[program.upstream], program.constants[program.upstream]):
        found.append(f"backward changed the upstream gradient {program.upstream}")
    arrays = {f"{name}.data": namespace[name].data for name in grads}
    arrays.update({name: namespace[name] for name in program.declarations})
    arrays.update({f"{name}.grad": grad for name, grad in grads.items() if isinstance(grad, np.ndarray)})
    for name, grad in grads.items():
        if not isinstance(grad, np.ndarray):
            continue
        if not grad.flags.writeable:
            found.append(f"{name}.grad is read-only")
        shared = [other for other, array in arrays.items() if other != f"{name}.grad" and np.shares_memory(grad, array)]
        if shared:
            found.append(f"{name}.grad shares memory with {', '.join(shared)}")
    return found


def scale(program: Program) -> float:
    """The largest sum of magnitudes in a step the loss uses, at least 1: what its rounding error is relative to."""
    values, used = program.values, program.used()
    return max([1.0] + [float(np.sum(np.abs(values[step.out]))) for step in program.steps if step.out in used])


def bounds(program: Program) -> dict[str, float]:
    """Tensor → a bound on the terms its gradient sums: the loss's upstream magnitude, carried back through every
    step times its largest partial (and the number of terms a broadcast or a product sums). Where terms of this
    size cancel, their rounding is what the gradient is accurate to; where none do, RTOL holds it alone."""
    values, tensors = program.values, program.tensors()
    bound = dict.fromkeys(tensors, 0.0)
    bound[program.target] = _largest(values[program.upstream]) if program.upstream else 1.0
    for step in reversed(program.steps):
        out, args = values[step.out], [values[a] for a in step.args]
        for k, name in enumerate(step.args):
            if name not in tensors:
                continue
            partial = _largest_partial(step, k, args, out)
            spread = max(1.0, np.size(out) / max(1, np.size(args[k])))  # a broadcast operand sums this many terms
            bound[name] += bound[step.out] * partial * spread
    return bound


def _largest_partial(step: Step, k: int, args: list, out: np.ndarray) -> float:
    """The largest |∂out/∂operand k| of a step (times the terms a product sums), from float64 values."""
    op, x = step.op, args[k]
    if op == "hadamard":
        return _largest(args[1 - k])
    if op == "div":
        return _largest(1 / args[1]) if k == 0 else _largest(out / args[1])
    if op == "matmul":
        return _largest(args[1 - k]) * max(np.shape(args[1 - k]))
    if op in ("exp", "log"):
        return _largest(out if op == "exp" else 1 / x)
    if op == "log_softmax":  # u − softmax·Σu
        return 1.0 + np.shape(x)[step.params.get("axis", -1)]
    return 0.25 if op == "sigmoid" else 1.0


def _largest(value: object) -> float:
    return float(np.max(np.abs(value), initial=0.0))


def _worst(excess: np.ndarray) -> tuple[int, ...]:
    flat = np.where(np.isnan(excess), np.inf, excess)
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(flat)), excess.shape))


def _flat(array: np.ndarray) -> str:
    return np.array2string(np.asarray(array).reshape(-1), precision=6, max_line_width=10_000, threshold=40)


def _describe(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy scalar {type(value).__name__}, not an array"
    return f"a {type(value).__name__}"


def report(failures: dict[int, list[str]], shown: int = 3) -> str:
    lines = [f"{len(failures)} programs fail: seeds {sorted(failures)}"]
    for seed in sorted(failures)[:shown]:
        lines += [f"\n-- program {seed}:", *(f"  - {p}" for p in failures[seed]), program_of(seed).source()]
    return "\n".join(lines)


# ---- the engine against the references ----------------------------------------------------------------------


@pytest.mark.parametrize("first", range(SEEDS.start, SEEDS.stop, CHUNK))
def test_gradients_match_central_differences(first):
    failures = {seed: found for seed in range(first, first + CHUNK) if (found := problems(seed))}
    assert not failures, report(failures)


@pytest.mark.parametrize("first", range(SEEDS.start, SEEDS.stop, CHUNK))
def test_gradients_match_torch(first):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: a second thread only adds overhead
    try:
        failures = {seed: found for seed in range(first, first + CHUNK) if (found := torch_problems(seed))}
    finally:
        torch.set_num_threads(threads)
    assert not failures, report(failures)


# ---- the fuzzer itself --------------------------------------------------------------------------------------

FEATURES = [
    "float32", "float64", *(f"leaf ndim {n}" for n in range(4)), "leaf data not C-contiguous", "leaf data read-only",
    *(f"layout {kind}" for kind in ("fortran", "transposed", "swapped", "strided", "reversed", "broadcast")),
    "leaf used by 3 or more steps", "result used by 2 or more steps", "same tensor twice in one step",
    "unused leaf", "leaf not requiring grad", "tensor reaching no loss", "loss of 2 or more outputs",
    "scalar loss", "one-element loss that is not 0-d", "explicit upstream gradient",
    "explicit upstream gradient of a 0-d output",
    *(f"numpy array on the left of {symbol}" for symbol in OPERATORS.values()),
    *(f"{kind} on the left of {symbol}" for kind in ("numpy scalar", "Python number") for symbol in "+-*/"),
    "broadcast: fewer dims", "broadcast: size-1 axis", "add of three operands", "add of one tensor three times",
    *(f"matmul {a}-D @ {b}-D" for a in (1, 2) for b in (1, 2)),
    *(f"{op} axis {axis}" for op in ("sum", "mean") for axis in ("None", "int", "tuple", "int keepdims")),
    "transpose with negative axes", "transpose of 3-D with explicit axes",
    "integer index", "slice with a step", "index repeating an element", "slice with a negative step",
    "boolean mask", "boolean mask of 2 or more axes", "boolean mask with an integer array",
    "negative step with a mask or an integer array", "index picking nothing",
    "zero-length axis through an elementwise op", "sum of a zero-size tensor", "mean of a zero-size tensor",
    *(f"{op} over an axis of size {n}{keep}" for op in ("sum", "mean") for n in (0, 1) for keep in ("", " keepdims")
      if (op, n) != ("mean", 0)),  # numpy's mean over no elements warns, and is NaN
    "batched matmul refused", "extreme values",
    *(f"extreme {op}" for op in ("sigmoid", "tanh", "exp", "div", "hadamard", "log", "log_softmax", "matmul", "add",
                                 "sub", "sum", "mean", "getitem", "concat", "stack", "reshape", "transpose")),
    "concat of three operands", "stack of three operands",
    *(f"{op} along a negative axis" for op in ("concat", "stack", "log_softmax")),
    *(f"op {name}" for name in PRIMITIVES), *(f"call {name}" for name in PRIMITIVES),
    *(f"operator {name}" for name in ("add", "sub", "neg", "hadamard", "div", "matmul", "sum", "mean", "reshape",
                                       "transpose", "getitem")),
]


def test_the_programs_exercise_everything_the_fuzzer_promises():
    counts = Counter(feature for seed in SEEDS for feature in program_of(seed).features())
    rare = {feature: counts[feature] for feature in FEATURES if counts[feature] < 10}
    assert not rare, f"fewer than 10 of the {len(SEEDS)} programs have: {rare}"


def test_a_seed_replays_its_program_and_the_source_makes_its_leaves():
    for seed in SEEDS[:200]:
        program = program_of(seed)
        assert generate(seed).source() == program.source()
        for leaf in program.leaves:
            made = eval(leaf.declaration, {"np": np})
            assert made.dtype == leaf.data.dtype and made.strides == leaf.data.strides, (seed, leaf.name)
            assert np.array_equal(made, leaf.data), (seed, leaf.name)


@pytest.mark.parametrize("kind, off", [(np.float64, 1e-7), (np.float32, 5e-5)])
def test_the_checks_pass_exact_gradients_and_fail_slightly_wrong_ones(kind, off):
    """One element off by `off`·scale fails, naming the leaf and the element; so do a gradient of the wrong dtype,
    a missing one, and one for a leaf the loss does not use."""
    seeds = [seed for seed in SEEDS if program_of(seed).dtype == kind][:30]
    for seed in seeds:
        program = program_of(seed)
        exact = central_differences(program)
        grads = {leaf.name: exact[leaf.name].astype(kind) if leaf.name in exact else None for leaf in program.leaves}
        assert gradient_problems(program, grads, exact, "finite differences") == [], seed
        name = max(exact, key=lambda n: exact[n].size)
        wrong = grads[name].copy()
        wrong.flat[wrong.size - 1] += off * (scale(program) + abs(wrong.flat[wrong.size - 1]))
        index = [int(i) for i in np.unravel_index(wrong.size - 1, wrong.shape)]
        found = gradient_problems(program, {**grads, name: wrong}, exact, "finite differences")
        assert len(found) == 1 and found[0].startswith(f"{name}.grad{index}: engine "), (seed, found)
        retyped = {n: None if g is None else g.astype(np.float32 if kind == np.float64 else np.float64)
                   for n, g in grads.items()}
        assert len(gradient_problems(program, retyped, exact, "finite differences")) == len(exact), seed
        assert gradient_problems(program, {**grads, name: None}, exact, "finite differences") == [
            f"{name}.grad is None; expected an array of shape {wrong.shape} {np.dtype(kind)}"]
        idle = next((leaf for leaf in program.leaves if leaf.name not in exact), None)
        if idle is not None:
            assert len(gradient_problems(program, {**grads, idle.name: np.zeros(idle.data.shape, kind)}, exact,
                                         "finite differences")) == 1


def test_loss_and_gradients_serve_another_test():
    """What a Taylor-remainder test reads: the loss as a function of the leaves in numpy, and the engine's
    gradients; along a direction over the leaves that have gradients, the slope is their dot product."""
    rng = np.random.default_rng(0)
    for seed in SEEDS[:20]:
        loss, leaves, grads = loss_and_gradients(seed)
        assert loss(leaves) == program_of(seed).loss(program_of(seed).leaf_arrays())
        directions = [np.zeros(x.shape) if g is None else rng.standard_normal(x.shape)
                      for x, g in zip(leaves, grads, strict=True)]
        h = 1e-6
        up = loss([x + h * d for x, d in zip(leaves, directions, strict=True)])
        down = loss([x - h * d for x, d in zip(leaves, directions, strict=True)])
        slope = sum(float(np.sum(g * d)) for g, d in zip(grads, directions, strict=True) if g is not None)
        assert abs((up - down) / (2 * h) - slope) <= 1e-4 * max(1.0, abs(slope)), seed


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        seed = int(argument)
        print(program_of(seed).source())
        found = problems(seed)
        try:
            found += torch_problems(seed) if run_of(seed).error is None else []
        except ImportError:
            print("  (torch is not installed: finite differences only)")
        print("\n".join(f"  - {p}" for p in found) if found else "  ok", end="\n\n")
