"""Engine tensors to a Graphviz Digraph: a node per tensor, an edge per operand, the partial on every edge.

Each edge is labeled with the local partial that the primitive declares in `autograd.ops`, the same
declaration the reverse pass runs, so the picture cannot drift from the math. The renderer knows only the
engine: where a tensor is drawn, what it is called and what kind it is come from a `describe` hook (a model's
views give theirs); by default a tensor is called by its name, or by its primitive.

The partial sits in a small node of its own on the edge, not in Graphviz's edge label, which the spline is free to
run through: an edge goes from the operand into its label and out of it to the result, so it never crosses it.
A transpose of a leaf (a weight read as Wᵀ) is not a node: the leaf is drawn as what it is and the edge's label
says it is read transposed. A tensor described as a parameter or an input is drawn as a leaf, whatever computed it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from autograd import Tensor
from autograd.files import atomic_write
from autograd.graph import walk
from viz.labels import array_text, escape, partial_label, plain_text, rich, tooltip
from viz.render import FORMATS, layout, to_svg

Kinds = dict[str, tuple[str, str]]  # node kind → (header colour, what the legend calls it)
KINDS: Kinds = {
    "parameter": ("#c6dbef", "parameter"),
    "input": ("#e0e0e0", "input or constant"),
    "intermediate": ("#ffffff", "intermediate"),
}
LEAVES = ("parameter", "input")  # kinds drawn as leaves: what computed them is not drawn
# ‖∇‖ by decade, strong to light: the fill of a node's gradient row and the width of its outgoing edges.
GRADIENT_SCALE = ((1e1, "#d7301f"), (1e0, "#ef6548"), (1e-1, "#fc8d59"), (1e-2, "#fdbb84"), (1e-3, "#fdd49e"),
                  (1e-4, "#fee8c8"), (0.0, "#fff7ec"))
# A gradient holding NaN or ±∞, which no decade describes: what exploding gradients end as.
NOT_FINITE = ("#b3a2d9", "NaN or ±∞")
EDGE_FONT_SIZE = 10


@dataclass(frozen=True)
class Cluster:
    """A box drawn around tensors: `key` names it in the DOT source, `rank` orders it among its siblings; an
    outline groups other boxes, a filled box groups nodes."""

    key: str
    label: str
    rank: int = 0
    outline: bool = False


@dataclass(frozen=True)
class Look:
    """How one tensor is drawn: its title, the boxes it sits in (outermost first) and its kind (a key of the
    kinds table; None: parameter, input or intermediate, as the tensor itself says).

    `read_as` maps a box's key to the symbol the tensors inside that box read this one as (step t + 1 reads step
    t's h_t as h_{t−1}); `indexed` is the symbol with its indices written in (h_{2}), for tooltips.
    """

    symbol: str
    clusters: tuple[Cluster, ...] = ()
    kind: str | None = None
    read_as: Mapping[str, str] = field(default_factory=dict)
    indexed: str | None = None


Describe = Callable[[Tensor], Look]
Place = tuple[Cluster, ...]
Entry = tuple[Place, str, dict[str, str]]  # where a node goes, its id, its attributes


def plain(tensor: Tensor) -> Look:
    """What the engine alone knows of a tensor: its name, or its primitive's symbol."""
    return Look(tensor.name or (tensor.op.symbol if tensor.op else "const"))


