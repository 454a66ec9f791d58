"""Stopping cleanly: Ctrl-C and SIGTERM as one exception with the shell's exit status, and one process per run folder."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mnistcli.errors import MnistcliError

LOCK_FILE = ".lock"


class RunInUse(MnistcliError):
    """Another process holds the run folder's lock: that folder is not ours to write to, or to remove."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM. A KeyboardInterrupt, so that nothing that lets Ctrl-C through swallows it."""

    def __init__(self, message: str = "interrupted", signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM, as a shell reports a killed command


def _raise(signum: int, frame) -> None:
    raise Interrupted(f"interrupted by {signal.Signals(signum).name}", signum)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into Interrupted while the block runs.

    SIGTERM's default is to die on the spot, which would leave a run marked "running"; raising instead
    lets training record where it stopped. Python runs the handler between bytecodes of the main thread,
    and Keras returns to Python after every batch, so the exception arrives within one batch.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run folder, so a resume cannot write into a run that is still training.

    flock is released by the kernel when the process dies, however it dies: a stale lock file is harmless.
    """
    try:
        import fcntl
    except ImportError:  # not on Windows: no protection, but no failure either
        yield
        return
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise MnistcliError(f"cannot write {path} ({e.strerror or e})") from None
    held = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInUse(
                f"{run_dir} is in use by another mnistcli process (still training?) - wait for it or stop it first"
            ) from None
        held = True
        yield
    finally:
        if held:
            # Removed while still held, so nobody can be waiting on this file; finished runs stay tidy.
            path.unlink(missing_ok=True)
        os.close(fd)
