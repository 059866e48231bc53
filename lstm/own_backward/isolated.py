"""Your hand backward's file (`lstm.check_backward`) imported and run in a process of its own, so that nothing
it does there (exit, kill its process, print, raise) can make, change or stop the verdict, which is reached in this
process alone.

The child (`python -m lstm.own_backward.isolated`) imports the file as `lstm.own_backward.check.load` does,
then runs the layouts' calls of your code (`Layout.backward`, `Layout.run_forward`: your functions called on
copies, what they return checked) on what this process sends it, one request at a time, for the whole check.
It has no standard output: what your code prints goes to standard error. What it sends back is read here by an
unpickler that builds numpy arrays and nothing else of its choosing. When it dies, the one line names the
function it was in and how: the status it exited with, or the signal that killed it.
"""

from __future__ import annotations

import ctypes
import io
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

import lstm
from lstm.own_backward.check import load as load_here
from lstm.own_backward.check import split_spec
from lstm.own_backward.layouts import LAYOUTS, Hand, HandError

# what the child may send besides Python's own values: numpy's arrays (numpy 1 and 2 name the module that rebuilds
# them differently), and a forward's outputs
READABLE = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"), ("lstm.own_backward.layouts", "Outputs")}
# the child imports this library from where this process did, whatever the current folder holds (-P)
ROOT = str(Path(lstm.__file__).resolve().parent.parent)
SIGNALS = {int(s): s.name for s in signal.Signals}
LEFT_OPEN = 10  # seconds to wait for a child that closed its end of the pipe, before it is killed


@contextmanager
def load(spec: str, layout: str = "own") -> Iterator[Hand]:
    """`lstm.own_backward.check.load`'s Hand, the file imported and run in a child process while the context lasts."""
    child = _Child(spec, layout)
    try:
        source, forward = child.ask(None, "while loading")
        yield Hand(_stand_in(source), forward and _stand_in(forward), source,
                   relay=lambda *request: child.ask(request, "during the call"))
    finally:
        child.close()


def _stand_in(name: str) -> Callable[..., Any]:
    """What this process holds of a function of the child's: its name. The layouts send their calls to the relay."""

    def elsewhere(*_: Any) -> Any:
        raise HandError(f"{name} runs in a process of its own: a layout calls it, through the hand's relay")

    elsewhere.__qualname__ = name
    return elsewhere


class _Child:
    """This process's end of the child: a request at a time, the reply read as arrays alone, a death named."""

    def __init__(self, spec: str, layout: str) -> None:
        self.connection, there = Pipe()
        path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
        # -u: what the user's code prints is written at once; stdout=2: it has no standard output of this process;
        # a session of its own: Ctrl-C stops this process, which ends the child
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-P", "-m", "lstm.own_backward.isolated", str(there.fileno()), spec, layout,
             str(os.getpid())],
            pass_fds=[there.fileno()], stdin=subprocess.DEVNULL, stdout=2, env={**os.environ, "PYTHONPATH": path},
            start_new_session=True)
        there.close()
        self.who = Path(split_spec(spec)[0]).name  # whose code runs there now, as the child last said

    def ask(self, request: Any, during: str) -> Any:
        """Send `request` (None: only listen), and return the reply; a refusal, or the child's death, is a
        HandError of one line."""
        try:
            if request is not None:
                self.connection.send(request)
            while (message := _read(self.connection.recv_bytes(), self.who))[0] == "calling":
                self.who = message[1]
        except (EOFError, OSError):  # its end of the pipe closed: it exited, or was killed
            raise HandError(f"{self.who} {self._end()} {during}") from None
        kind, value = message
        if kind == "refused":
            raise HandError(value)
        return value

    def _end(self) -> str:
        try:
            status = self.process.wait(timeout=LEFT_OPEN)
        except subprocess.TimeoutExpired:
            return "closed its end of the pipe"
        if status < 0:
            return f"was killed by signal {-status} ({SIGNALS.get(-status, 'unknown')})"
        return f"exited with status {status}"

    def close(self) -> None:
        self.connection.close()
        self.process.kill()
        self.process.wait()


class _Reader(pickle.Unpickler):
    """Builds numpy arrays, a forward's Outputs and Python's own values, and nothing else the child names."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in READABLE:
            raise pickle.UnpicklingError(f"{module}.{name}")
        return super().find_class(module, name)


def _read(data: bytes, who: str) -> tuple[str, Any]:
    try:
        kind, value = _Reader(io.BytesIO(data)).load()
        return kind, value
    except Exception as error:  # whatever the child sent, it is not what the check reads
        raise HandError(f"{who}: its process sent back something other than arrays ({error})") from None


# ---------------------------------------------------------------------------------------------------------
# The child.
# ---------------------------------------------------------------------------------------------------------


def serve(fd: int, spec: str, layout: str) -> None:
    """Import the file, then run each of the parent's requests, until it closes the pipe or a HandError ends the
    check."""
    parent = Connection(fd)
    running = [Path(split_spec(spec)[0]).name]  # whose code runs now, for a KeyboardInterrupt it raises

    def send(kind: str, value: Any) -> None:
        parent.send_bytes(pickle.dumps((kind, value), protocol=4))  # 4: arrays rebuilt as READABLE names

    def told(fn: Callable[..., Any], field: str, source: str) -> Callable[..., Any]:
        """`fn`, telling the parent that it runs: should this process die in it, the parent names it."""

        def telling(*args: Any) -> Any:
            running[0] = f"{source}: {getattr(fn, '__name__', field)}"
            send("calling", running[0])
            return fn(*args)

        return telling

    try:
        hand = load_here(spec, layout)
        send("ok", (hand.source, hand.forward and getattr(hand.forward, "__qualname__", "forward")))
        hand = Hand(told(hand.backward, "backward", hand.source),
                    hand.forward and told(hand.forward, "forward", hand.source), hand.source)
        for layout_name, method, argument in _requests(parent):
            send("ok", getattr(LAYOUTS[layout_name], method)(hand, argument))
    except HandError as error:  # the one line that ends the check
        send("refused", str(error))
    except KeyboardInterrupt:  # Ctrl-C reaches the parent's session, not this one: the user's code raised it
        send("refused", f"{running[0]} raised KeyboardInterrupt")


def _requests(parent: Connection) -> Iterator[tuple[str, str, Any]]:
    """(layout, method, its argument), until the parent closes the pipe."""
    while True:
        try:
            yield parent.recv()
        except EOFError:
            return


def _ends_with(parent: int) -> None:
    """On Linux, have this process killed when the parent ends, however it ends (SIGTERM, SIGKILL): the user's code
    never outlives the check it runs for, nor holds the pipes of the command's caller open."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before this process asked
        os._exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 4:
        _ends_with(int(sys.argv[4]))
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3])
