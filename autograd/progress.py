"""Progress of long work: a bar on standard error for a loop that runs longer than a moment, while `shown()` is in
force (the command line turns it on for a terminal; a library call shows nothing unless asked)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

Item = TypeVar("Item")

DELAY = 2.0  # seconds a loop runs before its bar appears: shorter work stays silent

_shown: ContextVar[bool] = ContextVar("progress_shown", default=False)


@contextmanager
def shown(on: bool = True) -> Iterator[None]:
    """Inside this block, loops that run longer than DELAY show a bar on standard error."""
    token = _shown.set(on)
    try:
        yield
    finally:
        _shown.reset(token)


def estimate(what: str, count: int, each: float) -> None:
    """Say before it starts how long work of `count` parts of `each` seconds will take, when that is long."""
    total = count * each
    if _shown.get() and total > 5 * DELAY:
        took = f"{total / 60:.0f} min" if total >= 90 else f"{total:.0f} s"
        print(f"{what}: about {took} ({count} × {each:.2g} s)", file=sys.stderr)


def steps(items: Iterable[Item], what: str, total: int | None = None) -> Iterable[Item]:
    """`items` as they are, with a bar named `what` when progress is shown."""
    if not _shown.get():
        return items
    from tqdm import tqdm  # only when shown: the engine's import stays light

    return tqdm(items, total=total, desc=what, file=sys.stderr, leave=False, delay=DELAY, mininterval=0.5,
                dynamic_ncols=True)
