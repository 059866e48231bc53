"""The layouts a hand-written LSTM backward comes in, each a translation to and from the derivation's terms.

- `own`: the signature of `lstm.hand.backward`: `backward(params, xs, h0, c0, dhs, dh_T=None, dc_T=None)` with
  params the twelve arrays by name, xs (T, B, X), h0 and c0 (B, H), dhs (T, B, H); it returns a dict with the
  fifteen keys `W_xi … b_g, xs, h0, c0`. Optional: `forward(params, xs, h0, c0)` returning `(hs, (h_T, c_T))`.
- `pytorch`: torch.nn.LSTM's stacked weights, rows in gate order i, f, g, o, time first:
  `backward(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0, d_output, d_h_n=None, d_c_n=None)` with
  weight_ih (4H, X), weight_hh (4H, H), bias_ih and bias_hh (4H,), input (T, B, X), h_0 and c_0 (B, H),
  d_output (T, B, H); it returns a dict with the seven keys `weight_ih weight_hh bias_ih bias_hh input h_0 c_0`.
  Optional: `forward(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0)` returning
  `(output, (h_n, c_n))`, as torch.nn.LSTM does.
- `cs231n`: the Stanford CS231n assignment's module: `lstm_forward(x, h0, Wx, Wh, b)` with x (N, T, D),
  Wx (D, 4H), Wh (H, 4H), b (4H,), columns in gate order i, f, o, g and c0 = 0, returning `(h, cache)` with
  h (N, T, H); `lstm_backward(dh, cache)` returning `(dx, dh0, dWx, dWh, db)`.

In `own` and `pytorch` the returned dict may also hold gradients at the tensors the engine names in each step
t, keyed by their `NodeName` (`lstm.names`), each the loss's whole gradient there, of shape (B, H) ((B, X) for
x_t): `t3/x_t`; in each gate's section (`input gate`, `forget gate`, `output gate`, `gate gate`) `q` = W_xk x_t,
`v` = W_hk h_{t−1}, `p` = q + v + b_k and the gate's output `i_t`, `f_t`, `o_t` or `g_t`
(`t3/forget gate/f_t`); in the `cell state update` `q` = f_t ⊙ c_{t−1}, `p` = i_t ⊙ g_t and `c_t`; in the
`hidden state update` `q` = tanh(c_t) and `h_t` (`t3/hidden state update/h_t`).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd import Tensor, transpose
from lstm.derivation.problem import Problem
from lstm.model.parameters import stack_gates
from lstm.names import CS231N_ORDER, GATES, NAMES, TORCH_ORDER, NodeName, stacked

Arrays = dict[str, np.ndarray]
Engine = tuple[dict[str, Tensor], Tensor, Tensor, Tensor]  # the twelve parameters, xs (T, B, X), h0, c0




class HandError(ValueError):
    """The user's code raised, or returned something other than its layout promises."""


@dataclass(frozen=True)
class Hand:
    """A hand-written backward and, where given, its forward; `source` names them in messages. With `relay`, they
    run elsewhere (`lstm.own_backward.isolated`: in a process of their own), and the layouts' calls of them are
    sent there."""

    backward: Callable[..., Any]
    forward: Callable[..., Any] | None
    source: str
    relay: Callable[[str, str, Any], Any] | None = None  # (layout, method, its argument) → what the method returns


@dataclass(frozen=True)
class Block:
    """One of the derivation's arrays as it sits in an array of the layout: W_hf is weight_hh[4:8]."""

    name: str  # the derivation's: W_hf, b_f, xs, h0, c0
    array: str  # the layout's array holding it
    where: str  # how, as the layout writes it
    take: Callable[[np.ndarray], np.ndarray]  # the layout's array → the derivation's, in its orientation

    @property
    def label(self) -> str:
        return self.name if self.where == self.name else f"{self.name} = {self.where}"