class Graph(graphviz.Digraph):
    """A Digraph drawn by the Graphviz that pygraphviz bundles, never a system `dot`: in a notebook (SVG), and by
    its own `pipe`, `render` and `view` (formats svg, png, dot; svg by default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", "svg")
        super().__init__(*args, **kwargs)

    def _repr_mimebundle_(self, include=None, exclude=None, **_) -> dict[str, str]:
        return {"image/svg+xml": to_svg(self)}

    def pipe(self, format: str | None = None, renderer: str | None = None, formatter: str | None = None,
             neato_no_op: bool | int | None = None, quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None) -> bytes | str:
        """The picture as bytes (str with `encoding`)."""
        _bundled_only("pipe", renderer=renderer, formatter=formatter, neato_no_op=neato_no_op, engine=engine)
        fmt = _format("pipe", format or self.format)
        data = self.source.encode() if fmt == "dot" else layout(self, fmt)
        return data if encoding is None else data.decode(encoding)

    def render(self, filename: str | os.PathLike | None = None, directory: str | os.PathLike | None = None,
               view: bool = False, cleanup: bool = False, format: str | None = None, renderer: str | None = None,
               formatter: str | None = None, neato_no_op: bool | int | None = None, quiet: bool = False,
               quiet_view: bool = False, *, outfile: str | os.PathLike | None = None, engine: str | None = None,
               raise_if_result_exists: bool = False, overwrite_source: bool = False) -> str:
        """As graphviz's `render`: the source saved (unless `cleanup`), the picture written to `outfile` or beside
        the source (`Digraph.gv.svg`), its path returned, and opened with `view`. The picture is laid out first, so
        a failure leaves no file behind."""
        _bundled_only("render", renderer=renderer, formatter=formatter, neato_no_op=neato_no_op, engine=engine)
        folder = Path(self.directory if directory is None else directory)
        if outfile is not None:
            outfile = folder / outfile
            format = format or outfile.suffix.lstrip(".") or None
        fmt = _format("render", format or self.format)
        source = folder / (filename or (outfile.with_suffix(".gv").name if outfile else self.filename))
        target = outfile or source.with_name(f"{source.name}.{fmt}")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"Graph.render: {target} exists")
        picture = self.pipe(fmt)
        target.parent.mkdir(parents=True, exist_ok=True)  # as graphviz's render does: `directory` may be new
        source.parent.mkdir(parents=True, exist_ok=True)
        if not cleanup:
            with atomic_write(source) as file:
                file.write(self.source.encode())
        with atomic_write(target) as file:
            file.write(picture)
        if view or quiet_view:
            graphviz.view(os.fspath(target), quiet=quiet_view)
        return os.fspath(target)


def _bundled_only(method: str, **options: object) -> None:
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ValueError(f"Graph.{method}: {', '.join(given)} cannot be chosen: pictures are laid out by dot in "
                         "the Graphviz that pygraphviz bundles")


def _format(method: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"Graph.{method}: format must be one of {', '.join(FORMATS)} (what the bundled Graphviz "
                         f"writes here), got {fmt!r}")
    return fmt


@dataclass
class Node:
    tensor: Tensor
    index: int
    look: Look
    places: list[Place] = field(default_factory=list)  # where it is drawn: one copy per place

    @property
    def symbol(self) -> str:
        return self.look.symbol

    @property
    def kind(self) -> str:
        tensor = self.tensor
        if self.look.kind is not None:
            return self.look.kind
        if tensor.op is not None:
            return "intermediate"
        return "parameter" if tensor.requires_grad and tensor.name and not self.look.clusters else "input"

    @property
    def leaf(self) -> bool:
        return self.tensor.op is None or self.kind in LEAVES

    @property
    def folded(self) -> bool:
        """A transpose of a leaf: drawn on its readers' edges, not as a node."""
        tensor = self.tensor
        return tensor.op is not None and tensor.op.name == "transpose" and tensor.parents[0].op is None

    def id(self, place: Place) -> str:
        return f"n{self.index}" if len(self.places) == 1 else f"n{self.index}_{self.places.index(place)}"

    def read_by(self, reader: Node) -> str:
        """The symbol `reader` reads this tensor as."""
        keys = [cluster.key for cluster in reversed(reader.look.clusters)]
        return next((self.look.read_as[key] for key in keys if key in self.look.read_as), self.symbol)


def _finite(grad: np.ndarray) -> bool:
    return bool(np.isfinite(grad).all())


def gradient_colour(grad: np.ndarray | None) -> str | None:
    if grad is None:
        return None
    if not _finite(grad):
        return NOT_FINITE[0]
    with np.errstate(over="ignore"):  # a norm past 1e308 is still the top decade
        norm = float(np.linalg.norm(grad))
    return next(colour for bound, colour in GRADIENT_SCALE if norm >= bound)


def checked_roots(roots: tuple, who: str, hint: str = "") -> tuple[Tensor, ...]:
    """The tensors a picture starts from, or a TypeError saying that a picture is of Tensors (`hint`: which ones,
    in the caller's words)."""
    wrong = [root for root in roots if not isinstance(root, Tensor)]
    if wrong or not roots:
        got = type(wrong[0]).__name__ if wrong else "nothing"
        raise TypeError(f"{who}: expected Tensors, the results of engine operations whose graph to draw"
                        f"{f' (e.g. {hint})' if hint else ''}, got {got}")
    return roots


