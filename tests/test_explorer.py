"""The explorer's data: the engine's order, values, gradients and partials, the checks and the bug marks; the
page's size; its command; the package that ships its script. (tests/test_explorer_page.py runs the page.)"""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

import viz
from autograd import Primitive, Tensor, sigmoid, tanh
from autograd.graph import walk
from lstm import LSTM
from lstm.derivation.bugs import BUGS
from lstm.derivation.compare import compare, disagreeing
from lstm.derivation.problem import Problem
from lstm_autograd.cli import main
from viz import explorer
from viz.explorer.layout import place_all
from viz.graph import NOT_FINITE
from viz.lstm_views import describe
from viz.mathml import math, prose

ROOT = Path(__file__).parent.parent


def decode(enc):
    return np.array([float(v) for v in enc["d"]]).reshape(enc["s"])


def lstm_loss(length=3, batch=None, seed=0):
    """A small LSTM's loss Σ_t h_t·R_t, backward with every gradient kept; the tensors in walk order."""
    model = LSTM(2, 3, seed=seed)
    rng = np.random.default_rng(seed + 1)
    shape = () if batch is None else (batch,)
    xs = rng.standard_normal((length, *shape, 2))
    state = tuple(Tensor(rng.standard_normal((*shape, 3)), requires_grad=True) for _ in range(2))
    hs, _ = model(xs, state)
    loss = (hs * rng.standard_normal(hs.shape)).sum()
    loss.backward(retain_grads=True)
    return loss


@pytest.mark.parametrize("batch", [None, 2])
def test_the_backward_order_is_the_order_the_engine_itself_visits(monkeypatch, batch):
    visited = []
    through = Primitive.gradients

    def recording(self, u, node, last=False):
        visited.append(node)
        return through(self, u, node, last)

    monkeypatch.setattr(Primitive, "gradients", recording)
    loss = lstm_loss(length=2, batch=batch)
    data = viz.explore(loss).data
    tensors = walk([loss])
    order = [tensors[i] for i in data["backward"]]
    assert [id(t) for t in order if t.op is not None] == [id(t) for t in visited]
    assert sorted(data["backward"]) == [i for i, t in enumerate(tensors) if t.requires_grad]  # each once
    assert data["forward"] == list(range(len(tensors)))


@pytest.mark.parametrize("batch", [None, 2])
def test_every_value_gradient_and_contribution_is_the_engines(batch):
    loss = lstm_loss(length=3, batch=batch)
    data = viz.explore(loss).data
    tensors = walk([loss])
    for i, tensor in enumerate(tensors):
        node = data["nodes"][i]
        assert np.array_equal(decode(node["value"]), tensor.data)
        assert (node["grad"] is None) == (tensor.grad is None)
        if tensor.grad is None:
            continue
        assert np.array_equal(decode(node["grad"]), tensor.grad)
        # each contribution is what the reverse pass's own call hands this operand, and they add up to the gradient
        total = np.zeros_like(tensor.grad)
        for e in node["arrive"]:
            edge = data["edges"][e]
            child = tensors[edge["c"]]
            share = child.op.gradients(child.grad, child)[edge["k"]]
            share = share.dense() if hasattr(share, "dense") else share
            assert np.allclose(decode(edge["g"]), share, rtol=1e-15, atol=0)
            total = total + decode(edge["g"])
        if node["outside"] is not None:
            assert tensor is loss and node["outside"]["why"] == "seed"
            total = total + decode(node["outside"]["g"])
        assert np.allclose(total, tensor.grad, rtol=1e-13, atol=1e-300), tensor.name


def test_contributions_arrive_in_the_order_of_the_reverse_pass():
    data = viz.explore(lstm_loss(length=3)).data
    position = {n: k for k, n in enumerate(data["backward"])}
    for node in data["nodes"]:
        arrivals = [position[data["edges"][e]["c"]] for e in node["arrive"]]
        assert arrivals == sorted(arrivals)
    h0 = next(n for n in data["nodes"] if n["name"] == "t0/hidden state update/h_t")
    assert len(h0["arrive"]) == 5  # hs, and v of each of step 1's four gates


