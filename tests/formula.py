"""Evaluate a primitive's declared formula text numerically, so a test can hold the text to the math."""

import re

import numpy as np

from autograd.ops import _sigmoid


def evaluate(formula: str, *operands: np.ndarray) -> np.ndarray:
    source = formula.format(*(f"x{k}" for k in range(len(operands))))
    for text, python in (("tanh²(", "T2("), ("σ(", "S("), ("tanh(", "np.tanh("), ("exp(", "np.exp("),
                         ("−", "-"), ("²", "**2"), ("ᵀ", ".T")):
        source = source.replace(text, python)
    source = re.sub(r"\)(?=[\w(])", ")*", source)  # the derivation writes products by juxtaposition
    names = {f"x{k}": x for k, x in enumerate(operands)}
    return eval(source, {"np": np, "S": _sigmoid, "T2": lambda z: np.tanh(z) ** 2}, names)
