"""The run folder's pictures: learning curves and the confusion matrix, drawn with matplotlib.

Each says what it shows without the terminal beside it: the model, the data set and the test accuracy in
its title, labelled axes and colour scale, the best epoch marked, the learning rate beside the curves.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

# Figures made directly, not through pyplot: no GUI backend is ever chosen or needed (servers, sweeps in
# threads), and nothing is left open in a global registry.
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

from mnistcli.report.cells import dataset_name
from mnistcli.runs.rundir import atomic_write

TRAIN, VAL, BEST, RATE = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f"


def warm_up() -> None:
    """Load the fonts and draw one tiny figure: ~0.5 s of one-time set-up, done before the plots are due."""
    fig = Figure(figsize=(1, 1))
    fig.subplots().set_title("0")
    fig.savefig(io.BytesIO(), format="png", dpi=10)


def title(meta: Mapping | None) -> str:
    """"hidden128 (128 relu) on MNIST · test accuracy 97.73%", from what is known of the run."""
    meta = meta or {}
    model = str(meta.get("model") or "model")
    if meta.get("description"):
        model += f" ({meta['description']})"
    text = f"{model} on {dataset_name(meta.get('data'), meta.get('source'))}"
    if meta.get("test_accuracy") is not None:
        text += f" · test accuracy {meta['test_accuracy']:.2%}"
    return text


def epoch_ticks(n: int) -> list[int]:
    """Epoch 1, round numbers after it and the last: 1-10 all; 20 -> 1, 5, 10, 15, 20; 100 -> 1, 20, ..., 100."""
    if n <= 10:
        return list(range(1, n + 1))
    step = next((s for s in (2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if n / s <= 6), -(-n // 5))
    ticks = [1, *(t for t in range(step, n + 1, step) if t > 1 + step / 2)]  # none crowding epoch 1
    if n - ticks[-1] > step / 2:
        ticks.append(n)
    return ticks


def learning_curves(history: Mapping[str, Sequence[float]], path: Path, meta: Mapping | None = None) -> None:
    """learning_curves.png: see learning_curves_figure."""
    fig = learning_curves_figure(history, meta)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100))


def confusion_matrix(cm: Sequence[Sequence[int]], classes: Sequence[str], path: Path, meta: Mapping | None = None) -> None:
    """confusion_matrix.png: see confusion_matrix_figure."""
    fig = confusion_matrix_figure(cm, classes, meta)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100))


def learning_curves_figure(history: Mapping[str, Sequence[float]], meta: Mapping | None = None) -> Figure:
    """Loss, accuracy and the learning rate per epoch, train and validation, the best validation epoch marked.

    meta: model, description, data, source, test_accuracy, kept_epoch (the epoch whose weights the model kept).
    """
    meta = meta or {}
    n = len(history["loss"])
    epochs = np.arange(1, n + 1)
    fig = Figure(figsize=(12, 4.2))
    ax_loss, ax_acc, ax_lr = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 0.75]})
    style = {"marker": "o", "markersize": 4} if n <= 30 else {}
    best = int(np.argmax(history["val_accuracy"])) + 1 if history.get("val_accuracy") else None
    for key, ax, label in (("loss", ax_loss, "loss (cross-entropy)"), ("accuracy", ax_acc, "accuracy")):
        ax.plot(epochs, history[key], color=TRAIN, label="train", **style)
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], color=VAL, label="validation", **style)
        ax.set_ylabel(label)
        ax.set_title(label.split(" ")[0])
    ax_acc.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    if best is not None:
        kept_epoch = meta.get("kept_epoch")
        kept = " (weights kept)" if kept_epoch == best else f" (the model is epoch {kept_epoch})" if kept_epoch else ""
        for ax in (ax_loss, ax_acc):
            ax.axvline(best, color=BEST, linestyle="--", linewidth=1, label=f"best val epoch: {best}{kept}")
        ax_acc.plot([best], [history["val_accuracy"][best - 1]], marker="*", markersize=14, color=BEST, zorder=5,
                    linestyle="none", label=f"best val accuracy {history['val_accuracy'][best - 1]:.2%}")
    else:
        ax_acc.text(0.98, 0.04, "no validation split", transform=ax_acc.transAxes, ha="right", color=RATE)
    rates = list(history.get("learning_rate") or [])
    if rates:  # a run resumed from a checkpoint of an older mnistcli has them for its later epochs only
        ax_lr.plot(epochs[n - len(rates):], rates, color=RATE, **style)
        ax_lr.set_ylim(bottom=0)
        ax_lr.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    else:
        ax_lr.text(0.5, 0.5, "not recorded", transform=ax_lr.transAxes, ha="center", color=RATE)
    ax_lr.set_ylabel("learning rate at the epoch's start")
    ax_lr.set_title("learning rate")
    for ax in (ax_loss, ax_acc, ax_lr):
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, n + 0.5)
        ax.xaxis.set_major_locator(FixedLocator(epoch_ticks(n)))
        ax.grid(alpha=0.3)
    # One legend for the figure, under its title: none of the curves is hidden behind it.
    handles, labels = ax_acc.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.925), ncol=len(labels), fontsize=9,
               frameon=False)
    fig.suptitle(title(meta), fontsize=12, y=0.985)
    # Fixed margins rather than tight_layout, which draws the figure an extra time (~0.1 s a plot).
    fig.subplots_adjust(left=0.065, right=0.985, bottom=0.12, top=0.8, wspace=0.32)
    return fig


def confusion_matrix_figure(cm: Sequence[Sequence[int]], classes: Sequence[str], meta: Mapping | None = None) -> Figure:
    """Counts in the cells; colour: each cell's share of its true class (its row), on a log scale from one image
    to all of them, so that a handful of confusions shows beside a diagonal of ~98%."""
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    long = max(map(len, classes)) > 2  # Fashion-MNIST's names: rotated below, wide on the left
    fig = Figure(figsize=(7.4, 6.6))
    ax = fig.subplots()
    cmap = colormaps["Blues"].with_extremes(bad="white")
    low = 1.0 / max(int(rows.max()), 2)  # one image of the largest class
    image = ax.imshow(np.ma.masked_equal(share, 0), cmap=cmap, norm=LogNorm(vmin=low, vmax=1.0))
    ax.set_xticks(range(len(classes)), classes, rotation=45 if long else 0, ha="right" if long else "center")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(cm.sum())
    ax.set_title(f"{title(meta)}\nconfusion matrix of the {total:,} test images (numbers: counts)", fontsize=10.5)
    for (i, j), count in np.ndenumerate(cm):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.25 else "black")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.set_label("share of the true class (row), log scale")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.1%}" if v < 0.01 else f"{v:.0%}"))
    bar.ax.yaxis.set_minor_locator(NullLocator())  # a log scale's 8 minor ticks a decade: a third of the drawing
    fig.subplots_adjust(left=0.2 if long else 0.1, right=0.9, bottom=0.2 if long else 0.09, top=0.9)
    return fig