def test_each_edge_carries_the_declared_partial_with_names_as_the_step_reads_them():
    loss = lstm_loss(length=3)
    data = viz.explore(loss).data
    tensors = walk([loss])
    texts = {}
    for edge in data["edges"]:
        child = tensors[edge["c"]]
        texts[(child.name, edge["k"])] = edge["f"]
    label = lambda name, k: data["math"][texts[(name, k)]]  # noqa: E731
    # step 1 reads step 0's h_t as h_{t−1}, in both partials of v = W_hf h_{t−1}
    assert label("t1/forget gate/v", 0) == math("∇_{W_hf} v = h_{t-1}ᵀ")
    assert label("t1/forget gate/v", 1) == math("∇_{h_{t-1}} v = W_hfᵀ")
    assert label("t2/cell state update/q", 1) == math("∇_{c_{t-1}} q = f_t")
    assert label("t0/input gate/i_t", 0) == math("∇_p i_t = (1−σ(p))σ(p)")
    assert not any("h_tᵀ" in text for text in data["math"])


def test_places_copy_parameters_beside_each_use_and_stub_what_the_next_step_reads():
    loss = lstm_loss(length=2)
    tensors = walk([loss])
    places = dict(zip((t.name for t in tensors), place_all(tensors, [describe(t) for t in tensors]), strict=False))
    assert [(p.unit, [c.key for c in p.path], p.role) for p in places["W_hf"]] == \
        [("", ["shared"], "home"), ("t1", ["forget gate"], "copy"), ("t0", ["forget gate"], "copy")]
    assert [(p.unit, p.role) for p in places["t0/hidden state update/h_t"]] == [("t0", "home"), ("t1", "stub")]
    assert [(p.unit, p.role) for p in places["t1/hidden state update/h_t"]] == [("t1", "home")]


def test_the_explorer_asks_for_what_it_needs():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = sigmoid(x).sum()
    with pytest.raises(ValueError, match=r"no gradient; call backward\(retain_grads=True\)"):
        viz.explore(y)
    y.backward()  # without retain_grads the graph is let go
    with pytest.raises(RuntimeError, match="freed"):
        viz.explore(y)
    with pytest.raises(ValueError, match="nothing in this graph requires grad"):
        viz.explore(Tensor([1.0]) * 2)
    with pytest.raises(ValueError, match="explore\\(loss\\)"):
        viz.explore()
    with pytest.raises(TypeError, match="expected Tensors, got ndarray"):
        viz.explore(np.ones(2))


def test_any_graph_explores_and_a_leaf_shows_what_an_earlier_backward_left_in_grad():
    x = Tensor([0.5, -1.0], requires_grad=True, name="x")
    y = (tanh(x) * x).sum()
    y.backward(retain_grads=True)
    data = viz.explore(y).data
    node = next(n for n in data["nodes"] if n["name"] == "x")
    assert len(node["arrive"]) == 2 and node["outside"] is None  # x feeds tanh and ⊙
    x.grad = None
    y = (tanh(x) * x).sum()
    y.backward(retain_graph=True)  # the leaf's gradient only
    y.backward(retain_grads=True)  # x.grad now holds two passes, the intermediates one
    node = next(n for n in viz.explore(y).data["nodes"] if n["name"] == "x")
    assert node["outside"]["why"] == "earlier" and np.allclose(decode(node["outside"]["g"]), x.grad / 2)


def test_the_ledgers_check_is_compares_three_way_check_on_this_sequence():
    page = viz.explore_gate("all", length=3, batch=2, input_size=2, hidden_size=2)
    nodes = {n["name"]: n for n in page.data["nodes"]}
    maths = page.data["math"]
    problem = Problem.random(2, 2, 2, 3, 0, np.float64)
    problem.dh_T[:] = problem.dc_T[:] = 0
    report = compare(problem=problem)
    row = next(r for r in report.rows if r.name == "W_hf")
    check = nodes["W_hf"]["check"]
    assert check["passed"] and row.passed
    measures = {maths[label]: value for label, value in check["measures"]}
    assert f"{row.engine_vs_fd:.2e}" in measures[prose("|engine − finite difference|")]
    assert "Gradients row" in maths[check["source"]]
    assert nodes["t1/hidden state update/h_t"]["check"]["passed"]
    assert all(n["check"]["passed"] for n in nodes.values() if n["check"])
    assert not any(n["mark"] for n in nodes.values()) and page.data["marks"]["first"] is None


