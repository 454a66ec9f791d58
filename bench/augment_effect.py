"""What data.augment buys: test accuracy, and accuracy on MNIST test digits re-drawn the way people deliver them.

Trains `model=cnn` twice on the same data - once as configured (with its augmentation) and once with
data.augment off - or takes two finished runs, then reads 1,000 MNIST test digits that were turned (up to
+-15 degrees), thickened or thinned, slanted, and photographed (paper tone, a shading gradient, noise,
JPEG) through the same pipeline as `mnistcli predict` (mnistcli.inference.predict.Reader).

    python bench/augment_effect.py                                   # trains both on ../shared/mnist
    python bench/augment_effect.py --runs RUN_WITH RUN_WITHOUT       # compares two finished runs
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "mnist"


def test_digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    images = np.frombuffer(gzip.open(MNIST / "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
    labels = np.frombuffer(gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    pick = np.random.default_rng(0).choice(len(labels), n, replace=False)
    return images.reshape(-1, 28, 28)[pick], labels[pick]


def photographed(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """One digit as a person might deliver it: bigger, turned, a different pen, on photographed paper."""
    ink = Image.fromarray(digit).resize((112, 112), Image.BICUBIC)
    ink = ink.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR, expand=True)
    shear = float(rng.uniform(-0.3, 0.3))
    ink = ink.transform(ink.size, Image.AFFINE, (1, shear, -shear * ink.size[1] / 2, 0, 1, 0), Image.BILINEAR)
    pen = rng.integers(0, 3)
    if pen == 1:
        ink = ink.filter(ImageFilter.MaxFilter(5))  # a marker
    elif pen == 2:
        ink = ink.filter(ImageFilter.MinFilter(3))  # a fine pen
    a = np.asarray(ink, np.float32) / 255
    h, w = a.shape
    paper = rng.uniform(0.75, 0.95) + np.linspace(0, rng.uniform(-0.15, 0.15), w)[None, :]
    shot = paper * (1 - 0.8 * a) + rng.normal(0, 0.03, a.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(shot * 255, 0, 255).astype(np.uint8)).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def train(tmp: Path, name: str, *overrides: str) -> Path:
    run = tmp / name
    subprocess.run([sys.executable, "-m", "mnistcli", "train", "model=cnn", f"data.dir={MNIST}", "train.progress=false",
                    f"hydra.run.dir={run}", *overrides], check=True, stdout=subprocess.DEVNULL)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs=2, type=Path, metavar=("WITH", "WITHOUT"))
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        sys.exit(f"no MNIST in {MNIST}")
    from mnistcli.inference.predict import Reader
    from mnistcli.runs.record import read_record

    digits, labels = test_digits(args.n)
    rng = np.random.default_rng(1)
    files = [photographed(d, rng) for d in digits]
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or [train(Path(tmp), "with"), train(Path(tmp), "without", "data.augment.rotation=0",
                                                           "data.augment.shift=0", "data.augment.zoom=0")]
        table = Table(title=f"data.augment's effect: MNIST test set, and {args.n} photographed test digits")
        for col in ("run", "augment", "epochs", "test acc", "photographed acc", "train s"):
            table.add_column(col, justify="right")
        for label, run in zip(("with", "without"), runs):
            record, reader = read_record(run), Reader(run)
            read = [reader.read_bytes(f, f"digit {i}")["digit"] for i, f in enumerate(files)]
            photo = float(np.mean([r == str(y) for r, y in zip(read, labels)]))
            aug = record.config["data"].get("augment") or {}
            table.add_row(label, ", ".join(f"{k} {v:g}" for k, v in aug.items()), str(record.epochs_run),
                          f"{record.test_accuracy:.2%}", f"{photo:.2%}", f"{record.train_seconds:.0f}")
        Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
