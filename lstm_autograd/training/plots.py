"""Training pictures with matplotlib (the optional extra `plots`): the loss curve, and the vanishing-gradient
picture, ‖∂L/∂h_t‖ against t for an untrained and a trained model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from autograd.files import atomic_write, check_folder
from lstm_autograd.training.train import Trainer


def pyplot():
    """matplotlib's pyplot on a file-only backend, or a clear error saying how to get it."""
    try:  # imported here: matplotlib is the optional extra `plots`
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plots need matplotlib: pip install 'lstm-autograd[plots]'") from None
    return plt


def plot(path: str | os.PathLike, title: str, xlabel: str, ylabel: str, draw, *, yscale: str = "log") -> Path:
    """One plot, log-scale unless asked: `draw(ax)` adds the lines; the file is written beside its destination and
    renamed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    try:
        draw(ax)
        ax.set_yscale(yscale)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
        ax.grid(alpha=0.3)
        with atomic_write(path) as file:
            fig.savefig(file, format=Path(path).suffix.lstrip(".") or "svg", bbox_inches="tight")
        return Path(path)
    finally:
        plt.close(fig)


def loss_curve(losses: Sequence[float], path: str | os.PathLike, title: str = "training loss") -> Path:
    def draw(ax):
        steps = np.arange(1, len(losses) + 1)
        ax.plot(steps, losses, color="#c6dbef", linewidth=0.8, label="batch loss")
        window = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color="#08519c", label=f"mean of {window}")

    return plot(path, title, "step", "loss", draw)


def gradient_through_time(norms: dict[str, np.ndarray], path: str | os.PathLike, title: str) -> Path:
    def draw(ax):
        for label, values in norms.items():
            ax.plot(np.arange(len(values)), values, marker=".", label=label)

    return plot(path, title, "step t", "‖∂L/∂h_t‖", draw)


FIGURES = ("loss.svg", "gradient-through-time.svg")  # what training_figures writes, in its folder


def training_figures(trained: Trainer, untrained: Trainer, folder: str | os.PathLike) -> list[Path]:
    """loss.svg and gradient-through-time.svg for a trainer and one of the same settings, untrained."""
    settings = trained.settings
    xs, targets = trained.task.batch(8, np.random.default_rng([settings.seed, 0]))
    norms = {name: trainer.gradient_through_time(xs, targets)
             for name, trainer in (("untrained", untrained), (f"trained, {trained.step} steps", trained))}
    folder = check_folder(folder)
    return [loss_curve(trained.losses, folder / FIGURES[0], f"{settings.task}: training loss"),
            gradient_through_time(norms, folder / FIGURES[1],
                                  f"{settings.task}: ‖∂L/∂h_t‖ through time")]
