"""The explorer's page in headless Chromium, the network off: it loads clean, steps through the engine's reverse
order, shows the engine's numbers, its ledgers add up, boxes shut and open, keys work, and it runs in a notebook's
frame."""

import html
import itertools
import re
from decimal import Decimal

import numpy as np
import pytest

import viz
from autograd import Tensor, tanh
from autograd.graph import walk
from lstm import LSTM
from lstm.derivation.bugs import BUGS


def lstm_loss(length, batch=None, hidden=3, inputs=2):
    model = LSTM(inputs, hidden, seed=0)
    rng = np.random.default_rng(1)
    shape = () if batch is None else (batch,)
    hs, _ = model(rng.standard_normal((length, *shape, inputs)),
                  tuple(Tensor(rng.standard_normal((*shape, hidden)), requires_grad=True) for _ in range(2)))
    loss = (hs * rng.standard_normal(hs.shape)).sum()
    loss.backward(retain_grads=True)
    return loss


def show(page, explorer, tmp_path, name="page.html"):
    """Open the saved page; return the URLs it asked for."""
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(explorer.save(tmp_path / name).as_uri())
    page.wait_for_function("window.explorer !== undefined")
    return requests


def position(page):
    return page.evaluate("explorer.position")


def numbers(text):
    return [token for token in re.split(r"[\s\[\]∇]+", text) if token]


def close_enough(shown, true):
    """`shown` is `true` written to the digits it shows: within half a unit of its last digit."""
    if not np.isfinite(true):
        return shown == ("NaN" if np.isnan(true) else "inf" if true > 0 else "-inf")
    unit = Decimal(10) ** Decimal(shown).as_tuple().exponent
    return abs(Decimal(repr(float(true))) - Decimal(shown)) <= unit / 2 * Decimal("1.000001")


def stage_matrix(page):
    """The graph's pan and zoom: the stage's CSS transform matrix (scale first, translation last)."""
    transform = page.evaluate("getComputedStyle(document.getElementById('stage')).transform")
    return [float(v) for v in re.findall(r"-?[\d.]+", transform)]


def card_rects(page):
    return page.evaluate("""[...document.querySelectorAll('.node, .box-card')].map(e => {
        const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.dataset.name || e.dataset.box];
    })""")


def overlaps(rects):
    return [(a[4], b[4]) for a, b in itertools.combinations(rects, 2)
            if min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1]


def not_finite():
    x = Tensor([np.nan, 1.0, 0.0], requires_grad=True, name="x")
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (tanh(x) + 1 / x).sum()
        y.backward(retain_grads=True)
    return viz.explore(y)


PAGES = {
    "gate": lambda: viz.explore_gate("input"),
    "cell": lambda: viz.explore_gate("all"),
    "sequence": lambda: viz.explore_gate("all", length=3),
    "collapsed": lambda: viz.explore_gate("all", length=50),
    "batched": lambda: viz.explore_gate("all", batch=2, input_size=5, hidden_size=4),
    "bug": lambda: viz.explore_gate("forget", length=3, derivation=BUGS["forget-no-sigmoid-derivative"].derivation),
    "not finite": not_finite,
}


@pytest.mark.parametrize("kind", PAGES)
def test_every_kind_of_page_loads_without_errors_and_fetches_nothing(page, tmp_path, kind):
    requests = show(page, PAGES[kind](), tmp_path)
    page.keyboard.press("ArrowRight")
    assert page.errors == []
    assert requests and all(url.startswith("file:") for url in requests), requests
    assert page.locator(".node, .box-card").count() > 0