def new_graph(title: str | None, rankdir: str = "LR") -> Graph:
    graph = Graph(graph_attr={"rankdir": rankdir, "fontname": "DejaVu Sans", "nodesep": "0.25", "ranksep": "0.3",
                              "newrank": "true", "labelloc": "t", "fontsize": "16"},
                  node_attr={"shape": "plaintext", "fontname": "DejaVu Sans", "fontsize": "10"},
                  edge_attr={"color": "#555555", "arrowsize": "0.7"})
    if title:
        graph.attr(label=f"<{title_label(title)}>")
    return graph


def title_label(title: str) -> str:
    """A title; its lines after the first (a loss explained, a bug's meaning) set smaller."""
    first, *rest = title.split("\n")
    return "<BR/>".join([rich(first), *(f'<FONT POINT-SIZE="12">{rich(line)}</FONT>' for line in rest)])


def draw(
    *roots: Tensor,
    describe: Describe = plain,
    kinds: Kinds = KINDS,
    only: Iterable[str] | None = None,
    highlight: Iterable[str] = (),
    max_elements: int = 8,
    title: str | None = None,
    share: str = "through the edges drawn",
) -> Graph:
    """The graph that computed `roots`, after a backward with `retain_grads=True` if gradients should show.

    `describe` places and names each tensor; `only` keeps the tensors inside the clusters of those keys (and
    the tensors they read); `highlight` names tensors (full names) to outline in red.

    A tensor's gradient is the sum over every tensor that reads it. Where some readers are not drawn (`only`
    leaves them out, or they lie outside the roots' history), the node shows that total as "∇ total" and, under
    it, the part its drawn edges carry, "∇ " + `share`: each drawn edge's partial applied to its reader's
    gradient, so the chain rule can be checked on the edges in sight.
    """
    tensors = walk(checked_roots(roots, "draw"))
    nodes = {id(tensor): Node(tensor, i, describe(tensor)) for i, tensor in enumerate(tensors)}
    operands = {key: [] if n.leaf else [_source(p, nodes) for p in n.tensor.parents] for key, n in nodes.items()}
    drawn = {id(root) for root in roots}
    for tensor in reversed(tensors):  # readers before what they read
        if id(tensor) in drawn:
            drawn.update(id(p.tensor) for p in operands[id(tensor)])
    keep = drawn
    if only is not None:
        wanted = set(only)
        inside = {key for key in drawn if wanted & {cluster.key for cluster in nodes[key].look.clusters}}
        keep = inside | {id(p.tensor) for key in inside for p in operands[key]}
    _place(tensors, nodes, keep, operands)
    kept = [n for n in nodes.values() if id(n.tensor) in keep]
    shares = _shares(tensors, nodes, keep)

    graph = new_graph(title)
    labels = {id(n): _node_label(n, kinds, max_elements, n.tensor.name in highlight, (share, shares.get(id(n.tensor))))
              for n in kept}
    entries = [(place, n.id(place), {"label": f"<{labels[id(n)]}>",
                                     "tooltip": _node_tooltip(n)})
               for n in kept for place in n.places]
    edges = []
    for child in kept:
        if child.leaf:
            continue
        for place in child.places:
            entries_, edges_ = _edges(child, place, nodes, operands[id(child.tensor)], keep)
            entries += entries_
            edges += edges_
    _add_clusters(graph, entries, ())
    for tail, head, attributes in edges:
        graph.edge(tail, head, **attributes)
    graph.node("legend", f"<{legend(kinds)}>")
    return graph


def _shares(tensors: list[Tensor], nodes: dict[int, Node], keep: set[int]) -> dict[int, np.ndarray]:
    """For each kept tensor whose gradient is not all carried by the edges drawn out of it: the part they carry,
    Σ over its drawn readers of the edge's vector-Jacobian product (through a folded transpose, that of the
    transpose too). A tensor none of whose readers is drawn, or whose drawn edges carry all of it, has none."""
    parts: dict[int, list[np.ndarray | None]] = {}
    for tensor in tensors:
        reader = nodes[id(tensor)]
        if id(tensor) not in keep or reader.leaf:
            continue
        for k, operand in enumerate(tensor.parents):
            through = nodes[id(operand)]
            source = operand.parents[0] if through.folded else operand
            if id(source) not in keep or source.grad is None:
                continue
            if tensor.grad is None:
                parts.setdefault(id(source), []).append(None)
                continue
            part = tensor.op.vjp(k, tensor.grad, tensor)
            if through.folded:
                part = operand.op.vjp(0, part, operand)
            parts.setdefault(id(source), []).append(part)
    shares = {}
    for key, found in parts.items():
        if any(part is None for part in found):
            continue
        total, part = next(t.grad for t in tensors if id(t) == key), sum(found)
        if _finite(total) and not np.allclose(part, total, rtol=1e-9, atol=1e-12):
            shares[key] = part
    return shares


