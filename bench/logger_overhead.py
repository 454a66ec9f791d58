"""What each logger adds to a run: whole `mnistcli train` processes, the same small run with logger=csv (the
default), [csv,tensorboard], [csv,mlflow] and [csv,tensorboard,mlflow], interleaved, each `--repeat` times
(median wall seconds, and the difference from csv alone). MLflow writes to a fresh SQLite store in a temporary
folder (the first run of a store also creates its tables: reported apart as "new store").

    python bench/logger_overhead.py --data-dir ../shared/mnist [--repeat 3] [--epochs 3] [--train-limit 6000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOGGERS = {"csv": "logger=csv", "csv+tensorboard": "logger=[csv,tensorboard]", "csv+mlflow": "logger=[csv,mlflow]",
           "all three": "logger=[csv,tensorboard,mlflow]"}


def _run(folder: Path, args: list[str]) -> float:
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mnistcli", "train", *args], cwd=folder, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=6000)
    parser.add_argument("--model", default="hidden128")
    args = parser.parse_args()
    common = [f"model={args.model}", f"train.epochs={args.epochs}", "train.progress=false",
              f"data.dir={Path(args.data_dir).resolve()}", f"data.train_limit={args.train_limit}"]
    times: dict[str, list[float]] = {name: [] for name in LOGGERS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        new_store = _run(folder, [*common, LOGGERS["csv+mlflow"]])
        for _ in range(args.repeat):
            for name, choice in LOGGERS.items():
                times[name].append(_run(folder, [*common, choice]))
    base = statistics.median(times["csv"])
    print(f"{args.model}, {args.epochs} epochs on {args.train_limit} images, median of {args.repeat} (load {os.getloadavg()[0]:.1f})")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:16} {median:6.2f} s  {median - base:+5.2f} s")
    print(f"  {'new store':16} {new_store:6.2f} s  (csv+mlflow, the store's first run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