def test_stepping_to_the_end_visits_every_tensor_once_in_the_engines_reverse_order(page, tmp_path):
    loss = lstm_loss(length=2)
    tensors = walk([loss])
    show(page, viz.explore(loss), tmp_path)
    page.evaluate("explorer.go(0)")
    visited = []
    for _ in range(len(tensors)):
        page.keyboard.press("ArrowRight")
        visited.append(page.evaluate("explorer.state()"))
    assert [s["node"] for s in visited] == list(range(len(tensors))) and {s["phase"] for s in visited} == {"forward"}
    backward = []
    while position(page) < page.evaluate("explorer.total"):
        page.keyboard.press("ArrowRight")
        state = page.evaluate("explorer.state()")
        backward.append(state["node"])
        current = page.locator(f'.node.current[data-node="{state["node"]}"]')
        assert current.count() >= 1  # every step of a cell this small is in sight
        assert current.first.locator(".grad.hidden").count() == 0  # its gradient shows now
    assert backward == [i for i in reversed(range(len(tensors))) if tensors[i].requires_grad]
    assert len(set(backward)) == len(backward)
    page.keyboard.press("ArrowRight")
    assert position(page) == page.evaluate("explorer.total") and page.errors == []


@pytest.mark.parametrize("batch", [None, 2])
def test_every_card_shows_the_engines_value_and_gradient_to_the_digits_it_shows(page, tmp_path, batch):
    loss = lstm_loss(length=3, batch=batch)
    tensors = walk([loss])
    show(page, viz.explore(loss, collapsed=[]), tmp_path)
    page.keyboard.press("End")
    cards = page.evaluate("""[...document.querySelectorAll('.node')].map(e => [Number(e.dataset.node),
        [...e.querySelectorAll('.value')].map(l => l.textContent).join(' '),
        [...e.querySelectorAll('.grad')].map(l => l.textContent).join(' ')])""")
    assert len({n for n, _, _ in cards}) == len(tensors)  # every tensor is in sight somewhere
    for n, value, grad in cards:
        tensor = tensors[n]
        for shown, array in ((value, tensor.data), (grad, tensor.grad)):
            if array is None:
                assert shown == ""
                continue
            if "‖·‖" in shown:  # too many elements for a card: norm, min and max
                shown = re.sub(r"‖·‖|min|max", " ", shown)
                array = np.array([np.linalg.norm(array), array.min(), array.max()])
            assert all(close_enough(s, t) for s, t in zip(numbers(shown), array.ravel(), strict=True)), (n, shown)


def test_a_ledgers_contributions_add_up_to_its_gradient(page, tmp_path):
    loss = lstm_loss(length=3)
    h = next(t for t in walk([loss]) if t.name == "t0/hidden state update/h_t")
    show(page, viz.explore(loss), tmp_path)
    page.keyboard.press("End")
    page.locator('.node[data-name="t0/hidden state update/h_t"]').first.click()
    ledger = page.locator("#ledger")
    texts = ledger.locator(".contribution .share pre").all_text_contents()
    shares = [[float(v) for v in numbers(text)] for text in texts]
    total = [float(v) for v in numbers(ledger.locator(".sum .total pre").text_content())]
    assert len(shares) == 5  # hs, and v of the four gates of step 1
    assert np.allclose(np.sum(shares, axis=0), total, rtol=1e-6, atol=1e-9)
    assert np.allclose(total, h.grad, rtol=1e-6, atol=1e-12)
    assert float(ledger.locator(".sum .difference").text_content()) <= 1e-15
    assert page.errors == []


def test_shutting_and_opening_a_step_and_a_gate(page, tmp_path):
    show(page, viz.explore_gate("all", length=3), tmp_path)
    page.keyboard.press("f")  # the whole graph in sight, to click its boxes
    all_nodes = page.locator(".node").count()
    step = page.evaluate("[...document.querySelectorAll('.frame-label.outline')].find(e => e.textContent.includes('1'))"
                         ".dataset.box")
    assert page.locator('.node[data-name^="t1/"]').count() > 0
    page.locator(f'.frame-label[data-box="{step}"]').click()
    assert page.locator(f'.box-card[data-box="{step}"]').count() == 1
    assert page.locator('.node:not(.stub)[data-name^="t1/"]').count() == 0 and page.locator(".node").count() < all_nodes
    assert page.locator('.node.stub[data-name^="t1/"]').count() == 2  # what step 2 reads as h_{t−1} and c_{t−1}
    assert overlaps(card_rects(page)) == []
    page.locator(f'.box-card[data-box="{step}"]').click()
    assert page.locator(".node").count() == all_nodes and overlaps(card_rects(page)) == []
    gate = page.locator(".frame-label:not(.outline)", has_text="forget gate").first
    box = gate.get_attribute("data-box")
    gate.click()
    assert page.locator(f'.box-card[data-box="{box}"]').count() == 1 and overlaps(card_rects(page)) == []
    assert page.errors == []


