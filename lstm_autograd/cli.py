"""The `lstm-autograd` command: demo, compare, render, explore, train, reproduce, bench."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import viz
from audit import audit
from lstm import yours
from lstm.bugs import BUGS, find
from lstm.compare import compare
from lstm.hand import DERIVATION
from lstm.layouts import LAYOUTS
from training import plots, reproduce, results
from training.train import Settings, Trainer, train


class _OldSpelling(argparse.Action):
    """`--steps`, the sequence length's old name in compare and render: still accepted, with a note, since
    `--steps` now only counts optimizer steps (in train)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: note: {option_string} is the old spelling of --length T, the sequence length; "
              "please write --length", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _sizes(parser: argparse.ArgumentParser, *, length: int, batch: int | None, size: tuple[int, int]) -> None:
    parser.add_argument("--input-size", type=int, default=size[0], metavar="X")
    parser.add_argument("--hidden-size", type=int, default=size[1], metavar="H")
    parser.add_argument("--batch", type=int, default=batch, metavar="B")
    parser.add_argument("--length", type=int, default=length, metavar="T", help="sequence length T")
    parser.add_argument("--steps", type=int, dest="length", action=_OldSpelling, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0)


def cmd_compare(args: argparse.Namespace) -> int:
    if args.hand is not None or args.layout is not None:
        return _compare_hand(args)
    if args.bug == "list":
        for bug in BUGS.values():
            print(f"{bug.name:30} {bug.title}")
        return 0
    derivation = DERIVATION if args.bug is None else find(args.bug).derivation
    report = compare(args.input_size, args.hidden_size, args.batch, args.length, args.seed, args.dtype,
                     derivation=derivation)
    print(report.to_json() if args.json else report.format())
    return 0 if report.passed else 1


def _hand_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--hand", metavar="FILE.py[:FUNCTION]",
                         help="check your own backward instead of this library's (FUNCTION: backward by default)")
    command.add_argument("--layout", choices=list(LAYOUTS),
                         help="what your code takes: own (lstm.hand.backward's signature, the default), pytorch "
                         "(stacked weights, gates i, f, g, o), cs231n (lstm_forward, lstm_backward; gates i, f, o, g)")


def _compare_hand(args: argparse.Namespace) -> int:
    """compare --hand: your backward against the engine; 0 only when your gradients (and forward) are right."""
    if args.hand is None:
        raise ValueError("--layout goes with --hand FILE.py[:FUNCTION]")
    if args.bug is not None:
        raise ValueError("--bug switches a mistake into this library's backward; with --hand, yours is checked")
    layout = args.layout or "own"
    report = compare(args.input_size, args.hidden_size, args.batch, args.length, args.seed, args.dtype,
                     hand=yours.load(args.hand, layout), layout=layout)
    print(report.to_json() if args.json else report.format())
    return 0 if report.passed else 1


def cmd_render(args: argparse.Namespace) -> int:
    options = dict(input_size=args.input_size, hidden_size=args.hidden_size, batch=args.batch, length=args.length,
                   seed=args.seed, collapse=args.collapse, loss=args.loss,
                   derivation=None if args.bug is None else find(args.bug).derivation)
    if args.gate == "all":
        paths = viz.render_all(args.output, args.format, **options)
    else:
        paths = [viz.write(viz.render_gate(args.gate, **options), args.output, args.format)]
    for path in paths:
        print(f"wrote {path}")
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    explorer = viz.explore_gate(args.gate, input_size=args.input_size, hidden_size=args.hidden_size,
                                batch=args.batch, length=args.length, seed=args.seed, loss=args.loss,
                                collapse=args.collapse,
                                derivation=None if args.bug is None else find(args.bug).derivation)
    print(f"wrote {explorer.save(args.output)}")
    return 0


