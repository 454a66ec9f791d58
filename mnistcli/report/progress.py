"""A Keras callback that shows epochs and batches as Rich progress bars with live loss and accuracy."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mnistcli.runtime.keras_import import import_keras
from mnistcli.report.console import console

keras = import_keras()  # quietly: this module subclasses Keras's Callback


class RichProgress(keras.callbacks.Callback):
    """Two bars, epochs and the current epoch's batches.

    Costs under 1% of training (bench/progress_cost.py: ~0.6% of epoch time is spent in this code, and
    paired epochs with and without it differ by less than the noise). Keras hands batch ends to a helper
    thread (async_safe), so training never waits for its logs to be read - waiting for them cost softmax's
    short steps ~40%; and the bars are drawn at most 2.5 times a second (~1.5 ms a drawing), not by
    Rich's 10-per-second refresh thread.
    """

    # Keras may call on_train_batch_end from its own thread while the next steps run: Rich's Progress
    # takes its own lock, and a lost race on _last only means one more or one fewer redraw.
    async_safe = True

    def __init__(self, epochs: int, steps_per_epoch: int, refresh_seconds: float = 0.4):
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
            # No refresh thread: it would render 10 times a second on a core that training uses. The bars
            # are drawn when they change (throttled below), from this thread, between Keras's calls.
            auto_refresh=False,
        )
        self._last = 0.0
        self._new_epoch = self._epoch_done = False

    def on_train_begin(self, logs=None):
        self.progress.start()
        self.epoch_task = self.progress.add_task("epoch", total=self.epochs, stats="")
        self.batch_task = self.progress.add_task("batch", total=self.steps, stats="")

    def on_epoch_begin(self, epoch, logs=None):
        # The batch bar restarts with the next drawing: Rich's reset() draws at once, and epochs of a
        # fraction of a second are not each drawn (one drawing costs ~1.5 ms).
        self._new_epoch = True

    def on_train_batch_end(self, batch, logs=None):
        if self._due():
            stats = f"loss {float(logs['loss']):.4f} acc {float(logs['accuracy']):.4f}" if logs else ""
            self._draw(batch + 1, stats)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        stats = f"loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f}"
        if "val_accuracy" in logs:
            stats += f" val_acc {logs['val_accuracy']:.4f}"
        self.progress.update(self.epoch_task, completed=epoch + 1, stats=stats)
        self._epoch_done = True
        if self._due():
            self._draw(self.steps, "")

    def on_train_end(self, logs=None):
        if self._epoch_done:
            self._draw(self.steps, "")  # the last epoch, whether or not its end was drawn
        self.progress.stop()

    def _draw(self, completed: int, stats: str) -> None:
        if self._new_epoch:
            self._new_epoch = False
            self.progress.reset(self.batch_task, total=self.steps, completed=completed, stats=stats)
        else:
            self.progress.update(self.batch_task, completed=completed, stats=stats)
            self.progress.refresh()

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.refresh:
            return False
        self._last = now
        return True
