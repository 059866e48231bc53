"""Engine tensors to a Graphviz Digraph: a node per tensor, an edge per operand, the partial on every edge.

Each edge is labeled with the local partial that the primitive declares in `autograd.ops`, the same
declaration the reverse pass runs, so the picture cannot drift from the math. The renderer knows only the
engine: where a tensor is drawn, what it is called and what kind it is come from a `describe` hook (the
LSTM's is `viz.lstm_views.describe`); by default a tensor is called by its name, or by its primitive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import graphviz
import numpy as np

from autograd import Tensor
from autograd.graph import walk
from viz.labels import array_text, partial_label, rich, tooltip
from viz.render import to_svg

Kinds = dict[str, tuple[str, str]]  # node kind → (header colour, what the legend calls it)
KINDS: Kinds = {
    "parameter": ("#c6dbef", "parameter"),
    "input": ("#e0e0e0", "input or constant"),
    "intermediate": ("#ffffff", "intermediate"),
}
# ‖∇‖ by decade, strong to light: the fill of a node's gradient row and the width of its outgoing edges.
GRADIENT_SCALE = ((1e1, "#d7301f"), (1e0, "#ef6548"), (1e-1, "#fc8d59"), (1e-2, "#fdbb84"), (1e-3, "#fdd49e"),
                  (1e-4, "#fee8c8"), (0.0, "#fff7ec"))


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
    kinds table; None: parameter, input or intermediate, as the tensor itself says)."""

    symbol: str
    clusters: tuple[Cluster, ...] = ()
    kind: str | None = None


Describe = Callable[[Tensor], Look]
Place = tuple[Cluster, ...]


def plain(tensor: Tensor) -> Look:
    """What the engine alone knows of a tensor: its name, or its primitive's symbol."""
    return Look(tensor.name or (tensor.op.symbol if tensor.op else "const"))


class Graph(graphviz.Digraph):
    """A Digraph that shows itself as SVG in a notebook through the bundled renderer (no system `dot`)."""

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        return {"image/svg+xml": to_svg(self)}


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

    def id(self, place: Place) -> str:
        return f"n{self.index}" if len(self.places) == 1 else f"n{self.index}_{self.places.index(place)}"


def gradient_colour(grad: np.ndarray | None) -> str | None:
    if grad is None:
        return None
    norm = float(np.linalg.norm(grad))
    return next(colour for bound, colour in GRADIENT_SCALE if norm >= bound)


def checked_roots(roots: tuple, who: str) -> tuple[Tensor, ...]:
    """The tensors a picture starts from, or a TypeError saying that a picture is of Tensors."""
    wrong = [root for root in roots if not isinstance(root, Tensor)]
    if wrong or not roots:
        got = type(wrong[0]).__name__ if wrong else "nothing"
        raise TypeError(f"{who}: expected Tensors, the results of engine operations whose graph to draw (e.g. "
                        f"hs or h_T of a model's call), got {got}")
    return roots


def new_graph(title: str | None, rankdir: str = "LR") -> Graph:
    graph = Graph(graph_attr={"rankdir": rankdir, "fontname": "DejaVu Sans", "nodesep": "0.3", "ranksep": "0.9",
                              "newrank": "true", "labelloc": "t", "fontsize": "16"},
                  node_attr={"shape": "plaintext", "fontname": "DejaVu Sans", "fontsize": "10"},
                  edge_attr={"fontname": "DejaVu Sans", "fontsize": "10", "color": "#555555", "arrowsize": "0.7"})
    if title:
        graph.attr(label=f"<{rich(title)}>")
    return graph


def draw(
    *roots: Tensor,
    describe: Describe = plain,
    kinds: Kinds = KINDS,
    only: Iterable[str] | None = None,
    highlight: Iterable[str] = (),
    max_elements: int = 8,
    title: str | None = None,
) -> Graph:
    """The graph that computed `roots`, after a backward with `retain_grads=True` if gradients should show.

    `describe` places and names each tensor; `only` keeps the tensors inside the clusters of those keys (and
    the tensors they read); `highlight` names tensors (full names) to outline in red.
    """
    tensors = walk(checked_roots(roots, "draw"))
    nodes = {id(tensor): Node(tensor, i, describe(tensor)) for i, tensor in enumerate(tensors)}
    keep = set(nodes)
    if only is not None:
        wanted = set(only)
        inside = {key for key, n in nodes.items() if wanted & {cluster.key for cluster in n.look.clusters}}
        keep = inside | {id(p) for key in inside for p in (nodes[key].tensor.parents or ())}
    _place(tensors, nodes, keep)
    kept = [n for n in nodes.values() if id(n.tensor) in keep]

    graph = new_graph(title)
    _add_clusters(graph, [(n, place) for n in kept for place in n.places], (), kinds, max_elements, set(highlight))
    for child in kept:
        tensor = child.tensor
        if not tensor.op or not tensor.parents:
            continue
        names = [nodes[id(p)].symbol for p in tensor.parents]
        for place in child.places:
            for k, p in enumerate(tensor.parents):
                if id(p) not in keep:
                    continue
                parent = nodes[id(p)]
                source = place if place in parent.places else parent.places[0]
                formula = tensor.op.formula(k, names).replace("ᵀᵀ", "")  # (Wᵀ)ᵀ = W
                graph.edge(parent.id(source), child.id(place),
                           label=f"<{partial_label(names[k], child.symbol, formula)}>",
                           penwidth=edge_width(tensor.grad), tooltip=f"{tensor.op.name}: ∂{child.symbol}/∂{names[k]}")
    graph.node("legend", f"<{legend(kinds)}>")
    return graph


