"""Timing, per-op overhead, memory and scaling; the table and the JSON."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata

import numpy as np

import autograd as ag
from autograd import Tensor
from benchmarks import peers
from benchmarks.workload import make


@dataclass
class Timing:
    size: str
    dtype: str
    implementation: str
    median_ms: float
    min_ms: float
    max_ms: float
    ratio_to_floor: float = 0.0
    ratio_to_numpy: float = 0.0
    gflops: float = 0.0


@dataclass
class Results:
    environment: dict
    timings: list[Timing] = field(default_factory=list)
    overhead: dict = field(default_factory=dict)
    memory: list[dict] = field(default_factory=list)
    scaling: list[dict] = field(default_factory=list)


def environment() -> dict:
    info = {"python": platform.python_version(), "machine": platform.machine(), "cores": os.cpu_count(),
            "load_before": os.getloadavg(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
    versions = {}
    for package in ("numpy", "lstm-autograd", "torch", "jax", "jaxlib"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    info["versions"] = versions
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                        for pool in threadpool_info()]
    except ImportError:
        blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = [{"internal_api": blas.get("name"), "version": blas.get("version"),
                         "architecture": "install threadpoolctl to see the kernel", "num_threads": None}]
    return info


def time_alternating(runs: dict[str, Callable[[], object]], repeats: int, warmup: int = 2) -> dict[str, list[float]]:
    """Each implementation once per round, in turn, so the machine's drifts spread over all of them."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return times


def timings(size: str, dtype: str, repeats: int) -> list[Timing]:
    w = make(size, dtype)
    runs = peers.implementations(w)
    times = time_alternating(runs, repeats)
    floor = statistics.median(times["matmuls alone, hoisted (floor)"])
    yardstick = statistics.median(times["numpy BPTT, hoisted (yardstick)"])
    out = []
    for name, samples in times.items():
        median = statistics.median(samples)
        out.append(Timing(size, dtype, name, median * 1e3, min(samples) * 1e3, max(samples) * 1e3, median / floor,
                          median / yardstick, w.flops / median / 1e9))
    return out


def per_op_overhead(ops: int = 2000, repeats: int = 15) -> dict:
    """A chain of `ops` elementwise ops (tanh, then × a constant) on shape (4,), forward plus backward, µs per op."""
    constant = np.full(4, 0.9)
    c = Tensor(constant)

    def engine():
        x = Tensor(np.full(4, 0.5), requires_grad=True)
        y = x
        for _ in range(ops // 2):
            y = ag.tanh(y) * c
        y.sum().backward()

    def numpy_forward():
        y = np.full(4, 0.5)
        for _ in range(ops // 2):
            y = np.tanh(y) * constant

    runs = {"engine, forward + backward": engine, "numpy, forward alone": numpy_forward}
    if peers.torch_available():
        import torch

        tc = torch.tensor(constant)

        def torch_eager():
            x = torch.full((4,), 0.5, dtype=torch.float64, requires_grad=True)
            y = x
            for _ in range(ops // 2):
                y = torch.tanh(y) * tc
            y.sum().backward()

        runs["torch eager, forward + backward"] = torch_eager
    times = time_alternating(runs, repeats)
    return {name: statistics.median(samples) / ops * 1e6 for name, samples in times.items()}


def peak_memory(run: Callable[[], object]) -> int:
    """Peak bytes traced by tracemalloc (numpy reports its buffers to it) during one call."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = run()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


def memory(sizes: list[str], dtypes: list[str]) -> list[dict]:
    rows = []
    for size in sizes:
        for dtype in dtypes:
            w = make(size, dtype)
            runs = {"engine, fused fast path": peers.engine(w, True), "engine, per-gate graph": peers.engine(w, False),
                    "numpy BPTT, hoisted (yardstick)": peers.reference.numpy_bptt(w)}
            for name, run in runs.items():
                run()  # warm: first-call allocations are not the workload's
                peak = peak_memory(run)
                rows.append({"size": size, "dtype": dtype, "implementation": name, "peak_bytes": peak,
                             "activation_bytes": w.activation_bytes, "ratio": peak / w.activation_bytes})
    return rows


def scaling(lengths=(100, 1000, 10000), B=4, X=32, H=32) -> list[dict]:
    rows = []
    for fused in (True, False):
        for T in lengths:
            w = make("scaling", "float64", B=B, X=X, H=H, T=T)
            run = peers.engine(w, fused)
            seconds = statistics.median(time_alternating({"run": run}, repeats=3, warmup=1)["run"])
            peak = peak_memory(run)
            rows.append({"implementation": "engine, fused fast path" if fused else "engine, per-gate graph",
                         "T": T, "us_per_step": seconds / T * 1e6, "peak_bytes_per_step": peak / T,
                         "activation_bytes_per_step": w.activation_bytes / T})
    return rows


def run_suite(sizes: list[str], dtypes: list[str], repeats: int, with_memory: bool, with_scaling: bool,
              log: Callable[[str], None]) -> Results:
    results = Results(environment())
    for size in sizes:
        for dtype in dtypes:
            log(f"timing {size} {dtype} ...")
            results.timings += timings(size, dtype, repeats if size != "L" else max(3, repeats // 2))
    log("per-op overhead ...")
    results.overhead = per_op_overhead()
    if with_memory:
        log("memory ...")
        results.memory = memory(sizes, dtypes)
    if with_scaling:
        log("scaling in T ...")
        results.scaling = scaling()
    results.environment["load_after"] = os.getloadavg()
    return results


def as_dict(results: Results) -> dict:
    return asdict(results)


def results_from_json(data: dict) -> Results:
    return Results(data["environment"], [Timing(**t) for t in data["timings"]], data["overhead"], data["memory"],
                   data["scaling"])
