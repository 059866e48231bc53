"""The explorer's page: what it reads from a graph, and the one self-contained HTML file it writes.

`explore(*roots)` reads a graph after `backward(retain_grads=True)`: every tensor's value and gradient (the
engine's), the order of the engine's own reverse pass (`autograd.graph.walk` reversed, the very function
`backward_pass` walks), and along every edge the local partial its primitive declares: the formula, and the
numbers of the same declaration's vjp applied to the gradient that arrived. The page (the script, style and
math font beside this module, written into the file) steps through the forward pass, then the backward pass;
nothing in it loads from a network.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.files import atomic_write, check_destination, streamed
from autograd.graph import walk
from viz.explorer.layout import scene
from viz.graph import GRADIENT_SCALE, KINDS, NOT_FINITE, Describe, Kinds, Node, gradient_colour, plain
from viz.mathml import math, prose

ASSETS = Path(__file__).parent  # the page's template, script, style and font
STORED = 1024  # elements of an array written into the page in full; a larger one as its norm, min and max
# how a primitive's forward reads, by its symbol: between its operands, or after its one operand
INFIX = {"+": " + ", "−": " − ", "⊙": " ⊙ ", "/": " / ", "@": " "}


@dataclass(frozen=True)
class Audit:
    """One local partial checked on its own: the partial as the derivation writes it, pass or fail, and how."""

    label: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Check:
    """An independent witness of one tensor's gradient, shown in its ledger beside the engine's: `gradient` as
    the witness computed it, `measures` (label, value) of the agreement, the verdict and where it comes from."""

    witness: str
    gradient: np.ndarray | None
    measures: tuple[tuple[str, str], ...]
    passed: bool
    source: str = ""
    audits: tuple[Audit, ...] = ()


class Explorer:
    """One graph's forward and backward pass, step by step, as a self-contained page: `save("page.html")` writes
    it; in a notebook it shows itself in a frame of its own."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __repr__(self) -> str:
        return (f"<Explorer: {len(self.data['nodes'])} tensors, {len(self.data['forward'])} forward and "
                f"{len(self.data['backward'])} backward steps; .save('page.html') to open it in a browser>")

    def html(self) -> str:
        """The page: one HTML file holding its script, its style, its math font and the graph's data."""
        pieces = {"STYLE": (ASSETS / "explorer.css").read_text(encoding="utf-8"),
                  # the math font travels inside the page, so its formulas typeset alike on every machine
                  "FONT": base64.b64encode((ASSETS / "math.woff2").read_bytes()).decode("ascii"),
                  "SCRIPT": (ASSETS / "explorer.js").read_text(encoding="utf-8"),
                  "TITLE": html.escape(self.data["plain_title"]),
                  # "</" inside a script element would end it: written "<\/", which JSON reads as "</"
                  "DATA": json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
                  .replace("</", "<\\/")}
        template = (ASSETS / "explorer.html").read_text(encoding="utf-8")
        return re.sub(r"<!--(FONT|STYLE|SCRIPT|TITLE|DATA)-->", lambda m: pieces[m.group(1)], template)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page to `path` (whole or not at all)."""
        path = page_destination(path)
        with atomic_write(path) as file:
            file.write(self.html().encode("utf-8"))
        return path

    def _repr_html_(self) -> str:
        # The page in a frame of its own (srcdoc, scripts allowed, no access to the notebook): its keys (← → space),
        # ids and style stay apart from the notebook's and from other explorers in it. Jupyter runs a trusted
        # output's scripts either way and an untrusted one's neither way; in a frame it runs as a saved page does.
        title = html.escape(self.data["plain_title"])
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" title="{title}" sandbox="allow-scripts" '
                'style="width: 100%; height: 760px; border: 1px solid #ccc"></iframe>')


def page_destination(path: str | os.PathLike) -> Path:
    """Where a page can go, refused before any work otherwise: a file named .html or .htm (a page is HTML; one
    named x.svg would open as a broken picture) whose folder exists and takes new files; or `-`, a device or FIFO."""
    path = check_destination(path, stdout=True)
    if not streamed(path) and path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"explore: the page is HTML; give a file name ending in .html, got {path}")
    return path


class _Maths:
    """Each distinct formula typeset once; the page refers to it by number."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[tuple[str, bool], int] = {}

    def __call__(self, text: str, words: bool = False) -> int:
        key = (text, words)
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(prose(text) if words else math(text))
        return self.index[key]


