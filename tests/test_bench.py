"""The benchmark suite runs, cross-checks its yardstick and prints every row (no timing is asserted)."""

import json
import subprocess
import sys

import numpy as np

from benchmarks import peers, reference
from benchmarks.suite import run_suite
from benchmarks.table import format_results
from benchmarks.workload import make
from lstm.names import DERIVATION_ORDER, GATE


def test_the_numpy_yardstick_computes_the_engines_gradients():
    w = make("S", "float64")
    dW_x, dW_h, db, _ = reference.numpy_bptt(w)()
    params = peers.engine(w, fused=False)()
    stacked = lambda symbol: np.concatenate([params[GATE[k].parameter(symbol)].grad  # noqa: E731
                                             for k in DERIVATION_ORDER])
    np.testing.assert_allclose(dW_x, stacked("W_x"), atol=1e-12)
    np.testing.assert_allclose(dW_h, stacked("W_h"), atol=1e-12)
    np.testing.assert_allclose(db, stacked("b"), atol=1e-12)


def test_the_suite_runs_and_the_table_lists_every_implementation():
    results = run_suite(["S"], ["float64"], repeats=1, with_memory=True, with_scaling=False, log=lambda _: None)
    table = format_results(results)
    for name in peers.implementations(make("S", "float64")):
        assert name in table
    floor = next(t for t in results.timings if t.implementation.startswith("matmuls alone, hoisted"))
    assert floor.ratio_to_floor == 1.0
    assert {"engine, forward + backward", "numpy, forward alone"} <= set(results.overhead)
    assert all(m["ratio"] > 0 for m in results.memory)


def test_bench_command_json_without_the_blas_variables():
    out = subprocess.run([sys.executable, "-m", "lstm_autograd", "bench", "--sizes", "S", "--dtypes", "float32",
                          "--repeats", "1", "--no-memory", "--no-scaling", "--json"],
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    assert report["environment"]["OPENBLAS_CORETYPE"] is None
    assert {t["dtype"] for t in report["timings"]} == {"float32"}
