"""The renderer: what each picture contains, that it renders without a system Graphviz, and escaping."""

import re
import sys
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest

import viz
from autograd import Tensor, sigmoid, tanh
from lstm import LSTM
from lstm_autograd.cli import main
from viz import graph
from viz.graph import Cluster, Look

EXPECTED = {  # section → derivation symbols drawn inside it, and edge labels it must carry
    "input": ({"q", "v", "p", "i<SUB>t</SUB>"}, ["∇<SUB>p</SUB> i<SUB>t</SUB> = (1−σ(p))σ(p)",
                                               "∇<SUB>q</SUB> p = 1", "∇<SUB>v</SUB> p = 1",
                                               "∇<SUB>b<SUB>i</SUB></SUB> p = 1",
                                               "∇<SUB>W<SUB>xi</SUB></SUB> q = x<SUB>t</SUB>ᵀ",
                                               "∇<SUB>x<SUB>t</SUB></SUB> q = W<SUB>xi</SUB>ᵀ",
                                               "∇<SUB>W<SUB>hi</SUB></SUB> v = h<SUB>t−1</SUB>ᵀ",
                                               "∇<SUB>h<SUB>t−1</SUB></SUB> v = W<SUB>hi</SUB>ᵀ"]),
    "forget": ({"q", "v", "p", "f<SUB>t</SUB>"}, ["∇<SUB>p</SUB> f<SUB>t</SUB> = (1−σ(p))σ(p)"]),
    "output": ({"q", "v", "p", "o<SUB>t</SUB>"}, ["∇<SUB>p</SUB> o<SUB>t</SUB> = (1−σ(p))σ(p)"]),
    "gate": ({"q", "v", "p", "g<SUB>t</SUB>"}, ["∇<SUB>p</SUB> g<SUB>t</SUB> = 1−tanh²(p)"]),
    "cell": ({"q", "p", "c<SUB>t</SUB>"}, ["∇<SUB>q</SUB> c<SUB>t</SUB> = 1", "∇<SUB>p</SUB> c<SUB>t</SUB> = 1",
                                           "∇<SUB>f<SUB>t</SUB></SUB> q = c<SUB>t−1</SUB>",
                                           "∇<SUB>c<SUB>t−1</SUB></SUB> q = f<SUB>t</SUB>",
                                           "∇<SUB>i<SUB>t</SUB></SUB> p = g<SUB>t</SUB>",
                                           "∇<SUB>g<SUB>t</SUB></SUB> p = i<SUB>t</SUB>"]),
    "hidden": ({"q", "h<SUB>t</SUB>"}, ["∇<SUB>o<SUB>t</SUB></SUB> h<SUB>t</SUB> = q",
                                        "∇<SUB>q</SUB> h<SUB>t</SUB> = o<SUB>t</SUB>",
                                        "∇<SUB>c<SUB>t</SUB></SUB> q = 1−tanh²(c<SUB>t</SUB>)"]),
}


def node_symbols(graph) -> set[str]:
    return set(re.findall(r"<TD BGCOLOR=\"#[0-9a-f]+\"><B>(.*?)</B>", graph.source))


def unsized(source: str) -> str:
    """The DOT source without the point sizes that set a subscript's subscript smaller."""
    return re.sub(r'<FONT POINT-SIZE="[\d.]+">([^<]*)</FONT>', r"\1", source)


@pytest.mark.parametrize("gate", EXPECTED)
def test_each_section_has_its_nodes_and_the_declared_partials_on_its_edges(gate):
    graph = viz.render_gate(gate)
    symbols, labels = EXPECTED[gate]
    assert symbols <= node_symbols(graph)
    for label in labels:
        assert f"label=<{label}>" in unsized(graph.source), label
    assert "cluster_t0_" + viz.SECTION_OF[gate] in graph.source


def test_the_whole_cell_has_every_section():
    source = viz.render_gate("all").source
    for section in viz.SECTION_OF.values():
        if section:
            assert f"cluster_t0_{section}" in source