@pytest.mark.parametrize("bug", ["forget-no-sigmoid-derivative", "w-h-uses-h-t", "no-carry"])
def test_a_bug_marks_where_its_hand_gradient_departs_and_the_first_place_in_the_reverse_order(bug):
    page = viz.explore_gate("forget", length=3, derivation=BUGS[bug].derivation)
    data = page.data
    marked = [n["name"] for n in data["nodes"] if n["mark"]]
    assert marked and all(not data["nodes"][data["nodes"].index(n)]["check"]["passed"]
                          for n in data["nodes"] if n["mark"])
    first = data["marks"]["first"]
    assert first == next(i for i in data["backward"] if data["nodes"][i]["mark"])
    if bug == "forget-no-sigmoid-derivative":
        assert data["nodes"][first]["name"] == "t2/forget gate/p"
        audits = data["nodes"][first]["check"]["audits"]
        assert [passed for _, passed, _ in audits] == [False]
    if bug == "w-h-uses-h-t":
        assert sorted(marked) == ["W_hf", "W_hg", "W_hi", "W_ho"]
    assert "departs" in data["marks"]["note"]


def test_disagreeing_agrees_with_the_marks():
    page = viz.explore_gate("all", length=2, derivation=BUGS["c-assigned"].derivation)
    marked = {n["name"] for n in page.data["nodes"] if n["mark"]}
    failing = {n["name"] for n in page.data["nodes"] if n["check"] and not n["check"]["passed"]}
    assert marked == failing and disagreeing({"a": np.ones(2)}, {"a": np.ones(2)}) == []
    # a NaN never agrees: compared with the tolerance it is False, and was taken for agreement
    assert disagreeing({"a": np.ones(2), "b": np.ones(2)}, {"a": np.array([1.0, np.nan]), "b": np.ones(2)}) == ["a"]


def test_explore_gate_refuses_bad_options_by_name():
    for options, message in ((dict(name="nope"), "gate must be one of"), (dict(loss="mean"), "loss must be one of"),
                             (dict(length=0), "length must be a positive integer"),
                             (dict(batch=-1), "batch must be a positive integer")):
        with pytest.raises(ValueError, match=message):
            viz.explore_gate(**options)


def test_sections_other_than_the_chosen_one_and_long_sequences_open_shut():
    boxes = lambda page: {page.data["boxes"][b]["key"] for b in page.data["collapsed"]}  # noqa: E731
    assert boxes(viz.explore_gate("input")) == {"forget gate", "output gate", "gate gate", "cell state update",
                                                "hidden state update"}  # one step: nothing is shared
    assert boxes(viz.explore_gate("all", length=3)) == {"shared"}
    assert {f"t{t}" for t in range(5)} <= boxes(viz.explore_gate("all", length=5))
    assert boxes(viz.explore_gate("all", length=5, collapse=False)) == {"shared"}


def test_identical_steps_share_one_layout():
    data = viz.explore_gate("all", length=6).data
    assert len(data["units"]) == 7 and len(data["layouts"]) == 3  # the root, step 0, and the steps after it


# Measured (docs/performance.md, "The explorer"): the cell at T = 3 is 0.14 MB, T = 50 collapsed 1.0 MB.
BUDGETS = {(1, None): 150_000, (3, None): 250_000, (50, None): 1_300_000, (3, 4): 400_000}


@pytest.mark.parametrize(("length", "batch"), list(BUDGETS))
def test_the_page_stays_within_its_size_budget(length, batch):
    size = len(viz.explore_gate("all", length=length, batch=batch, hidden_size=4 if batch else 2).html().encode())
    assert size < BUDGETS[(length, batch)], f"{size:,} bytes"


def test_the_page_holds_everything_and_loads_nothing():
    """Nothing that fetches: no src or href, no CSS url() but the page's own arrow and math font, no import or fetch
    (the browser test also watches every request the page makes)."""
    page = viz.explore_gate("input", length=2).html()
    assert page.count("<script") == 2
    assert not re.search(r"\b(src|href)\s*=|@import|\bimport\(|\bfetch\(|XMLHttpRequest", page)
    font = base64.b64encode((explorer.ASSETS / "math.woff2").read_bytes()).decode()
    assert set(re.findall(r"url\(([^)]*)\)", page)) == {"#arrow", f"data:font/woff2;base64,{font}"}
    data = json.loads(page.split('id="explorer-data">')[1].split("</script>")[0].replace("<\\/", "</"))
    assert data["nodes"] and "</script" not in page.split('id="explorer-data">')[1].split("</script>")[0]


def test_a_name_that_would_end_the_script_is_written_safely(tmp_path):
    x = Tensor([1.0], requires_grad=True, name="</script><b>x")
    y = (x * 2).sum()
    y.backward(retain_grads=True)
    page = viz.explore(y).html()
    data = page.split('id="explorer-data">')[1].split("</script>")[0]
    assert json.loads(data.replace("<\\/", "</"))["nodes"][0]["name"] == "</script><b>x"


