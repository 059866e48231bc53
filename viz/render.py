"""Digraph to SVG or PNG through the Graphviz that pygraphviz's wheels bundle, or a system `dot`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import graphviz

from autograd.files import STDOUT, atomic_write, check_destination, check_folder
from viz import svg

FORMATS = ("svg", "png", "dot")
DPI = 192  # a PNG's resolution by default: twice the 96 dpi of a plain screen, so that it stays sharp on a fine one
SUFFIXES = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}  # the extensions that name a format


class RenderError(RuntimeError):
    pass


def layout(graph: graphviz.Digraph | graphviz.Source, fmt: str, dpi: float = DPI) -> bytes:
    """The laid-out picture in `fmt` ('svg' or 'png'); SVG text settled to read the same in every viewer. A PNG
    is that SVG drawn by cairosvg at `dpi` dots per inch, so it is typeset as the SVG is (Graphviz's own PNG sets
    a subscript's subscript on the line). 'json': Graphviz's own positions, which the explorer draws from."""
    if fmt not in ("svg", "png", "json"):
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "png":
        check_dpi(dpi)
        return to_png(layout(graph, "svg"), dpi)
    # an SVG needs the layout's text runs too: their widths, which only Graphviz's own measurement knows
    wanted = [fmt, "json"] if fmt == "svg" else [fmt]
    try:  # imported here: without its wheel (a platform it has none for) a system `dot` still serves
        import pygraphviz
    except ImportError:
        pygraphviz = None
    if pygraphviz is not None:
        with _graphviz_messages() as messages:
            outputs = _bundled(pygraphviz, graph.source, wanted, messages)
        _report(messages)
    elif dot := shutil.which("dot"):
        outputs = [subprocess.run([dot, f"-T{kind}"], input=graph.source.encode(), capture_output=True,
                                  check=True).stdout for kind in wanted]
    else:
        raise RenderError(
            "render: no Graphviz layout engine found; `pip install pygraphviz` (its wheels bundle Graphviz) or "
            "install Graphviz's `dot`, or ask for fmt='dot'"
        )
    if fmt == "svg":
        return svg.settle(outputs[0].decode(), svg.runs(outputs[1])).encode()
    return outputs[0]


def check_dpi(dpi: object) -> float:
    if isinstance(dpi, bool) or not isinstance(dpi, int | float) or not 10 <= dpi <= 2400:
        raise ValueError(f"render: dpi must be a number from 10 to 2400 (dots per inch), got {dpi!r}")
    return float(dpi)


def to_png(picture: bytes, dpi: float = DPI) -> bytes:
    """An SVG drawn to PNG by cairosvg at `dpi` (a point is 1/72 inch). cairosvg is pure Python, but draws with
    the system's cairo library, which a machine without a desktop may lack: then a RenderError says what to
    install."""
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: cairocffi found no libcairo (and says so in many lines)
        why = (str(error).splitlines() or [type(error).__name__])[0]
        raise RenderError(
            f"render: a PNG is drawn from the SVG by cairosvg, which could not load ({why}); "
            "`pip install cairosvg` and the cairo library (Debian, Ubuntu: apt-get install libcairo2; macOS: brew "
            "install cairo), or write SVG"
        ) from None
    return cairosvg.svg2png(bytestring=picture, dpi=dpi)


def _bundled(pygraphviz, source: str, formats: list[str], messages: list[str]) -> list[bytes]:
    """One layout by the bundled Graphviz, rendered in each of `formats`."""
    gv = pygraphviz.graphviz
    try:
        graph = pygraphviz.AGraph(string=source)
    except pygraphviz.DotError as error:
        raise RenderError(f"render: Graphviz rejected the graph: {' '.join(messages) or error}") from None
    context = gv.gvContextWithBuiltins()
    try:
        if gv.gvLayout(context, graph.handle, b"dot"):
            raise RenderError(f"render: Graphviz could not lay the graph out: {' '.join(messages)}")
        try:
            outputs = []
            for fmt in formats:
                error, data = gv.gvRenderData(context, graph.handle, fmt.encode())
                if error:
                    raise RenderError(f"render: Graphviz could not write {fmt}: {' '.join(messages)}")
                outputs.append(data)
            return outputs
        finally:
            gv.gvFreeLayout(context, graph.handle)
    finally:
        gv.gvFreeContext(context)


class RenderWarning(UserWarning):
    """What Graphviz warns of (a big graph, a label it had to squeeze): the picture is still drawn."""


def _report(messages: list[str]) -> None:
    """Graphviz's errors fail the picture; its warnings are warnings."""
    if any(line.startswith("Error") for line in messages):
        raise RenderError("render: Graphviz rejected the graph: " + " ".join(messages))
    for line in messages:
        warnings.warn(f"render: Graphviz: {line}", RenderWarning, stacklevel=4)


@contextmanager
def _graphviz_messages() -> Iterator[list[str]]:
    """Collect what the bundled C libraries print on file descriptor 2 (Python's own stderr cannot see it).

    The bundled fontconfig warns about newer system configuration files on every run; that line is dropped,
    Graphviz's own errors are returned to the caller, anything else is passed through.
    """
    messages: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield messages
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                if line.startswith(("Error", "Warning", "...", "in label")):
                    messages.append(line.strip())
                elif line and not line.startswith("Fontconfig warning"):
                    print(line, file=sys.stderr)


def to_svg(graph: graphviz.Digraph) -> str:
    return layout(graph, "svg").decode()


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format a picture is written in: `fmt` when given, else the one `path`'s extension names (.svg, .png,
    .dot or .gv; SVG without one). An extension that names another format than `fmt`, or none known, is refused:
    a .png holding SVG opens nowhere."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    suffix = Path(path).suffix
    named = SUFFIXES.get(suffix.lower())
    if fmt is None and suffix and named is None:
        raise ValueError(f"render: cannot tell the format from the extension {suffix} of {path}; end it in "
                         f"{', '.join(SUFFIXES)}, or give the format (fmt=)")
    if fmt is not None and named is not None and named != fmt:
        raise ValueError(f"render: {path} ends in {suffix} but the format asked for is {fmt}; write {fmt} to a "
                         f"{'.' + fmt} file, or leave the format out to take it from the extension")
    return fmt or named or "svg"