def test_fifty_steps_open_shut_one_card_a_step_and_a_step_opens_on_a_click(page, tmp_path):
    show(page, viz.explore_gate("all", length=50), tmp_path)
    page.keyboard.press("f")  # the whole graph in sight, to click its boxes
    steps = page.locator(".box-card.outline")
    assert steps.count() == 50 and page.locator(".node").count() <= 6  # the loss's few tensors
    page.locator(".box-card.outline", has_text="t = 25").click()
    assert page.locator('.node[data-name^="t25/"]').count() > 10 and steps.count() == 49
    assert overlaps(card_rects(page)) == []
    page.keyboard.press("End")
    rows = page.locator(".box-card.outline .norm").all_text_contents()
    assert "·" not in rows and len(rows) == 49 * 6  # ‖∇‖ of h, c and the gates of every shut step
    assert page.errors == []


def test_keys_step_play_and_pause(page, tmp_path):
    show(page, viz.explore_gate("all"), tmp_path)
    start = position(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert position(page) == start + 2
    page.keyboard.press("ArrowLeft")
    assert position(page) == start + 1
    page.keyboard.press(" ")
    page.wait_for_timeout(700)
    page.keyboard.press(" ")
    stopped = position(page)
    assert stopped > start + 1
    page.wait_for_timeout(400)
    assert position(page) == stopped
    page.keyboard.press("Home")
    assert position(page) == 0
    page.keyboard.press("End")
    assert position(page) == page.evaluate("explorer.total")
    page.fill("#jump", "t0/forget gate/p")
    page.keyboard.press("Enter")
    assert page.evaluate("explorer.state().name") == "t0/forget gate/p"
    assert page.locator("#ledger .full").first.text_content().startswith("t0/forget gate/p")
    assert page.errors == []


def test_names_are_typeset_with_real_subscripts(page, tmp_path):
    show(page, viz.explore_gate("all"), tmp_path)
    # sizes are the heights of the letters' lines, not of their ink (a t rises above an x); under a base without
    # a descender, whose ink ends on the baseline, the script's ink hangs a tenth of an em or more below it
    boxes = page.evaluate("""[...document.querySelectorAll('.node .sym msub')]
        .filter(m => !/[gjpqy]/.test(m.firstElementChild.textContent)).slice(0, 6).map(m => {
        const line = (e) => { const r = document.createRange(); r.selectNodeContents(e);
                              return r.getBoundingClientRect().height; };
        const [base, script] = m.children;
        return [line(base), line(script), base.getBoundingClientRect().bottom, script.getBoundingClientRect().bottom,
                parseFloat(getComputedStyle(base).fontSize)];
    })""")
    assert boxes
    for base_line, script_line, base_bottom, script_bottom, em in boxes:
        assert script_line < base_line and script_bottom - base_bottom > 0.1 * em
    formulas = page.locator(".edge-label").all_text_contents()
    assert any("h" in f and "t−1" in f for f in formulas)  # ∇_{W_h…} v = h_{t−1}ᵀ, set as math


def test_every_formula_is_drawn_in_the_math_font_the_page_carries(page, tmp_path):
    """No glyph of the names, formulas and ledgers comes from the machine's own fonts: the math typesets alike
    wherever the page opens."""
    show(page, PAGES["bug"](), tmp_path)
    page.locator("#first-wrong").click()  # its ledger: the check, its measures and the audited partials
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    tokens = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "math mi, math mn, math mo"})["nodeIds"]
    fonts = {(font["familyName"], font["isCustomFont"]) for token in tokens
             for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": token})["fonts"]}
    assert len(tokens) > 100 and fonts == {("Explorer Math", True)}


@pytest.mark.parametrize("sizes", [dict(batch=2, input_size=5, hidden_size=4),
                                   dict(batch=40, input_size=3, hidden_size=30)])  # 1,200 elements: not all held
def test_cards_hold_their_text(page, tmp_path, sizes):
    show(page, viz.explore_gate("all", **sizes), tmp_path)
    page.keyboard.press("End")
    spill = page.evaluate("""[...document.querySelectorAll('.node, .box-card, .frame-label')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
        .map(e => e.dataset.name || e.textContent)""")
    assert spill == []


def test_a_bug_page_steps_to_the_first_wrong_gradient(page, tmp_path):
    show(page, PAGES["bug"](), tmp_path)
    page.locator("#first-wrong").click()
    assert page.evaluate("explorer.state().name") == "t2/forget gate/p"
    assert "first place the hand gradient departs" in page.locator("#status").text_content()
    assert page.locator('.node.marked[data-name="t2/forget gate/p"]').count() >= 1
    assert "FAIL" in page.locator("#ledger h3.check").text_content()
    assert page.errors == []


def test_in_a_notebook_the_page_runs_in_its_own_frame(page, tmp_path):
    explorer = viz.explore_gate("all")
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body><h1>a notebook</h1>{explorer._repr_html_()}</body></html>",
                    encoding="utf-8")
    page.goto(host.as_uri())
    frame = next(f for f in page.frames if f != page.main_frame)
    frame.wait_for_function("window.explorer !== undefined")
    before = frame.evaluate("explorer.position")
    frame.locator("#viewport").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    assert frame.evaluate("explorer.position") == before + 1
    assert page.errors == [] and html.unescape(explorer._repr_html_()).count("<script") == 2