def test_save_writes_the_page_and_refuses_a_folder_or_a_name_that_is_not_html(tmp_path):
    page = viz.explore_gate("all")
    path = page.save(tmp_path / "page.html")
    assert path.read_text(encoding="utf-8") == page.html()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        page.save(tmp_path)
    with pytest.raises(ValueError, match="the page is HTML; give a file name ending in .html, got .*page.svg$"):
        page.save(tmp_path / "page.svg")
    assert page.save(tmp_path / "PAGE.HTM").exists() and not (tmp_path / "page.svg").exists()


def test_in_a_notebook_it_shows_itself_in_a_frame_of_its_own():
    page = viz.explore_gate("all")
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in frame
    assert "<script" not in frame  # the page is inside the attribute, escaped
    assert "Explorer:" in repr(page)


def test_mathml_typesets_the_derivations_subscripts_and_superscripts():
    assert math("W_hi") == "<math><msub><mi>W</mi><mi>hi</mi></msub></math>"
    assert math("h_{t-1}") == "<math><msub><mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub></math>"
    assert "<msubsup><mi>W</mi><mi>hi</mi><mi mathvariant=\"normal\">T</mi></msubsup>" in math("W_hiᵀ")
    assert math("∇_{W_hi} v").startswith("<math><mrow><msub><mi>∇</mi><msub><mi>W</mi><mi>hi</mi></msub></msub>")
    assert "<msup><mi>tanh</mi><mn>2</mn></msup>" in math("1−tanh²(c_t)")
    assert math("a<b") == "<math><mrow><mi>a</mi><mo>&lt;</mo><mi>b</mi></mrow></math>"
    assert prose("input gate: i_t") == "input gate: <math><msub><mi>i</mi><mi>t</mi></msub></math>"
    assert math("1 on its slice").count("<mspace") == 3 and "<mspace" not in math("q = W_xi x_t")


@pytest.mark.parametrize(("options", "checks"), [
    (["--gate", "input"], ["input gate"]),
    (["--length", "3"], ["T=3"]),
    (["--length", "4", "--loss", "last", "--collapse"], ["h_T·R_T"]),
    (["--gate", "forget", "--bug", "forget-no-sigmoid-derivative"], ["departs"]),
])
def test_the_explore_command_writes_a_page(tmp_path, capsys, options, checks):
    path = tmp_path / "page.html"
    assert main(["explore", *options, "-o", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {path}"
    text = path.read_text(encoding="utf-8")
    assert all(check in text for check in checks)


@pytest.mark.parametrize(("options", "message"), [
    (["--gate", "nope"], "invalid choice: 'nope'"),
    (["--bug", "nope"], "no bug named 'nope'"),
    (["--length", "0"], "argument --length: expected a positive integer, got '0'"),
    (["--loss", "mean"], "invalid choice: 'mean'"),
])
def test_the_explore_command_refuses_bad_options_in_one_line(tmp_path, capsys, options, message):
    assert main(["explore", *options, "-o", str(tmp_path / "page.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not (tmp_path / "page.html").exists()


def test_the_explore_command_refuses_a_folder(tmp_path, capsys):
    assert main(["explore", "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_the_installed_package_ships_the_page(wheel):
    """The wheel holds every file of the page (template, script, style, math font and its licence), and so does
    the package imported here."""
    assets = {path.name for path in (ROOT / "viz" / "explorer").iterdir() if path.is_file()}
    assert {"explorer.html", "explorer.js", "explorer.css", "math.woff2", "math-OFL.txt"} <= assets
    assert {f"viz/explorer/{asset}" for asset in assets} <= wheel
    assert all((explorer.ASSETS / asset).is_file() for asset in assets)


def test_the_demo_writes_the_explorer_too(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "demo")]) == 0
    page = tmp_path / "demo" / "explorer.html"
    assert f"wrote {page}" in capsys.readouterr().out and "T=3" in page.read_text(encoding="utf-8")


def test_a_gradient_holding_nan_or_infinity_is_written_as_such():
    x = Tensor([np.nan, 1.0, 0.0], requires_grad=True, name="x")
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (tanh(x) + 1 / x).sum()
        y.backward(retain_grads=True)
    node = next(n for n in viz.explore(y).data["nodes"] if n["name"] == "x")
    assert node["grad"]["d"][0] == "NaN" and node["grad"]["d"][2] == "-Infinity"
    assert node["colour"] == NOT_FINITE[0]
    json.dumps(viz.explore(y).data, allow_nan=False)  # JSON has no NaN: the page's data stays valid JSON
