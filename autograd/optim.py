"""Optimizers with PyTorch's update rules (SGD with momentum, Adam, RMSprop), and clipping by global norm or by
value.

They take `model.parameters()` (a dict of named Tensors, or any iterable of Tensors) and update `.data`
in place from `.grad`; their state saves and loads as named arrays, for checkpoints.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any

import numpy as np

from autograd.tensor import Tensor

Parameters = dict[str, Tensor] | Iterable[Tensor]
Rule = tuple[Callable[[float], bool], str]  # the test a finite number must pass, and what a message calls it

# each setting's one rule, which training's Settings.check applies too, so the API and the command line say the same
RULES: dict[str, Rule] = {
    "lr": (lambda x: x > 0, "a positive finite number"),
    "momentum": (lambda x: 0 <= x < 1, "a number in [0, 1)"),  # 1 would never forget a gradient
    "alpha": (lambda x: 0 <= x < 1, "a number in [0, 1)"),  # 1 keeps v at zero: every step divides by ε alone
    "beta": (lambda x: 0 <= x < 1, "a number in [0, 1)"),  # 1 makes Adam's bias correction divide by zero
    "dampening": (lambda x: 0 <= x <= 1, "a number in [0, 1]"),
    "eps": (lambda x: x >= 0, "a finite number ≥ 0"),
    "weight_decay": (lambda x: x >= 0, "a finite number ≥ 0"),
}


def check_setting(who: str, key: str, value: Any, rule: Rule) -> None:
    """Refuse a value that is not a real finite number passing `rule`, in one line naming `who` and `key`."""
    valid, expected = rule
    if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value) or not valid(value):
        raise ValueError(f"{who}: {key} must be {expected}, got {value!r}")


def not_finite(arrays: dict[str, np.ndarray]) -> str | None:
    """Which of `arrays` hold NaN or ±∞, in words ("w is not finite (2 of its 9 values)"), or None: none do."""
    bad = [(name, a) for name, a in arrays.items() if not np.isfinite(a).all()]
    if not bad:
        return None
    (name, a), more = bad[0], len(bad) - 1
    also = f"; so {'is 1 more array' if more == 1 else f'are {more} more arrays'}" if more else ""
    return f"{name} is not finite ({np.size(a) - np.isfinite(a).sum()} of its {np.size(a)} values){also}"


def _descend(t: Tensor, step: np.ndarray) -> None:
    """t.data −= step, in place, so that whoever holds the array sees the step; by assignment into a strided
    view, where an in-place ufunc is what numpy 2.4 gets wrong for some float32 strides (docs/numpy-bug.md)."""
    if t.data.flags.c_contiguous or t.data.flags.f_contiguous:
        t.data -= step
    else:
        t.data[...] = t.data - step


def _named(params: Parameters) -> dict[str, Tensor]:
    named = dict(params) if isinstance(params, dict) else {str(k): t for k, t in enumerate(params)}
    if not named:
        raise ValueError("optimizer: got no parameters")
    for name, t in named.items():
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"optimizer: parameter {name!r} must be a Tensor that requires grad")
    return named


def clip_grad_norm(params: Parameters, max_norm: float) -> float:
    """Scale every gradient by max_norm / ‖all gradients‖ when that norm exceeds max_norm; return the norm."""
    grads = [t.grad for t in _named(params).values() if t.grad is not None]
    total = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    coefficient = max_norm / (total + 1e-6)  # PyTorch's epsilon
    if coefficient < 1:
        for g in grads:
            g *= coefficient
    return total


def clip_grad_value(params: Parameters, clip_value: float) -> None:
    """Clamp every gradient element to [−clip_value, clip_value] (torch.nn.utils.clip_grad_value_)."""
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value: clip_value must be positive, got {clip_value}")
    for t in _named(params).values():
        if t.grad is not None:
            np.clip(t.grad, -clip_value, clip_value, out=t.grad)


class Optimizer(ABC):
    """What SGD, Adam and RMSprop share: named parameters, zero_grad, and state as named arrays."""

    def __init__(self, params: Parameters, lr: float, **settings: float) -> None:
        for key, value in {"lr": lr, **settings}.items():
            check_setting(type(self).__name__, key, value, RULES[key])
        self.params = _named(params)
        self.lr = lr
        self.steps = 0
        self.buffers: dict[str, dict[str, np.ndarray]] = {}  # buffer kind → parameter name → array

    def zero_grad(self) -> None:
        for t in self.params.values():
            t.grad = None

    def _buffer(self, kind: str, name: str) -> np.ndarray:
        return self.buffers.setdefault(kind, {}).setdefault(name, np.zeros_like(self.params[name].data))

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"steps": np.array(self.steps), "lr": np.array(self.lr)}
        state.update({f"{kind}/{name}": a for kind, arrays in self.buffers.items() for name, a in arrays.items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """State saved by `state_dict`, checked whole before any of it is taken: one ValueError names the key
        that is missing, or of the wrong shape or type."""
        who = type(self).__name__
        for key, valid, expected in (("steps", lambda a: a.dtype.kind in "iu" and a >= 0, "a non-negative integer"),
                                     ("lr", lambda a: a.dtype.kind in "iuf" and np.isfinite(a) and RULES["lr"][0](a),
                                      RULES["lr"][1])):
            if key not in state:
                raise ValueError(f"{who}: the state has no {key}")
            array = np.asarray(state[key])
            if array.shape != () or not valid(array):
                raise ValueError(f"{who}: state {key} must be {expected}, got {array.dtype} of shape {array.shape}")
        buffers: dict[str, dict[str, np.ndarray]] = {}
        for key, array in state.items():
            if key in ("steps", "lr"):
                continue
            kind, _, name = key.partition("/")
            if name not in self.params:
                raise ValueError(f"{who}: state for unknown parameter {name!r}")
            if np.shape(array) != self.params[name].shape or np.asarray(array).dtype.kind not in "iuf":
                raise ValueError(f"{who}: state {key} has {np.asarray(array).dtype} data of shape {np.shape(array)}, "
                                 f"expected real numbers of shape {self.params[name].shape}")
            broken = not_finite({key: array})
            if broken:  # a diverged run's: every step from it would be NaN
                raise ValueError(f"{who}: state {broken}")
            buffers.setdefault(kind, {})[name] = np.array(array, dtype=self.params[name].dtype)
        self.buffers = buffers
        self.steps = int(state["steps"])
        self.lr = float(state["lr"])

    def step(self) -> None:
        self.steps += 1
        for name, t in self.params.items():
            if t.grad is not None:
                self._update(name, t, t.grad)

    @abstractmethod
    def _update(self, name: str, t: Tensor, grad: np.ndarray) -> None:
        """Update one parameter from its gradient (self.steps already counts this step)."""

    @abstractmethod
    def state_kinds(self) -> tuple[str, ...]:
        """The kinds of state a parameter has once it was updated (its buffers' names in `state_dict`)."""


class SGD(Optimizer):
    """torch.optim.SGD: v ← μ v + (1 − dampening) g (v = g at the first step); p ← p − lr v (or g + μ v)."""

    def __init__(self, params: Parameters, lr: float = 1e-2, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening 0")
        self.momentum, self.dampening, self.weight_decay, self.nesterov = momentum, dampening, weight_decay, nesterov

    def state_kinds(self) -> tuple[str, ...]:
        return ("momentum",) if self.momentum else ()

    def _update(self, name: str, t: Tensor, grad: np.ndarray) -> None:
        g = grad + self.weight_decay * t.data if self.weight_decay else grad
        if self.momentum:
            first = name not in self.buffers.get("momentum", {})
            v = self._buffer("momentum", name)
            if first:
                v[...] = g
            else:
                v *= self.momentum
                v += (1 - self.dampening) * g
            g = g + self.momentum * v if self.nesterov else v
        _descend(t, self.lr * g)


class Adam(Optimizer):
    """torch.optim.Adam: m, v moving averages of g and g², bias-corrected; p ← p − lr m̂ / (√v̂ + ε)."""

    def __init__(self, params: Parameters, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, eps=eps, weight_decay=weight_decay)
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            check_setting("Adam", f"betas[{i}]", beta, RULES["beta"])
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def state_kinds(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _update(self, name: str, t: Tensor, grad: np.ndarray) -> None:
        beta1, beta2 = self.betas
        g = grad + self.weight_decay * t.data if self.weight_decay else grad
        m, v = self._buffer("exp_avg", name), self._buffer("exp_avg_sq", name)
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        correction1 = 1 - beta1**self.steps
        correction2 = 1 - beta2**self.steps
        denominator = np.sqrt(v) / np.sqrt(correction2) + self.eps
        _descend(t, (self.lr / correction1) * m / denominator)


class RMSprop(Optimizer):
    """torch.optim.RMSprop: v ← α v + (1 − α) g²; p ← p − lr g / (√v + ε), with momentum: b ← μ b + g / (√v + ε),
    p ← p − lr b; centered: √(v − ḡ²) in place of √v, with ḡ ← α ḡ + (1 − α) g. v starts at zero, as in torch."""

    def __init__(self, params: Parameters, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered

    def state_kinds(self) -> tuple[str, ...]:
        optional = (("grad_avg", self.centered), ("momentum_buffer", self.momentum))
        return ("square_avg", *(kind for kind, used in optional if used))

    def _update(self, name: str, t: Tensor, grad: np.ndarray) -> None:
        g = grad + self.weight_decay * t.data if self.weight_decay else grad
        v = self._buffer("square_avg", name)
        v *= self.alpha
        v += (1 - self.alpha) * g * g
        if self.centered:
            mean = self._buffer("grad_avg", name)
            mean *= self.alpha
            mean += (1 - self.alpha) * g
            denominator = np.sqrt(v - mean * mean) + self.eps
        else:
            denominator = np.sqrt(v) + self.eps
        if self.momentum:
            b = self._buffer("momentum_buffer", name)
            b *= self.momentum
            b += g / denominator
            _descend(t, self.lr * b)
        else:
            _descend(t, self.lr * g / denominator)
