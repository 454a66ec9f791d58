"""Drawing the run folder's plots in a helper process started early, so they cost training no time.

matplotlib needs ~0.5-0.9 s to import, ~0.5 s to load its fonts and ~0.5 s to draw both plots, all of it
Python holding the GIL. In a spawned process (fork is unsafe once TensorFlow has started its threads)
that happens on the second core: the import while TensorFlow imports, the drawing while the model is
saved and exported. Where a process cannot be started, the plots are drawn in this one instead.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path


class Painter:
    def __init__(self) -> None:
        try:
            self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_ready
            )
            self._pool.submit(int)  # start the process (and its imports) now, not when the plots are due
        except (OSError, ValueError, RuntimeError):  # no /dev/shm, a process limit, interpreter shutting down
            self._pool = None

    def draw(self, history: Mapping[str, Sequence[float]], cm: Sequence[Sequence[int]], classes: Sequence[str],
             run_dir: Path) -> Future:
        """Start drawing learning_curves.png and confusion_matrix.png into run_dir; result() waits for both."""
        args = (dict(history), cm, list(classes), Path(run_dir))
        if self._pool is not None:
            try:
                return self._pool.submit(_draw, *args)
            except RuntimeError:  # the helper died (killed, out of memory): draw here
                pass
        done: Future = Future()
        try:
            done.set_result(_draw(*args))
        except Exception as exc:  # noqa: BLE001 - handed to result(), like the helper's errors
            done.set_exception(exc)
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _ready() -> None:
    # Ctrl-C reaches the whole process group: the main process handles it; the helper just stops with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from mnistcli import plots

    plots.warm_up()


def _draw(history, cm, classes, run_dir: Path) -> None:
    from mnistcli import plots

    plots.learning_curves(history, run_dir / "learning_curves.png")
    plots.confusion_matrix(cm, classes, run_dir / "confusion_matrix.png")
