"""Long work shows progress on a terminal, and nothing anywhere else."""

import io
import sys

import numpy as np

from autograd import progress
from lstm_autograd.cli import main


def test_a_loop_outside_shown_is_left_as_it_is():
    items = [1, 2, 3]
    assert progress.steps(items, "work") is items


def test_a_loop_longer_than_the_delay_draws_a_bar_on_standard_error(monkeypatch, capsys):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    with progress.shown():
        assert list(progress.steps(range(3), "work")) == [0, 1, 2]
    assert "work" in capsys.readouterr().err


def test_compare_on_a_terminal_shows_its_finite_differences_and_off_a_terminal_nothing(monkeypatch, capsys):
    """compare --length 200000 ran for minutes without a word."""
    monkeypatch.setattr(progress, "DELAY", 0.0)
    for terminal in (True, False):
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        monkeypatch.setattr(sys.stderr, "isatty", lambda terminal=terminal: terminal)
        assert main(["compare", "--length", "2"]) == 0
        shown = sys.stderr.getvalue()
        assert ("finite differences, by array" in shown and "forward" in shown) == terminal, shown
        assert shown == "" or terminal
    capsys.readouterr()


def test_the_reverse_pass_of_a_long_graph_shows_its_progress(monkeypatch, capsys):
    from autograd import Tensor, tanh
    monkeypatch.setattr(progress, "DELAY", 0.0)
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(50):
        y = tanh(y)
    with progress.shown():
        y.sum().backward()
    assert "backward" in capsys.readouterr().err and x.grad.shape == (2,)


def test_long_finite_differences_are_estimated_before_they_start(monkeypatch, capsys):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    with progress.shown():
        progress.estimate("finite differences", 336, 0.9)
        progress.estimate("quick", 3, 0.0)
    assert capsys.readouterr().err == "finite differences: about 5 min (336 × 0.9 s)\n"
