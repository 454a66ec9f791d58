"""The csv logger: history.csv, one row per epoch of the run's Keras history."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mnistcli.runs.rundir import write_text

HISTORY_FILE = "history.csv"


def history_csv(history: dict[str, list[float]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    keys = list(history)
    writer.writerow(["epoch", *keys])
    n = len(history["loss"])
    # A run resumed from an older mnistcli's checkpoint has its newer columns (learning_rate) for its last epochs only.
    offset = {k: n - len(history[k]) for k in keys}
    for i in range(n):
        writer.writerow([i + 1, *("" if i < offset[k] else f"{history[k][i - offset[k]]:.6f}" for k in keys)])
    return out.getvalue()


def write_history(run_dir: Path, history: dict[str, list[float]]) -> None:
    write_text(Path(run_dir) / HISTORY_FILE, history_csv(history))
