"""The plots say what they show on their own: model, data set and test accuracy in the title, labelled axes,
a labelled colour scale, the best epoch marked, the learning rate beside the curves, epoch 1 ticked."""

from __future__ import annotations

import numpy as np
import pytest

from mnistcli.report import plots

META = {"model": "hidden128", "description": "128 relu", "data": "mnist", "source": "dir /data (IDX)",
        "test_accuracy": 0.9773, "kept_epoch": 20}


def _history(n: int = 20, best: int = 12, rates: bool = True) -> dict:
    val = [0.95 + 0.002 * min(i, best) - 0.001 * max(0, i - best) for i in range(1, n + 1)]
    history = {"loss": list(np.linspace(0.5, 0.05, n)), "accuracy": list(np.linspace(0.9, 0.99, n)),
               "val_loss": list(np.linspace(0.3, 0.1, n)), "val_accuracy": val}
    if rates:
        history["learning_rate"] = list(0.004 * (1 + np.cos(np.pi * np.arange(n) / n)))
    return history


def _texts(fig) -> str:
    return " | ".join(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")) if t.get_text())


def test_learning_curves_title_axes_best_epoch_and_learning_rate():
    fig = plots.learning_curves_figure(_history(), META)
    loss, acc, rate = fig.axes
    assert fig.get_suptitle() == "hidden128 (128 relu) on MNIST · test accuracy 97.73%"
    assert loss.get_ylabel() and acc.get_ylabel() == "accuracy" and "learning rate" in rate.get_ylabel()
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    assert list(acc.get_xticks()) == [1, 5, 10, 15, 20]  # epoch 1 has its tick
    assert "best val epoch: 12" in _texts(fig) and "best val accuracy" in _texts(fig)
    assert "(weights kept)" not in _texts(fig) and "best val epoch: 12 (the model is epoch 20)" in _texts(fig)
    assert len(rate.lines) == 1 and len(rate.lines[0].get_xdata()) == 20


def test_early_stopping_kept_the_best_epoch():
    fig = plots.learning_curves_figure(_history(), dict(META, kept_epoch=12))
    assert "best val epoch: 12 (weights kept)" in _texts(fig)


def test_without_validation_or_recorded_rates():
    history = {k: v for k, v in _history(6, rates=False).items() if not k.startswith("val")}
    fig = plots.learning_curves_figure(history, META)
    assert "no validation split" in _texts(fig) and "not recorded" in _texts(fig)
    assert list(fig.axes[0].get_xticks()) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("classes", [[str(d) for d in range(10)], ["T-shirt/top", "Trouser", "Pullover", "Dress",
                                     "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]])
def test_confusion_matrix_has_a_labelled_scale_and_counts(classes):
    cm = [[980 if i == j else (2 if i + 1 == j else 0) for j in range(10)] for i in range(10)]
    fig = plots.confusion_matrix_figure(cm, classes, dict(META, data="fashion_mnist" if len(classes[0]) > 2 else "mnist"))
    ax, bar = fig.axes
    assert "test accuracy 97.73%" in ax.get_title() and "9,818 test images" in ax.get_title()
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert "share of the true class" in bar.get_ylabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == classes  # whole names, never cut
    cells = {t.get_text() for t in ax.texts}
    assert {"980", "2"} <= cells and "0" not in cells  # counts in the cells; an empty cell stays blank


def test_epoch_ticks():
    assert plots.epoch_ticks(8) == list(range(1, 9))
    assert plots.epoch_ticks(20) == [1, 5, 10, 15, 20]
    assert plots.epoch_ticks(100) == [1, 20, 40, 60, 80, 100]
    assert all(plots.epoch_ticks(n)[0] == 1 and len(plots.epoch_ticks(n)) <= 10 for n in range(1, 3000))


def test_the_run_folder_plots_are_pngs(tmp_path):
    plots.learning_curves(_history(), tmp_path / "l.png", META)
    plots.confusion_matrix(np.eye(10, dtype=int) * 5, [str(d) for d in range(10)], tmp_path / "c.png", META)
    assert all((tmp_path / n).read_bytes().startswith(b"\x89PNG") for n in ("l.png", "c.png"))
