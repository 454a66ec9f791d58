"""A Keras callback that shows epochs and batches as Rich progress bars with live loss and accuracy."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mnistcli.model import import_keras
from mnistcli.report import console

keras = import_keras()  # quietly: this module subclasses Keras's Callback


class RichProgress(keras.callbacks.Callback):
    """Two bars, epochs and the current epoch's batches.

    Reading Keras's logs forces a device sync, so batch updates are throttled to a few per second:
    the display then costs nothing measurable however small the batches are.
    """

    def __init__(self, epochs: int, steps_per_epoch: int, refresh_seconds: float = 0.25):
        super().__init__()
        self.epochs, self.steps, self.refresh = epochs, steps_per_epoch, refresh_seconds
        self.progress = Progress(
            TextColumn("{task.description:>7}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._last = 0.0

    def on_train_begin(self, logs=None):
        self.progress.start()
        self.epoch_task = self.progress.add_task("epoch", total=self.epochs, stats="")
        self.batch_task = self.progress.add_task("batch", total=self.steps, stats="")

    def on_epoch_begin(self, epoch, logs=None):
        self.progress.reset(self.batch_task, total=self.steps, stats="")

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self._last < self.refresh:
            return
        self._last = now
        stats = f"loss {float(logs['loss']):.4f} acc {float(logs['accuracy']):.4f}" if logs else ""
        self.progress.update(self.batch_task, completed=batch + 1, stats=stats)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        stats = f"loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f}"
        if "val_accuracy" in logs:
            stats += f" val_acc {logs['val_accuracy']:.4f}"
        self.progress.update(self.batch_task, completed=self.steps)
        self.progress.update(self.epoch_task, completed=epoch + 1, stats=stats)

    def on_train_end(self, logs=None):
        self.progress.stop()
