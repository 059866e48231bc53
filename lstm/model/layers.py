"""Layers as PyTorch has them, for any cell declared in `lstm.cells`: num_layers, bias, batch_first, dropout
between layers in training mode, bidirectional, an LSTM's proj_size; states shaped (num_layers·D, B, H); torch's
state dicts both ways.

Every tensor is named with its layer and direction (`lstm.names.layer_scope`: `l1/reverse/t3/reset gate/p`); a
model of one layer and one direction keeps the derivation's names, and returns h_T of shape (B, H) (a state of
torch's shape (1, B, H) is accepted too). A cell of two states (the LSTMs) takes and returns the pair (h, c).
In the reverse direction step t is the t-th step taken: it reads the input at position T − 1 − t, and its
h_{t−1} is the state of the step taken before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor, concat, stack, transpose
from autograd.progress import steps
from lstm import cells
from lstm.cells import Cell
from lstm.model.parameters import as_input, checked_sizes
from lstm.names import INPUT, NodeName, layer_scope, scoped


def checked_state_dict(owner: str, expected: dict[str, tuple[int, ...]], state_dict: Any) -> dict[str, np.ndarray]:
    """`state_dict`'s arrays under the `expected` keys, or a ValueError naming the missing, extra or misshapen key
    (or the one that is not real numbers), before anything is loaded."""
    if not hasattr(state_dict, "keys"):
        raise ValueError(f"{owner}: expected a dict of arrays, got {type(state_dict).__name__}")
    missing = [key for key in expected if key not in state_dict]
    extra = [str(key) for key in state_dict if key not in expected]
    if missing:
        raise ValueError(f"{owner}: missing key{'s' * (len(missing) > 1)} {', '.join(missing)}")
    if extra:
        raise ValueError(f"{owner}: unexpected key{'s' * (len(extra) > 1)} {', '.join(extra)}")
    arrays = {}
    for key, shape in expected.items():
        value = _plain(state_dict[key])
        if value.shape != shape:
            raise ValueError(f"{owner}: {key} must have shape {shape}, got {value.shape}")
        if value.dtype.kind not in "biuf":
            raise ValueError(f"{owner}: {key} must hold real numbers, got dtype {value.dtype}")
        arrays[key] = value
    return arrays


def _torch_key(kind: str, layer: int, reverse: bool) -> str:
    return f"{kind}_l{layer}{'_reverse' if reverse else ''}"


def _plain(value: Any) -> np.ndarray:
    """A state dict's value as a numpy array: a torch tensor (without importing torch) or anything array-like."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class Recurrent:
    """A stack of `num_layers` layers of one cell, in one direction or both, like torch.nn.GRU and torch.nn.RNN.

    `model(xs, h0)` with xs (T, B, X) ((B, T, X) when batch_first) or unbatched (T, X) returns (output, h_n):
    output (T, B, D·H), h_n (num_layers·D, B, H). A cell of two states takes `model(xs, (h0, c0))` and returns
    (output, (h_n, c_n)), h_n (num_layers·D, B, H_out), c_n (num_layers·D, B, H), H_out = proj_size or H, as
    torch.nn.LSTM. Parameters are drawn uniform(−1/√H, 1/√H), torch's initialisation. A new model is in training
    mode, as torch's: `eval()` turns the dropout off.
    """

    def __init__(self, declaration: Cell, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, dtype: Any = np.float64, seed: int | None = None) -> None:
        owner = type(self).__name__
        self.cell = declaration
        self.input_size, self.hidden_size, self.dtype = checked_sizes(owner, input_size, hidden_size, dtype, seed)
        if not isinstance(num_layers, (int, np.integer)) or isinstance(num_layers, bool) or num_layers < 1:
            raise ValueError(f"{owner}: num_layers must be a positive integer, got {num_layers!r}")
        for label, flag in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{owner}: {label} must be True or False, got {flag!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating)) or not 0 <= dropout <= 1:
            raise ValueError(f"{owner}: dropout must be a number in [0, 1], got {dropout!r}")
        if not isinstance(proj_size, (int, np.integer)) or isinstance(proj_size, bool) or proj_size < 0:
            raise ValueError(f"{owner}: proj_size must be a non-negative integer, got {proj_size!r}")
        if proj_size and not declaration.projection:
            raise ValueError(f"{owner}: the cell {declaration.name!r} takes no proj_size")
        if proj_size >= self.hidden_size:
            raise ValueError(f"{owner}: proj_size must be smaller than hidden_size ({self.hidden_size}), "
                             f"got {proj_size}")
        self.proj_size = int(proj_size)
        self.output_size = self.proj_size or self.hidden_size  # H_out: the width of h, fed back and output
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.directions = 2 if self.bidirectional else 1
        self.training = True
        # the parameters from the seed itself, drawn in the declaration's order (a one-layer Elman RNN's W_xh, W_hh
        # and b_xh are the plain RNN's W_xh, W_hh and b_h); the dropout masks from a stream of their own
        rng = np.random.default_rng(seed)
        self._dropout_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        bound = 1 / np.sqrt(self.hidden_size)
        self._params: dict[str, Tensor] = {}
        for layer, _, scope in self.layers():
            for name, shape in declaration.shapes(self._columns(layer), self.hidden_size, self.bias,
                                                  self.proj_size).items():
                self._params[scoped(scope, name)] = Tensor(rng.uniform(-bound, bound, shape).astype(self.dtype),
                                                           requires_grad=True, name=scoped(scope, name))

    # ---- the layers, their parameters and modes ----

    def layers(self) -> list[tuple[int, bool, str]]:
        """(layer, reverse, scope) in torch's order: l0, l0 reverse, l1, …"""
        return [(layer, reverse, layer_scope(layer, reverse, self.num_layers, self.bidirectional))
                for layer in range(self.num_layers) for reverse in (False, True)[:self.directions]]

    def _columns(self, layer: int) -> int:
        """The width of layer `layer`'s input: X, or both directions' h side by side."""
        return self.input_size if layer == 0 else self.directions * self.output_size

    def _names(self) -> list[str]:
        """One layer and direction's parameter names (unscoped)."""
        return list(self.cell.shapes(1, 1, self.bias, self.proj_size))

    def parameters(self) -> dict[str, Tensor]:
        return dict(self._params)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: tensor.data for name, tensor in self._params.items()}

    def zero_grad(self) -> None:
        for tensor in self._params.values():
            tensor.zero_grad()

    def train(self, mode: bool = True) -> Recurrent:
        self.training = bool(mode)
        return self

    def eval(self) -> Recurrent:
        return self.train(False)

    # ---- PyTorch's state dicts ----

    def _expected(self) -> dict[str, tuple[int, ...]]:
        """Every key of torch's state dict and its shape, in torch's order."""
        expected = {}
        for layer, reverse, _ in self.layers():
            for kind, shape in self.cell.torch_shapes(self._columns(layer), self.hidden_size, self.bias,
                                                      self.proj_size).items():
                expected[_torch_key(kind, layer, reverse)] = shape
        return expected

    def _stacked(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {}
        for layer, reverse, scope in self.layers():
            own = {name: arrays[scoped(scope, name)] for name in self._names()}
            for kind, value in self.cell.stack(own, self.bias).items():
                out[_torch_key(kind, layer, reverse)] = value
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """torch's state dict as numpy arrays (copies), under its exact keys, in its gate order and shapes."""
        return self._stacked(self.arrays())

    def grad_state_dict(self) -> dict[str, np.ndarray]:
        """The parameters' gradients under the state dict's keys (zeros where there is none yet)."""
        return self._stacked({name: np.zeros_like(t.data) if t.grad is None else t.grad
                              for name, t in self._params.items()})

    def load_state_dict(self, state_dict: Any) -> None:
        """The inverse of `state_dict`, from numpy arrays or torch tensors, in the model's dtype; a missing,
        extra or misshapen key is refused, naming it, before anything is loaded."""
        arrays = checked_state_dict(f"{type(self).__name__}.load_state_dict", self._expected(), state_dict)
        for layer, reverse, scope in self.layers():
            kinds = self.cell.torch_shapes(1, 1, self.bias, self.proj_size)
            given = {kind: arrays[_torch_key(kind, layer, reverse)] for kind in kinds}
            for name, block in self.cell.unstack(given, self.hidden_size).items():
                self._params[scoped(scope, name)].data = np.array(block, dtype=self.dtype)

    def torch_arguments(self) -> dict[str, Any]:
        """The keyword arguments that build this model's torch.nn counterpart."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                "bias": self.bias, "batch_first": self.batch_first, "dropout": self.dropout,
                "bidirectional": self.bidirectional, **({"proj_size": self.proj_size} if self.proj_size else {}),
                **dict(self.cell.torch_options)}

    def to_torch(self) -> Any:
        """The torch.nn module computing the same (torch must be installed), holding these parameters exactly."""
        if self.cell.torch_module is None:
            raise ValueError(f"{type(self).__name__}: the cell {self.cell.name!r} has no torch counterpart")
        import torch  # optional: only this conversion needs it

        module = getattr(torch.nn, self.cell.torch_module)(
            **self.torch_arguments(), dtype=torch.float32 if self.dtype == np.float32 else torch.float64)
        module.load_state_dict({key: torch.from_numpy(value) for key, value in self.state_dict().items()})
        module.train(self.training)
        return module

    # ---- the forward ----

    def _initial(self, given: Any, batch: tuple[int, ...]) -> list[tuple[Tensor, ...]]:
        """The initial states as one tuple (h,) or (h, c) per (layer, direction), zeros when None; a wrong shape
        names expected and given."""
        owner = type(self).__name__
        count = self.num_layers * self.directions
        widths = self._widths()
        if given is None:
            return [tuple(Tensor(np.zeros((*batch, width), self.dtype)) for width in widths) for _ in range(count)]
        if len(widths) == 1:
            given = (given,)
        else:
            if not isinstance(given, (tuple, list)) or len(given) != len(widths):
                raise ValueError(f"{owner}: state must be a pair (h0, c0), got {type(given).__name__}")
        per_state = [self._one_initial(f"{state.letter}0", value, batch, width)
                     for state, value, width in zip(self.cell.states, given, widths, strict=True)]
        return list(zip(*per_state, strict=True))

    def _widths(self) -> tuple[int, ...]:
        """The width of each state: h is H_out wide, c is H wide."""
        return (self.output_size, self.hidden_size)[:len(self.cell.states)]

    def _one_initial(self, label: str, value: Any, batch: tuple[int, ...], width: int) -> list[Tensor]:
        owner = type(self).__name__
        count = self.num_layers * self.directions
        torch_shape = (count, *batch, width)
        value = as_input(owner, label, value, self.dtype)
        if value.name is None:
            value.name = label
        if count == 1 and value.shape == torch_shape[1:]:
            return [value]  # the one-layer model's own (B, H)
        if value.shape != torch_shape:
            also = f" or {torch_shape[1:]}" if count == 1 else ""
            raise ValueError(f"{owner}: {label} must have shape {torch_shape}{also}, got {value.shape}")
        return [value[k] for k in range(count)]

    def _dropped(self, layer: int, xs: Tensor) -> Tensor:
        """Dropout on the input of layer `layer` ≥ 1, in training mode: each element zeroed with probability p,
        the rest scaled by 1/(1 − p), as torch."""
        if not (self.training and self.dropout and layer):
            return xs
        p = self.dropout
        kept = self._dropout_rng.random(xs.shape) >= p
        mask = kept.astype(self.dtype) / self.dtype.type(1 - p) if p < 1 else np.zeros(xs.shape, self.dtype)
        return (xs * Tensor(mask, name=f"l{layer}/dropout mask")).named(f"l{layer}/dropout")

    def __call__(self, xs: Any, h0: Any = None) -> tuple[Tensor, Any]:
        owner = type(self).__name__
        xs = as_input(owner, "xs", xs, self.dtype)
        layout = "(B, T, X)" if self.batch_first else "(T, B, X)"
        if xs.ndim not in (2, 3) or xs.shape[-1] != self.input_size:
            raise ValueError(f"{owner}: xs must have shape {layout} or (T, X) with X = {self.input_size}, "
                             f"got {xs.shape}")
        if xs.name is None:
            xs.name = "xs"
        batched = xs.ndim == 3
        if batched and self.batch_first:
            xs = transpose(xs, axes=(1, 0, 2)).named("xs (T, B, X)")
        if xs.shape[0] == 0:
            raise ValueError(f"{owner}: xs must hold at least one step, got shape {xs.shape}")
        batch = xs.shape[1:2] if batched else ()
        states = self._initial(h0, batch)
        if not batched:  # one sequence: a batch of one, inside
            xs = xs.reshape(xs.shape[0], 1, self.input_size).named("xs (T, 1, X)")
            states = [tuple(s.reshape(1, s.shape[-1]) for s in state) for state in states]
        layer_input, finals, outputs = xs, [], []
        for layer, reverse, scope in self.layers():
            if not reverse:
                layer_input = self._dropped(layer, layer_input if layer == 0 else _joined(outputs, layer - 1))
                outputs = []
            hs, last = self._direction(layer_input, states[len(finals)], scope, reverse)
            outputs.append(hs)
            finals.append(last)
        output = _joined(outputs, self.num_layers - 1)
        count = len(finals)
        lasts = []
        for k, (state, width) in enumerate(zip(self.cell.states, self._widths(), strict=True)):
            each = [final[k] for final in finals]
            last = each[0] if count == 1 else stack(*each, axis=0).named(f"{state.letter}_n")
            if not batched:
                last = last.reshape(width) if count == 1 else last.reshape(count, width)
            lasts.append(last)
        if not batched:
            output = output.reshape(output.shape[0], output.shape[-1]).named("output")
        elif self.batch_first:
            output = transpose(output, axes=(1, 0, 2)).named("output")
        return output, (lasts[0] if len(lasts) == 1 else tuple(lasts))

    def _direction(self, xs: Tensor, state: tuple[Tensor, ...], scope: str,
                   reverse: bool) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One layer in one direction over xs (T, B, ·): (its h_t in the input's order of time, its last states)."""
        w = {name: self._params[scoped(scope, name)] for name in self._names()}
        w = {name: transpose(t).named(scoped(scope, f"{name}ᵀ")) if name.startswith("W") else t
             for name, t in w.items()}  # a batch of rows: x Wᵀ, transposed once per sequence
        for kind, tensor in zip(self.cell.states, state, strict=True):
            if tensor.name is None:
                tensor.name = scoped(scope, kind.before(0))
        T = xs.shape[0]
        hs = []
        for t in steps(range(T), "forward"):
            x = xs[T - 1 - t if reverse else t].named(scoped(scope, NodeName(t, None, INPUT)))
            state = self.cell.advance(w, x, state,
                                      lambda section, symbol, t=t: scoped(scope, NodeName(t, section, symbol)))
            hs.append(state[0])
        if reverse:
            hs.reverse()
        return stack(*hs, axis=0).named(scoped(scope, "hs")), state


def _joined(outputs: list[Tensor], layer: int) -> Tensor:
    """A layer's output: its one direction's h_t, or both directions' side by side (forward first)."""
    return outputs[0] if len(outputs) == 1 else concat(*outputs, axis=-1).named(f"l{layer}/output")


class GRU(Recurrent):
    """torch.nn.GRU (`cell="gru"`: gate order r, z, n; the reset gate multiplies W_hn h_{t−1} + b_hn) or Cho et
    al.'s GRU (`cell="gru-cho"`: the reset gate multiplies h_{t−1} before W_hn). `model(xs, h0)` → (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, cell: str = "gru",
                 dtype: Any = np.float64, seed: int | None = None) -> None:
        if cell not in ("gru", "gru-cho"):
            raise ValueError(f"GRU: cell must be 'gru' or 'gru-cho', got {cell!r}")
        super().__init__(cells.cell(cell), input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional, dtype=dtype, seed=seed)

    @classmethod
    def from_torch(cls, module: Any, *, cell: str = "gru") -> GRU:
        """A model with torch.nn.GRU `module`'s arguments, dtype and parameters."""
        model = cls(**_arguments_of(module), cell=cell, dtype=_dtype_of(module))
        model.load_state_dict(module.state_dict())
        return model


class ElmanRNN(Recurrent):
    """torch.nn.RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), or relu with `nonlinearity="relu"`;
    `model(xs, h0)` → (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = np.float64, seed: int | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{type(self).__name__}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(cells.cell(f"rnn-{nonlinearity}"), input_size, hidden_size, num_layers, bias=bias,
                         batch_first=batch_first, dropout=dropout, bidirectional=bidirectional, dtype=dtype, seed=seed)

    @classmethod
    def from_torch(cls, module: Any) -> ElmanRNN:
        """A model with torch.nn.RNN `module`'s arguments, nonlinearity, dtype and parameters."""
        model = cls(**_arguments_of(module), nonlinearity=module.nonlinearity, dtype=_dtype_of(module))
        model.load_state_dict(module.state_dict())
        return model


LSTM_CELLS = ("lstm", "lstm1997", "peephole", "cifg")


class LSTM(Recurrent):
    """torch.nn.LSTM and its variants, any number of layers and directions: `model(xs, (h0, c0))` → (output,
    (h_n, c_n)), h_n (D·num_layers, B, H_out), c_n (D·num_layers, B, H) (the one-layer exception: (B, H_out),
    (B, H)). `cell`: "lstm" (torch's, gate order i, f, g, o), "lstm1997" (no forget gate), "peephole" (Gers et
    al. 2002; state-dict keys weight_ci_l0, weight_cf_l0, weight_co_l0 of this project's own), "cifg" (f = 1 − i).
    `proj_size` P > 0: h_t = W_hr (o_t ⊙ tanh c_t), torch's weight_hr_l0, h P wide.

    `lstm.LSTM` builds one of these for every configuration but the default one-layer LSTM, which stays
    `lstm.model.sequence.LSTM` with its twelve named parameters."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 cell: str = "lstm", dtype: Any = np.float64, seed: int | None = None) -> None:
        if cell not in LSTM_CELLS:
            raise ValueError(f"LSTM: cell must be one of {', '.join(map(repr, LSTM_CELLS))}, got {cell!r}")
        super().__init__(cells.cell(cell), input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional, proj_size=proj_size, dtype=dtype, seed=seed)

    @classmethod
    def from_torch(cls, module: Any, *, cell: str = "lstm") -> LSTM:
        """A model with torch.nn.LSTM `module`'s arguments (proj_size too), dtype and parameters."""
        model = cls(**_arguments_of(module), proj_size=module.proj_size, cell=cell, dtype=_dtype_of(module))
        model.load_state_dict(module.state_dict())
        return model


def _arguments_of(module: Any) -> dict[str, Any]:
    return {name: getattr(module, name) for name in ("input_size", "hidden_size", "num_layers", "bias",
                                                      "batch_first", "dropout", "bidirectional")}


def _dtype_of(module: Any) -> Any:
    return np.float32 if str(next(iter(module.parameters())).dtype) == "torch.float32" else np.float64
