"""Where the explorer draws each tensor, laid out by the bundled Graphviz.

The graph is cut into *units*: each top-level box that groups other boxes (a time step, say; `Cluster.outline`)
is one, and the root, the rest of the graph, is another. Graphviz lays out each unit once, every box in it open,
and the root with every unit shut to a card; the page shuts a box by compressing its unit's layout and opens a
card by stretching the root's, so no click waits for a layout and nothing jumps.

A tensor may be drawn in several *places*: where its describe hook puts it (home); a tensor of no box read in
several boxes once beside each reader (copy: a parameter beside each step's use, as `viz.graph` draws it), and
also, when several units read it, in a box of its own at the root (the shared group), so it is in sight while
the units are shut; a tensor read by another unit once more at that unit's edge (stub: what step t computed,
by the name step t + 1 reads it by). Edges between units are drawn once at the root, between their cards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import graphviz
import numpy as np

from autograd import Tensor
from viz.graph import Cluster, Look
from viz.render import layout

ROOT = ""
SHARED = Cluster("shared", "shared: ∇ sums every use", -1)

# The page's metrics (viz/explorer/explorer.css says the same): a node card's monospace numbers are 11 px
# DejaVu Sans Mono (0.602 em a character), a number is written in NUMBER characters, a line is LINE px high.
CHAR = 6.7
NUMBER = 10
LINE = 14
HEADER = 22
PAD = 8
BORDER = 4  # both borders of a card (a step's card has 2 px ones)
CARD_WIDTH = 200


@dataclass(frozen=True)
class Place:
    """Where one copy of a tensor is drawn: its unit (ROOT or a unit's key), the boxes inside the unit, and why it
    is there ("home", "copy" or "stub")."""

    unit: str
    path: tuple[Cluster, ...]
    role: str = "home"


@dataclass
class Drawn:
    """One edge as drawn in a unit: between two drawn things (their ids), carrying the graph's edges `edges`
    (several where it stands for all the edges between two units)."""

    tail: int
    head: int
    edges: list[int] = field(default_factory=list)
    label: tuple[float, float] | None = None  # size of its label, the partial it carries


def split(clusters: tuple[Cluster, ...]) -> tuple[str, tuple[Cluster, ...]]:
    """The unit a tensor of these boxes belongs to, and the boxes inside that unit."""
    if clusters and clusters[0].outline:
        return clusters[0].key, clusters[1:]
    return ROOT, clusters


def place_all(tensors: Sequence[Tensor], looks: Sequence[Look]) -> list[list[Place]]:
    """Every place of every tensor (walk order), readers placed before what they read."""
    index = {id(t): i for i, t in enumerate(tensors)}
    readers: list[list[Place]] = [[] for _ in tensors]
    places: list[list[Place]] = [[] for _ in tensors]
    for i in reversed(range(len(tensors))):
        look = looks[i]
        if look.clusters:
            unit, path = split(look.clusters)
            foreign = dict.fromkeys(p.unit for p in readers[i] if p.unit not in (ROOT, unit))
            own = [Place(unit, path), *(Place(other, (), "stub") for other in foreign)]
        else:
            wanted = list(dict.fromkeys((p.unit, p.path) for p in readers[i]))
            units = {unit for unit, _ in wanted}
            if not wanted:
                own = [Place(ROOT, ())]
            elif len(units) == 1:
                own = [Place(unit, path, "home" if len(wanted) == 1 else "copy") for unit, path in wanted]
            else:
                own = [Place(ROOT, (SHARED,)), *(Place(unit, path, "copy") for unit, path in wanted if unit != ROOT)]
        places[i] = own
        computing = [place for place in own if place.role != "stub"]  # a stub shows a value; it computes nothing
        for parent in tensors[i].parents or ():
            readers[index[id(parent)]].extend(computing)
    return places


def source(places: list[Place], reader: Place) -> int | None:
    """Which of a tensor's places the reader at `reader` draws its edge from: one in the same unit, the one
    sharing most of the reader's boxes."""
    best, depth = None, -1
    for k, place in enumerate(places):
        if place.unit != reader.unit:
            continue
        common = next((j for j, (a, b) in enumerate(zip(place.path, reader.path, strict=False)) if a != b),
                      min(len(place.path), len(reader.path)))
        if common > depth or (common == depth and place.path == reader.path):
            best, depth = k, common
    return best


@dataclass
class UnitLayout:
    """A unit's Graphviz layout in the page's coordinates (y down, points = px at zoom 1)."""

    width: float
    height: float
    label: tuple[float, float] | None  # the unit's own label position
    nodes: list[list[float]]  # x, y (centre), w, h per drawn thing
    clusters: list[list[float]]  # x0, y0, x1, y1, label x, label y per box
    edges: list[list]  # [points (x, y, …; the last pair the arrow's tip), label x, y, width, height] per drawn edge

    def data(self) -> dict:
        return {"w": self.width, "h": self.height, "label": self.label, "nodes": self.nodes,
                "clusters": self.clusters, "edges": self.edges}


def _fixed(width: float, height: float) -> str:
    """A Graphviz HTML-like label of exactly this size, so Graphviz keeps the room the page's own label needs."""
    return (f'<<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD FIXEDSIZE="TRUE" WIDTH="{max(1, width):.0f}"'
            f' HEIGHT="{max(1, height):.0f}"></TD></TR></TABLE>>')


def dot_source(things: list[tuple[float, float, tuple[int, ...]]], boxes: list[tuple[float, float]],
               parents: list[int | None], edges: list[tuple[int, int, tuple[float, float] | None]],
               label: tuple[float, float] | None, rankdir: str, rows: list[list[int]] = (),
               below: list[int] = (), chain: list[int] = ()) -> str:
    """DOT for one unit: `things` (width, height, the boxes it sits in, outermost first) as fixed-size boxes,
    `boxes` (label size) nested by `parents`, `edges` (tail, head, label size) between things, optionally `rows`
    of things kept side by side (the root's cards, wrapped) and things to rank `below` them, or a `chain` of
    things kept level."""
    lines = [f"digraph unit {{ graph [rankdir={rankdir} nodesep=0.3 ranksep=0.55 newrank=true labelloc=t"
             + (f" label={_fixed(*label)}" if label else "") + "];",
             'node [shape=box fixedsize=true label=""]; edge [arrowsize=0.7];']
    members: dict[int | None, list[str]] = {}
    level = set(chain)
    for k, (width, height, inside) in enumerate(things):
        members.setdefault(inside[-1] if inside else None, []).append(
            f"n{k} [width={width / 72:.4f} height={height / 72:.4f}{' group=chain' if k in level else ''}];")
    children: dict[int | None, list[int]] = {}
    for b, parent in enumerate(parents):
        children.setdefault(parent, []).append(b)

    def emit(box: int | None, indent: str) -> None:
        if box is not None:
            lines.append(f"{indent}subgraph cluster_{box} {{ label={_fixed(*boxes[box])};")
        lines.extend(indent + "  " + line for line in members.get(box, []))
        for child in children.get(box, []):
            emit(child, indent + "  ")
        if box is not None:
            lines.append(indent + "}")

    emit(None, "")
    for row in rows:
        lines.append("{ rank=same; " + " ".join(f"n{k};" for k in row) + " }")
    for upper, lower in zip(rows, rows[1:], strict=False):  # stack the rows: an invisible edge down each column
        lines.append(f"n{upper[0]} -> n{lower[0]} [style=invis weight=10];")
    for k in below:
        lines.append(f"n{rows[-1][0]} -> n{k} [style=invis];")
    row_of = {k: r for r, row in enumerate(rows) for k in row}
    for k, (tail, head, size) in enumerate(edges):
        attributes = f" label={_fixed(*size)}" if size else ""
        if tail in row_of and head in row_of and row_of[tail] != row_of[head]:
            attributes += " constraint=false"  # from the end of a row to the next: it must not drag the rows apart
        lines.append(f"n{tail} -> n{head} [id=e{k}{attributes}];")
    lines.append("}")
    return "\n".join(lines)


def run_layout(source_text: str, cache: dict[str, UnitLayout]) -> UnitLayout:
    """Graphviz's layout of a unit's DOT, once per distinct source (the steps of a sequence share one)."""
    if source_text not in cache:
        cache[source_text] = _parse(json.loads(layout_json(source_text)))
    return cache[source_text]


def layout_json(source_text: str) -> bytes:
    return layout(graphviz.Source(source_text), "json")


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").split()]


def _parse(graph: dict) -> UnitLayout:
    _, _, width, height = _numbers(graph["bb"])
    flip: Callable[[float], float] = lambda y: round(height - y, 1)
    nodes, clusters = {}, {}
    for obj in graph.get("objects", []):
        name = obj["name"]
        if name.startswith("cluster_"):
            x0, y0, x1, y1 = _numbers(obj["bb"])
            lx, ly = _numbers(obj["lp"]) if "lp" in obj else (x0, y1)
            clusters[int(name[8:])] = [round(x0, 1), flip(y1), round(x1, 1), flip(y0), round(lx, 1), flip(ly)]
        elif "pos" in obj:  # a node (the rows' `rank=same` groups are objects too, with no position)
            x, y = _numbers(obj["pos"])
            nodes[int(name[1:])] = [round(x, 1), flip(y), round(float(obj["width"]) * 72, 1),
                                    round(float(obj["height"]) * 72, 1)]
    edges = {}
    for edge in graph.get("edges", []):
        if "id" not in edge:  # the invisible edges that stack the rows
            continue
        points, tip = [], None
        for part in edge["pos"].split(";")[0].split():
            if part.startswith("e,"):
                tip = _numbers(part[2:])
            elif not part.startswith("s,"):
                points.extend(_numbers(part))
        if tip:
            points.extend(tip)
        flat = [round(v, 1) if k % 2 == 0 else flip(v) for k, v in enumerate(points)]
        if "lp" in edge:  # the label's place, and its size as the DOT asked for it
            size = [float(v) for v in re.findall(r'(?:WIDTH|HEIGHT)="([0-9.]+)"', edge["label"])]
            edges[int(edge["id"][1:])] = [flat, round(_numbers(edge["lp"])[0], 1), flip(_numbers(edge["lp"])[1]), *size]
        else:
            edges[int(edge["id"][1:])] = [flat]
    label = _numbers(graph["lp"]) if "lp" in graph else None
    return UnitLayout(round(width, 1), round(height, 1), None if label is None else [round(label[0], 1),
                      flip(label[1])], [nodes[k] for k in sorted(nodes)], [clusters[k] for k in sorted(clusters)],
                      [edges[k] for k in sorted(edges)])


# ---------------------------------------------------------------------------------------------------------
# Sizes: what the page's cards need, in px, from what they will show.
# ---------------------------------------------------------------------------------------------------------

def text_width(text: str, size: float = 13) -> float:
    """A generous width for a name or formula set in MathML at `size` px: subscripts count smaller."""
    width, depth = 0.0, 0
    for ch in text:
        if ch in "{}":
            depth += 1 if ch == "{" else -1
            continue
        if ch == "_":
            continue
        width += (0.45 if depth or ch in "ᵀ²" else 0.62) * size
    return width + 4


def array_lines(a: np.ndarray, limit: int) -> tuple[int, int]:
    """(lines, characters of the longest) of an array written on a card: each number NUMBER wide, a row a line;
    past `limit` elements one line of norm, min and max."""
    if a.size == 0:
        return 1, 7
    if a.size > limit:
        return 1, 4 + NUMBER + 6 + NUMBER + 6 + NUMBER
    if a.ndim == 0:
        return 1, NUMBER
    rows = a.reshape(-1, a.shape[-1]) if a.ndim > 1 else a.reshape(1, -1)
    return rows.shape[0], 2 + rows.shape[1] * (NUMBER + 1) - 1


def card_size(symbol: str, op: str, shape: tuple[int, ...], data: np.ndarray, has_grad: bool, limit: int,
              note: str = "") -> tuple[float, float]:
    """A node card: the symbol, its primitive and shape; the value; the gradient (room kept before it arrives)."""
    lines, chars = array_lines(data, limit)
    header = text_width(symbol, 15) + 6.2 * (len(op) + len(str(shape))) + 24
    body = (2 + chars) * CHAR  # a gutter of two characters: "∇ "
    width = max(header, body, text_width(note, 11) if note else 0, 64) + 2 * PAD + BORDER
    height = HEADER + LINE * lines * (2 if has_grad else 1) + (LINE if note else 0) + PAD + BORDER
    return round(width), round(height)


def cluster_card_size(label: str, rows: int) -> tuple[float, float]:
    """A shut box: its label, one line a row (‖∇ y‖ of what leaves it), and its progress line."""
    return max(CARD_WIDTH, text_width(label, 13) + 2 * PAD + BORDER), HEADER + LINE * (rows + 1) + PAD + BORDER


# ---------------------------------------------------------------------------------------------------------
# The scene: units, their boxes and things, the edges drawn in each, and their layouts.
# ---------------------------------------------------------------------------------------------------------

PER_ROW = 10  # a root of more units than this lays their cards out in rows
ROWS = 12  # a shut box reports ‖∇‖ of at most this many of the tensors that leave it


@dataclass
class Box:
    """A box the page can shut: a unit, or a cluster inside a unit (or inside the root)."""

    cluster: Cluster
    unit: str  # the unit it is drawn in (a unit's own box: ROOT, where its card is)
    path: tuple[Cluster, ...]  # its boxes inside that unit, itself last (a unit's own box: empty)
    parent: int | None
    opens: str | None = None  # a unit's own box: the unit it opens to
    members: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)