def _whole(name: str, array: str) -> Block:
    return Block(name, array, array, lambda a: a)


def _gate_blocks(order: str, hidden_size: int, holders: dict[str, tuple[str, ...]], columns: bool) -> list[Block]:
    """Each gate's W_x, W_h and b as blocks of the stacked arrays that hold them (`holders`, by kind): rows in
    `order` (PyTorch), or columns, the weights transposed (CS231n)."""
    blocks = []
    for gate in GATES:
        cut = stacked(order, hidden_size)[gate.key]
        for kind, arrays in holders.items():
            for array in arrays:
                if columns and kind != "b":
                    where, take = f"{array}[:, {cut.start}:{cut.stop}]ᵀ", lambda a, cut=cut: a[:, cut].T
                else:
                    where, take = f"{array}[{cut.start}:{cut.stop}]", lambda a, cut=cut: a[cut]
                blocks.append(Block(gate.parameter(kind), array, where, take))
    return blocks


def call(hand: Hand, role: str, fn: Callable[..., Any], args: dict[str, Any], hint: str = "") -> Any:
    """Run the user's code on copies of `args` (by name). Whatever it raises, SystemExit and any BaseException but
    Ctrl-C's included, becomes one line that names the function, the exception and the line of the user's file
    it came from (and `hint`); so does an argument it modified in place, which the check could not trust."""
    copies = {name: _copy(value) for name, value in args.items()}
    try:
        result = fn(*copies.values())
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # the user's code may raise anything, exit included; the message names it
        frames = traceback.extract_tb(error.__traceback__)
        where = next((f" ({os.path.basename(f.filename)}, line {f.lineno})" for f in reversed(frames)
                      if os.path.dirname(f.filename) != os.path.dirname(__file__)), "")  # the user's, not ours
        said = f": {error}" if str(error) else ""
        raise HandError(f"{hand.source}: {role} raised {type(error).__name__}{said}{where}{hint}") from None
    changed = next(filter(None, (_modified(name, args[name], copies[name]) for name in args)), None)
    if changed:
        raise HandError(f"{hand.source}: {role} modified its argument {changed} in place; work on a copy")
    return result


def _copy(value: Any) -> Any:
    """An array, or a dict of them (params), copied."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value.copy() if isinstance(value, np.ndarray) else value


def _modified(name: str, given: Any, handed: Any) -> str | None:
    """What of an argument the user's code changed in its copy: `name`, or `name['key']` for a dict's array."""
    if isinstance(given, dict):
        if given.keys() != handed.keys():
            return name
        return next(filter(None, (_modified(f"{name}[{key!r}]", item, handed[key]) for key, item in given.items())),
                    None)
    return name if isinstance(given, np.ndarray) and not np.array_equal(given, handed) else None


def _array(value: Any, what: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise HandError(f"{what} must be an array of shape {shape}, got {type(value).__name__}") from None
    if array.shape != shape:
        raise HandError(f"{what} has shape {array.shape}, expected {shape}")
    given = np.asarray(value).dtype
    if given.kind == "f" and given.itemsize < dtype.itemsize:  # its rounding alone would fail every row
        raise HandError(f"{what} is {given}, but the problem is {dtype}: return {dtype} arrays, or check in "
                        f"{given} (dtype={str(given)!r})")
    return array


def gradients(hand: Hand, role: str, given: Any, expected: dict[str, tuple[int, ...]], problem: Problem) -> Arrays:
    """The dict a backward returned, checked: every expected key with its shape, in the problem's precision, and
    any other key a step's NodeName (a gradient at an intermediate), kept for the engine to place."""
    length, dtype = problem.length, problem.xs.dtype
    if not isinstance(given, dict):
        raise HandError(f"{hand.source}: {role} must return a dict with the keys {', '.join(expected)}; "
                        f"got {type(given).__name__}")
    missing = [name for name in expected if name not in given]
    if missing:
        strays = [repr(key) for key in given if key not in expected and NodeName.parse(str(key)).step is None]
        instead = f"; it returned {', '.join(strays)} instead" if strays else ""
        raise HandError(f"{hand.source}: {role} returned no gradient for {', '.join(missing)} (expected the keys "
                        f"{', '.join(expected)}){instead}")
    out = {name: _array(given[name], f"{hand.source}: {role}'s gradient for {name}", shape, dtype)
           for name, shape in expected.items()}
    for key, value in given.items():
        if key in expected:
            continue
        step = NodeName.parse(str(key)).step
        if step is None or step >= length:
            raise HandError(f"{hand.source}: {role} returned {key!r}, which is neither one of {', '.join(expected)} "
                            f"nor a tensor of a step t0 … t{length - 1} named as in lstm.names, e.g. "
                            "'t0/forget gate/f_t'")
        out[str(key)] = np.asarray(value, dtype=np.float64)
    return out


