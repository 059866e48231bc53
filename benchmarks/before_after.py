"""Two checkouts of the engine timed against each other in one run: per-op overhead and the T = 1,000 sequence.

    python -m benchmarks.before_after OLD_CHECKOUT NEW_CHECKOUT [--rounds N]

Each measurement runs in a fresh process with the checkout first on sys.path, alternating old and new round
by round so that the machine's drifts fall on both; it counts the process's CPU time, not the wall clock, so
other work on a shared machine shows less; medians and the new/old ratio are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, sys, time
import numpy as np
import autograd as ag
from autograd import Tensor
from lstm import LSTM

def per_op(ops=2000):
    c = Tensor(np.full(4, 0.9))
    x = Tensor(np.full(4, 0.5), requires_grad=True)
    start = time.process_time()
    y = x
    for _ in range(ops // 2):
        y = ag.tanh(y) * c
    y.sum().backward()
    return (time.process_time() - start) / ops * 1e6

def sequence(T=1000, B=4, X=32, H=32):
    rng = np.random.default_rng(0)
    model = LSTM(X, H, seed=0)
    xs, R = rng.standard_normal((T, B, X)), rng.standard_normal((T, B, H))
    start = time.process_time()
    hs, _ = model(xs)
    (hs * R).sum().backward()
    return (time.process_time() - start) * 1e3

per_op(); sequence(T=50)  # warm
print(json.dumps({"per-op overhead, µs per op (forward + backward)": min(per_op() for _ in range(5)),
                  "per-gate LSTM, T = 1,000, ms (forward + backward)": min(sequence() for _ in range(2))}))
"""


def measure(checkout: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONPATH"] = str(checkout)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=checkout, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.before_after", description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    samples: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for _ in range(args.rounds):
        for which in ("old", "new"):
            for key, value in measure(getattr(args, which)).items():
                samples[which].setdefault(key, []).append(value)
    for key in samples["old"]:
        old, new = statistics.median(samples["old"][key]), statistics.median(samples["new"][key])
        print(f"{key}: old {old:.2f}, new {new:.2f}, new/old {new / old:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