def _source(operand: Tensor, nodes: dict[int, Node]) -> Node:
    """The node drawn for an operand: the leaf itself where the operand is its transpose."""
    n = nodes[id(operand)]
    return nodes[id(operand.parents[0])] if n.folded else n


def _edges(child: Node, place: Place, nodes: dict[int, Node], sources: list[Node],
           keep: set[int]) -> tuple[list[Entry], list[tuple[str, str, dict[str, str]]]]:
    """The label nodes (in the child's box) and the edges through them, for each operand of `child` at `place`."""
    tensor = child.tensor
    parents = [nodes[id(p)] for p in tensor.parents or ()]
    names = [p.read_by(child) for p in parents]
    indexed = [p.look.indexed or p.symbol for p in parents]
    where = " / ".join(cluster.label for cluster in place)
    entries, edges = [], []
    for k, (parent, source) in enumerate(zip(parents, sources, strict=True)):
        if id(source.tensor) not in keep:
            continue
        formula = tensor.op.formula(k, names).replace("ᵀᵀ", "")  # (Wᵀ)ᵀ = W
        written = tensor.op.formula(k, indexed).replace("ᵀᵀ", "")
        through = " (read transposed)" if parent.folded else ""
        tip = plain_text(f"{where + ': ' if where else ''}∇_{{{indexed[k]}}} {child.look.indexed or child.symbol} = "
                         f"{written}   ({tensor.op.name}{through})")
        label = f"{child.id(place)}_{k}"
        entries.append((place, label, {"label": f"<{partial_label(names[k], child.symbol, formula)}>",
                                       "tooltip": tip, "fontsize": str(EDGE_FONT_SIZE), "margin": "0.03,0.02",
                                       "height": "0", "width": "0"}))
        width = edge_width(tensor.grad)
        from_place = place if place in source.places else source.places[0]
        edges.append((source.id(from_place), label, {"penwidth": width, "tooltip": tip, "arrowhead": "none"}))
        edges.append((label, child.id(place), {"penwidth": width, "tooltip": tip}))
    return entries, edges


def _add_clusters(parent: graphviz.Digraph, entries: list[Entry], path: Place) -> None:
    """The nodes drawn directly in `path`, then the boxes inside it (by rank), each with what it holds."""
    depth = len(path)
    for place, name, attributes in entries:
        if len(place) == depth:
            parent.node(name, **attributes)
    inner: dict[Cluster, list[Entry]] = {}
    for entry in entries:
        if len(entry[0]) > depth:
            inner.setdefault(entry[0][depth], []).append(entry)
    for cluster in sorted(inner, key=lambda c: (c.rank, c.key)):
        # a key is the describe hook's to choose: quotes and backslashes would end the DOT name early
        name = "_".join(["cluster", *(c.key for c in (*path, cluster))]).replace("\\", "_").replace('"', "_")
        box = graphviz.Digraph(name=name)
        label = f"<{escape(cluster.label)}>"
        if cluster.outline:
            box.attr(label=label, style="rounded", color="#999999", fontsize="14")
        else:
            box.attr(label=label, style="rounded,filled", fillcolor="#f7f7f7", color="#bbbbbb", fontsize="12")
        _add_clusters(box, inner[cluster], (*path, cluster))
        parent.subgraph(box)


def _place(tensors: list[Tensor], nodes: dict[int, Node], keep: set[int], operands: dict[int, list[Node]]) -> None:
    """Where each node is drawn: in its own clusters; a tensor of no cluster (a parameter) beside what reads it,
    inside the one cluster that reads it, or, when several read it, one copy in each, so no edge crosses the
    whole picture."""
    readers: dict[int, list[Place]] = {}
    for tensor in reversed(tensors):  # readers before what they read
        n = nodes[id(tensor)]
        if id(tensor) not in keep:
            continue
        n.places = [n.look.clusters]
        if not n.look.clusters and readers.get(id(tensor)):
            n.places = list(dict.fromkeys(readers[id(tensor)]))
        for p in operands[id(tensor)]:
            readers.setdefault(id(p.tensor), []).extend(n.places)