def _state_pair(hand: Hand, role: str, result: Any, names: str) -> tuple[Any, Any, Any]:
    """(hs, (h_T, c_T)), as an LSTM returns it."""
    try:
        hs, (h_T, c_T) = result
    except (TypeError, ValueError):
        raise HandError(f"{hand.source}: {role} must return {names}; got {type(result).__name__}") from None
    return hs, h_T, c_T


@dataclass(frozen=True)
class Outputs:
    """What a forward computed, in the derivation's orientation: hs (T, B, H), and c_T where it gives one."""

    hs: np.ndarray
    c_T: np.ndarray | None


class Layout:
    """One layout: how the derivation's problem reads in it, how its arrays make the engine's graph, where the
    derivation's arrays sit in its arrays, and how its user's code is called."""

    name: str
    inputs: tuple[str, ...]  # the arrays the backward differentiates, in the layout's names and order
    # how the per-step localisation cuts the problem: "from step" (the run starts at any state) or "first steps"
    steps: str = "from step"
    forward_signature: str  # how an optional forward beside the backward is called, and what it returns

    @property
    def forward_hint(self) -> str:
        """What an error of a file's `forward` adds: it was called because of its name."""
        return f"; a file's function forward is called as {self.forward_signature}: rename it to check the " \
               "backward alone"

    def restrict(self, problem: Problem) -> Problem:
        """The problem with what the layout cannot express set to zero."""
        return problem

    def arrays(self, problem: Problem) -> Arrays:
        raise NotImplementedError

    def graph(self, tensors: dict[str, Tensor]) -> Engine:
        raise NotImplementedError

    def blocks(self, hidden_size: int) -> list[Block]:
        raise NotImplementedError

    def run_forward(self, hand: Hand, arrays: Arrays) -> Outputs:
        """What the user's forward computes."""
        return hand.relay(self.name, "run_forward", arrays) if hand.relay else self._run_forward(hand, arrays)

    def backward(self, hand: Hand, problem: Problem) -> Arrays:
        """The user's gradients by the layout's names (and any at intermediates by NodeName)."""
        return hand.relay(self.name, "backward", problem) if hand.relay else self._backward(hand, problem)

    def _run_forward(self, hand: Hand, arrays: Arrays) -> Outputs:
        raise NotImplementedError

    def _backward(self, hand: Hand, problem: Problem) -> Arrays:
        raise NotImplementedError

    def require(self, hand: Hand) -> None:
        """Raise when the layout needs code the user did not give."""

    def shapes(self, problem: Problem) -> dict[str, tuple[int, ...]]:
        return {name: a.shape for name, a in self.arrays(problem).items()}


