"""A minimal reverse-mode autograd engine over numpy arrays, whose primitives declare their partials."""

from autograd.check import GradientReport, check_gradients, gradcheck, numerical_gradient
from autograd.diagnostics import taylor_test
from autograd.losses import cross_entropy, mse
from autograd.ops import (
    PRIMITIVES,
    Partial,
    Primitive,
    add,
    concat,
    div,
    exp,
    getitem,
    hadamard,
    log,
    log_softmax,
    matmul,
    mean,
    neg,
    reshape,
    sigmoid,
    stack,
    sub,
    sum,
    tanh,
    transpose,
)
from autograd.tensor import Tensor, no_grad

# Tells this engine from HIPS autograd, whose PyPI package installs a top-level `autograd` too (lstm.installed)
__distribution__ = "lstm-autograd"

__all__ = [
    "PRIMITIVES", "GradientReport", "Partial", "Primitive", "Tensor", "add", "check_gradients", "concat",
    "cross_entropy", "div", "exp", "getitem", "gradcheck", "hadamard", "log", "log_softmax", "matmul", "mean", "mse",
    "neg", "no_grad", "numerical_gradient", "reshape", "sigmoid", "stack", "sub", "sum", "tanh", "taylor_test",
    "transpose",
]
