"""Keras callbacks that show training: Rich progress bars on a terminal, one plain line per epoch elsewhere,
and every epoch (and an early stop) in the run's log."""

from __future__ import annotations

import logging
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from mnistcli.runtime.keras_import import import_keras
from mnistcli.report.console import console

keras = import_keras()  # quietly: this module subclasses Keras's Callback
log = logging.getLogger("mnistcli")


def training_display(epochs: int, steps_per_epoch: int, *, progress: bool = True, early_stopping=None) -> list:
    """The callbacks that show a fit: bars where stdout is a terminal (and `progress`), plain epoch lines where
    it is not (a log file, Slurm, CI), the run's log in every case. Each has close(), for a fit that raised."""
    bars = RichProgress(epochs, steps_per_epoch) if progress and console.is_terminal else None
    lines = EpochLines(epochs, early_stopping, echo=progress and bars is None)
    return [bars, lines] if bars is not None else [lines]


class _Remaining(TimeRemainingColumn):
    """Rich's time-remaining column, blank once a task is marked `ended` (an early stop: no time remains)."""

    def render(self, task) -> Text:
        return Text("") if task.fields.get("ended") else super().render(task)


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
            _Remaining(),
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
        if self.model is not None and self.model.stop_training:  # early stopping: the bar stays short of its end
            self.progress.update(self.epoch_task, ended=True)
        if self._epoch_done:
            self._draw(self.steps, "")  # the last epoch, whether or not its end was drawn
        self.progress.stop()

    def close(self) -> None:
        """End the live display (an interrupted fit skips on_train_end)."""
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


class EpochLines(keras.callbacks.Callback):
    """One plain line per epoch, "epoch  3/20  loss 0.0461  acc 0.9866  val_acc 0.9783  lr 0.00712  4.1 s", to
    the run's log and, with `echo`, to stdout; and a line saying so when early stopping ends the run."""

    def __init__(self, epochs: int, early_stopping=None, echo: bool = False):
        super().__init__()
        self.epochs, self.early_stopping, self.echo = epochs, early_stopping, echo

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        parts = [f"epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}"]
        for key, label, spec in (("loss", "loss", ".4f"), ("accuracy", "acc", ".4f"), ("val_accuracy", "val_acc", ".4f"),
                                 ("learning_rate", "lr", ".3g")):
            if key in logs:
                parts.append(f"{label} {float(logs[key]):{spec}}")
        if "seconds" in logs:
            parts.append(f"{float(logs['seconds']):.1f} s")
        line = "  ".join(parts)
        log.info("%s", line)
        if self.echo:
            console.print(line, markup=False, highlight=False)

    def on_train_end(self, logs=None):
        stopper = self.early_stopping
        if stopper is not None and stopper.stopped_epoch > 0:
            epochs = f"{stopper.patience} epoch{'' if stopper.patience == 1 else 's'}"
            best = f", the best: val_acc {float(stopper.best):.4f}" if stopper.best is not None else ""
            lines = (
                f"stopped early after epoch {stopper.stopped_epoch + 1} of {self.epochs} (val_acc no better for {epochs})",
                f"kept the weights of epoch {stopper.best_epoch + 1}{best}",
            )
            log.info("%s; %s", *lines)
            console.print("\n".join(lines), markup=False, highlight=False)

    def close(self) -> None:
        pass
