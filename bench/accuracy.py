"""Accuracy of the classic configs with their own defaults on real MNIST, checked against the issue's floors.

Runs `mnistcli train model=NAME data.dir=DIR` as a user would, one process per model, and prints a table.
Default data: ../shared/mnist (the complete MNIST: 60,000 training and 10,000 test images).

    python bench/accuracy.py [--data-dir DIR] [--models softmax hidden128 hidden100x2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
# The reference projects' own results on the complete MNIST (issue 11): softmax 92.4%, one ReLU layer 98%, 100-100 97.6%
# (mnistcli must reach 98.0% with it too).
FLOORS = {"softmax": 0.924, "hidden128": 0.980, "hidden100x2": 0.980, "cnn": 0.993, "lenet5": None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "mnist")
    parser.add_argument("--models", nargs="+", default=list(FLOORS))
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    if not (args.data_dir / "t10k-images-idx3-ubyte.gz").exists():
        sys.exit(f"no MNIST IDX files in {args.data_dir}")

    table = Table(title=f"mnistcli accuracy, data: {args.data_dir}")
    for col in ("model", "train / val / test", "epochs", "test acc", "floor", "val acc", "train s", "wall s", ""):
        table.add_column(col, justify="right")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            run_dir = Path(tmp) / name
            cmd = [sys.executable, "-m", "mnistcli", "train", f"model={name}", f"data.dir={args.data_dir}",
                   "train.progress=false", f"hydra.run.dir={run_dir}", *args.overrides]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if proc.returncode:
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                return 1
            m = json.loads((run_dir / "metrics.json").read_text())
            d = m["data"]
            floor = FLOORS.get(name)  # lenet5 and the other configs: measured, no floor
            ok = floor is None or m["test_accuracy"] >= floor
            failed |= not ok
            table.add_row(
                name, f"{d['train_size']:,} / {d['val_size']:,} / {d['test_size']:,}", str(m["epochs_run"]),
                f"{m['test_accuracy']:.2%}", f"{floor:.1%}" if floor else "-",
                "-" if m["val_accuracy"] is None else f"{m['val_accuracy']:.2%}",  # softmax: no validation split
                f"{m['train_seconds']:.1f}", f"{wall:.1f}", "[green]ok[/]" if ok else "[red]BELOW[/]",
            )
    Console(width=160).print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