# each task's own defaults for length, hidden size, batch and evaluate-every, in that order
TASK_DEFAULTS = {"adding": (50, 32, 32, 0), "chars": (32, 64, 16, 0), "copy": (100, 40, 20, 0),
                 "reber": (None, 6, 1, 50)}


def train_settings(args: argparse.Namespace) -> Settings:
    """The `train` options as checked `training.train.Settings`, with each task's defaults; options that would
    be ignored are refused."""
    defaults = Settings()
    length, hidden_size, batch, evaluate_every = TASK_DEFAULTS[args.task]
    if args.task == "reber" and args.length is not None:
        raise ValueError("train reber: --length does not apply, the grammar sets each string's length")
    if args.text is not None and args.task != "chars":
        raise ValueError(f"train {args.task}: --text applies to chars only")
    if args.alpha is not None and args.optimizer != "rmsprop":
        raise ValueError(f"train: --alpha applies to --optimizer rmsprop only, not {args.optimizer}")
    if args.momentum is not None and args.optimizer == "adam":
        raise ValueError("train: --momentum applies to --optimizer sgd or rmsprop, not adam")
    given = {key: value for key, value in (("length", args.length), ("hidden_size", args.hidden_size),
                                           ("batch", args.batch), ("lr", args.lr)) if value is not None}
    # an option given as 0 is refused by Settings.check, not replaced by the default
    settings = Settings(task=args.task, length=given.get("length", length or defaults.length),
                        hidden_size=given.get("hidden_size", hidden_size), batch=given.get("batch", batch),
                        steps=args.steps, lr=given.get("lr", defaults.lr), optimizer=args.optimizer,
                        clip=args.clip, seed=args.seed, text=args.text, model=args.model, dtype=args.dtype,
                        clip_by=args.clip_by, momentum=args.momentum,
                        alpha=defaults.alpha if args.alpha is None else args.alpha,
                        evaluate_every=evaluate_every if args.evaluate_every is None else args.evaluate_every,
                        target=args.target, init=args.init, forget_bias=args.forget_bias)
    settings.check()  # before any file is touched
    return settings


