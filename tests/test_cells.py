"""The cell declarations (lstm.cells): relu, the engine's new primitive; Cho et al.'s GRU and the LSTM variants
torch does not have (lstm1997, peephole, cifg), against numpy forwards written from the papers and against finite
differences; what follows from a declaration (parameters, torch's layout, sections); the layer and direction
prefix of names."""

import numpy as np
import pytest
from formula import evaluate
from hypothesis import given
from hypothesis import strategies as st

from autograd import Tensor, gradcheck
from autograd.ops import relu
from lstm import GRU, LSTM, ElmanRNN
from lstm.cells import CELLS, cell
from lstm.model.layers import Recurrent
from lstm.names import NodeName, layer_scope, scoped, unscoped


def weighted(out, seed=1):
    return (out * np.random.default_rng(seed).standard_normal(out.shape)).sum()


# ---- relu: one row of the table, checked as test_primitives checks every row ----


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)], ids=str)
def test_relu_value_and_gradient(shape):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal(shape) + 0.05, requires_grad=True)  # off the kink, for finite differences
    np.testing.assert_array_equal(relu(x).data, np.maximum(x.data, 0))
    assert gradcheck(lambda x: weighted(relu(x)), [x])


def test_relu_declared_formula_is_the_partial_backward_uses_and_keeps_float32():
    x = Tensor(np.array([[-1.5, 0.0, 2.0], [0.5, -0.25, 3.0]], np.float32), requires_grad=True)
    out = relu(x)
    upstream = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    out.backward(upstream)
    local = evaluate(relu.partial(0).formula.replace("1[", "(").replace("]", ")"), x.data)
    np.testing.assert_array_equal(x.grad, upstream * local)
    assert out.dtype == x.grad.dtype == np.float32
    assert x.grad[0, 1] == 0  # at the kink, 0, as torch
    assert relu.formula(0, ["p"]) == "1[p > 0]"


# ---- Cho et al.'s GRU: no torch counterpart ----


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cho_numpy(sd, xs, h0, layers, directions, bias=True):
    """Cho et al. (2014) over layers and directions from torch's state dict, in plain numpy: r and z as torch's
    GRU; n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn); h' = (1 − z) ⊙ n + z ⊙ h."""
    H = h0.shape[-1]
    finals, layer_input = [], xs
    for layer in range(layers):
        outputs = []
        for d in range(directions):
            suffix = f"_l{layer}{'_reverse' if d else ''}"
            W, U = sd["weight_ih" + suffix], sd["weight_hh" + suffix]
            b, c = (sd["bias_ih" + suffix], sd["bias_hh" + suffix]) if bias else (np.zeros(3 * H), np.zeros(3 * H))
            h, hs = h0[layer * directions + d], [None] * len(xs)
            for t in (reversed(range(len(xs))) if d else range(len(xs))):
                x = layer_input[t]
                r = sigmoid(x @ W[:H].T + b[:H] + h @ U[:H].T + c[:H])
                z = sigmoid(x @ W[H:2 * H].T + b[H:2 * H] + h @ U[H:2 * H].T + c[H:2 * H])
                n = np.tanh(x @ W[2 * H:].T + b[2 * H:] + (r * h) @ U[2 * H:].T + c[2 * H:])
                h = (1 - z) * n + z * h
                hs[t] = h
            outputs.append(np.stack(hs))
            finals.append(h)
        layer_input = np.concatenate(outputs, axis=-1)
    return layer_input, np.stack(finals)


