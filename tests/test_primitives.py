"""Every primitive's gradient against finite differences, and its declared formula against its vjp."""

import re

import numpy as np
import pytest
from formula import evaluate

import autograd as ag
from autograd import Tensor, gradcheck, ops


def leaf(rng, shape, name, positive=False):
    data = rng.uniform(0.5, 2.0, shape) if positive else rng.standard_normal(shape)
    return Tensor(data, requires_grad=True, name=name)


def weighted(out, rng):
    """A scalar whose gradient with respect to `out` is a random array, so no element hides behind a sum."""
    return (out * rng.standard_normal(out.shape)).sum()


# What each elementwise primitive computes, as numpy writes it: a wrong forward with a gradient to match would pass
# the finite differences alone.
NUMPY = {ag.add: np.add, ag.sub: np.subtract, ag.hadamard: np.multiply, ag.div: np.divide, ag.neg: np.negative,
         ag.sigmoid: lambda x: 1 / (1 + np.exp(-x)), ag.tanh: np.tanh, ag.exp: np.exp, ag.log: np.log}

BINARY_SHAPES = [((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((2, 3), ()), ((), (2,))]


@pytest.mark.parametrize("op", [ag.add, ag.sub, ag.hadamard, ag.div])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_binary_elementwise_gradients(op, shapes):
    rng = np.random.default_rng(0)
    a, b = leaf(rng, shapes[0], "a"), leaf(rng, shapes[1], "b", positive=op is ag.div)
    np.testing.assert_allclose(op(a, b).data, NUMPY[op](a.data, b.data), rtol=1e-15)
    assert gradcheck(lambda a, b: weighted(op(a, b), np.random.default_rng(1)), [a, b])


@pytest.mark.parametrize("op", [ag.sigmoid, ag.tanh, ag.exp, ag.neg, ag.log])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)], ids=str)
def test_unary_gradients(op, shape):
    rng = np.random.default_rng(0)
    x = leaf(rng, shape, "x", positive=op is ag.log)
    np.testing.assert_allclose(op(x).data, NUMPY[op](x.data), rtol=1e-14)
    assert gradcheck(lambda x: weighted(op(x), np.random.default_rng(1)), [x])


@pytest.mark.parametrize("shapes", [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((1, 1), (1, 5))])
def test_matmul_gradients_in_every_numpy_form(shapes):
    rng = np.random.default_rng(0)
    a, b = leaf(rng, shapes[0], "W"), leaf(rng, shapes[1], "x")
    np.testing.assert_array_equal((a @ b).data, a.data @ b.data)
    assert gradcheck(lambda a, b: weighted(a @ b, np.random.default_rng(1)), [a, b])


def _log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize(
    "fn, numpy",
    [
        (lambda x: ag.sum(x, axis=0), lambda x: x.sum(axis=0)),
        (lambda x: ag.sum(x, axis=1, keepdims=True), lambda x: x.sum(axis=1, keepdims=True)),
        (lambda x: ag.mean(x), lambda x: x.mean()),
        (lambda x: ag.mean(x, axis=(0, 2)), lambda x: x.mean(axis=(0, 2))),
        (lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
        (lambda x: ag.transpose(x, axes=(2, 0, 1)), lambda x: x.transpose(2, 0, 1)),
        (lambda x: x[1, :, ::2], lambda x: x[1, :, ::2]),
        (lambda x: x[np.array([0, 0, 1])], lambda x: x[[0, 0, 1]]),  # a repeated index accumulates
        (lambda x: ag.concat(x[0], x[1] * 2.0, axis=1), lambda x: np.concatenate([x[0], x[1] * 2.0], axis=1)),
        (lambda x: ag.stack(x[0], x[1], x[0], axis=2), lambda x: np.stack([x[0], x[1], x[0]], axis=2)),
        (lambda x: ag.log_softmax(x, axis=-1), _log_softmax),
        # the parameters' defaults, in the forward and in the backward alike
        (lambda x: ag.sum(x), lambda x: x.sum()),
        (lambda x: ag.transpose(x), lambda x: x.T),
        (lambda x: ag.concat(x[0], x[1] * 2.0), lambda x: np.concatenate([x[0], x[1] * 2.0])),
        (lambda x: ag.stack(x[0], x[1] * 2.0), lambda x: np.stack([x[0], x[1] * 2.0])),
        (lambda x: ag.log_softmax(x), _log_softmax),
    ],
    ids=["sum0", "sum1k", "mean", "mean02", "reshape", "transpose", "slice", "fancy", "concat", "stack", "logsm",
         "sum-all", "transpose-all", "concat-axis-0", "stack-axis-0", "logsm-last-axis"],
)
def test_structural_gradients(fn, numpy):
    """The value as numpy computes it, and the gradient against finite differences of that value (a wrong forward
    with a gradient to match would pass the second alone)."""
    rng = np.random.default_rng(0)
    x = leaf(rng, (2, 3, 4), "x")
    value, expected = fn(x).data, numpy(x.data)
    assert value.shape == expected.shape
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-15)
    assert gradcheck(lambda x: weighted(fn(x), np.random.default_rng(1)), [x])


