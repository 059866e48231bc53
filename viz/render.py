"""Digraph to SVG or PNG through the Graphviz that pygraphviz's wheels bundle, or a system `dot`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import graphviz

FORMATS = ("svg", "png", "dot")


class RenderError(RuntimeError):
    pass


def layout(graph: graphviz.Digraph, fmt: str) -> bytes:
    """The laid-out picture in `fmt` ('svg' or 'png')."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    try:
        import pygraphviz
    except ImportError:
        pygraphviz = None
    if pygraphviz is not None:
        return pygraphviz.AGraph(string=graph.source).draw(format=fmt, prog="dot")
    dot = shutil.which("dot")
    if dot:
        return subprocess.run([dot, f"-T{fmt}"], input=graph.source.encode(), capture_output=True, check=True).stdout
    raise RenderError(
        "render: no Graphviz layout engine found; `pip install pygraphviz` (its wheels bundle Graphviz) or "
        "install Graphviz's `dot`, or ask for --format dot"
    )


def to_svg(graph: graphviz.Digraph) -> str:
    return layout(graph, "svg").decode()


def write(graph: graphviz.Digraph, path: str | os.PathLike, fmt: str = "svg") -> Path:
    """Write the graph to `path` in `fmt`, through a temporary file and a rename, so no half file is left."""
    if fmt not in FORMATS:
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    data = graph.source.encode() if fmt == "dot" else layout(graph, fmt)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"render: {path} is a folder; give a file name such as {path / ('input.' + fmt)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path
