"""python -m benchmarks [--sizes S,M,L] [--dtypes float64,float32] [--repeats N] [--json] ..."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.suite import as_dict, results_from_json, run_suite
from benchmarks.table import format_results
from benchmarks.workload import SIZES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lstm-autograd bench", description="benchmark the engine against peers")
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated, of S, M, L")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--table-from", metavar="FILE", help="print the table of results saved with --json")
    args = parser.parse_args(argv)
    if args.table_from:
        print(format_results(results_from_json(json.loads(Path(args.table_from).read_text()))))
        return 0
    sizes, dtypes = args.sizes.split(","), args.dtypes.split(",")
    unknown = [s for s in sizes if s not in SIZES] + [d for d in dtypes if d not in ("float64", "float32")]
    if unknown or args.repeats < 1:
        parser.error(f"unknown sizes or dtypes: {', '.join(unknown)}" if unknown else "--repeats must be ≥ 1")
    results = run_suite(sizes, dtypes, args.repeats, not args.no_memory, not args.no_scaling,
                        log=lambda text: print(text, file=sys.stderr, flush=True))
    print(json.dumps(as_dict(results), indent=2) if args.json else format_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