def test_the_wheel_zooms_and_a_drag_pans(page, tmp_path):
    show(page, viz.explore_gate("all"), tmp_path)
    box = page.locator("#viewport").bounding_box()
    before = stage_matrix(page)
    page.mouse.move(box["x"] + 30, box["y"] + 30)
    page.mouse.wheel(0, -400)
    zoomed = stage_matrix(page)
    assert zoomed[0] > before[0]  # scale up, around the pointer
    page.mouse.move(box["x"] + 30, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 130, box["y"] + 80, steps=5)
    page.mouse.up()
    panned = stage_matrix(page)
    assert panned[4] == pytest.approx(zoomed[4] + 100) and panned[5] == pytest.approx(zoomed[5] + 50)
    assert page.errors == []


def test_nan_and_infinity_show_as_such(page, tmp_path):
    show(page, not_finite(), tmp_path)
    page.keyboard.press("End")
    grad = " ".join(page.locator('.node[data-name="x"] .grad').all_text_contents())
    assert numbers(grad) == ["NaN", "-0.5800", "-inf"] and page.errors == []


@pytest.mark.parametrize("kind, whole", [("not finite", True), ("sequence", False)],
                         ids=["a small graph", "the demo's cell over three steps"])
def test_the_page_opens_whole_when_it_can_be_read_so_and_else_at_reading_size_on_the_current_tensor(
        page, tmp_path, kind, whole):
    show(page, PAGES[kind](), tmp_path)
    card = page.locator(".node.current").first.bounding_box()
    view = page.locator("#viewport").bounding_box()
    assert view["x"] <= card["x"] and card["x"] + card["width"] <= view["x"] + view["width"]
    assert view["y"] <= card["y"] and card["y"] + card["height"] <= view["y"] + view["height"]
    assert stage_matrix(page)[0] >= 0.6
    if not whole:
        page.keyboard.press("f")
        assert stage_matrix(page)[0] < 0.6  # the whole graph, too small to read at this size
    inside = [view["x"] - 1 <= left and right <= view["x"] + view["width"] + 1 for left, _, right, _, _ in
              card_rects(page) if right > left]  # the drawn cards; a shut box's members are not drawn
    assert all(inside) and page.errors == []
