"""The `lstm-autograd` command: demo, compare, render, explore, train, reproduce, bench."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

try:  # first, and as one line: is `autograd` our engine (lstm.installed)?
    import lstm.installed  # noqa: F401
except ImportError as error:
    sys.exit(f"lstm-autograd: error: {error}")

import viz  # noqa: E402  (after the check above, which every import below would fail without saying why)
from autograd import progress
from autograd.files import check_destination, check_distinct, check_folder, is_stdout
from lstm import check_backward
from lstm.derivation.bugs import BUGS, find
from lstm.derivation.compare import compare
from lstm.derivation.hand import DERIVATION
from lstm.own_backward import isolated
from lstm.own_backward.layouts import LAYOUTS
from lstm_autograd.audit import audit
from lstm_autograd.options import (
    Parser,
    TooLarge,
    check_memory,
    finite_float,
    non_negative_float,
    non_negative_int,
    pathname,
    positive_float,
    positive_int,
)
from lstm_autograd.training import plots, reproduce, results
from lstm_autograd.training.train import OPTIMIZERS, TASKS, Diverged, Settings, Trainer, checkpoint_settings, train
from viz.explorer import page_destination
from viz.lstm_views import LONGEST, departs
from viz.render import DPI, FORMATS, check_dpi, destination, prepare_folder


class _OldSpelling(argparse.Action):
    """`--steps`, the sequence length's old name in compare and render: still accepted, with a note, since
    `--steps` now only counts optimizer steps (in train)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: note: {option_string} is the old spelling of --length T, the sequence length; "
              "please write --length", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _sizes(parser: argparse.ArgumentParser, *, length: int, batch: int | None, size: tuple[int, int]) -> None:
    parser.add_argument("--input-size", type=positive_int, default=size[0], metavar="X", help="input size X")
    parser.add_argument("--hidden-size", type=positive_int, default=size[1], metavar="H", help="hidden size H")
    parser.add_argument("--batch", type=positive_int, default=batch, metavar="B",
                        help="batch size B" + ("" if batch else " (default: none, one sequence without a batch axis)"))
    parser.add_argument("--length", type=positive_int, default=length, metavar="T", help="sequence length T")
    parser.add_argument("--steps", type=positive_int, dest="length", action=_OldSpelling, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the weights and the data")


def _dpi(value: str) -> float:
    """--dpi's value: dots per inch, 10 to 2400."""
    try:
        return check_dpi(float(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dots per inch, a number from 10 to 2400, got {value!r}") from None


def _bug(name: str) -> str:
    """--bug's value: a bug of the zoo, or `list`."""
    if name != "list" and name not in BUGS:
        raise argparse.ArgumentTypeError(f"no bug named {name!r}; the bug zoo has {', '.join(BUGS)} (or list)")
    return name


def cmd_compare(args: argparse.Namespace) -> int:
    check_memory(args.input_size, args.hidden_size, args.batch, args.length)
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
    command.add_argument("--hand", type=pathname, metavar="FILE.py[:FUNCTION]",
                         help="check your own backward instead of this library's (FUNCTION: backward by default)")
    command.add_argument("--layout", choices=list(LAYOUTS),
                         help="what your code takes: own (lstm.hand.backward's signature, the default), pytorch "
                         "(stacked weights, gates i, f, g, o), cs231n (lstm_forward, lstm_backward; gates i, f, o, g)")
    command.add_argument("--all-rows", action="store_true",
                         help="with --hand: list every intermediate's row; by default a long table shows its "
                         "failing rows and counts the rest")


def _compare_hand(args: argparse.Namespace) -> int:
    """compare --hand: your backward against the engine; 0 only when your gradients (and forward) are right."""
    if args.hand is None:
        raise ValueError("--layout goes with --hand FILE.py[:FUNCTION]")
    if args.bug is not None:
        raise ValueError("--bug switches a mistake into this library's backward; with --hand, yours is checked")
    layout = args.layout or "own"
    with isolated.load(args.hand, layout) as hand:  # your code in a process of its own: the verdict is made here
        report = check_backward(hand, layout, input_size=args.input_size, hidden_size=args.hidden_size,
                                batch=args.batch, length=args.length, seed=args.seed, dtype=args.dtype)
    print(report.to_json() if args.json else report.format(full=args.all_rows))
    return 0 if report.passed else 1


def cmd_render(args: argparse.Namespace) -> int:
    check_memory(args.input_size, args.hidden_size, args.batch, args.length)
    options = dict(input_size=args.input_size, hidden_size=args.hidden_size, batch=args.batch, length=args.length,
                   seed=args.seed, collapse=args.collapse, loss=args.loss,
                   derivation=None if args.bug is None else find(args.bug).derivation)
    if args.gate == "all":
        try:
            prepare_folder(args.output)  # before the work, not after
        except ValueError as error:  # named as a picture: perhaps one section's was meant
            raise ValueError(f"{error}, or one --gate for one picture") from None
        paths = viz.render_all(args.output, args.format or "svg", args.dpi, **options)
    else:
        path, fmt = destination(args.output, args.format, args.gate)
        paths = [viz.write(viz.render_gate(args.gate, **options), path, fmt, args.dpi)]
    for path in paths:
        _wrote(path)
    _quiet_bug(args)
    return 0


def _quiet_bug(args: argparse.Namespace) -> None:
    """One line on stderr when --bug's mistake departs nowhere at this --length: the picture is right (exit 0),
    but a picture with nothing red must not read as a bug that does no harm."""
    if args.bug is None:
        return
    first = departs(find(args.bug).derivation, input_size=args.input_size, hidden_size=args.hidden_size,
                    batch=args.batch, length=args.length, seed=args.seed, loss=args.loss)
    if first is None:
        print(f"note: {args.bug} agrees with the engine here at every --length up to {LONGEST}: nothing is red; "
              "try another --loss or --seed", file=sys.stderr)
    elif first != args.length:
        print(f"note: {args.bug} departs first at --length {first}: nothing differs at --length {args.length}, so "
              f"nothing is red; try --length {first}", file=sys.stderr)


def _wrote(path: str | os.PathLike) -> None:
    """Say where a file went; nothing when it went to standard output, which holds the file alone."""
    if not is_stdout(path):
        print(f"wrote {path}")


def cmd_explore(args: argparse.Namespace) -> int:
    check_memory(args.input_size, args.hidden_size, args.batch, args.length)
    page_destination(args.output)  # before the work, not after
    explorer = viz.explore_gate(args.gate, input_size=args.input_size, hidden_size=args.hidden_size,
                                batch=args.batch, length=args.length, seed=args.seed, loss=args.loss,
                                collapse=args.collapse,
                                derivation=None if args.bug is None else find(args.bug).derivation)
    _wrote(explorer.save(args.output))
    _quiet_bug(args)
    return 0


# each task's own defaults (the others are `Settings`'s); reber has no length: the grammar sets it
TASK_DEFAULTS = {"adding": {"length": 50, "hidden_size": 32, "batch": 32},
                 "chars": {"length": 32, "hidden_size": 64, "batch": 16},
                 "copy": {"length": 100, "hidden_size": 40, "batch": 20},
                 "reber": {"hidden_size": 6, "batch": 1, "evaluate_every": 50}}
RUN_OPTIONS = tuple(field.name for field in fields(Settings) if field.name != "task")  # each has its --option


def per_task(key: str) -> str:
    """A default that depends on the task, as --help says it."""
    return ", ".join(f"{task} {defaults[key]}" for task, defaults in TASK_DEFAULTS.items() if key in defaults)


def train_settings(args: argparse.Namespace) -> Settings:
    """The run the options ask for, checked. A new run takes the task's defaults for what is not given; a resumed
    one the checkpoint's, and an option given that differs from the checkpoint's run is refused (Trainer.load).
    Options that would be ignored are refused."""
    given = {key: getattr(args, key) for key in RUN_OPTIONS if getattr(args, key) is not None}
    if args.task == "reber" and "length" in given:
        raise ValueError("--length does not apply to reber: the grammar sets each string's length")
    if args.resume:
        if args.checkpoint is None:
            raise ValueError("--resume needs --checkpoint PATH, the checkpoint to continue")
        saved = checkpoint_settings(args.checkpoint)
        if saved.task != args.task:
            raise ValueError(f"{args.checkpoint} holds a run of the {saved.task} task, not {args.task}")
        settings = dataclasses.replace(saved, **given)
    else:
        settings = Settings(task=args.task, **{**TASK_DEFAULTS[args.task], **given})
    if "alpha" in given and settings.optimizer != "rmsprop":
        raise ValueError(f"--alpha applies to --optimizer rmsprop only, not {settings.optimizer}")
    if "momentum" in given and settings.optimizer == "adam":
        raise ValueError("--momentum applies to --optimizer sgd or rmsprop, not adam")
    settings.check()  # before any file is touched
    return settings


def cmd_train(args: argparse.Namespace) -> int:
    check_distinct([("--checkpoint", args.checkpoint), ("--log", args.log),
                    *[("--plot", Path(args.plot) / name) for name in plots.FIGURES if args.plot]])
    settings = train_settings(args)
    check_memory(0, settings.hidden_size, settings.batch, settings.length)
    if args.log:
        check_destination(args.log, stdout=True)
    if args.plot:
        plots.pyplot()  # before training, not after: a missing matplotlib should not cost a run
        check_folder(args.plot)
    result = train(settings, checkpoint=args.checkpoint, resume=args.resume, every=args.every, quiet=args.quiet)
    said = sys.stderr if args.log and is_stdout(args.log) else sys.stdout  # the record alone on stdout
    if args.log:
        reproduce.write_record(args.log, result, args.command_line)
    if not args.quiet:
        start = result["steps"] - result["steps_run"]
        if result["steps_run"] == 0:
            ran = f"nothing left to run, {args.checkpoint} is at step {start} (--steps is the run's total)"
        else:
            ran = f"{result['steps_run']} steps" + (f" (from step {start} to {result['steps']})" if start else "")
        solved = " (solved)" if result["held_out"].get("solved") else ""
        print(f"{settings.task}: {ran} in {result['seconds']:.1f} s; final batch loss {result['train_loss']:.5f}; "
              f"held-out loss {result['test_loss']:.5f}{solved}", file=said)
    if args.plot:
        for path in plots.training_figures(result["trainer"], Trainer(settings), args.plot):
            if not args.quiet:
                print(f"wrote {path}", file=said)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    if Path(args.runs).exists() and not Path(args.runs).is_dir():
        raise ValueError(f"--runs {args.runs} is a file; expected a folder of runs")
    if args.action == "run":
        return 1 if reproduce.run_queue(args.runs, args.only, args.count) else 0
    if args.action == "page":
        if not Path(args.runs).is_dir():
            raise ValueError(f"--runs {args.runs}: no such folder of runs")
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
    if importlib.util.find_spec("benchmarks") is None:  # not installed: a checkout's folder
        raise ValueError("the benchmarks run from a checkout of lstm-autograd (they are not installed): run "
                         "lstm-autograd bench from the checkout's folder")
    return subprocess.run([sys.executable, "-m", "benchmarks", *args.options], env=env).returncode


def cmd_audit(args: argparse.Namespace) -> int:
    report = audit(args.file, seed=args.seed, points=args.points)
    print(report.to_json() if args.json else report.format(problems=args.problems))
    return 0 if report.passed else 1


def add_audit(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("audit", help="check every partial of a markdown derivation, line by line")
    command.add_argument("file", type=pathname, metavar="FILE.md",
                         help="a derivation in markdown with LaTeX math (docs/audit.md)")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument("--problems", action="store_true",
                         help="list only the lines that are not plainly right (conventions and notes included)")
    command.add_argument("--seed", type=non_negative_int, default=0, help="seed of the random points")
    command.add_argument("--points", type=positive_int, default=3, help="random points each partial is checked at")
    command.set_defaults(run=cmd_audit, parser=command)


def cmd_demo(args: argparse.Namespace) -> int:
    prepare_folder(args.output)  # a folder that cannot be written is found before the comparison, not after
    report = compare()
    print(report.format())
    print()
    for path in viz.render_all(args.output):
        print(f"wrote {path}")
    print(f"wrote {viz.explore_gate('all', length=3).save(Path(args.output) / 'explorer.html')}"
          "  (open it in a browser: the forward and backward pass, step by step)")
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lstm-autograd", description="See and check backpropagation through an LSTM.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = commands.add_parser("demo", help="run the gradient comparison, draw the cell's graphs and write "
                                  "the explorer")
    command.add_argument("-o", "--output", type=pathname, default="lstm-autograd-demo",
                         help="folder for the pictures and the page (created if missing; its parent must exist)")
    command.set_defaults(run=cmd_demo, parser=command)

    command = commands.add_parser("compare", help="hand-derived BPTT vs the engine vs finite differences")
    _sizes(command, length=5, batch=2, size=(3, 4))
    command.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="floating-point type")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument("--bug", metavar="NAME", type=_bug,
                         help="switch a classic mistake into the hand BPTT; 'list' names them")
    _hand_options(command)
    command.set_defaults(run=cmd_compare, parser=command)

    command = commands.add_parser("render", help="draw a section's computational graph with values and gradients")
    command.add_argument("--gate", required=True, choices=list(viz.SECTION_OF),
                        help="a section of the derivation; all: every section and the whole cell into a folder")
    _sizes(command, length=1, batch=None, size=(2, 2))
    command.add_argument("--format", choices=FORMATS,
                         help="picture format (default: the one -o's extension names, else svg)")
    command.add_argument("--dpi", type=_dpi, default=DPI, metavar="N",
                         help=f"a PNG's resolution in dots per inch, twice a plain screen's 96 (default: {DPI})")
    command.add_argument("--collapse", action=argparse.BooleanOptionalAction, default=None,
                        help="one node per time step (default: when --length > 3)")
    command.add_argument("--bug", metavar="NAME", type=_bug,
                         help="outline the nodes where this bug's hand gradient disagrees")
    command.add_argument("--loss", choices=list(viz.LOSSES), default="sum",
                        help="sum: Σ_t h_t·R_t over every step (R_t fixed random); last: h_T·R_T, the last step alone, "
                        "so the timeline shows ∇h_t vanishing back through time")
    command.add_argument("-o", "--output", type=pathname, required=True,
                         help="file (its folder must exist), or with --gate all a folder (created if missing)")
    command.set_defaults(run=cmd_render, parser=command)

    command = commands.add_parser("explore", help="write a page that steps through the forward and backward pass")
    command.add_argument("--gate", default="all", choices=list(viz.SECTION_OF),
                         help="the section that opens (the others open shut); all: every section")
    _sizes(command, length=1, batch=None, size=(2, 2))
    command.add_argument("--loss", choices=list(viz.LOSSES), default="sum",
                         help="sum: Σ_t h_t·R_t over every step (R_t fixed random); last: h_T·R_T, the last step "
                         "alone, so ∇h_t has to come back through time")
    command.add_argument("--collapse", action=argparse.BooleanOptionalAction, default=None,
                         help="open with every step shut to one node (default: when --length > 3)")
    command.add_argument("--bug", metavar="NAME", type=_bug,
                         help="mark where this bug's hand gradient departs from the engine")
    command.add_argument("-o", "--output", type=pathname, required=True, metavar="PAGE.html",
                         help="the page to write (its folder must exist)")
    command.set_defaults(run=cmd_explore, parser=command)

    add_audit(commands)

    _train_parser(commands)

    command = commands.add_parser("reproduce", help="the published long-range runs: list them, run them one at a "
                                    "time (resumable), write docs/results.md from their records")
    command.add_argument("action", choices=["list", "run", "page"])
    command.add_argument("--runs", type=pathname, default="runs", metavar="DIR",
                         help="the records and checkpoints")
    command.add_argument("--only", nargs="+", metavar="NAME", help="only the runs whose name holds one of these")
    command.add_argument("--count", type=positive_int, metavar="N", help="run: at most N runs, then stop")
    command.add_argument("--pending", action="store_true", help="list: only the runs that have no record yet")
    command.add_argument("-o", "--output", type=pathname, default="docs", metavar="DIR",
                         help="page: the folder that receives results.md and results/")
    command.set_defaults(run=cmd_reproduce, parser=command)

    # its options belong to `python -m benchmarks`, which the command runs in a process of its own
    command = commands.add_parser("bench", add_help=False, help="time the engine against numpy, PyTorch and JAX "
                                "(--sizes S,M,L --dtypes float64,float32 --repeats N --json; --help for all)")
    command.set_defaults(run=cmd_bench, parser=command)
    return parser


def _train_parser(commands: argparse._SubParsersAction) -> None:
    """train's options: every run setting defaults to None here, so that a resumed run can tell the options given
    from those left to the checkpoint; --help says each default."""
    defaults = Settings()
    command = commands.add_parser(
        "train", help="train on the adding problem, a character model, the copying memory problem or the embedded "
        "Reber grammar", description="A resumed run (--resume) keeps the settings its checkpoint holds: an option "
        "left out takes the checkpoint's value, and one given with another value is refused; only "
        f"{', '.join('--' + key.replace('_', '-') for key in Settings.RESUMABLE)} may change.")
    command.add_argument("task", choices=TASKS, help="the task to train on")
    command.add_argument("--model", choices=["lstm", "rnn"], help=f"the LSTM or the plain tanh RNN (default: "
                         f"{defaults.model})")
    command.add_argument("--length", type=positive_int, metavar="T",
                         help=f"sequence length T; copy: the lag (default: {per_task('length')})")
    command.add_argument("--text", type=pathname, metavar="FILE",
                         help="chars: a UTF-8 text file to learn (default: the Zen of Python)")
    command.add_argument("--hidden-size", type=positive_int, metavar="H",
                         help=f"hidden size H (default: {per_task('hidden_size')})")
    command.add_argument("--batch", type=positive_int, metavar="B", help=f"batch size B (default: {per_task('batch')})")
    command.add_argument("--steps", type=positive_int, help="the run's total of optimizer steps, counted from its "
                         f"first: a resumed run trains up to it (default: {defaults.steps}; with --resume: the "
                         "checkpoint's)")
    command.add_argument("--lr", type=positive_float, help=f"learning rate (default: {defaults.lr})")
    command.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default: {defaults.optimizer}")
    command.add_argument("--momentum", type=non_negative_float,
                         help="sgd's or rmsprop's momentum, below 1 (default: sgd 0.9, rmsprop 0)")
    command.add_argument("--alpha", type=non_negative_float,
                         help=f"rmsprop: the smoothing constant of g², its decay, below 1 (default: {defaults.alpha})")
    command.add_argument("--clip", type=non_negative_float,
                         help=f"clip the gradients at this; 0: off (default: {defaults.clip})")
    command.add_argument("--clip-by", choices=["norm", "value"], help="norm: the global norm of all gradients; "
                         f"value: every element to [−clip, clip] (default: {defaults.clip_by})")
    command.add_argument("--init", choices=["pytorch", "glorot"], help="pytorch: every parameter uniform(±1/√H); "
                         "glorot: weights uniform(±√(6/(fan_in + fan_out))), biases 0 (default: "
                         f"{defaults.init})")
    command.add_argument("--forget-bias", type=finite_float, metavar="B",
                         help="lstm: start b_f at B (default: as --init draws it)")
    command.add_argument("--dtype", choices=["float64", "float32"], help=f"default: {defaults.dtype}")
    command.add_argument("--evaluate-every", type=non_negative_int, metavar="N",
                         help="held-out evaluation every N steps; 0: only at the end (default: "
                         f"{per_task('evaluate_every')}, others 0)")
    command.add_argument("--target", type=positive_float, metavar="LOSS",
                         help="stop once the held-out loss is at most this (reber stops when solved)")
    command.add_argument("--seed", type=non_negative_int,
                         help=f"seed of the weights and of every batch (default: {defaults.seed})")
    command.add_argument("--checkpoint", type=pathname, metavar="PATH",
                         help="save the run here (.npz) every --every steps; its folder must exist")
    command.add_argument("--resume", action="store_true", help="continue the run --checkpoint holds")
    command.add_argument("--every", type=positive_int, default=100,
                         help="steps between progress lines, samples and checkpoints")
    command.add_argument("--quiet", action="store_true", help="print nothing")
    command.add_argument("--plot", type=pathname, metavar="DIR",
                         help="write loss.svg and gradient-through-time.svg here (matplotlib; created if missing)")
    command.add_argument("--log", type=pathname, metavar="FILE.json",
                         help="write the run's record: settings, held-out figures, time")
    command.set_defaults(run=cmd_train, parser=command)


# The libraries name their Python arguments (`fmt='dot'`, `hand=`); the command line names its options.
OPTION_OF = {"fmt": "--format", "hand": "--hand", "dtype": "--dtype", "folder": "-o", "gate": "--gate"}


def _message(error: BaseException, command: str) -> str:
    """The error's text in the command line's words: its options for the libraries' arguments, and without the
    command's own name in front, which the line already starts with."""
    said = str(error)
    if isinstance(error, OSError) and error.filename and error.strerror:  # not "[Errno 36] File name too long: …"
        said = f"{error.filename}: {error.strerror[0].lower()}{error.strerror[1:]}"
    text = re.sub(rf"\b({'|'.join(OPTION_OF)})=(?:'([^']*)')?",
                  lambda m: OPTION_OF[m[1]] + (f" {m[2]}" if m[2] is not None else ""), said)
    return text.removeprefix(f"{command}: ")


SIZES = "reduce the sizes: --hidden-size, --input-size, --batch or --length"
MEMORY_ADVICE = {"audit": "audit a smaller derivation, or fewer --points",
                 "bench": "run fewer or smaller cases (see --help)",
                 "train": "reduce --hidden-size, --batch or --length"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:  # a mistake in the options, or --help: argparse exits; here main returns its status instead
        args, options = parser.parse_known_args(argv)
        if args.command == "bench":
            args.options = options
        elif options:
            args.parser.error(f"unrecognized arguments: {' '.join(options)}")
    except SystemExit as exit:
        return exit.code
    args.command_line = ["lstm-autograd", *(sys.argv[1:] if argv is None else argv)]
    prog = f"lstm-autograd {args.command}"
    try:
        with progress.shown(sys.stderr.isatty() and not getattr(args, "quiet", False)):  # a bar, for a person
            return args.run(args)
    except TooLarge as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
    except MemoryError as error:  # what the estimate let through
        print(f"{prog}: error: out of memory ({error or 'no detail'}); {MEMORY_ADVICE.get(args.command, SIZES)}",
              file=sys.stderr)
    except BrokenPipeError:  # the reader left (`| head`) with what it wanted: nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit cannot fail again
        return 128 + 13  # as a program killed by SIGPIPE, like the shell's own tools
    except Diverged as error:  # a run that went to NaN: its own status, so that scripts can tell it from a mistake
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 3
    except (ValueError, OSError, RuntimeError) as error:
        print(f"{prog}: error: {_message(error, args.command)}", file=sys.stderr)
    except KeyboardInterrupt as error:  # training's says the step reached and what its checkpoint holds
        print(f"{prog}: {str(error) or 'interrupted'}", file=sys.stderr)
        return 130
    return 2
