"""The run folder's pictures: learning curves and the confusion matrix, drawn with matplotlib."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

# Figures made directly, not through pyplot: no GUI backend is ever chosen or needed (servers, sweeps in
# threads), and nothing is left open in a global registry.
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mnistcli.runs.rundir import atomic_write


def warm_up() -> None:
    """Load the fonts and draw one tiny figure: ~0.5 s of one-time set-up, done before the plots are due."""
    fig = Figure(figsize=(1, 1))
    fig.subplots().set_title("0")
    fig.savefig(io.BytesIO(), format="png", dpi=10)


def learning_curves(history: Mapping[str, Sequence[float]], path: Path) -> None:
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = np.arange(1, len(history["loss"]) + 1)
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(epochs, history[key], marker="o", label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    # Fixed margins rather than tight_layout, which draws the figure an extra time (~0.1 s a plot).
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.13, top=0.92, wspace=0.18)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100))


def confusion_matrix(cm: Sequence[Sequence[int]], classes: Sequence[str], path: Path) -> None:
    cm = np.asarray(cm)
    long = max(map(len, classes)) > 2  # Fashion-MNIST's names: rotated below, wide on the left
    fig = Figure(figsize=(7, 6))
    ax = fig.subplots()
    image = ax.imshow(np.log1p(cm), cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45 if long else 0)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (colour: log count)")
    threshold = np.log1p(cm).max() / 2
    for (i, j), n in np.ndenumerate(cm):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                    color="white" if np.log1p(n) > threshold else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.subplots_adjust(left=0.17 if long else 0.1, right=0.97, bottom=0.2 if long else 0.1, top=0.93)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100))