def _add_clusters(parent: graphviz.Digraph, members: list[tuple[Node, Place]], path: Place, kinds: Kinds,
                  limit: int, highlight: set[str]) -> None:
    """The nodes drawn directly in `path`, then the boxes inside it (by rank), each with what it holds."""
    depth = len(path)
    for n, place in sorted(((n, place) for n, place in members if len(place) == depth), key=lambda m: m[0].index):
        parent.node(n.id(place), f"<{_node_label(n, kinds, limit, n.tensor.name in highlight)}>",
                    tooltip=_node_tooltip(n))
    inner: dict[Cluster, list[tuple[Node, Place]]] = {}
    for n, place in members:
        if len(place) > depth:
            inner.setdefault(place[depth], []).append((n, place))
    for cluster in sorted(inner, key=lambda c: (c.rank, c.key)):
        box = graphviz.Digraph(name="_".join(["cluster", *(c.key for c in (*path, cluster))]))
        if cluster.outline:
            box.attr(label=cluster.label, style="rounded", color="#999999", fontsize="14")
        else:
            box.attr(label=cluster.label, style="rounded,filled", fillcolor="#f7f7f7", color="#bbbbbb",
                     fontsize="12")
        _add_clusters(box, inner[cluster], (*path, cluster), kinds, limit, highlight)
        parent.subgraph(box)


def _place(tensors: list[Tensor], nodes: dict[int, Node], keep: set[int]) -> None:
    """Where each node is drawn: in its own clusters; a tensor of no cluster (a parameter) beside what reads it,
    inside the one cluster that reads it, or, when several read it, one copy in each, so no edge crosses the
    whole picture."""
    readers: dict[int, list[Place]] = {}
    for tensor in reversed(tensors):  # readers before what they read, so W_xiᵀ is placed before W_xi
        n = nodes[id(tensor)]
        if id(tensor) not in keep:
            continue
        n.places = [n.look.clusters]
        if not n.look.clusters and readers.get(id(tensor)):
            n.places = list(dict.fromkeys(readers[id(tensor)]))
        for p in tensor.parents or ():
            readers.setdefault(id(p), []).extend(n.places)


def _node_label(n: Node, kinds: Kinds, limit: int, highlighted: bool) -> str:
    tensor = n.tensor
    header = f"<B>{rich(n.symbol)}</B>"
    if tensor.op:
        header += f"  <FONT POINT-SIZE='9' COLOR='#555555'>{rich(tensor.op.name)}</FONT>"
    if len(n.places) > 1:
        header += "  <FONT POINT-SIZE='8' COLOR='#555555'>shared: ∇ sums all uses</FONT>"
    border = 'BORDER="3" COLOR="#d62728"' if highlighted else 'BORDER="1"'
    mono = '<FONT FACE="DejaVu Sans Mono" POINT-SIZE="9">'
    rows = [f'<TR><TD BGCOLOR="{kinds[n.kind][0]}">{header}</TD></TR>',
            f'<TR><TD><FONT POINT-SIZE="9">shape {tensor.shape}</FONT></TD></TR>',
            f'<TR><TD ALIGN="LEFT">{mono}{_lines(array_text(tensor.data, limit))}</FONT></TD></TR>']
    if tensor.grad is not None:
        rows.append(f'<TR><TD ALIGN="LEFT" BGCOLOR="{gradient_colour(tensor.grad)}">{mono}∇ '
                    f'{_lines(array_text(tensor.grad, limit))}</FONT></TD></TR>')
    return f'<TABLE {border} CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">{"".join(rows)}</TABLE>'


def _lines(lines: list[str]) -> str:
    return "<BR ALIGN='LEFT'/>".join(rich(line) for line in lines)


def _node_tooltip(n: Node) -> str:
    tensor = n.tensor
    text = f"{tensor.name or n.symbol}  shape {tensor.shape}\nvalue:\n{tooltip(tensor.data)}"
    if tensor.grad is not None:
        text += f"\ngrad:\n{tooltip(tensor.grad)}"
    return text


def edge_width(grad: np.ndarray | None) -> str:
    if grad is None:
        return "1"
    norm = float(np.linalg.norm(grad))
    return f"{1 + 0.6 * np.clip(np.log10(norm + 1e-30) + 4, 0, 6):.2f}"


def legend(kinds: Kinds = KINDS) -> str:
    """What the colours mean: the node kinds, ‖∇‖ by decade, and what an edge carries."""
    cells = "".join(f'<TD BGCOLOR="{colour}" BORDER="1">{rich(text)}</TD>' for colour, text in kinds.values())
    lowest = GRADIENT_SCALE[-2][0]
    scale = "".join(
        f'<TD BGCOLOR="{colour}" BORDER="1">{f"≥ {bound:g}" if bound else f"&lt; {lowest:g}"}</TD>'
        for bound, colour in GRADIENT_SCALE
    )
    return ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="3">'
            f'<TR><TD ALIGN="RIGHT"><B>node</B></TD>{cells}</TR>'
            f'<TR><TD ALIGN="RIGHT"><B>‖∇‖</B> (fill, edge width)</TD>{scale}</TR>'
            '<TR><TD ALIGN="RIGHT"><B>edge</B></TD><TD COLSPAN="7" ALIGN="LEFT">'
            "∇<SUB>operand</SUB> result = the primitive's declared local partial</TD></TR></TABLE>")