def destination(path: str | os.PathLike, fmt: str | None = None, name: str = "picture") -> tuple[Path, str]:
    """Where and in which format a picture called `name` goes; refused before any work when it cannot be
    written there (an empty path, a folder, a folder that does not exist, a format its extension contradicts)."""
    fmt = output_format(path, fmt)
    if os.fspath(path) == STDOUT and fmt == "png":
        raise ValueError("render: a png is binary and not written to - (standard output); give a file name, or "
                         "fmt='svg' or fmt='dot'")
    if str(path) and Path(path).is_dir():
        raise IsADirectoryError(f"render: {path} is a folder; give a file name such as {Path(path) / name}.{fmt}")
    return check_destination(path, stdout=True), fmt


def prepare_folder(folder: str | os.PathLike) -> Path:
    """The folder that receives the pictures: created when missing (its parent must exist); refused when it is a
    file, or when a new folder's name is a picture's (x.svg is surely meant as a file)."""
    if str(folder) and Path(folder).exists() and not Path(folder).is_dir():
        raise NotADirectoryError(f"{folder} is a file; folder= must be a folder, which receives the pictures")
    if str(folder) and not Path(folder).exists() and Path(folder).suffix.lower() in SUFFIXES:
        raise ValueError(f"{folder} names a file, but folder= must be a folder, which receives the pictures; give "
                         "a folder name")
    return check_folder(folder)


def write(graph: graphviz.Digraph, path: str | os.PathLike, fmt: str | None = None, dpi: float = DPI) -> Path:
    """Write the graph to `path` in `fmt` (by default the one its extension names; a PNG at `dpi` dots per inch),
    through a temporary file and a rename, so no half file is left."""
    if not isinstance(graph, graphviz.Digraph | graphviz.Graph):
        raise TypeError(f"write: expected a graph (viz.draw's, or any graphviz graph), got {type(graph).__name__}")
    check_dpi(dpi)
    path, fmt = destination(path, fmt)
    data = graph.source.encode() if fmt == "dot" else layout(graph, fmt, dpi)
    with atomic_write(path) as file:
        file.write(data)
    return path