@pytest.mark.parametrize("layers, bidirectional, bias", [(1, False, True), (2, True, True), (2, False, False)])
def test_cho_gru_is_the_papers_equations(layers, bidirectional, bias):
    rng = np.random.default_rng(5)
    model = GRU(3, 4, layers, bidirectional=bidirectional, bias=bias, cell="gru-cho", seed=5)
    D = 2 if bidirectional else 1
    xs, h0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((layers * D, 2, 4))
    output, h_n = model(xs, h0 if layers * D > 1 else h0[0])
    expected, finals = cho_numpy(model.state_dict(), xs, h0, layers, D, bias)
    np.testing.assert_allclose(output.data, expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(h_n.data.reshape(finals.shape), finals, rtol=1e-13, atol=1e-14)
    torch_gru = GRU(3, 4, layers, bidirectional=bidirectional, bias=bias, seed=5)
    assert not np.allclose(torch_gru(xs, h0 if layers * D > 1 else h0[0])[0].data, expected)  # the two differ


@pytest.mark.parametrize("name", ["gru-cho", "gru", "rnn-tanh", "rnn-relu"])
def test_every_cells_gradients_against_finite_differences(name):
    rng = np.random.default_rng(2)
    make = (lambda **kw: GRU(2, 3, 2, cell=name, **kw)) if name.startswith("gru") else \
        (lambda **kw: ElmanRNN(2, 3, 2, nonlinearity=name.removeprefix("rnn-"), **kw))
    model = make(bidirectional=True, batch_first=True, seed=3)
    xs = Tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    h0 = Tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    names = list(model.parameters())

    def loss(xs, h0, *weights):
        model._params = dict(zip(names, weights, strict=True))  # gradcheck's copies, as the model's parameters
        output, h_n = model(xs, h0)
        return weighted(output) + weighted(h_n, 2)

    assert gradcheck(loss, [xs, h0, *model.parameters().values()])


# ---- what follows from a declaration ----


def test_a_declaration_gives_the_parameters_torchs_layout_and_the_sections():
    gru = cell("gru")
    assert [g.key for g in gru.gates] == ["r", "z", "n"]  # torch's order
    assert gru.parameters()["n"] == ("W_xn", "W_hn", "b_xn", "b_hn")
    assert gru.parameters(bias=False)["r"] == ("W_xr", "W_hr")
    assert gru.sections == ("reset gate", "update gate", "new gate", "hidden state update")
    assert gru.torch_shapes(2, 3) == {"weight_ih": (9, 2), "weight_hh": (9, 3), "bias_ih": (9,), "bias_hh": (9,)}
    assert CELLS["rnn-relu"].sections == ("hidden state update",)
    assert CELLS["rnn-relu"].parameters() == {"h": ("W_xh", "W_hh", "b_xh", "b_hh")}
    assert CELLS["gru-cho"].torch_module is None and dict(CELLS["rnn-tanh"].torch_options) == {"nonlinearity": "tanh"}
    arrays = {name: np.random.default_rng(0).standard_normal(shape) for name, shape in gru.shapes(2, 3).items()}
    stacked = gru.stack(arrays)
    assert np.array_equal(stacked["weight_hh"][3:6], arrays["W_hz"])
    assert all(np.array_equal(v, arrays[k]) for k, v in gru.unstack(stacked, 3).items())
    with pytest.raises(ValueError, match="^cell must be one of 'gru', 'gru-cho', 'rnn-tanh', 'rnn-relu', 'lstm', "
                                         "'lstm1997', 'peephole', 'cifg', got 'x'$"):
        cell("x")


@given(layer=st.integers(0, 99), reverse=st.booleans(), step=st.none() | st.integers(0, 1000),
       section=st.none() | st.sampled_from(["reset gate", "new gate", "hidden state update"]),
       symbol=st.sampled_from(["p", "r_t", "h_{t-1}", "x_t"]))
def test_a_scoped_name_parses_back(layer, reverse, step, section, symbol):
    scope, name = layer_scope(layer, reverse), NodeName(step, section, symbol)
    assert unscoped(scoped(scope, name)) == (scope, name)
    assert unscoped(str(name)) == ("", name)


def test_one_layer_one_direction_has_no_scope():
    assert layer_scope(0, False, 1, False) == "" and scoped("", "W_xr") == "W_xr"
    assert layer_scope(0, False, 2, False) == "l0" and layer_scope(0, True, 1, True) == "l0/reverse"


# ---- the LSTM family: lstm1997, peephole and cifg have no torch module; the papers' equations in numpy ----


def lstm_numpy(sd, xs, h0, c0, layers, directions, cell, bias=True, proj_size=0):
    """The LSTM variants over layers and directions from the state dict, in plain numpy, gate blocks stacked in
    the declared order: "lstm" c = f ⊙ c + i ⊙ g (torch.nn.LSTM); "lstm1997" (Hochreiter & Schmidhuber 1997)
    c = c + i ⊙ g; "peephole" (Gers, Schraudolph & Schmidhuber 2002) i = σ(… + w_ci ⊙ c_{t−1}),
    f = σ(… + w_cf ⊙ c_{t−1}), o = σ(… + w_co ⊙ c_t); "cifg" (Greff et al. 2017) f = 1 − i. h = o ⊙ tanh(c), then
    h = W_hr h with a projection (Sak et al. 2014)."""
    H = c0.shape[-1]
    order = {"lstm": "ifgo", "lstm1997": "igo", "peephole": "ifgo", "cifg": "igo"}[cell]
    finals_h, finals_c, layer_input = [], [], xs
    for layer in range(layers):
        outputs = []
        for d in range(directions):
            suffix = f"_l{layer}{'_reverse' if d else ''}"
            W, U = sd["weight_ih" + suffix], sd["weight_hh" + suffix]
            b = sd["bias_ih" + suffix] + sd["bias_hh" + suffix] if bias else np.zeros(len(order) * H)

            def pre(key, x, h, W=W, U=U, b=b):
                rows = slice(order.index(key) * H, (order.index(key) + 1) * H)
                return x @ W[rows].T + h @ U[rows].T + b[rows]

            k = layer * directions + d
            h, c, hs = h0[k], c0[k], [None] * len(xs)
            for t in (reversed(range(len(xs))) if d else range(len(xs))):
                x = layer_input[t]
                if cell == "peephole":
                    i = sigmoid(pre("i", x, h) + sd["weight_ci" + suffix] * c)
                    f = sigmoid(pre("f", x, h) + sd["weight_cf" + suffix] * c)
                    c = f * c + i * np.tanh(pre("g", x, h))
                    o = sigmoid(pre("o", x, h) + sd["weight_co" + suffix] * c)
                else:
                    i, g, o = sigmoid(pre("i", x, h)), np.tanh(pre("g", x, h)), sigmoid(pre("o", x, h))
                    if cell == "lstm1997":
                        c = c + i * g
                    else:
                        f = sigmoid(pre("f", x, h)) if cell == "lstm" else 1 - i
                        c = f * c + i * g
                h = o * np.tanh(c)
                if proj_size:
                    h = h @ sd["weight_hr" + suffix].T
                hs[t] = h
            outputs.append(np.stack(hs))
            finals_h.append(h)
            finals_c.append(c)
        layer_input = np.concatenate(outputs, axis=-1)
    return layer_input, np.stack(finals_h), np.stack(finals_c)


@pytest.mark.parametrize("name", ["lstm", "lstm1997", "peephole", "cifg"])
@pytest.mark.parametrize("layers, bidirectional, bias, proj_size", [(1, False, True, 0), (2, True, True, 0),
                                                                     (2, False, False, 2), (1, True, True, 2)])
def test_every_lstm_cell_is_its_papers_equations(name, layers, bidirectional, bias, proj_size):
    rng = np.random.default_rng(7)
    D = 2 if bidirectional else 1
    model = LSTM(3, 4, layers, bidirectional=bidirectional, bias=bias, proj_size=proj_size, cell=name, seed=7)
    if name == "peephole":  # torch's draw would make the peepholes small; make them count
        model.load_state_dict({k: rng.standard_normal(v.shape) if k.startswith("weight_c") else v
                               for k, v in model.state_dict().items()})
    xs = rng.standard_normal((5, 2, 3))
    h0, c0 = rng.standard_normal((layers * D, 2, proj_size or 4)), rng.standard_normal((layers * D, 2, 4))
    single = layers * D == 1
    output, (h_n, c_n) = model(xs, (h0[0], c0[0]) if single else (h0, c0))
    expected, finals_h, finals_c = lstm_numpy(model.state_dict(), xs, h0, c0, layers, D, name, bias, proj_size)
    np.testing.assert_allclose(output.data, expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(h_n.data.reshape(finals_h.shape), finals_h, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(c_n.data.reshape(finals_c.shape), finals_c, rtol=1e-13, atol=1e-14)


def test_the_variants_differ_from_torchs_lstm():
    xs = np.random.default_rng(0).standard_normal((4, 2, 3))
    outputs = {name: LSTM(3, 4, 2, cell=name, seed=1)(xs)[0].data for name in ("lstm", "lstm1997", "peephole",
                                                                                "cifg")}
    assert all(not np.allclose(outputs["lstm"], outputs[name]) for name in ("lstm1997", "cifg"))
    model = LSTM(3, 4, 2, cell="peephole", seed=1)  # the peepholes drawn, so not zero: they matter
    assert not np.allclose(outputs["lstm"], outputs["peephole"])
    zeroed = {k: np.zeros_like(v) if k.startswith("weight_c") else v for k, v in model.state_dict().items()}
    model.load_state_dict(zeroed)
    plain = LSTM(3, 4, 2, seed=1)
    plain.load_state_dict({k: v for k, v in zeroed.items() if not k.startswith("weight_c")})
    np.testing.assert_array_equal(model(xs)[0].data, plain(xs)[0].data)  # no peepholes: torch's LSTM


@pytest.mark.parametrize("name", ["lstm", "lstm1997", "peephole", "cifg"])
@pytest.mark.parametrize("proj_size", [0, 2])
def test_every_lstm_cells_gradients_against_finite_differences(name, proj_size):
    rng = np.random.default_rng(4)
    model = LSTM(2, 3, 2, cell=name, bidirectional=True, batch_first=True, proj_size=proj_size, seed=3)
    xs = Tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    h0 = Tensor(rng.standard_normal((4, 2, proj_size or 3)), requires_grad=True)
    c0 = Tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    names = list(model.parameters())

    def loss(xs, h0, c0, *weights):
        model._params = dict(zip(names, weights, strict=True))
        output, (h_n, c_n) = model(xs, (h0, c0))
        return weighted(output) + weighted(h_n, 2) + weighted(c_n, 3)

    assert gradcheck(loss, [xs, h0, c0, *model.parameters().values()])


def test_the_lstm_declarations():
    lstm, peephole = cell("lstm"), cell("peephole")
    assert [g.key for g in lstm.gates] == ["i", "f", "g", "o"]  # torch's stacked order
    assert [g.key for g in cell("lstm1997").gates] == ["i", "g", "o"] == [g.key for g in cell("cifg").gates]
    assert lstm.sections == ("input gate", "forget gate", "gate gate", "output gate", "cell state update",
                             "hidden state update")
    assert [s.letter for s in lstm.states] == ["h", "c"] and lstm.torch_module == "LSTM"
    assert all(cell(name).torch_module is None for name in ("lstm1997", "peephole", "cifg"))
    assert lstm.torch_shapes(2, 3, proj_size=2) == {"weight_ih": (12, 2), "weight_hh": (12, 2), "bias_ih": (12,),
                                                    "bias_hh": (12,), "weight_hr": (2, 3)}
    assert peephole.torch_shapes(2, 3, bias=False) == {"weight_ih": (12, 2), "weight_hh": (12, 3),
                                                       "weight_ci": (3,), "weight_cf": (3,), "weight_co": (3,)}
    assert list(peephole.shapes(2, 3))[-3:] == ["w_ci", "w_cf", "w_co"]
    assert "w_co ⊙ c_t" in peephole.gates[3].formula and "c_t" in peephole.gates[3].reads
    assert "c_{t-1}" in peephole.gates[0].reads and "c_{t-1}" not in lstm.gates[0].reads
    arrays = {name: np.random.default_rng(0).standard_normal(shape)
              for name, shape in peephole.shapes(2, 3, proj_size=1).items()}
    stacked = peephole.stack(arrays)
    assert set(stacked) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ci", "weight_cf", "weight_co",
                            "weight_hr"}
    assert all(np.array_equal(v, arrays[k]) for k, v in peephole.unstack(stacked, 3).items())
    gru = cell("gru")  # a GRU's W_hr is its reset gate's, never a projection
    assert "weight_hr" not in gru.stack({n: np.zeros(s) for n, s in gru.shapes(2, 3).items()})
    with pytest.raises(ValueError, match="^Recurrent: the cell 'gru' takes no proj_size$"):
        Recurrent(gru, 2, 3, proj_size=1)