def encode(a: np.ndarray | None) -> dict[str, Any] | None:
    """An array for the page: its shape and every element (shortest exact decimal), or past STORED elements its
    norm, min and max; NaN and infinities as text, which JSON has no numbers for."""
    if a is None:
        return None
    a = np.asarray(a)
    out: dict[str, Any] = {"s": list(a.shape)}
    if a.size <= STORED:
        out["d"] = [_number(v) for v in a.ravel().tolist()]
    else:
        with np.errstate(all="ignore"):
            out.update(n=_number(float(np.linalg.norm(a))), lo=_number(float(np.min(a))), hi=_number(float(np.max(a))))
    return out


def _number(v: float) -> float | str:
    return v if np.isfinite(v) else ("NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))


def expression(tensor: Tensor, names: list[str]) -> str:
    """How the tensor was computed, e.g. `σ(p)`, `q + v + b_i`, `W_xi x_t`."""
    op = tensor.op
    if op.symbol in INFIX and len(names) > 1:
        return INFIX[op.symbol].join(names)
    if op.symbol == "ᵀ":
        return names[0][:-1] if names[0].endswith("ᵀ") else names[0] + "ᵀ"
    if op.name == "getitem":
        return f"{names[0]}[{tensor.params['index']}]"
    if len(names) > 3:
        return f"{op.symbol}({names[0]}, …, {names[-1]})"
    return f"{op.symbol}({', '.join(names)})"


def _require_gradients(tensors: list[Tensor]) -> None:
    for tensor in tensors:
        label = f"tensor {tensor.name!r}" if tensor.name else f"a tensor of shape {tensor.shape}"
        if tensor.op is not None and tensor.parents is None:
            raise RuntimeError(f"explore: the graph through {label} was freed by backward; call "
                               "backward(retain_grads=True), which keeps the graph and every gradient")
        if tensor.requires_grad and tensor.grad is None:
            raise ValueError(f"explore: {label} has no gradient; call backward(retain_grads=True) on the root "
                             "first, so every tensor keeps its gradient")


def explore(
    *roots: Tensor,
    describe: Describe = plain,
    kinds: Kinds = KINDS,
    title: str | None = None,
    checks: Mapping[str, Check] | None = None,
    marks: Iterable[str] = (),
    mark_note: str = "",
    collapsed: Iterable[str] | None = None,
    max_elements: int = 8,
    hint: str = "",
) -> Explorer:
    """The explorer of the graph that computed `roots` (the tensor backward was called on), after
    `backward(retain_grads=True)`.

    `describe` places and names each tensor (as for `viz.graph.draw`; its `read_as` names an operand as the
    boxes that read it do, a state read as the previous one by the next step); `checks` (by full name) an
    independent witness of a gradient for the ledger; `marks` (full names) tensors to outline in red,
    `mark_note` says why; `collapsed` the keys of the boxes that open shut (default: the units, when there are
    more than three); `hint` a tensor's name, the example the page's jump box shows.
    """
    if not roots:
        raise ValueError("explore: give the tensor backward was called on, e.g. explore(loss)")
    for root in roots:
        if not isinstance(root, Tensor):
            raise TypeError(f"explore: expected Tensors, got {type(root).__name__}")
    tensors = walk(roots)
    _require_gradients(tensors)
    if not any(t.requires_grad for t in tensors):
        raise ValueError("explore: nothing in this graph requires grad, so there is no backward pass to show; "
                         "create a leaf with requires_grad=True")
    index = {id(t): i for i, t in enumerate(tensors)}
    looks = [describe(t) for t in tensors]
    described = [Node(t, i, look) for i, (t, look) in enumerate(zip(tensors, looks, strict=True))]
    maths = _Maths()
    marked = set(marks)
    checks = checks or {}

    def called(tensor: Tensor, reader: Tensor) -> str:
        """What `reader` calls its operand `tensor` (its `read_as`)."""
        return described[index[id(tensor)]].read_by(described[index[id(reader)]])

    nodes = []
    for i, tensor in enumerate(tensors):
        look = looks[i]
        entry = {"name": tensor.name or "", "sym": maths(look.symbol), "op": tensor.op.name if tensor.op else "",
                 "kind": described[i].kind, "shape": list(tensor.shape), "dtype": str(tensor.dtype),
                 "value": encode(tensor.data), "grad": encode(tensor.grad), "colour": gradient_colour(tensor.grad),
                 "expr": None, "mark": tensor.name in marked, "check": None}
        if tensor.op is not None:
            operands = [called(p, tensor) for p in tensor.parents]
            entry["expr"] = maths(f"{look.symbol} = {expression(tensor, operands)}")
        if tensor.name in checks:
            entry["check"] = _check_data(checks[tensor.name], maths)
        nodes.append(entry)

    edges, arriving = _edges(tensors, index, looks, called, maths)
    for i, tensor in enumerate(tensors):
        nodes[i]["arrive"] = arriving[i]
        nodes[i]["outside"] = _outside(tensor, [edges[e] for e in arriving[i]], tensor in roots)

    backward = [i for i in reversed(range(len(tensors))) if tensors[i].requires_grad]
    data = {
        "title": prose(title or "the graph of " + ", ".join(looks[index[id(r)]].symbol for r in roots)),
        "plain_title": title or "explorer",
        "hint": hint,
        "nodes": nodes,
        "edges": [{k: v for k, v in edge.items() if k not in ("array", "text")} for edge in edges],
        "forward": list(range(len(tensors))),
        "backward": backward,
        "kinds": [[kind, colour, prose(label)] for kind, (colour, label) in kinds.items()],
        "scale": [[bound, colour] for bound, colour in GRADIENT_SCALE],
        "not_finite": list(NOT_FINITE),
        "marks": {"note": prose(mark_note) if mark_note else "",
                  "first": next((i for i in backward if nodes[i]["mark"]), None)},
    }
    data.update(scene(tensors, looks, called, edges, maths, collapsed, max_elements))
    data["limit"] = max_elements
    data["start"] = len(tensors)  # the page opens with the forward pass done, the backward pass about to start
    data["math"] = maths.items
    return Explorer(data)


def _edges(tensors, index, looks, called, maths) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """Every operand edge with its partial, and for each tensor the edges that bring its gradient in the order
    the reverse pass delivers them (the reader's turn comes in reversed walk order)."""
    edges: list[dict[str, Any]] = []
    by_reader: list[list[int]] = [[] for _ in tensors]
    for ci, child in enumerate(tensors):
        if child.op is None:
            continue
        names = [called(p, child) for p in child.parents]
        for k, parent in enumerate(child.parents):
            formula = child.op.formula(k, names).replace("ᵀᵀ", "")  # (Wᵀ)ᵀ = W
            label = f"∇_{{{names[k]}}} {looks[ci].symbol} = {formula}"
            contribution = None
            if parent.requires_grad:
                contribution = child.op.vjp(k, child.grad, child)  # the declaration the reverse pass runs
            edges.append({"p": index[id(parent)], "c": ci, "k": k, "f": maths(label), "text": label,
                          "g": encode(contribution), "array": contribution})
            by_reader[ci].append(len(edges) - 1)
    arriving: list[list[int]] = [[] for _ in tensors]
    for ci in reversed(range(len(tensors))):
        for e in by_reader[ci]:
            if edges[e]["array"] is not None:
                arriving[edges[e]["p"]].append(e)
    return edges, arriving


def _outside(tensor: Tensor, arrived: list[dict[str, Any]], is_root: bool) -> dict[str, Any] | None:
    """What the gradient holds beyond this graph's contributions: a root's seed, or, where backward ran more
    than once, what earlier passes left in .grad."""
    if tensor.grad is None:
        return None
    total = np.zeros_like(tensor.grad)
    for edge in arrived:
        total = total + edge["array"]
    with np.errstate(all="ignore"):
        rest = tensor.grad - total
        if not is_root and (np.array_equal(total, tensor.grad) or
                            np.allclose(total, tensor.grad, rtol=1e-12, atol=0, equal_nan=True)):
            return None
    return {"why": "seed" if is_root else "earlier", "g": encode(rest)}


def _check_data(check: Check, maths: _Maths) -> dict[str, Any]:
    """A check for the page, its words (the same in most ledgers) written once in the page's table."""
    return {"witness": maths(check.witness, True), "gradient": encode(check.gradient), "passed": check.passed,
            "measures": [[maths(label, True), value] for label, value in check.measures],
            "source": maths(check.source, True) if check.source else None,
            "audits": [[maths(a.label), a.passed, maths(a.detail, True)] for a in check.audits]}