def test_render_all_writes_svg_that_parses(tmp_path):
    paths = viz.render_all(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{name}.svg" for name in viz.SECTION_OF)
    for path in paths:
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg")
    assert "(1−σ(p))σ(p)" in (tmp_path / "input.svg").read_text()
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_gradient_printed_on_a_node_is_that_tensors_grad():
    x = Tensor([0.5, -1.25, 2.0], requires_grad=True, name="x")
    y = sigmoid(x).named("y")
    (y * np.array([1.0, -2.0, 3.0])).sum().backward(retain_grads=True)
    source = viz.draw(y).source
    for tensor in (x, y):
        printed = re.search(rf"<B>{tensor.name}</B>.*?∇ \[(.*?)\]", source, re.S).group(1)
        np.testing.assert_allclose([float(v) for v in printed.split()], tensor.grad, rtol=5e-3)
        assert np.array2string(tensor.grad, precision=5, suppress_small=True) in source  # the tooltip, fuller


def test_the_generic_renderer_places_tensors_by_its_describe_hook():
    x = Tensor([0.5, -1.0], requires_grad=True, name="x")
    y = tanh(x).named("layer 1/y")
    y.sum().backward(retain_grads=True)
    layer = Cluster("layer1", "layer 1")
    describe = lambda tensor: Look(tensor.name.split("/")[-1], (layer,) if "/" in tensor.name else ())  # noqa: E731
    source = graph.draw(y, describe=describe).source
    assert re.search(r"subgraph cluster_layer1 \{\s*color=\S+ fillcolor=\S+ fontsize=12 label=<layer 1>", source)
    assert "<B>y</B>" in source and "∇<SUB>x</SUB> y = 1−tanh²(x)" in source
    assert "<B>layer 1/y</B>" in graph.draw(y).source  # without the hook a name is only a name


def test_large_tensors_are_summarised():
    x = Tensor(np.arange(20.0), requires_grad=True, name="x")
    (x * 2.0).sum().backward()
    assert "‖·‖ 49.7   min 0   max 19" in viz.draw(x).source


@pytest.mark.parametrize("name", ['<a & "b">{c}', "x_{t-1}<TD>", "'}; digraph {"])
def test_names_are_escaped_and_render_as_written(name):
    x = Tensor([1.0], requires_grad=True, name=name)
    (sigmoid(x) * 1.0).sum().backward()
    svg = viz.to_svg(viz.draw(x))
    texts = "".join("".join(ET.fromstring(svg).itertext()).split())
    # the subscript is rendered as one, everything else as written
    assert "".join(name.replace("_{t-1}", "t−1").split()) in texts


def test_the_bundled_renderer_needs_no_dot_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "")
    import shutil

    assert shutil.which("dot") is None
    assert viz.to_svg(viz.render_gate("hidden")).lstrip().startswith("<?xml")


