"""Drawing the run folder's plots in a helper process started early, so they cost training no time.

matplotlib needs ~0.5-0.9 s to import, ~0.5 s to load its fonts and ~0.5 s to draw both plots, all of it
Python holding the GIL. In a spawned process (fork is unsafe once TensorFlow has started its threads)
that happens on the second core: the import while TensorFlow imports, the drawing while the model is
saved and exported. Where the helper cannot start or dies, the plots are drawn in this process instead.
"""

from __future__ import annotations

import multiprocessing
import signal
from contextlib import suppress
from collections.abc import Mapping, Sequence
from pathlib import Path


class Painter:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._job: tuple | None = None
        try:
            self._conn, child = ctx.Pipe()
            # Daemonic: it never outlives this process. Ctrl-C reaches the whole process group, so SIGINT
            # is blocked while it starts (the block is inherited) and it ignores SIGINT from then on.
            self._process = ctx.Process(target=_serve, args=(child,), daemon=True, name="mnistcli-plots")
            old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                self._process.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
            child.close()
        except (OSError, ValueError, RuntimeError):  # no /dev/shm, a process limit, interpreter shutting down
            self._process = None

    def draw(self, history: Mapping[str, Sequence[float]], cm: Sequence[Sequence[int]], classes: Sequence[str],
             run_dir: Path) -> None:
        """Start drawing learning_curves.png and confusion_matrix.png into run_dir; wait() returns when done."""
        self._job = (dict(history), [list(map(int, row)) for row in cm], list(classes), Path(run_dir))
        if self._process is not None:
            try:
                self._conn.send(self._job)
            except OSError:  # the helper died (killed, out of memory): wait() draws here
                self._process = None

    def wait(self) -> None:
        """Return when both plots are written; raise what drawing them raised (e.g. MnistcliError, disk full)."""
        job, self._job = self._job, None
        if job is None:
            return
        if self._process is not None:
            try:
                error = self._conn.recv()
            except (EOFError, OSError):
                self._process = None
            else:
                if error is not None:
                    raise error
                return
        _draw(*job)

    def close(self) -> None:
        if self._process is None:
            return
        if self._job is not None:  # the run failed after the plots were started: let them finish, since
            with suppress(Exception):  # a helper killed mid-write would leave a temporary file behind
                self.wait()
        if self._process is not None:
            self._process.kill()  # idle now: quicker than letting it shut its interpreter down
            self._process.join()
            self._conn.close()
            self._process = None


def _serve(conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    from mnistcli import plots

    plots.warm_up()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the training process ended or was killed
            return
        try:
            _draw(*job)
        except Exception as exc:  # noqa: BLE001 - sent back and raised there, like an error drawn in-process
            conn.send(exc)
        else:
            conn.send(None)


def _draw(history, cm, classes, run_dir: Path) -> None:
    from mnistcli import plots

    plots.learning_curves(history, run_dir / "learning_curves.png")
    plots.confusion_matrix(cm, classes, run_dir / "confusion_matrix.png")