def _node_label(n: Node, kinds: Kinds, limit: int, highlighted: bool,
                share: tuple[str, np.ndarray | None] = ("", None)) -> str:
    tensor = n.tensor
    header = f"<B>{rich(n.symbol)}</B>"
    if not n.leaf:
        header += f"  <FONT POINT-SIZE='9' COLOR='#555555'>{rich(tensor.op.name)}</FONT>"
    if len(n.places) > 1:
        header += "  <FONT POINT-SIZE='8' COLOR='#555555'>shared: ∇ sums all uses</FONT>"
    border = 'BORDER="3" COLOR="#d62728"' if highlighted else 'BORDER="1"'
    mono = '<FONT FACE="DejaVu Sans Mono" POINT-SIZE="9">'
    rows = [f'<TR><TD BGCOLOR="{kinds[n.kind][0]}">{header}</TD></TR>',
            f'<TR><TD><FONT POINT-SIZE="9">shape {tensor.shape}</FONT></TD></TR>',
            f'<TR><TD ALIGN="LEFT">{mono}{_lines(array_text(tensor.data, limit))}</FONT></TD></TR>']
    words, part = share
    if tensor.grad is not None:
        total = "∇ total " if part is not None else "∇ "
        rows.append(f'<TR><TD ALIGN="LEFT" BGCOLOR="{gradient_colour(tensor.grad)}">{mono}{total}'
                    f'{_lines(array_text(tensor.grad, limit))}</FONT></TD></TR>')
    if part is not None:
        rows.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" BGCOLOR="{gradient_colour(part)}"><FONT POINT-SIZE="9">'
                    f'∇ {rich(words)}</FONT><BR ALIGN="LEFT"/>{mono}{_lines(array_text(part, limit))}</FONT></TD></TR>')
    return f'<TABLE {border} CELLBORDER="0" CELLSPACING="0" CELLPADDING="4">{"".join(rows)}</TABLE>'


def _lines(lines: list[str]) -> str:
    return "<BR ALIGN='LEFT'/>".join(rich(line) for line in lines)


def _node_tooltip(n: Node) -> str:
    tensor = n.tensor
    text = f"{tensor.name or n.symbol}  shape {tensor.shape}\nvalue:\n{tooltip(tensor.data)}"
    if tensor.grad is not None:
        text += f"\ngrad:\n{tooltip(tensor.grad)}"
    return plain_text(text)


def edge_width(grad: np.ndarray | None) -> str:
    if grad is None:
        return "1"
    if not _finite(grad):
        return "4.6"  # the widest, as for the top decade
    with np.errstate(over="ignore"):
        norm = float(np.linalg.norm(grad))
    return f"{1 + 0.6 * np.clip(np.log10(norm + 1e-30) + 4, 0, 6):.2f}"


def legend(kinds: Kinds = KINDS, edge: str = "∇_{operand} result = the primitive's declared local partial") -> str:
    """What the colours mean: the node kinds, ‖∇‖ by decade (and NaN or ∞), and what an edge carries."""
    cells = "".join(f'<TD BGCOLOR="{colour}" BORDER="1">{rich(text)}</TD>' for colour, text in kinds.values())
    lowest = GRADIENT_SCALE[-2][0]
    scale = "".join(
        f'<TD BGCOLOR="{colour}" BORDER="1">{f"≥ {bound:g}" if bound else f"&lt; {lowest:g}"}</TD>'
        for bound, colour in GRADIENT_SCALE
    ) + f'<TD BGCOLOR="{NOT_FINITE[0]}" BORDER="1">{NOT_FINITE[1]}</TD>'
    return ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="3">'
            f'<TR><TD ALIGN="RIGHT"><B>node</B></TD>{cells}</TR>'
            f'<TR><TD ALIGN="RIGHT"><B>‖∇‖</B> (fill, edge width)</TD>{scale}</TR>'
            f'<TR><TD ALIGN="RIGHT"><B>edge</B></TD><TD COLSPAN="{len(GRADIENT_SCALE) + 1}" ALIGN="LEFT">'
            f"{rich(edge)}</TD></TR></TABLE>")
