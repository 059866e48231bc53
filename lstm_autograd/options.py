"""What the command line accepts, checked where it is parsed: one line naming the option, never a traceback.

The value checks are argparse types, so the message always says which option was wrong ("argument --lr: expected
a positive finite number, got '-1'"); every command's options use them.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (the usage block is a --help away) and --help shows every default."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class DefaultsFormatter(argparse.HelpFormatter):
    """Every option with a default says it: "(default: 5)". An option whose default depends on something else
    says so in its own help text, and one that is off unless given says nothing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help = action.help or ""
        off = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if off or "default" in help or not action.option_strings:
            return help
        return f"{help} (default: %(default)s)"


def _number(text: str, kind: type, what: str, accept) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not accept(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def pathname(text: str) -> str:
    """A file or folder name: at least not empty (an empty one would mean the current folder, silently)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a path, got ''")
    return text


def positive_int(text: str) -> int:
    return _number(text, int, "a positive integer", lambda n: n >= 1)


def non_negative_int(text: str) -> int:
    return _number(text, int, "a non-negative integer", lambda n: n >= 0)


def positive_float(text: str) -> float:
    return _number(text, float, "a positive finite number", lambda x: math.isfinite(x) and x > 0)


def finite_float(text: str) -> float:
    return _number(text, float, "a finite number", math.isfinite)


def non_negative_float(text: str) -> float:
    return _number(text, float, "a finite number ≥ 0", lambda x: math.isfinite(x) and x >= 0)


# ---- memory: sizes that cannot fit are refused before anything is allocated ---------------------------------


def memory_needed(input_size: int, hidden_size: int, batch: int, length: int) -> dict[str, int]:
    """Bytes of the largest of the commands (the comparison), by the option that drives each part.

    Measured with tracemalloc (float64): the twelve parameters and their gradients about eight times over (the
    engine's, the hand's, finite differences' copies), and about 85 arrays of (B, H) and 10 of (B, X) per step
    (the graph's intermediates and their gradients, the hand's trace). The other commands need less.
    """
    itemsize = 8
    return {"--hidden-size": itemsize * 8 * 4 * hidden_size * (hidden_size + 1),
            "--input-size": itemsize * (8 * 4 * hidden_size * input_size + 10 * length * batch * input_size),
            "--length": itemsize * 85 * length * batch * hidden_size}


def available_memory() -> int | None:
    """Bytes the kernel says can be allocated without swapping (MemAvailable), else the physical memory."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


class TooLarge(MemoryError):
    """Sizes refused before anything was allocated, naming the option to reduce."""


def check_memory(input_size: int, hidden_size: int, batch: int | None, length: int) -> None:
    """Refuse sizes whose arrays cannot fit in this machine's memory, before any is allocated, naming the option
    that needs the most and the estimate (input_size 0: the task decides it, and it is small)."""
    batch = batch or 1
    parts = memory_needed(input_size, hidden_size, batch, length)
    needed, available = sum(parts.values()), available_memory()
    if available is None or needed <= available:
        return
    option = max(parts, key=parts.get)
    given = {"--hidden-size": f"--hidden-size {hidden_size}", "--input-size": f"--input-size {input_size}",
             "--length": f"--length {length} with --batch {batch}"}[option]
    also = " or --batch" if option == "--length" else ""
    raise TooLarge(f"{given} needs about {_size(needed)} of memory; {_size(available)} is available here; "
                   f"reduce {option}{also}")
