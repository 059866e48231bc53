"""What the survivors of lstm/model/fused.py's mutants showed untested (docs/testing.md, "The fused LSTM's mutants")."""

import tracemalloc

import numpy as np
import pytest

from autograd import Tensor
from autograd.graph import roundings
from lstm import LSTM
from lstm.model.fused import lstm_sequence


def operands(T, B, X, H, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(T, B, X), (B, H), (B, H), (4 * H, X), (4 * H, H), (4 * H,)]
    return [Tensor((rng.standard_normal(shape) * 0.5).astype(dtype), requires_grad=True) for shape in shapes]


def test_a_float32_sequence_saves_float32_arrays():
    out = lstm_sequence(*operands(3, 2, 2, 3, np.float32))
    assert out.dtype == np.float32
    assert [saved.dtype for saved in out.params["saved"]] == [np.float32, np.float32]  # half the memory


def test_the_backward_through_time_underflows_quietly_under_a_raising_error_state():
    # i = σ(−690) ≈ 1e−300 and g = tanh(1e−10): ∇p_i = ∇c·g·i(1 − i) and tanh(c)² fall below the smallest normal
    # inside the loop; xs, h_0 and the weights are 0 (one step: h_0 is every h_{t−1}), so the weight gradients
    # after it multiply them exactly
    T, B, X, H = 1, 1, 1, 1
    zeros = [Tensor(np.zeros(shape), requires_grad=True) for shape in ((T, B, X), (B, H), (4 * H, X), (4 * H, H))]
    xs, h0, W_x, W_h = zeros
    b = Tensor(np.array([-690.0, 0.0, 0.0, 1e-10]), requires_grad=True)
    out = lstm_sequence(xs, h0, Tensor(np.ones((B, H))), W_x, W_h, b)
    with np.errstate(all="raise"):
        grads = lstm_sequence.gradients(np.ones(out.shape), out, True)
    assert all(np.all(np.isfinite(g)) for g in grads if g is not None)


def test_the_last_backward_writes_over_the_saved_gates_instead_of_a_copy():
    """The gate activations are the largest array; the last backward through the node reuses them."""
    peaks = {}
    for last in (False, True):
        out = lstm_sequence(*operands(100, 8, 4, 32))
        weights = np.ones(out.shape)
        tracemalloc.start()
        lstm_sequence.gradients(weights, out, last)
        peaks[last] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    gates = 100 * 8 * 4 * 32 * 8
    assert peaks[True] < peaks[False] - gates // 2, peaks


def test_the_fused_primitive_is_named_and_labelled_for_the_pictures():
    assert (lstm_sequence.name, lstm_sequence.symbol) == ("lstm_sequence", "LSTM")
    assert [p.formula for p in lstm_sequence.partials] == [
        f"BPTT: ∇{name} (lstm/derivation/hand.py, fused)" for name in ("xs", "h_0", "c_0", "W_x", "W_h", "b")]


@pytest.mark.parametrize("T, B, X, H", [(3, 2, 4, 5), (7, 1, 2, 3), (2, 3, 1, 6)])
def test_the_fused_node_counts_about_the_roundings_of_the_per_gate_graph(T, B, X, H):
    """The float rule's tolerance grows with the roundings: fusing must not change it by more than a few a step."""
    counts = []
    for fused in (False, True):
        model = LSTM(X, H, seed=0)
        model.fused = fused
        hs, _ = model(Tensor(np.ones((T, B, X))))
        counts.append(roundings([hs]))
    assert abs(counts[1] - counts[0]) <= 3 * T, counts
