"""Engine tensors to a Graphviz Digraph: a node per tensor, an edge per operand, the partial on every edge.

Each edge is labeled with the local partial that the primitive declares in `autograd.ops`, the same
declaration the reverse pass runs, so the picture cannot drift from the math.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import graphviz
import numpy as np

from autograd import Tensor
from lstm.names import SECTIONS, STATE_SYMBOLS, NodeName
from viz.labels import array_text, partial_label, rich, tooltip

# Node kinds: header colour and what the legend calls them.
KINDS = {
    "parameter": ("#c6dbef", "parameter (W, b)"),
    "input": ("#e0e0e0", "input x_t or constant"),
    "state": ("#c7e9c0", "state h, c"),
    "intermediate": ("#ffffff", "intermediate"),
}
# ‖∇‖ by decade, strong to light: the fill of a node's gradient row and the width of its outgoing edges.
GRADIENT_SCALE = ((1e1, "#d7301f"), (1e0, "#ef6548"), (1e-1, "#fc8d59"), (1e-2, "#fdbb84"), (1e-3, "#fdd49e"),
                  (1e-4, "#fee8c8"), (0.0, "#fff7ec"))
Place = tuple[int | None, str | None]  # (step, section) of the derivation; None where a tensor has none


class Graph(graphviz.Digraph):
    """A Digraph that shows itself as SVG in a notebook through the bundled renderer (no system `dot`)."""

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        from viz.render import to_svg

        return {"image/svg+xml": to_svg(self)}


@dataclass
class Node:
    tensor: Tensor
    index: int
    step: int | None
    section: str | None
    symbol: str
    places: list[Place] = field(default_factory=list)  # where it is drawn: one copy per place

    def __post_init__(self) -> None:
        t = self.tensor
        if self.symbol in STATE_SYMBOLS:
            self.kind = "state"
        elif t.op is None:
            self.kind = "parameter" if t.requires_grad and self.step is None and t.name else "input"
        else:
            self.kind = "intermediate"

    def id(self, place: Place) -> str:
        return f"n{self.index}" if len(self.places) == 1 else f"n{self.index}_{self.places.index(place)}"


def parse_name(t: Tensor) -> tuple[int | None, str | None, str]:
    """'t3/input gate/p' → (3, 'input gate', 'p'); an unnamed tensor is called by its primitive."""
    if not t.name:
        return None, None, t.op.symbol if t.op else "const"
    name = NodeName.parse(t.name)
    return name.step, name.section, name.symbol


def collect(roots: Iterable[Tensor]) -> list[Tensor]:
    """Every tensor the roots were computed from, each after its operands (iterative: any depth)."""
    order, seen, stack = [], set(), [(r, False) for r in roots]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        stack.extend((p, False) for p in reversed(t.parents or ()) if id(p) not in seen)
    return order


def gradient_colour(grad: np.ndarray | None) -> str | None:
    if grad is None:
        return None
    norm = float(np.linalg.norm(grad))
    return next(colour for bound, colour in GRADIENT_SCALE if norm >= bound)


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
    sections: Iterable[str] | None = None,
    highlight: Iterable[str] = (),
    max_elements: int = 8,
    title: str | None = None,
) -> Graph:
    """The graph that computed `roots`, after a backward with `retain_grads=True` if gradients should show.

    Clusters: one per time step, and inside it one per section of the derivation. `sections` keeps only the
    tensors of those sections (and the tensors they read); `highlight` names tensors (full names) to outline
    in red, e.g. where a hand-derived gradient disagrees with the engine.
    """
    tensors = collect(roots)
    nodes = {id(t): Node(t, i, *parse_name(t)) for i, t in enumerate(tensors)}
    keep = set(nodes)
    if sections is not None:
        wanted = set(sections)
        inside = {key for key, n in nodes.items() if n.section in wanted}
        keep = inside | {id(p) for key in inside for p in (nodes[key].tensor.parents or ())}
    _place(tensors, nodes, keep)
    highlight = set(highlight)

    graph = new_graph(title)
    clusters: dict[Place, list[tuple[Node, Place]]] = {}
    for key in keep:
        for place in nodes[key].places:
            clusters.setdefault(place, []).append((nodes[key], place))
    for step in [None, *sorted({s for s, _ in clusters if s is not None})]:
        outer = graph if step is None else graphviz.Digraph(name=f"cluster_t{step}")
        if step is not None:
            outer.attr(label=f"t = {step}", style="rounded", color="#999999", fontsize="14")
        for (s, section), members in sorted(clusters.items(), key=lambda kv: _section_order(kv[0][1])):
            if s != step:
                continue
            where = "" if step is None else step
            inner = outer if section is None else graphviz.Digraph(name=f"cluster_t{where}_{section}")
            if section is not None:
                inner.attr(label=section, style="rounded,filled", fillcolor="#f7f7f7", color="#bbbbbb",
                           fontsize="12")
            for n, place in sorted(members, key=lambda m: m[0].index):
                inner.node(n.id(place), f"<{_node_label(n, max_elements, n.tensor.name in highlight)}>",
                           tooltip=_node_tooltip(n))
            if inner is not outer:
                outer.subgraph(inner)
        if outer is not graph:
            graph.subgraph(outer)

    for key in keep:
        child = nodes[key]
        t = child.tensor
        if not t.op or not t.parents:
            continue
        names = [nodes[id(p)].symbol for p in t.parents]
        for place in child.places:
            for k, p in enumerate(t.parents):
                if id(p) not in keep:
                    continue
                parent = nodes[id(p)]
                source = place if place in parent.places else parent.places[0]
                formula = t.op.formula(k, names).replace("ᵀᵀ", "")  # (Wᵀ)ᵀ = W
                graph.edge(parent.id(source), child.id(place),
                           label=f"<{partial_label(names[k], child.symbol, formula)}>",
                           penwidth=edge_width(t.grad), tooltip=f"{t.op.name}: ∂{child.symbol}/∂{names[k]}")
    graph.node("legend", f"<{legend()}>")
    return graph


def _section_order(section: str | None) -> int:
    return SECTIONS.index(section) if section in SECTIONS else len(SECTIONS)


def _place(tensors: list[Tensor], nodes: dict[int, Node], keep: set[int]) -> None:
    """Where each node is drawn. A parameter goes beside what reads it: inside the one section that reads it,
    or, when several steps or sections read it, one copy in each, so no edge crosses the whole picture."""
    readers: dict[int, list[Place]] = {}
    for t in reversed(tensors):  # readers before what they read, so W_xiᵀ is placed before W_xi
        n = nodes[id(t)]
        if id(t) not in keep:
            continue
        n.places = [(n.step, n.section)]
        if n.step is None and n.section is None and readers.get(id(t)):
            n.places = list(dict.fromkeys(readers[id(t)]))
        for p in t.parents or ():
            readers.setdefault(id(p), []).extend(n.places)


def _node_label(n: Node, limit: int, highlighted: bool) -> str:
    t = n.tensor
    header = f"<B>{rich(n.symbol)}</B>"
    if t.op:
        header += f"  <FONT POINT-SIZE='9' COLOR='#555555'>{rich(t.op.name)}</FONT>"
    if len(n.places) > 1:
        header += "  <FONT POINT-SIZE='8' COLOR='#555555'>shared: ∇ sums all uses</FONT>"
    border = 'BORDER="3" COLOR="#d62728"' if highlighted else 'BORDER="1"'
    mono = '<FONT FACE="DejaVu Sans Mono" POINT-SIZE="9">'
    rows = [f'<TR><TD BGCOLOR="{KINDS[n.kind][0]}">{header}</TD></TR>',
            f'<TR><TD><FONT POINT-SIZE="9">shape {t.shape}</FONT></TD></TR>',
            f'<TR><TD ALIGN="LEFT">{mono}{_lines(array_text(t.data, limit))}</FONT></TD></TR>']
    if t.grad is not None:
        rows.append(f'<TR><TD ALIGN="LEFT" BGCOLOR="{gradient_colour(t.grad)}">{mono}∇ '
                    f'{_lines(array_text(t.grad, limit))}</FONT></TD></TR>')
    return f'<TABLE {border} CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">{"".join(rows)}</TABLE>'


def _lines(lines: list[str]) -> str:
    return "<BR ALIGN='LEFT'/>".join(rich(line) for line in lines)


def _node_tooltip(n: Node) -> str:
    t = n.tensor
    text = f"{t.name or n.symbol}  shape {t.shape}\nvalue:\n{tooltip(t.data)}"
    if t.grad is not None:
        text += f"\ngrad:\n{tooltip(t.grad)}"
    return text


def edge_width(grad: np.ndarray | None) -> str:
    if grad is None:
        return "1"
    norm = float(np.linalg.norm(grad))
    return f"{1 + 0.6 * np.clip(np.log10(norm + 1e-30) + 4, 0, 6):.2f}"


def legend() -> str:
    kinds = "".join(f'<TD BGCOLOR="{colour}" BORDER="1">{rich(text)}</TD>' for colour, text in KINDS.values())
    lowest = GRADIENT_SCALE[-2][0]
    scale = "".join(
        f'<TD BGCOLOR="{colour}" BORDER="1">{f"≥ {bound:g}" if bound else f"&lt; {lowest:g}"}</TD>'
        for bound, colour in GRADIENT_SCALE
    )
    return ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="3">'
            f'<TR><TD ALIGN="RIGHT"><B>node</B></TD>{kinds}</TR>'
            f'<TR><TD ALIGN="RIGHT"><B>‖∇‖</B> (fill, edge width)</TD>{scale}</TR>'
            '<TR><TD ALIGN="RIGHT"><B>edge</B></TD><TD COLSPAN="7" ALIGN="LEFT">'
            "∇<SUB>operand</SUB> result = the primitive's declared local partial</TD></TR></TABLE>")