class Own(Layout):
    name = "own"
    inputs = (*NAMES, "xs", "h0", "c0")
    forward_signature = "forward(params, xs, h0, c0) → (hs, (h_T, c_T))"

    def arrays(self, problem: Problem) -> Arrays:
        return {**problem.params, "xs": problem.xs, "h0": problem.h0, "c0": problem.c0}

    def graph(self, tensors: dict[str, Tensor]) -> Engine:
        return {name: tensors[name] for name in NAMES}, tensors["xs"], tensors["h0"], tensors["c0"]

    def blocks(self, hidden_size: int) -> list[Block]:
        return [_whole(name, name) for name in self.inputs]

    def _run_forward(self, hand: Hand, arrays: Arrays) -> Outputs:
        params = {name: arrays[name] for name in NAMES}
        result = call(hand, "forward", hand.forward, {"params": params, "xs": arrays["xs"], "h0": arrays["h0"],
                      "c0": arrays["c0"]}, hint=self.forward_hint)
        hs, _, c_T = _state_pair(hand, "forward", result, "(hs, (h_T, c_T))")
        return Outputs(np.asarray(hs), np.asarray(c_T))

    def _backward(self, hand: Hand, problem: Problem) -> Arrays:
        given = call(hand, "backward", hand.backward, {"params": problem.params, "xs": problem.xs, "h0": problem.h0,
                     "c0": problem.c0, "dhs": problem.dhs, "dh_T": problem.dh_T, "dc_T": problem.dc_T})
        return gradients(hand, "backward", given, self.shapes(problem), problem)


TORCH = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class PyTorch(Layout):
    name = "pytorch"
    inputs = (*TORCH, "input", "h_0", "c_0")
    forward_signature = "forward(weight_ih, weight_hh, bias_ih, bias_hh, input, h_0, c_0) → (output, (h_n, c_n))"
    # The engine has one bias per gate, b_k = bias_ih_k + bias_hh_k; the problem splits it unevenly between the
    # two, so a forward that reads only one of them is caught.
    share_ih = 0.75

    def arrays(self, problem: Problem) -> Arrays:
        b = stack_gates(problem.params, TORCH_ORDER, "b")
        return {"weight_ih": stack_gates(problem.params, TORCH_ORDER, "W_x"),
                "weight_hh": stack_gates(problem.params, TORCH_ORDER, "W_h"),
                "bias_ih": (self.share_ih * b).astype(b.dtype), "bias_hh": ((1 - self.share_ih) * b).astype(b.dtype),
                "input": problem.xs, "h_0": problem.h0, "c_0": problem.c0}

    def graph(self, tensors: dict[str, Tensor]) -> Engine:
        rows = stacked(TORCH_ORDER, tensors["h_0"].shape[-1])
        params = {}
        for gate in GATES:
            r = rows[gate.key]
            params[gate.W_x] = tensors["weight_ih"][r].named(gate.W_x)
            params[gate.W_h] = tensors["weight_hh"][r].named(gate.W_h)
            params[gate.b] = (tensors["bias_ih"][r] + tensors["bias_hh"][r]).named(gate.b)
        return params, tensors["input"], tensors["h_0"], tensors["c_0"]

    def blocks(self, hidden_size: int) -> list[Block]:
        holders = {"W_x": ("weight_ih",), "W_h": ("weight_hh",), "b": ("bias_ih", "bias_hh")}
        return [*_gate_blocks(TORCH_ORDER, hidden_size, holders, columns=False), _whole("xs", "input"),
                _whole("h0", "h_0"), _whole("c0", "c_0")]

    def _run_forward(self, hand: Hand, arrays: Arrays) -> Outputs:
        result = call(hand, "forward", hand.forward, {name: arrays[name] for name in self.inputs},
                      hint=self.forward_hint)
        output, _, c_n = _state_pair(hand, "forward", result, "(output, (h_n, c_n))")
        return Outputs(np.asarray(output), np.asarray(c_n))

    def _backward(self, hand: Hand, problem: Problem) -> Arrays:
        arrays = self.arrays(problem)
        given = call(hand, "backward", hand.backward, {**{name: arrays[name] for name in self.inputs},
                     "d_output": problem.dhs, "d_h_n": problem.dh_T, "d_c_n": problem.dc_T})
        return gradients(hand, "backward", given, self.shapes(problem), problem)


