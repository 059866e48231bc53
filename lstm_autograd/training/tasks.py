"""Two training tasks: the adding problem (long time lags) and a character-level language model."""

from __future__ import annotations

import codecs
import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograd import Tensor, cross_entropy, mse, no_grad
from lstm import LSTM
from lstm_autograd.training.readout import Linear


@dataclass
class AddingProblem:
    """Hochreiter & Schmidhuber (1997), in the form of Arjovsky, Shah & Bengio (2016).

    Each step holds (a value uniform in [0, 1], a marker); exactly two steps are marked, one in each half,
    and the target is the sum of the two marked values. Always answering 1 scores MSE ≈ 1/6 ≈ 0.167.
    """

    length: int
    input_size: int = 2
    output_size: int = 1

    def __post_init__(self) -> None:
        if self.length < 2:
            raise ValueError(f"adding problem: length must be at least 2, got {self.length}")

    def batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """xs (T, B, 2) and targets (B, 1)."""
        T = self.length
        values = rng.uniform(0, 1, (T, size))
        markers = np.zeros((T, size))
        first = rng.integers(0, T // 2, size)
        second = rng.integers(T // 2, T, size)
        columns = np.arange(size)
        markers[first, columns] = markers[second, columns] = 1
        targets = values[first, columns] + values[second, columns]
        return np.stack([values, markers], axis=-1), targets[:, None]

    def loss(self, model: LSTM, readout: Linear, xs: np.ndarray, targets: np.ndarray) -> Tensor:
        hs, _ = model(xs.astype(model.dtype))  # hs[−1] is h_T for the LSTM and the tanh RNN alike
        return mse(readout(hs[-1]), targets.astype(model.dtype))


def zen_of_python() -> str:
    """The text every Python carries: `this.s`, decoded with rot13 (imported quietly, since it prints)."""
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return codecs.decode(this.s, "rot13")


@dataclass
class CharacterModel:
    """Predict each next character of a text: one-hot input, softmax cross-entropy at every step."""

    text: str
    length: int = 32
    alphabet: list[str] = field(init=False)

    def __post_init__(self) -> None:
        if len(self.text) < self.length + 2:
            raise ValueError(f"character model: the text has {len(self.text)} characters; it needs at least "
                             f"{self.length + 2} for sequences of {self.length}")
        self.alphabet = sorted(set(self.text))
        self.codes = np.array([self.alphabet.index(c) for c in self.text])

    @classmethod
    def from_file(cls, path: str | Path | None, length: int = 32) -> CharacterModel:
        if path is None:
            return cls(zen_of_python(), length)
        try:
            return cls(Path(path).read_text(encoding="utf-8"), length)
        except FileNotFoundError:
            raise FileNotFoundError(f"character model: no such text file: {path}") from None
        except IsADirectoryError:
            raise IsADirectoryError(f"character model: {path} is a folder; expected a UTF-8 text file") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"character model: {path} is not UTF-8 text ({error})") from None

    @property
    def prompt(self) -> str:
        """What samples start from: the text's first word (at most 20 characters)."""
        return self.text.split(maxsplit=1)[0][:20] if self.text.strip() else self.text[:1]

    @property
    def input_size(self) -> int:
        return len(self.alphabet)

    output_size = input_size

    def one_hot(self, codes: np.ndarray) -> np.ndarray:
        return np.eye(len(self.alphabet))[codes]

    def batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """xs (T, B, V) one-hot and the next characters' codes (T, B)."""
        starts = rng.integers(0, len(self.codes) - self.length - 1, size)
        windows = self.codes[starts[:, None] + np.arange(self.length + 1)].T  # (T + 1, B)
        return self.one_hot(windows[:-1]), windows[1:]

    def loss(self, model: LSTM, readout: Linear, xs: np.ndarray, targets: np.ndarray) -> Tensor:
        hs, _ = model(xs.astype(model.dtype))
        logits = readout(hs)
        return cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def sample(self, model: LSTM, readout: Linear, prompt: str, count: int, rng: np.random.Generator,
               temperature: float = 0.8) -> str:
        """Continue `prompt` by `count` characters drawn from the model's softmax."""
        codes = [self.alphabet.index(c) for c in prompt if c in self.alphabet] or [0]
        out = []
        with no_grad():
            hs, state = model(self.one_hot(np.array(codes))[:, None, :].astype(model.dtype))
            code = codes[-1]
            for _ in range(count):
                logits = readout(hs[-1]).data[0] / temperature
                p = np.exp(logits - logits.max())
                code = int(rng.choice(len(p), p=p / p.sum()))
                out.append(self.alphabet[code])
                hs, state = model(self.one_hot(np.array([[code]])).astype(model.dtype), state)
        return "".join(out)