def test_cross_entropy_and_mse_gradients():
    rng = np.random.default_rng(0)
    logits, target = leaf(rng, (5, 4), "logits"), rng.integers(0, 4, 5)
    assert gradcheck(lambda z: ag.cross_entropy(z, target), [logits])
    y = leaf(rng, (3, 2), "y")
    assert gradcheck(lambda y: ag.mse(y, np.ones((3, 2))), [y])


def test_cross_entropy_is_stable_for_huge_logits():
    logits = Tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = ag.cross_entropy(logits, np.array([0, 1]))
    loss.backward()
    assert loss.item() == 0.0 and np.all(np.isfinite(logits.grad))


ELEMENTWISE = [(ag.add, 2), (ag.sub, 2), (ag.hadamard, 2), (ag.div, 2), (ag.neg, 1), (ag.sigmoid, 1), (ag.tanh, 1),
               (ag.exp, 1), (ag.log, 1)]


@pytest.mark.parametrize("op,arity", ELEMENTWISE, ids=lambda v: getattr(v, "name", ""))
def test_declared_formula_is_the_local_partial_backward_uses(op, arity):
    """The formula text (what the renderer prints) evaluated numerically equals the partial at that node."""
    rng = np.random.default_rng(3)
    xs = [leaf(rng, (2, 3), f"x{k}", positive=True) for k in range(arity)]
    out = op(*xs)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    for k, x in enumerate(xs):
        local = np.broadcast_to(evaluate(op.partial(k).formula, *(x.data for x in xs)), out.shape)
        np.testing.assert_allclose(x.grad, upstream * local, rtol=1e-12)

        def f(_k=k):
            return float((op(*(y.data for y in xs)).data * upstream).sum())

        np.testing.assert_allclose(ag.numerical_gradient(f, x.data), upstream * local, rtol=1e-6, atol=1e-8)


def test_declared_matmul_formulas_are_the_transposes_backward_uses():
    rng = np.random.default_rng(4)
    W, x = leaf(rng, (3, 4), "W_xi"), leaf(rng, (4, 2), "x_t")
    q = W @ x
    upstream = rng.standard_normal(q.shape)
    q.backward(upstream)
    np.testing.assert_allclose(W.grad, upstream @ evaluate(ops.matmul.partial(0).formula, W.data, x.data))
    np.testing.assert_allclose(x.grad, evaluate(ops.matmul.partial(1).formula, W.data, x.data) @ upstream)
    assert ops.matmul.formula(0, ["W_xi", "x_t"]) == "x_tᵀ"
    assert ops.matmul.formula(1, ["W_xi", "x_t"]) == "W_xiᵀ"


def test_formulas_read_as_the_derivation_writes_them():
    assert ops.sigmoid.formula(0, ["p"]) == "(1−σ(p))σ(p)"
    assert ops.tanh.formula(0, ["p"]) == "1−tanh²(p)"
    assert ops.add.formula(1, ["q", "v"]) == "1"
    assert ops.hadamard.formula(0, ["f_t", "c_{t-1}"]) == "c_{t-1}"


def test_every_primitive_declares_a_partial_per_operand():
    for name, primitive in ops.PRIMITIVES.items():
        assert primitive.partials and all(p.formula for p in primitive.partials), name


def test_mse_takes_a_tensor_or_an_array_like_target_in_the_predictions_dtype():
    y = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    assert ag.mse(y, [0.0, 0.0]).dtype == np.float32 and ag.mse(y, [0.0, 0.0]).item() == pytest.approx(2.5)
    assert ag.mse(y, Tensor(np.array([1.0, 1.0], np.float32))).item() == pytest.approx(0.5)


def test_the_losses_refuse_what_they_cannot_score_naming_the_shapes():
    with pytest.raises(ValueError, match=r"^mse: prediction \(3, 2\) and target \(2, 3\) differ in shape$"):
        ag.mse(Tensor(np.zeros((3, 2))), np.zeros((2, 3)))
    for logits, targets in ((np.zeros(3), [0, 0, 0]), (np.zeros((2, 3)), [0, 1, 2])):
        said = re.escape(f"cross_entropy: expected logits (N, C) and targets (N,), got {logits.shape} and "
                         f"{np.shape(targets)}")
        with pytest.raises(ValueError, match=f"^{said}$"):
            ag.cross_entropy(Tensor(logits), targets)
    logits = Tensor(np.zeros((2, 3)))
    for targets in ([0, 3], [-1, 0], [0.0, 1.0]):  # past the last class, below the first, not integers
        with pytest.raises(ValueError, match=r"^cross_entropy: targets must be integer class labels in \[0, 3\)$"):
            ag.cross_entropy(logits, targets)
    for targets in ([0, 2], np.array([0, 2], np.uint8)):  # the last class is one; unsigned labels are integers
        assert ag.cross_entropy(logits, targets).item() == pytest.approx(np.log(3))


