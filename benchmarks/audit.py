"""The audit's cost per megabyte of markdown: time and peak memory, as the document grows.

    python -m benchmarks.audit [--sizes 0.05,0.1,0.2]

Each document is the seed derivation (docs/lstm-cell-partials.md) repeated, its copies' sections numbered, to
the size asked (in MB); each is audited in a process of its own (`lstm-autograd audit`), timed as a whole with
its peak resident memory read from the kernel. Linear cost shows as a constant time and memory per MB across
the sizes. docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "docs" / "lstm-cell-partials.md"


def document(megabytes: float) -> str:
    """The seed derivation repeated to `megabytes`, each copy's headings numbered so that sections stay apart."""
    seed, parts, size, copy = SEED.read_text(encoding="utf-8"), [], 0, 0
    while size < megabytes * 2**20:
        copy += 1
        part = re.sub(r"^(#+ )(.*)$", rf"\g<1>\g<2> ({copy})", seed, flags=re.M)
        parts.append(part)
        size += len(part.encode())
    return "\n".join(parts)


def measure(path: Path) -> tuple[float, float]:
    """Seconds and peak megabytes of `lstm-autograd audit path` in a process of its own."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lstm_autograd", "audit", str(path)], capture_output=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.05,0.1,0.2", help="document sizes in MB, comma-separated")
    args = parser.parse_args()
    print(f"{'MB':>6} {'sections':>8} {'seconds':>8} {'s per MB':>9} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for megabytes in (float(s) for s in args.sizes.split(",")):
            path = Path(folder) / "derivation.md"
            text = document(megabytes)
            path.write_text(text, encoding="utf-8")
            size = len(text.encode()) / 2**20
            seconds, peak = measure(path)
            sections = len(re.findall(r"^#+ ", text, re.M))
            print(f"{size:6.2f} {sections:8d} {seconds:8.1f} {seconds / size:9.1f} {peak:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