def test_without_any_graphviz_the_error_says_what_to_install_and_dot_still_works(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    graph = viz.render_gate("cell")
    with pytest.raises(viz.RenderError, match="pip install pygraphviz"):
        viz.write(graph, tmp_path / "cell.svg")
    assert not (tmp_path / "cell.svg").exists()
    assert viz.write(graph, tmp_path / "cell.dot", "dot").read_text().startswith("digraph")


def test_graphviz_errors_become_render_errors():
    import graphviz

    broken = graphviz.Digraph()
    broken.node("a", "<<B>unclosed>")
    with pytest.raises(viz.RenderError, match="Graphviz rejected the graph"):
        viz.to_svg(broken)


def test_notebooks_get_svg_without_system_dot(monkeypatch):
    monkeypatch.setenv("PATH", "")
    bundle = viz.render_gate("input")._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")


def test_the_collapsed_fifty_step_sequence_stays_small():
    graph = viz.render_gate("all", length=50)
    nodes = re.findall(r"^\s*(\w+) \[label=", graph.source, re.M)
    assert len(nodes) <= 50 + 3  # one per step, the initial state, the parameters, the legend
    assert "t = 49" in graph.source
    ET.fromstring(viz.to_svg(graph))


def test_an_unrolled_short_sequence_has_a_cluster_per_step():
    source = viz.render_gate("input", length=2, batch=2).source
    assert "cluster_t0 {" in source and "cluster_t1 {" in source
    assert "shared: ∇ sums all uses" in source


def test_highlighted_nodes_are_outlined():
    source = viz.render_gate("forget", highlight=("t0/forget gate/f_t",)).source
    assert source.count('COLOR="#d62728"') == 1


def test_render_command_writes_every_section_and_the_whole_cell(tmp_path, capsys):
    assert main(["render", "--gate", "all", "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{g}.svg" for g in viz.SECTION_OF)
    assert main(["render", "--gate", "input", "--format", "png", "-o", str(tmp_path / "input.png")]) == 0
    assert (tmp_path / "input.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["render", "--gate", "gate", "--format", "dot", "--length", "2", "--batch", "3", "-o",
                 str(tmp_path / "g.dot")]) == 0
    assert "cluster_t1" in (tmp_path / "g.dot").read_text()


def test_render_command_errors_name_the_problem(tmp_path, capsys):
    assert main(["render", "--gate", "input", "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["render", "--gate", "all", "-o", str(tmp_path / "file")]) == 2
    assert "must be a folder" in capsys.readouterr().err
    assert main(["render", "--gate", "input", "--length", "0", "-o", str(tmp_path / "x.svg")]) == 2
    assert "argument --length: expected a positive integer, got '0'" in capsys.readouterr().err


def one_step(length: int = 1):
    model = LSTM(input_size=2, hidden_size=2, seed=0)
    xs = Tensor(np.random.default_rng(0).standard_normal((length, 2, 2)), requires_grad=True)
    hs, (h_T, _) = model(xs)
    hs.sum().backward(retain_grads=True)
    return hs, h_T


def test_draw_takes_a_section_by_short_name_and_as_one_string():
    _, h_T = one_step()
    full = viz.draw(h_T, sections=["forget gate"]).source
    assert "cluster_t0_forget gate" in full and "cluster_t0_input gate" not in full
    for spelled in (["forget"], "forget", "forget gate", ("forget gate",)):
        assert viz.draw(h_T, sections=spelled).source == full, spelled
    assert viz.draw(h_T, sections="all").source == viz.draw(h_T).source


def test_an_unknown_section_names_the_valid_ones():
    _, h_T = one_step()
    with pytest.raises(ValueError, match=r"no section 'forget gates'; the sections are 'input gate', 'forget gate', "
                                         r".*or by first word 'input', 'forget'"):
        viz.draw(h_T, sections=["forget gates"])
    with pytest.raises(ValueError, match="no section 'f'"):
        viz.draw(h_T, sections="f")


def test_a_long_sequence_is_collapsed_unless_asked_not_to():
    hs, _ = one_step(length=5)
    collapsed = viz.draw(hs)
    nodes = re.findall(r"^\s*(\w+) \[label=", collapsed.source, re.M)
    assert len(nodes) <= 5 + 3 and "t = 4" in collapsed.source
    size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', viz.to_svg(collapsed)).groups()
    width, height = map(float, size)
    assert width < 2000 and height < 1500
    assert "cluster_t4" in viz.draw(hs, collapse=False).source
    assert "cluster_t2" in viz.draw(one_step(length=3)[0]).source  # three steps stay unrolled


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the engine's ∞ − ∞ in σ's partial
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_gradient_of_nan_or_inf_has_its_own_colour_and_legend_entry(bad):
    x = Tensor([0.5, -1.0], requires_grad=True, name="x")
    y = sigmoid(x).named("y")
    y.backward(np.array([bad, 1.0]), retain_grads=True)
    svg = viz.to_svg(viz.draw(y))
    colour = graph.NOT_FINITE[0]
    assert svg.count(f'fill="{colour}"') >= 3  # y's and x's gradient rows, and the legend
    assert "NaN or ±∞" in svg
    hs, _ = one_step(length=4)
    hs.grad[:] = bad
    assert "NaN" in viz.draw(hs).source or "∞" in viz.draw(hs).source


def test_graphs_over_a_thousand_nodes_render(recwarn):
    import graphviz

    big = graphviz.Digraph()
    for i in range(1003):
        big.edge(f"a{i}", f"a{i + 1}")
    assert viz.to_svg(big).count('class="node"') == 1004


@pytest.mark.parametrize("name, shown", [("x\\", "x\\"), ("x_{}", "x_{}"), ("a\x01b\tc", "a\\x01b\\tc"),
                                         ("\\N and \\G", "\\N and \\G")])
def test_odd_names_render_as_written(name, shown):
    x = Tensor([1.0], requires_grad=True, name=name)
    (sigmoid(x) * 1.0).sum().backward()
    root = ET.fromstring(viz.to_svg(viz.draw(x)))
    texts = "".join(root.itertext())
    assert shown in texts
    titles = [a.get("{http://www.w3.org/1999/xlink}title") for a in root.iter("{http://www.w3.org/2000/svg}a")]
    assert any(title.startswith(shown) for title in titles), titles


def test_the_graphs_own_pipe_render_and_view_use_the_bundled_graphviz(monkeypatch, tmp_path):
    import graphviz

    monkeypatch.setenv("PATH", "")
    drawn = viz.render_gate("hidden")
    assert drawn.pipe().startswith(b"<?xml") and drawn.pipe(encoding="utf-8").startswith("<?xml")
    assert drawn.pipe(format="png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn.pipe(format="dot") == drawn.source.encode()
    assert drawn.render(directory=tmp_path) == str(tmp_path / "Graph.gv.svg")
    assert (tmp_path / "Graph.gv").read_text() == drawn.source
    assert drawn.render(outfile=tmp_path / "hidden.png", cleanup=True) == str(tmp_path / "hidden.png")
    assert (tmp_path / "hidden.png").read_bytes()[:4] == b"\x89PNG" and not (tmp_path / "hidden.gv").exists()
    opened = []
    monkeypatch.setattr(graphviz, "view", lambda path, quiet=False: opened.append(path))
    drawn.view(filename="v.gv", directory=tmp_path)
    assert opened == [str(tmp_path / "v.gv.svg")] and (tmp_path / "v.gv.svg").read_text().startswith("<?xml")
    before = sorted(tmp_path.iterdir())
    with pytest.raises(ValueError, match=r"format must be one of svg, png, dot .*got 'pdf'"):
        drawn.render(directory=tmp_path, format="pdf")
    with pytest.raises(ValueError, match="engine cannot be chosen"):
        drawn.pipe(engine="neato")
    assert sorted(tmp_path.iterdir()) == before  # a failed render leaves nothing behind


def step_norms(source: str, symbol: str) -> list[float]:
    """‖∇symbol‖ of every step of a collapsed picture, in step order."""
    return [float(v) for v in re.findall(rf"‖∇{re.escape(symbol)}‖</TD><TD[^>]*>([-\d.e+]+)<", source)]


def test_a_collapsed_sequence_shows_the_chosen_sections_gradients(tmp_path):
    assert main(["render", "--gate", "all", "--length", "50", "-o", str(tmp_path / "out")]) == 0
    pictures = {path.stem: path.read_text() for path in (tmp_path / "out").iterdir()}
    assert len(set(pictures.values())) == len(viz.SECTION_OF)
    forget = viz.render_gate("forget", length=50).source
    assert len(step_norms(forget, "f<SUB>t</SUB>")) == 50 and not step_norms(forget, "i<SUB>t</SUB>")
    assert len(step_norms(forget, "p")) == 50  # the section's own terms too
    whole = viz.render_gate("all", length=50).source
    assert all(len(step_norms(whole, f"{k}<SUB>t</SUB>")) == 50 for k in "ifog")
    assert "parameters, shared by every step" in forget
    assert "W<SUB>xf</SUB>" in forget and "W<SUB>xi</SUB>" not in forget


def outlined_steps(source: str) -> set[int]:
    return {int(t) for t in re.findall(r'BORDER="3" COLOR="#d62728"[^>]*><TR><TD COLSPAN="2"[^>]*><B>t = (\d+)</B>',
                                       source)}


def test_a_collapsed_sequence_marks_where_a_bug_disagrees():
    from lstm.derivation.bugs import BUGS
    from lstm.derivation.hand import DERIVATION

    # nothing is carried back, so every step but the last one gets it wrong, and the initial state too
    no_carry = viz.render_gate("input", length=50, derivation=BUGS["no-carry"].derivation).source
    assert outlined_steps(no_carry) == set(range(49))
    assert re.search(r'BORDER="3" COLOR="#d62728"[^>]*><TR><TD[^>]*><B>initial state', no_carry)
    assert "✗ ‖∇h<SUB>t</SUB>‖" in no_carry
    # a mistake inside every step shows at every step
    assert outlined_steps(viz.render_gate("forget", length=20, derivation=BUGS[
        "forget-no-sigmoid-derivative"].derivation).source) == set(range(20))
    assert outlined_steps(viz.render_gate("all", length=20, derivation=DERIVATION).source) == set()


def test_with_the_loss_on_the_last_step_the_gradient_dies_away_back_through_time(tmp_path):
    last = viz.render_gate("all", length=50, loss="last").source
    norms = np.array(step_norms(last, "h<SUB>t</SUB>"))
    assert len(norms) == 50 and norms[-1] > 1e6 * norms[0]
    assert np.polyfit(np.arange(50), np.log10(norms), 1)[0] > 0.1  # decades per step, rising towards T
    assert "loss h<SUB>T</SUB>·R<SUB>T</SUB>: the last step" in last
    every = np.array(step_norms(viz.render_gate("all", length=50).source, "h<SUB>t</SUB>"))
    assert every.min() > every.max() / 100  # every step feeds Σ_t h_t·R_t: nothing to see vanish
    assert main(["render", "--gate", "all", "--length", "50", "--loss", "last", "-o", str(tmp_path / "out"),
                 "--format", "dot"]) == 0
    assert (tmp_path / "out" / "all.dot").read_text() == last


def test_every_picture_says_what_its_loss_is():
    for source in (viz.render_gate("input").source, viz.render_gate("all", length=50).source):
        assert "loss Σ<SUB>t</SUB> h<SUB>t</SUB>·R<SUB>t</SUB>: every step" in source
        assert "R<SUB>t</SUB>, a fixed random array of h<SUB>t</SUB>" in source


def test_a_describe_hooks_odd_cluster_keys_and_labels_render_as_written():
    x = Tensor([0.5], requires_grad=True, name="x")
    y = tanh(x).named("y")
    y.sum().backward(retain_grads=True)
    box = Cluster('a"b\\', 'a "quoted" \\N box')
    svg = viz.to_svg(graph.draw(y, describe=lambda t: Look(t.name, (box,) if t.name == "y" else ())))
    assert 'a "quoted" \\N box' in "".join(ET.fromstring(svg).itertext())




@pytest.mark.parametrize("name, fmt, start", [("input.png", None, b"\x89PNG\r\n\x1a\n"), ("input.svg", None, b"<?xml"),
                                              ("input.dot", None, b"digraph"), ("input.gv", None, b"digraph"),
                                              ("input", None, b"<?xml"), ("input", "png", b"\x89PNG"),
                                              ("input.PNG", "png", b"\x89PNG")])
def test_the_format_comes_from_the_extension_unless_given(tmp_path, capsys, name, fmt, start):
    assert main(["render", "--gate", "input", "-o", str(tmp_path / name), *(["--format", fmt] if fmt else [])]) == 0
    assert (tmp_path / name).read_bytes().startswith(start)


@pytest.mark.parametrize("path, fmt, message", [
    ("x.png", "svg", r"x.png ends in .png but the format asked for is svg"),
    ("x.svg", "png", r"x.svg ends in .svg but the format asked for is png"),
    ("x.jpg", None, r"cannot tell the format from the extension .jpg"),
])
def test_write_refuses_a_format_its_extension_contradicts(tmp_path, path, fmt, message):
    with pytest.raises(ValueError, match=message):
        viz.write(viz.render_gate("input"), tmp_path / path, fmt)
    assert list(tmp_path.iterdir()) == []


def test_write_takes_any_graphviz_graph_and_refuses_anything_else_by_name(tmp_path):
    assert viz.write(graphviz.Graph(body=["a -- b"]), tmp_path / "g.dot").read_text().startswith("graph {")
    with pytest.raises(TypeError, match=r"^write: expected a graph \(viz.draw's, or any graphviz graph\), got str$"):
        viz.write("digraph { a -> b }", tmp_path / "s.svg")
    assert list(tmp_path.iterdir()) == [tmp_path / "g.dot"]


def test_render_all_creates_one_folder_but_not_its_parents(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        viz.render_all(tmp_path / "missing" / "out", "dot")
    assert not (tmp_path / "missing").exists()
    assert len(viz.render_all(tmp_path / "out", "dot")) == len(viz.SECTION_OF)


@pytest.mark.parametrize("roots, got", [((np.zeros(3),), "got ndarray"), ((), "got nothing"),
                                        ((Tensor(1.0), [1.0]), "got list")])
def test_draw_says_it_takes_tensors(roots, got):
    for draw in (viz.draw, viz.draw_timeline, graph.draw):
        with pytest.raises(TypeError, match=f"expected Tensors, the results of engine operations.*{got}$"):
            draw(*roots)


def test_the_graphs_render_creates_its_directory_as_graphviz_does(tmp_path):
    """Files need an existing folder (autograd.files); graphviz's own render makes `directory`, and so does ours."""
    drawn = viz.render_gate("hidden")
    assert drawn.render("g", directory=tmp_path / "new" / "deeper", format="dot") == str(
        tmp_path / "new" / "deeper" / "g.dot")
    assert (tmp_path / "new" / "deeper" / "g").read_text() == drawn.source