class CS231n(Layout):
    name = "cs231n"
    inputs = ("x", "h0", "Wx", "Wh", "b")
    returns = ("dx", "dh0", "dWx", "dWh", "db")  # lstm_backward's tuple, in this order
    steps = "first steps"  # c0 = 0 is the layout's: no run can start mid-sequence

    def restrict(self, problem: Problem) -> Problem:
        zero = np.zeros_like(problem.c0)
        return problem.replace(c0=zero, dh_T=zero, dc_T=zero)

    def arrays(self, problem: Problem) -> Arrays:
        return {"x": problem.xs.transpose(1, 0, 2), "h0": problem.h0,
                "Wx": stack_gates(problem.params, CS231N_ORDER, "W_x").T,
                "Wh": stack_gates(problem.params, CS231N_ORDER, "W_h").T,
                "b": stack_gates(problem.params, CS231N_ORDER, "b")}

    def graph(self, tensors: dict[str, Tensor]) -> Engine:
        columns = stacked(CS231N_ORDER, tensors["h0"].shape[-1])
        params = {}
        for gate in GATES:
            c = (slice(None), columns[gate.key])
            params[gate.W_x] = transpose(tensors["Wx"][c]).named(gate.W_x)
            params[gate.W_h] = transpose(tensors["Wh"][c]).named(gate.W_h)
            params[gate.b] = tensors["b"][columns[gate.key]].named(gate.b)
        xs = transpose(tensors["x"], axes=(1, 0, 2)).named("xs")
        return params, xs, tensors["h0"], Tensor(np.zeros(tensors["h0"].shape))

    def blocks(self, hidden_size: int) -> list[Block]:
        holders = {"W_x": ("Wx",), "W_h": ("Wh",), "b": ("b",)}
        return [*_gate_blocks(CS231N_ORDER, hidden_size, holders, columns=True),
                Block("xs", "x", "x, read as (T, N, D)", lambda a: a.transpose(1, 0, 2)), _whole("h0", "h0")]

    def require(self, hand: Hand) -> None:
        if hand.forward is None:
            raise HandError(f"{hand.source}: the cs231n layout needs lstm_forward, whose cache lstm_backward reads")

    def _run_forward(self, hand: Hand, arrays: Arrays) -> Outputs:
        return Outputs(np.asarray(self._forward(hand, arrays)[0]).transpose(1, 0, 2), None)

    def _forward(self, hand: Hand, arrays: Arrays) -> tuple[Any, Any]:
        result = call(hand, "lstm_forward", hand.forward, {name: arrays[name] for name in self.inputs})
        if not isinstance(result, Sequence) or len(result) != 2:
            raise HandError(f"{hand.source}: lstm_forward must return (h, cache); got {type(result).__name__}")
        return result[0], result[1]

    def _backward(self, hand: Hand, problem: Problem) -> Arrays:
        _, cache = self._forward(hand, self.arrays(problem))
        # the cache is the user's own, theirs to change
        given = call(hand, "lstm_backward", lambda dh: hand.backward(dh, cache), {"dh": problem.dhs.transpose(1, 0, 2)})
        if not isinstance(given, Sequence) or len(given) != len(self.returns):
            got = f"{len(given)} values" if isinstance(given, Sequence) else type(given).__name__
            raise HandError(f"{hand.source}: lstm_backward must return ({', '.join(self.returns)}); got {got}")
        expected = dict(zip(self.returns, self.shapes(problem).values(), strict=True))
        named = gradients(hand, "lstm_backward", dict(zip(self.returns, given, strict=True)), expected, problem)
        return {name: named[d] for name, d in zip(self.inputs, self.returns, strict=True)}


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (Own(), PyTorch(), CS231n())}
