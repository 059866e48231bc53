"""Losses built from the primitives, so their gradients come from the same table."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import ops
from autograd.tensor import Tensor


def mse(prediction: Tensor, target: Any) -> Tensor:
    """Mean of the squared errors over every element."""
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=prediction.dtype))
    if prediction.shape != target.shape:
        raise ValueError(f"mse: prediction {prediction.shape} and target {target.shape} differ in shape")
    error = prediction - target
    return ops.mean(error * error)


def cross_entropy(logits: Tensor, targets: Any) -> Tensor:
    """Mean softmax cross-entropy of (N, C) logits against N integer class labels (stable: log-softmax)."""
    targets = np.asarray(targets)
    if logits.ndim != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(
            f"cross_entropy: expected logits (N, C) and targets (N,), got {logits.shape} and {targets.shape}"
        )
    if targets.dtype.kind not in "iu" or np.any((targets < 0) | (targets >= logits.shape[1])):
        raise ValueError(f"cross_entropy: targets must be integer class labels in [0, {logits.shape[1]})")
    log_p = ops.log_softmax(logits, axis=1)
    return -ops.mean(log_p[np.arange(len(targets)), targets])
