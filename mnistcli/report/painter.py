"""Drawing the run folder's plots in a helper process started early, so they cost training no time.

matplotlib needs ~0.5-0.9 s to import, ~0.5 s to load its fonts and ~0.3 s to draw both plots, all of it
Python holding the GIL. In a spawned process (fork is unsafe once TensorFlow has started its threads)
that happens on the second core: the import while TensorFlow imports, the drawing while the test set is
scored and the model saved and exported. Where the helper cannot start or dies, the plots are drawn in
this process instead.
"""

from __future__ import annotations

import multiprocessing
import signal
from contextlib import suppress


class Painter:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._jobs: list[tuple] = []  # started, not yet waited for
        self._helper = None  # the process, until close()
        self._process = None  # the same while it takes jobs; None once it failed (its jobs are drawn here)
        try:
            self._conn, child = ctx.Pipe()
            # Daemonic: it never outlives this process. Ctrl-C reaches the whole process group, so SIGINT
            # is blocked while it starts (the block is inherited) and it ignores SIGINT from then on.
            helper = ctx.Process(target=_serve, args=(child,), daemon=True, name="mnistcli-plots")
            old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                helper.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
            child.close()
            self._helper = self._process = helper
        except (OSError, ValueError, RuntimeError):  # no /dev/shm, a process limit, interpreter shutting down
            pass

    def draw(self, plot: str, *args) -> None:
        """Start drawing plots.<plot>(*args); wait() returns when every drawing started so far is done."""
        job = (plot, args)
        self._jobs.append(job)
        if self._process is not None:
            try:
                self._conn.send(job)
            except Exception:  # noqa: BLE001 - it died (killed, out of memory) or the job cannot travel
                self._process = None  # wait() draws here

    def wait(self) -> None:
        """Return when every plot started is written; raise what drawing one raised (e.g. MnistcliError, disk full)."""
        jobs, self._jobs = self._jobs, []
        errors = []
        while jobs and self._process is not None:  # one answer per job, in order
            try:
                error = self._conn.recv()
            except Exception:  # noqa: BLE001 - it died, or its answer cannot be read: the rest is drawn here
                self._process = None
            else:
                jobs.pop(0)
                errors.append(error)
        for job in jobs:
            try:
                _draw(*job)
            except Exception as exc:  # noqa: BLE001 - raised below, once every plot has been tried
                errors.append(exc)
        for error in errors:
            if error is not None:
                raise error

    def close(self) -> None:
        if self._jobs and self._process is not None:  # the run failed after the plots were started: let them
            with suppress(Exception):  # finish, since a helper killed mid-write would leave a temporary file
                self.wait()
        if self._helper is not None:
            self._helper.kill()  # idle now: quicker than letting it shut its interpreter down
            self._helper.join()
            self._conn.close()
            self._helper = self._process = None


def _serve(conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    from mnistcli.report import plots

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


def _draw(plot: str, args: tuple) -> None:
    from mnistcli.report import plots

    getattr(plots, plot)(*args)
