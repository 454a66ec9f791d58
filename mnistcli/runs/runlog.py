"""The run folder's log, mnistcli.log: the run's config, data, epochs, result and any error, resumed runs included.

The report layer logs what it shows (logger "mnistcli"); while a run trains, those records go to its folder.
They are held in memory until the run has a folder of its own (its metrics.json is written): a run refused
for bad input, or a resume refused, leaves nothing behind. Other libraries' records reach the log from
WARNING up (TensorFlow's INFO chatter stays out), and only those of the thread that trains this run, so
sweep jobs sharing a process (joblib with threads) keep to their own logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import MemoryHandler
from pathlib import Path

LOG_FILE = "mnistcli.log"
FORMAT = "%(asctime)s %(levelname)-7s %(message)s"

_open: dict[Path, RunLog] = {}


class _QuietFileHandler(logging.FileHandler):
    """A log line that cannot be written (a full disk, a folder removed) is lost quietly, never a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass


class RunLog:
    """One run folder's log while its run is in this process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = _QuietFileHandler(path, mode="a", encoding="utf-8", delay=True)
        self.file.setFormatter(logging.Formatter(FORMAT, "%Y-%m-%d %H:%M:%S"))
        # Held until keep(): flushLevel above CRITICAL, so no record is written before then.
        self.handler = MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1, flushOnClose=False)
        thread = threading.get_ident()
        self.handler.addFilter(
            lambda r: r.thread == thread and (r.name.split(".")[0] == "mnistcli" or r.levelno >= logging.WARNING)
        )

    def keep(self) -> None:
        """Write what was held, and every record from now on at once: the run folder is the run's own now."""
        if self.handler.target is None:
            self.handler.setTarget(self.file)
            self.handler.capacity = 1  # a record is written as soon as it is logged
            self.handler.flush()


@contextmanager
def run_log(run_dir: Path) -> Iterator[RunLog]:
    """Collect the run's log records meanwhile; nested uses for the same folder share one log."""
    path = Path(run_dir).absolute() / LOG_FILE
    current = _open.get(path)
    if current is not None:
        yield current
        return
    current = _open[path] = RunLog(path)
    root, ours = logging.getLogger(), logging.getLogger("mnistcli")
    root.addHandler(current.handler)
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)  # outside Hydra the root logger lets only warnings through
    try:
        yield current
    finally:
        root.removeHandler(current.handler)
        del _open[path]
        current.handler.close()  # anything not kept is dropped
        current.file.close()
