"""The classic long-range tasks of the LSTM literature, beside the adding problem of `training.tasks`.

- `CopyMemory`: the copying memory problem of Arjovsky, Shah & Bengio (2016), §4.1.
- `EmbeddedReber`: the embedded Reber grammar of Hochreiter & Schmidhuber (1997), experiment 1, with their
  success criterion.

A task makes batches (`batch(size, rng)`), scores a model on one (`loss`), and may measure more than a loss on
held-out data (`evaluate`). Models are `lstm.LSTM` or `lstm.RNN`: anything whose call returns (hs, state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, cross_entropy, no_grad, sigmoid
from lstm_autograd.training.readout import Linear


@dataclass
class CopyMemory:
    """Remember 10 symbols over a lag of T steps and copy them out after a marker.

    Categories a_0 … a_9 as in the paper: the input is 10 symbols drawn uniformly from a_0 … a_7, then T − 1
    blanks a_8, the delimiter a_9, and 10 more blanks (T + 20 steps, one-hot); the target is T + 10 blanks and
    then the 10 symbols. The loss is the cross-entropy averaged over every step. Predicting blanks and then any
    of the 8 symbols uniformly (no memory at all) scores 10 ln 8 / (T + 20), the baseline.
    """

    length: int = 100  # T, the lag
    symbols: int = 10  # how many to copy
    input_size: int = 10
    output_size: int = 9  # a_0 … a_7 and the blank a_8; the delimiter is never a target

    BLANK = 8
    DELIMITER = 9

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"copy memory: length must be at least 1, got {self.length}")

    @property
    def baseline(self) -> float:
        return self.symbols * np.log(8) / (self.length + 2 * self.symbols)

    def batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """xs (T + 20, B, 10) one-hot and the target categories (T + 20, B)."""
        n, T = self.symbols, self.length
        data = rng.integers(0, 8, (n, size))
        inputs = np.full((T + 2 * n, size), self.BLANK)
        inputs[:n] = data
        inputs[n + T - 1] = self.DELIMITER
        targets = np.full((T + 2 * n, size), self.BLANK)
        targets[T + n:] = data
        return np.eye(self.input_size)[inputs], targets

    def loss(self, model: Any, readout: Linear, xs: np.ndarray, targets: np.ndarray) -> Tensor:
        hs, _ = model(xs.astype(model.dtype))
        logits = readout(hs)
        return cross_entropy(logits.reshape(-1, self.output_size), targets.reshape(-1))


# The Reber grammar (Reber 1967, as drawn by Cleeremans, Servan-Schreiber & McClelland 1989): from each state,
# two symbols, each taken with probability 1/2, and the state each leads to. State 6 ends the string with E.
SYMBOLS = "BTPSXVE"
REBER = {1: (("T", 2), ("P", 3)), 2: (("S", 2), ("X", 4)), 3: (("T", 3), ("V", 5)), 4: (("X", 3), ("S", 6)),
         5: (("P", 4), ("V", 6))}


def reber_string(rng: np.random.Generator) -> str:
    """One string of the (inner) Reber grammar, B … E."""
    out, state = ["B"], 1
    while state != 6:
        symbol, state = REBER[state][rng.integers(2)]
        out.append(symbol)
    return "".join(out) + "E"


def embedded_reber_string(rng: np.random.Generator) -> str:
    """B, T or P, a Reber string, the same T or P again, E: the T/P must be remembered across the inner string."""
    outer = "TP"[rng.integers(2)]
    return f"B{outer}{reber_string(rng)}{outer}E"


def possible_next(string: str) -> list[str]:
    """For every symbol of an embedded Reber string but the last, the symbols the grammar allows next: T or P
    after B, B after the first T/P, the inner grammar's choices, after the inner E only the first T/P again, and
    E after it. This is what the success criterion checks."""
    outer, inner = string[1], string[2:-2]
    allowed, state = ["TP", "B", "TP"], 1
    for symbol in inner[1:-1]:
        state = dict(REBER[state])[symbol]
        allowed.append("E" if state == 6 else "".join(s for s, _ in REBER[state]))
    return allowed + [outer, "E"]


@dataclass
class EmbeddedReber:
    """Predict the next symbol of strings of the embedded Reber grammar (Hochreiter & Schmidhuber 1997, exp. 1).

    As in the paper: 7 input and 7 output units, one-hot; 256 training strings and 256 test strings drawn at
    random (no test string occurs in the training set); training strings are picked at random from the training
    set; the state is zero at the start of every string; the outputs are logistic units trained on the squared
    error against the next symbol (½ Σ over units and steps, per string). A trial is solved when, for every
    string of both sets, at every step, the output units of all the possible next symbols are more active than
    every other unit.
    """

    seed: int = 0
    count: int = 256  # strings in each of the training and the test set
    input_size: int = 7
    output_size: int = 7
    train_set: list[str] = field(init=False)
    test_set: list[str] = field(init=False)

    def __post_init__(self) -> None:
        # the sets are the held-out stream (seed, 0); training batches are (seed, k ≥ 1), as for every task
        rng = np.random.default_rng([self.seed, 0])
        self.train_set = [embedded_reber_string(rng) for _ in range(self.count)]
        seen, self.test_set = set(self.train_set), []
        while len(self.test_set) < self.count:
            string = embedded_reber_string(rng)
            if string not in seen:
                self.test_set.append(string)

    @staticmethod
    def encode(strings: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """xs (T, B, 7) one-hot inputs (all symbols but the last), targets (T, B, 7) one-hot next symbols, and the
        mask (T, B, 1) of real steps: strings end at different steps and are padded with zeros after their end
        (which the causal model never sees before it)."""
        T = max(len(s) for s in strings) - 1
        xs = np.zeros((T, len(strings), 7))
        targets = np.zeros((T, len(strings), 7))
        mask = np.zeros((T, len(strings), 1))
        for b, string in enumerate(strings):
            codes = [SYMBOLS.index(c) for c in string]
            steps = np.arange(len(codes) - 1)
            xs[steps, b, codes[:-1]] = 1
            targets[steps, b, codes[1:]] = 1
            mask[steps, b] = 1
        return xs, targets, mask

    def batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """`size` training strings picked at random: xs and (targets, mask) from `encode`."""
        xs, targets, mask = self.encode([self.train_set[i] for i in rng.integers(0, self.count, size)])
        return xs, (targets, mask)

    def loss(self, model: Any, readout: Linear, xs: np.ndarray, targets: tuple[np.ndarray, np.ndarray]) -> Tensor:
        """½ Σ (y − target)² over the units and real steps of each string, averaged over the strings."""
        target, mask = targets
        hs, _ = model(xs.astype(model.dtype))
        error = (sigmoid(readout(hs)) - target.astype(model.dtype)) * mask.astype(model.dtype)
        return (error * error).sum() * (0.5 / xs.shape[1])

    def evaluate(self, model: Any, readout: Linear) -> dict[str, float]:
        """The test set's loss, how many strings of each set meet the criterion, and whether all do (solved)."""
        figures = {}
        with no_grad():
            for name, strings in (("train", self.train_set), ("test", self.test_set)):
                xs, targets, mask = self.encode(strings)
                hs, _ = model(xs.astype(model.dtype))
                # σ is monotonic: the most active output units are those of the largest logits
                figures[f"{name}_strings_right"] = float(strings_right(readout(hs).data, strings).sum())
                if name == "test":
                    figures["loss"] = self.loss(model, readout, xs, (targets, mask)).item()
        figures["solved"] = float(figures["train_strings_right"] == figures["test_strings_right"] == self.count)
        return figures


def strings_right(outputs: np.ndarray, strings: list[str]) -> np.ndarray:
    """Hochreiter & Schmidhuber's criterion for each string: at every step, the output units of all the possible
    next symbols are more active than every other unit. outputs (T, B, 7), strings as `EmbeddedReber.encode`
    pads them; returns (B,) booleans."""
    allowed = np.zeros(outputs.shape, dtype=bool)
    real = np.zeros(outputs.shape[:2], dtype=bool)
    for b, string in enumerate(strings):
        for t, symbols in enumerate(possible_next(string)):
            allowed[t, b, [SYMBOLS.index(c) for c in symbols]] = True
            real[t, b] = True
    lowest_allowed = np.where(allowed, outputs, np.inf).min(axis=-1)
    highest_other = np.where(allowed, -np.inf, outputs).max(axis=-1)
    return ((lowest_allowed > highest_other) | ~real).all(axis=0)