def test_a_partial_without_its_vjp_needs_a_joint_backward():
    """A formula alone cannot be run: the primitive is refused where it is declared, not at its first backward."""
    with pytest.raises(ValueError, match="^half: every Partial needs a vjp unless the primitive gives `joint`$"):
        ag.Primitive("half", "½", lambda x: x / 2, (ag.Partial("½"),))
    half = ag.Primitive("half", "½", lambda x: x / 2, (ag.Partial("½"),), joint=lambda u, ans, x: [u / 2])
    assert gradcheck(lambda x: half(x).sum(), [Tensor([1.0, -2.0], requires_grad=True)])


def test_one_edges_vjp_through_indexing_is_a_dense_array():
    """The comparison and the pictures ask for one operand's gradient alone: indexing's, which the reverse pass
    keeps sparse, comes as the full array."""
    x = Tensor(np.arange(4.0), requires_grad=True)
    for index, dense in ((slice(1, 3), [0, 1, 1, 0]), (np.array([0, 0]), [2, 0, 0, 0])):
        edge = ops.getitem.vjp(0, np.ones(2), x[index])
        assert type(edge) is np.ndarray and edge.tolist() == dense
    rows = Tensor(np.ones((3, 3)), requires_grad=True).sum(axis=1)  # the edge keeps the primitive's parameters
    assert ops.sum.vjp(0, np.array([1.0, 2.0, 3.0]), rows).tolist() == [[1, 1, 1], [2, 2, 2], [3, 3, 3]]


def test_matmul_refuses_what_it_does_not_multiply_naming_both_shapes():
    for a, b, why in ((np.ones((2, 3)), np.ones((4, 5)), "inner dimensions differ: 3 vs 4"),
                      (np.ones(3), np.ones((4, 2)), "inner dimensions differ: 3 vs 4"),
                      (np.ones((2, 2, 2)), np.ones((2, 2)), "operands must be 1-D or 2-D"),
                      (np.ones((2, 2)), np.ones((2, 2, 2)), "operands must be 1-D or 2-D"),
                      (np.float64(2.0), np.ones(2), "operands must be 1-D or 2-D"),
                      (np.ones(2), np.float64(2.0), "operands must be 1-D or 2-D")):
        said = re.escape(f"matmul: {np.shape(a)} @ {np.shape(b)}: {why}")
        with pytest.raises(ValueError, match=f"^{said}$"):
            ag.matmul(Tensor(a), Tensor(b))


def test_log_softmax_shifts_each_row_by_its_own_maximum_and_underflows_quietly():
    """Rows of very different scale stay finite (one shift for all would send the small row's exps to 0), and the
    far tail's exp underflowing is an answer even under np.seterr(all="raise")."""
    logits = Tensor(np.array([[1000.0, 1001.0], [0.0, 1.0], [0.0, -800.0]]), requires_grad=True)
    with np.errstate(all="raise"):
        log_p = ag.log_softmax(logits, axis=1)
        ops.log_softmax.vjp(0, np.ones((3, 2)), log_p)  # one edge alone, outside the reverse pass's own errstate
        (log_p * np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])).sum().backward()
    expected = -np.log1p(np.exp(-1.0))
    np.testing.assert_allclose(log_p.data[:2], [[expected - 1, expected], [expected - 1, expected]])
    assert np.isfinite(logits.grad).all()


def test_concat_cuts_the_gradient_back_along_its_default_axis():
    a, b = Tensor(np.ones((1, 2)), requires_grad=True), Tensor(np.ones((2, 2)), requires_grad=True)
    (ag.concat(a, b) * np.arange(6.0).reshape(3, 2)).sum().backward()
    assert a.grad.tolist() == [[0, 1]] and b.grad.tolist() == [[2, 3], [4, 5]]


def test_each_primitive_is_named_as_exported_and_labeled_with_the_derivations_symbol_and_formulas():
    """The name is what errors, repr and the explorer call it; the symbol and the formulas are what a picture
    shows on its node and its edges."""
    labels = {
        "add": ("+", ("1",)),
        "sub": ("−", ("1", "−1")),
        "neg": ("−", ("−1",)),
        "hadamard": ("⊙", ("{1}", "{0}")),
        "div": ("/", ("1/{1}", "−{0}/{1}²")),
        "matmul": ("@", ("{1}ᵀ", "{0}ᵀ")),
        "sigmoid": ("σ", ("(1−σ({0}))σ({0})",)),
        "tanh": ("tanh", ("1−tanh²({0})",)),
        "exp": ("exp", ("exp({0})",)),
        "log": ("log", ("1/{0}",)),
        "sum": ("Σ", ("1",)),
        "mean": ("mean", ("1/n",)),
        "reshape": ("reshape", ("1",)),
        "transpose": ("ᵀ", ("(·)ᵀ",)),
        "getitem": ("[]", ("1 at [index]",)),
        "concat": ("‖", ("1 on its block",)),
        "stack": ("stack", ("1 on its slice",)),
        "log_softmax": ("log softmax", ("I − softmax({0})",)),
    }
    assert list(ag.PRIMITIVES) == list(labels)
    for name, (symbol, formulas) in labels.items():
        primitive = getattr(ag, name)
        assert ag.PRIMITIVES[name] is primitive
        assert (primitive.name, primitive.symbol, tuple(p.formula for p in primitive.partials)) == (name, symbol,
                                                                                                     formulas)