def cmd_train(args: argparse.Namespace) -> int:
    settings = train_settings(args)
    if args.plot:
        plots.pyplot()  # before training, not after: a missing matplotlib should not cost a run
    result = train(settings, checkpoint=args.checkpoint, resume=args.resume, every=args.every, quiet=args.quiet)
    if args.log:
        reproduce.write_record(args.log, result, args.command_line)
    if not args.quiet:
        solved = " (solved)" if result["held_out"].get("solved") else ""
        print(f"{settings.task}: {result['steps']} steps in {result['seconds']:.1f} s; final batch loss "
              f"{result['train_loss']:.5f}; held-out loss {result['test_loss']:.5f}{solved}")
    if args.plot:
        for path in plots.training_figures(result["trainer"], Trainer(settings), args.plot):
            if not args.quiet:
                print(f"wrote {path}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise ValueError(f"reproduce: --count must be a positive number of runs, got {args.count}")
    if args.action == "run":
        return 1 if reproduce.run_queue(args.runs, args.only, args.count) else 0
    if args.action == "page":
        if not Path(args.runs).is_dir():
            raise ValueError(f"reproduce page: no such folder of runs: {args.runs}")
        for path in results.write_page(args.runs, args.output):
            print(f"wrote {path}")
        return 0
    for run in reproduce.queue():
        if args.only and not any(part in run.name for part in args.only):
            continue
        if not (args.pending and (Path(args.runs) / f"{run.name}.json").exists()):
            print(f"{run.name:20} {shlex.join(run.command)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    # These two slow a current numpy's OpenBLAS; they are read when numpy loads, so the suite runs in a process
    # of its own without them, and nothing else is touched.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    return subprocess.run([sys.executable, "-m", "benchmarks", *args.options], env=env).returncode


def cmd_audit(args: argparse.Namespace) -> int:
    report = audit(args.file, seed=args.seed, points=args.points)
    print(report.to_json() if args.json else report.format(problems=args.problems))
    return 0 if report.passed else 1


def add_audit(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("audit", help="check every partial of a markdown derivation, line by line")
    command.add_argument("file", metavar="FILE.md", help="a derivation in markdown with LaTeX math (docs/audit.md)")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument("--problems", action="store_true",
                         help="list only the lines that are not plainly right (conventions and notes included)")
    command.add_argument("--seed", type=int, default=0, help="seed of the random points")
    command.add_argument("--points", type=int, default=3, help="random points each partial is checked at")
    command.set_defaults(run=cmd_audit)


def cmd_demo(args: argparse.Namespace) -> int:
    report = compare()
    print(report.format())
    print()
    for path in viz.render_all(args.output):
        print(f"wrote {path}")
    print(f"wrote {viz.explore_gate('all', length=3).save(Path(args.output) / 'explorer.html')}"
          "  (open it in a browser: the forward and backward pass, step by step)")
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstm-autograd", description="See and check backpropagation through an LSTM."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = commands.add_parser("demo", help="run the gradient comparison, draw the cell's graphs and write "
                                  "the explorer")
    command.add_argument("-o", "--output", default="lstm-autograd-demo", help="folder for the pictures")
    command.set_defaults(run=cmd_demo)

    command = commands.add_parser("compare", help="hand-derived BPTT vs the engine vs finite differences")
    _sizes(command, length=5, batch=2, size=(3, 4))
    command.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument("--bug", metavar="NAME", help="switch a classic mistake into the hand BPTT; 'list' names them")
    _hand_options(command)
    command.set_defaults(run=cmd_compare)

    command = commands.add_parser("render", help="draw a section's computational graph with values and gradients")
    command.add_argument("--gate", required=True, choices=list(viz.SECTION_OF),
                        help="a section of the derivation; all: every section and the whole cell into a folder")
    _sizes(command, length=1, batch=None, size=(2, 2))
    command.add_argument("--format", choices=["svg", "dot", "png"], default="svg")
    command.add_argument("--collapse", action=argparse.BooleanOptionalAction, default=None,
                        help="one node per time step (default: when --length > 3)")
    command.add_argument("--bug", metavar="NAME", help="outline the nodes where this bug's hand gradient disagrees")
    command.add_argument("--loss", choices=list(viz.LOSSES), default="sum",
                        help="sum: Σ_t h_t·R_t over every step (R_t fixed random); last: h_T·R_T, the last step alone, "
                        "so the timeline shows ∇h_t vanishing back through time")
    command.add_argument("-o", "--output", required=True, help="file, or folder with --gate all")
    command.set_defaults(run=cmd_render)

    command = commands.add_parser("explore", help="write a page that steps through the forward and backward pass")
    command.add_argument("--gate", default="all", choices=list(viz.SECTION_OF),
                         help="the section that opens (the others open shut); all: every section (default)")
    _sizes(command, length=1, batch=None, size=(2, 2))
    command.add_argument("--loss", choices=list(viz.LOSSES), default="sum",
                         help="sum: Σ_t h_t·R_t over every step (R_t fixed random); last: h_T·R_T, the last step "
                         "alone, so ∇h_t has to come back through time")
    command.add_argument("--collapse", action=argparse.BooleanOptionalAction, default=None,
                         help="open with every step shut to one node (default: when --length > 3)")
    command.add_argument("--bug", metavar="NAME", help="mark where this bug's hand gradient departs from the engine")
    command.add_argument("-o", "--output", required=True, metavar="PAGE.html", help="the page to write")
    command.set_defaults(run=cmd_explore)

    add_audit(commands)

    command = commands.add_parser("train", help="train on the adding problem, a character model, the copying memory "
                                "problem or the embedded Reber grammar")
    command.add_argument("task", choices=["adding", "chars", "copy", "reber"])
    command.add_argument("--model", choices=["lstm", "rnn"], default="lstm", help="the LSTM or the plain tanh RNN")
    command.add_argument("--length", type=int, help="sequence length T (adding: 50; chars: 32); copy: the lag (100)")
    command.add_argument("--text", help="chars: a UTF-8 text file (default: the Zen of Python)")
    command.add_argument("--hidden-size", type=int, help="H (adding: 32; chars: 64; copy: 40; reber: 6)")
    command.add_argument("--batch", type=int, help="B (adding: 32; chars: 16; copy: 20; reber: 1)")
    command.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    command.add_argument("--lr", type=float)
    command.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], default="adam")
    command.add_argument("--momentum", type=float, help="sgd: 0.9 unless given; rmsprop: 0 unless given")
    command.add_argument("--alpha", type=float, help="rmsprop: the smoothing constant of g², its decay (default 0.99)")
    command.add_argument("--clip", type=float, default=1.0, help="clip gradients at this; 0: off")
    command.add_argument("--clip-by", choices=["norm", "value"], default="norm",
                       help="norm: the global norm of all gradients; value: every element to [−clip, clip]")
    command.add_argument("--init", choices=["pytorch", "glorot"], default="pytorch",
                       help="pytorch: every parameter uniform(±1/√H); glorot: weights uniform(±√(6/(fan_in + "
                       "fan_out))), biases 0")
    command.add_argument("--forget-bias", type=float, metavar="B", help="lstm: start b_f at B (default: as --init "
                       "draws it)")
    command.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    command.add_argument("--evaluate-every", type=int, metavar="N",
                       help="held-out evaluation every N steps (reber: 50; others: only at the end)")
    command.add_argument("--target", type=float, metavar="LOSS", help="stop once the held-out loss is at most this "
                       "(reber stops when solved)")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--checkpoint", help="save here every --every steps (.npz)")
    command.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    command.add_argument("--every", type=int, default=100, help="steps between progress lines and checkpoints")
    command.add_argument("--quiet", action="store_true", help="print nothing")
    command.add_argument("--plot", metavar="DIR", help="write loss.svg and gradient-through-time.svg (matplotlib)")
    command.add_argument("--log", metavar="FILE.json", help="write the run's record: settings, held-out figures, time")
    command.set_defaults(run=cmd_train)

    command = commands.add_parser("reproduce", help="the published long-range runs: list them, run them one at a "
                                    "time (resumable), write docs/results.md from their records")
    command.add_argument("action", choices=["list", "run", "page"])
    command.add_argument("--runs", default="runs", metavar="DIR", help="the records and checkpoints (default: runs)")
    command.add_argument("--only", nargs="+", metavar="NAME", help="only the runs whose name holds one of these")
    command.add_argument("--count", type=int, metavar="N", help="run: at most N runs, then stop")
    command.add_argument("--pending", action="store_true", help="list: only the runs that have no record yet")
    command.add_argument("-o", "--output", default="docs", metavar="DIR",
                           help="page: the folder that receives results.md and results/ (default: docs)")
    command.set_defaults(run=cmd_reproduce)

    # its options belong to `python -m benchmarks`, which the command runs in a process of its own
    command = commands.add_parser("bench", add_help=False, help="time the engine against numpy, PyTorch and JAX "
                                "(--sizes S,M,L --dtypes float64,float32 --repeats N --json; --help for all)")
    command.set_defaults(run=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, options = parser.parse_known_args(argv)
    args.command_line = ["lstm-autograd", *(sys.argv[1:] if argv is None else argv)]
    if args.command == "bench":
        args.options = options
    elif options:
        parser.error(f"unrecognized arguments: {' '.join(options)}")
    try:
        return args.run(args)
    except (ValueError, OSError, RuntimeError) as error:
        print(f"lstm-autograd {args.command}: error: {error}", file=sys.stderr)
        return 2