@dataclass
class Thing:
    """One card the page draws: a tensor at one of its places, or a unit's box shut to a card (role "card")."""

    unit: str  # the unit it is drawn in
    of: int  # the tensor it shows; a card: its box
    role: str  # "home", "copy", "stub" or "card"
    size: tuple[float, float]
    path: tuple[Cluster, ...] = ()  # its boxes inside the unit, outermost first
    symbol: int | None = None  # its title, an index into the page's formulas
    note: int | None = None  # a line under the title: where a stub comes from, that a copy is shared
    box: int | None = None  # the innermost box it sits in

    def data(self) -> list:
        return [self.of, self.role, self.symbol, self.note, self.box]


class Scene:
    """The page's units, their boxes, the things drawn in each and the edges between them, built in steps."""

    def __init__(self, tensors: Sequence[Tensor], looks: Sequence[Look], edges: list[dict]) -> None:
        self.tensors, self.looks, self.edges = tensors, looks, edges
        self.places = place_all(tensors, looks)
        self.readers: list[list[int]] = [[] for _ in tensors]
        for edge in edges:
            self.readers[edge["p"]].append(edge["c"])
        self.outlines = {look.clusters[0].key: look.clusters[0] for look in looks
                         if look.clusters and look.clusters[0].outline}
        self.units = [ROOT, *(key for _, key in sorted((cluster.rank, key) for key, cluster in self.outlines.items()))]
        self.boxes: list[Box] = []
        self.box_of: dict[tuple[str, tuple[Cluster, ...]], int] = {}  # (unit, path) → box
        self.unit_box: dict[str, int] = {}  # a unit → its own box, drawn at the root
        self.things: list[Thing] = []
        self.thing_of: dict[tuple[int, int], int] = {}  # (tensor, its k-th place) → thing
        self.card_of: dict[str, int] = {}  # a unit → the thing of its card
        self.drawn: dict[str, list[Drawn]] = {unit: [] for unit in self.units}
        self.between: dict[tuple[int, int], Drawn] = {}  # the root's edges between units, by (tail, head)

    def open_boxes(self) -> None:
        """Every box: each unit's own (at the root), then each box a place sits in, inside its parent."""
        for key in self.units[1:]:
            self.unit_box[key] = self.box_of[(ROOT, (self.outlines[key],))] = len(self.boxes)
            self.boxes.append(Box(self.outlines[key], ROOT, (), None, opens=key))
        for place in (place for own in self.places for place in own):
            for depth in range(1, len(place.path) + 1):
                path = place.path[:depth]
                if (place.unit, path) in self.box_of:
                    continue
                parent = self.box_of.get((place.unit, path[:-1])) if depth > 1 else self.unit_box.get(place.unit)
                self.box_of[(place.unit, path)] = len(self.boxes)
                self.boxes.append(Box(path[-1], place.unit, path, parent))

    def chain(self, place: Place) -> list[int]:
        """The boxes a place sits in, outermost first."""
        outer = [self.unit_box[place.unit]] if place.unit != ROOT else []
        return outer + [self.box_of[(place.unit, place.path[:d])] for d in range(1, len(place.path) + 1)]

    def fill_boxes(self) -> None:
        """Each box's members (the tensors at home in it) and outputs (those read outside it)."""
        home = [set(self.chain(own[0])) for own in self.places]
        for i, inside in enumerate(home):
            for b in inside:
                self.boxes[b].members.append(i)
        for b, box in enumerate(self.boxes):
            box.outputs = [i for i in box.members if any(b not in home[r] for r in self.readers[i])]
        for box in self.boxes:  # a unit's card also reports what leaves the boxes inside it
            if box.opens is not None:
                inner = sorted((b for b in self.boxes if b.unit == box.opens and len(b.path) == 1),
                               key=attrgetter("cluster.rank"))
                box.outputs = list(dict.fromkeys([*box.outputs, *(i for b in inner for i in b.outputs)]))

    def place_tensors(self, called: Callable[[Tensor, Tensor], str], maths: Callable[..., int], limit: int) -> None:
        """A thing for every place of every tensor: a stub titled as its reader calls it, a copy noted shared."""
        for i, own in enumerate(self.places):
            tensor, look = self.tensors[i], self.looks[i]
            for k, place in enumerate(own):
                symbol, note = look.symbol, ""
                if place.role == "stub":
                    reader = next(self.tensors[r] for r in self.readers[i]
                                  if any(p.unit == place.unit for p in self.places[r]))
                    symbol = called(tensor, reader)
                    note = f"= {look.symbol} of {self.outlines[own[0].unit].label}" if own[0].unit != ROOT else ""
                elif place.role == "copy" and place.unit != ROOT:
                    note = "shared: ∇ sums all uses"
                size = card_size(symbol, tensor.op.name if tensor.op else "", tensor.shape, tensor.data,
                                 tensor.grad is not None, limit, note)
                self.thing_of[(i, k)] = len(self.things)
                self.things.append(Thing(place.unit, i, place.role, size, place.path, maths(symbol),
                                         maths(note, True) if note else None,
                                         self.box_of[(place.unit, place.path)] if place.path else None))

    def card_units(self) -> None:
        """A card at the root for every unit, standing for it while it is shut."""
        for b, box in enumerate(self.boxes):
            if box.opens is not None:
                self.card_of[box.opens] = len(self.things)
                self.things.append(Thing(ROOT, b, "card", cluster_card_size(box.cluster.label,
                                                                           min(len(box.outputs), ROWS))))

    def draw_edges(self) -> None:
        """Every edge into each place that computes: inside the reader's unit from the place it reads, and
        between units at the root, from the operand's card (or home) to the reader's card or place."""
        for e, edge in enumerate(self.edges):
            parent, child = edge["p"], edge["c"]
            label = (text_width(edge["text"], 12) + 6, 18)
            home = self.places[parent][0]
            from_home = self.card_of[home.unit] if home.unit != ROOT else self.thing_of[(parent, 0)]
            for k, place in enumerate(self.places[child]):
                if place.role == "stub":
                    continue
                head = self.thing_of[(child, k)]
                src = source(self.places[parent], place)
                if src is None:  # a reader at the root of a tensor that lives in a unit
                    self.join(from_home, head, e)
                    continue
                self.drawn[place.unit].append(Drawn(self.thing_of[(parent, src)], head, [e], label))
                if self.places[parent][src].role == "stub":
                    self.join(from_home, self.card_of[place.unit], e)

    def join(self, tail: int, head: int, e: int) -> None:
        """Edge `e` between units: one drawn edge at the root for all the edges between two things."""
        if (tail, head) not in self.between:
            self.between[(tail, head)] = Drawn(tail, head)
            self.drawn[ROOT].append(self.between[(tail, head)])
        self.between[(tail, head)].edges.append(e)

    def crosses(self, drawn: Drawn) -> bool:
        """Whether an edge joins a card to a tensor."""
        return (self.things[drawn.tail].role == "card") != (self.things[drawn.head].role == "card")

    def lay_out(self, unit: str, cache: dict[str, UnitLayout]) -> tuple[UnitLayout, dict]:
        """A unit's Graphviz layout, and what the page needs of the unit besides it."""
        mine = [n for n, thing in enumerate(self.things) if thing.unit == unit]
        ids = {n: k for k, n in enumerate(mine)}
        boxes = [b for b, box in enumerate(self.boxes) if box.unit == unit and box.opens is None]
        local = {b: k for k, b in enumerate(boxes)}
        cards = [ids[self.card_of[u]] for u in self.units[1:]] if unit == ROOT else []
        rows = [cards[k:k + PER_ROW] for k in range(0, len(cards), PER_ROW)] if len(cards) > PER_ROW else []
        # Between rows of cards, an edge from a card to a tensor would pass every row below it, and Graphviz would
        # push the cards apart to make room; those the page draws itself (loose: no spline), over the rows.
        tight = [d for d in self.drawn[unit] if not (rows and self.crosses(d))]
        loose = [d for d in self.drawn[unit] if rows and self.crosses(d)]
        self.drawn[unit] = tight + loose
        things = [self.things[n] for n in mine]
        source_text = dot_source(
            [(*thing.size, tuple(local[self.box_of[(unit, thing.path[:d])]] for d in range(1, len(thing.path) + 1)))
             for thing in things],
            [(text_width(self.boxes[b].cluster.label, 12) + 16, 18) for b in boxes],
            [local.get(self.boxes[b].parent) for b in boxes], [(ids[d.tail], ids[d.head], d.label) for d in tight],
            None if unit == ROOT else (text_width(self.outlines[unit].label, 13) + 16, 20),
            "TB" if rows else "LR", rows,
            list(dict.fromkeys(ids[d.head] for d in loose if self.things[d.head].role != "card")),
            [] if rows else cards)
        return run_layout(source_text, cache), {
            "things": [thing.data() for thing in things], "boxes": boxes, "edges": [d.edges for d in self.drawn[unit]],
            "links": [[ids[d.tail], ids[d.head]] for d in self.drawn[unit]]}

    def data(self, maths: Callable[..., int], collapsed: Sequence[str] | None) -> dict:
        """The page's units, each with its layout (units that draw the same share one), and its boxes."""
        cache: dict[str, UnitLayout] = {}
        layouts: list[UnitLayout] = []
        units = []
        for unit in self.units:
            unit_layout, unit_data = self.lay_out(unit, cache)
            if unit_layout not in layouts:
                layouts.append(unit_layout)
            units.append({"key": unit, "box": self.unit_box.get(unit), "layout": layouts.index(unit_layout),
                          **unit_data})
        if collapsed is None:  # more than three units open shut; what they share shows in each of them
            collapsed = [*self.units[1:], SHARED.key] if len(self.units) > 4 else [SHARED.key]
        shut = set(collapsed)
        return {
            "boxes": [{"key": box.cluster.key, "label": maths(box.cluster.label, True),
                       "unit": self.units.index(box.unit), "parent": box.parent,
                       "opens": None if box.opens is None else self.units.index(box.opens),
                       "outline": box.cluster.outline, "members": box.members, "outputs": box.outputs[:ROWS],
                       "size": list(cluster_card_size(box.cluster.label, min(len(box.outputs), ROWS)))}
                      for box in self.boxes],
            "units": units,
            "layouts": [unit_layout.data() for unit_layout in layouts],
            "collapsed": [b for b, box in enumerate(self.boxes) if box.cluster.key in shut],
        }


def scene(tensors: Sequence[Tensor], looks: Sequence[Look], called: Callable[[Tensor, Tensor], str],
          edges: list[dict], maths: Callable[..., int], collapsed: Sequence[str] | None, limit: int) -> dict:
    """The page's units: for each, what it draws (cards of tensors and of shut units), its boxes and its edges,
    and its Graphviz layout (units that draw the same share one); the boxes, and which open shut."""
    built = Scene(tensors, looks, edges)
    built.open_boxes()
    built.fill_boxes()
    built.place_tensors(called, maths, limit)
    built.card_units()
    built.draw_edges()
    return built.data(maths, collapsed)
