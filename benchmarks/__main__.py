"""python -m benchmarks [--sizes S,M,L] [--dtypes float64,float32] [--repeats N] [--json] ..."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from benchmarks.suite import as_dict, results_from_json, run_suite
from benchmarks.table import format_results
from benchmarks.workload import SIZES


class Parser(argparse.ArgumentParser):
    """A mistake in one line, as in the other commands (the usage block is a --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def table_from(path: str) -> str:
    """The table of results saved with --json, or one ValueError saying what the file is instead."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"--table-from: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--table-from: cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"--table-from: {path} is not JSON ({error})") from None
    try:
        return format_results(results_from_json(data))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        found = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"--table-from: {path} is not the results of lstm-autograd bench --json "
                         f"({type(error).__name__}: {error}; it holds {found})") from None


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="lstm-autograd bench", description="benchmark the engine against peers",
                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated, of S, M, L")
    parser.add_argument("--dtypes", default="float64,float32", help="comma-separated, of float64, float32")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each implementation")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling in T")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--table-from", metavar="FILE", help="print the table of results saved with --json")
    args = parser.parse_args(argv)
    if args.table_from:
        try:
            print(table_from(args.table_from))
        except ValueError as error:
            parser.error(str(error))
        return 0
    sizes, dtypes = args.sizes.split(","), args.dtypes.split(",")
    unknown = [s for s in sizes if s not in SIZES] + [d for d in dtypes if d not in ("float64", "float32")]
    if unknown or args.repeats < 1:
        parser.error(f"unknown sizes or dtypes: {', '.join(unknown)}" if unknown else "argument --repeats: expected a "
                     f"positive integer, got {args.repeats}")
    results = run_suite(sizes, dtypes, args.repeats, not args.no_memory, not args.no_scaling,
                        log=lambda text: print(text, file=sys.stderr, flush=True))
    print(json.dumps(as_dict(results), indent=2) if args.json else format_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
