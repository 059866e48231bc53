"""Small worked examples: a cell run forward and backward, drawn one section at a time."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from autograd import Tensor
from lstm import LSTM, NAMES, hand
from lstm.compare import disagreeing
from lstm.hand import Derivation
from viz.graph import Graph, collect, draw
from viz.render import write
from viz.timeline import draw_timeline

# --gate names → the derivation's sections (None: the whole cell)
SECTIONS = {
    "input": "input gate",
    "forget": "forget gate",
    "output": "output gate",
    "gate": "gate gate",
    "cell": "cell state update",
    "hidden": "hidden state update",
    "all": None,
}


def render_gate(
    name: str,
    *,
    input_size: int = 2,
    hidden_size: int = 2,
    batch: int | None = None,
    length: int = 1,
    seed: int = 0,
    collapse: bool | None = None,
    derivation: Derivation | None = None,
    highlight: tuple[str, ...] = (),
) -> Graph:
    """A seeded LSTM on a random sequence of `length` steps, loss Σ_t h_t·R_t, backward, and the graph of one
    section.

    With `collapse` (by default when length > 3) the sequence is drawn one node per step instead. With a
    `derivation` (a hand BPTT: a bug's, `lstm.bugs.BUGS[name].derivation`, or any variant of
    `lstm.hand.DERIVATION`) the nodes where its gradient disagrees with the engine's are outlined in red, as are
    the tensors `highlight` names.
    """
    if name not in SECTIONS:
        raise ValueError(f"render_gate: gate must be one of {', '.join(SECTIONS)}, got {name!r}")
    for label, size in (("length", length), ("batch", 1 if batch is None else batch)):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"render_gate: {label} must be a positive integer, got {size!r}")
    model = LSTM(input_size, hidden_size, seed=seed)
    rng = np.random.default_rng(seed + 1)
    batch_shape = () if batch is None else (batch,)
    xs = rng.standard_normal((length, *batch_shape, input_size))
    # a state from earlier steps, so that no gradient in the picture is zero merely because h_0 = 0
    state = tuple(Tensor(rng.uniform(-0.5, 0.5, (*batch_shape, hidden_size)), requires_grad=True) for _ in "hc")
    hs, (h_T, c_T) = model(xs, state)
    upstream = rng.standard_normal(hs.shape)
    (hs * upstream).sum().backward(retain_grads=True)
    section = SECTIONS[name]
    if derivation is not None:
        highlight = (*highlight, *_disagreements(derivation, model, xs, state, upstream, [hs]))
    roots = [h_T, c_T] if length == 1 else [hs]
    title = f"{section or 'LSTM cell'}: X={input_size} H={hidden_size}" + (f" B={batch}" if batch else "") + \
        (f" T={length}" if length > 1 else "") + "; loss Σ_t h_t·R_t"
    if derivation is not None:
        title += f"; derivation {derivation.name or 'given'}: red = the hand gradient disagrees"
    if collapse or (collapse is None and length > 3):
        return draw_timeline(hs, title=title)
    return draw(*roots, sections=None if section is None else [section], highlight=highlight, title=title)


def _disagreements(derivation: Derivation, model: LSTM, xs, state, upstream, roots) -> list[str]:
    """Full names of the tensors whose gradient the hand BPTT by `derivation` gets wrong."""
    grads, trace = hand.bptt(model.arrays(), xs, state[0].data, state[1].data, upstream, derivation=derivation)
    engine = {t.name: t.grad for t in collect(roots) if t.name and t.grad is not None}
    return disagreeing(engine, {**trace, **{name: grads[name] for name in NAMES}})


def render_all(folder: str | os.PathLike, fmt: str = "svg", **options) -> list[Path]:
    """One file per section (input.svg … hidden.svg) and the whole cell (all.svg) into `folder`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"render: with --gate all, -o must be a folder; {folder} is a file")
    folder.mkdir(parents=True, exist_ok=True)
    return [write(render_gate(name, **options), folder / f"{name}.{fmt}", fmt) for name in SECTIONS]
