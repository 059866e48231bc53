"""The results as text tables."""

from __future__ import annotations

from benchmarks.suite import Results


def format_results(r: Results) -> str:
    env = r.environment
    blas = "; ".join(f"{b['internal_api']} {b.get('version') or ''} {b.get('architecture') or ''}, "
                     f"{b.get('num_threads')} threads" for b in env["blas"])
    lines = [
        f"python {env['python']} on {env['machine']}, {env['cores']} cores; load average before "
        f"{env['load_before'][0]:.2f}, after {env.get('load_after', (float('nan'),))[0]:.2f}",
        f"BLAS: {blas}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}",
        "",
        "forward + backward, median ms (min–max); ratios to the matmul floor and to the numpy BPTT yardstick",
    ]
    groups: dict[tuple[str, str], list] = {}
    for timing in r.timings:
        groups.setdefault((timing.size, timing.dtype), []).append(timing)
    for (size, dtype), rows in groups.items():
        lines += ["", f"{size} {dtype}", f"{'':34} {'median':>10} {'min–max':>19} {'/floor':>7} {'/numpy':>7} "
                                         f"{'GFLOP/s':>8}"]
        for t in rows:
            lines.append(f"{t.implementation:34} {t.median_ms:10.3f} {t.min_ms:9.3f}–{t.max_ms:<9.3f} "
                         f"{t.ratio_to_floor:7.2f} {t.ratio_to_numpy:7.2f} {t.gflops:8.1f}")
    lines += ["", "HIPS autograd: not measured here; its package is also named `autograd` and cannot share a process",
              "or an environment with this engine (see docs/performance.md)."]
    lines += ["", "per-op overhead: a chain of 2,000 elementwise ops on shape (4,), µs per op"]
    lines += [f"  {name:34} {us:7.2f}" for name, us in r.overhead.items()]
    if r.memory:
        lines += ["", "peak traced memory of forward + backward, against the activations backward needs "
                      "(i, f, o, g, c, h per step)"]
        for m in r.memory:
            lines.append(f"  {m['size']} {m['dtype']:8} {m['implementation']:34} {m['peak_bytes'] / 2**20:9.2f} MiB "
                         f"/ {m['activation_bytes'] / 2**20:8.2f} MiB = {m['ratio']:5.2f}×")
    if r.scaling:
        lines += ["", "scaling in T (B=4, X=H=32, float64): time and peak memory per step"]
        for s in r.scaling:
            lines.append(f"  {s['implementation']:34} T={s['T']:<6} {s['us_per_step']:9.1f} µs/step "
                         f"{s['peak_bytes_per_step'] / 1024:8.1f} KiB/step (activations "
                         f"{s['activation_bytes_per_step'] / 1024:.1f} KiB/step)")
    return "\n".join(lines)
