"""Time-to-accuracy of `mnistcli train` against plain Keras as the reference projects train, same run, same data.

For each model: (a) bench/keras_baseline.py - Sequential, Adam, batch 32, fit on numpy arrays, the
reference epoch counts; (b) `mnistcli train model=NAME` with its defaults. Both are timed as a user meets
them: the whole process from start to exit (TensorFlow's import included). Also: seconds to reach the
baseline's final test accuracy, steady-state training samples/s and that throughput as a fraction of
the float32 matmul limit measured here, and peak RSS of each process. What the Rich progress display
costs is measured by bench/progress_cost.py.

    python bench/train_speed.py                   # ../shared/mnist (the complete MNIST, 60k + 10k)
    python bench/train_speed.py --data fashion    # full 60k Fashion-MNIST (apt-get install dataset-fashion-mnist)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
DATA = {
    "mnist": (REPO.parent / "shared" / "mnist", "mnist", "MNIST (complete: 60,000 training, 10,000 test images)"),
    "fashion": (Path("/usr/share/datasets/fashion-mnist"), "fashion_mnist", "Fashion-MNIST (60k train, 10k test)"),
}
REFERENCE_EPOCHS = {"softmax": 10, "hidden128": 10, "hidden100x2": 20, "cnn": 15}
# Each mnistcli model's plain-Keras peer: the reference projects' networks, and for the CNN the Keras team's
# own MNIST convnet (keras-io examples/vision/mnist_convnet.py: 15 epochs, batch 128, 99.22% reported).
PEERS = {"softmax": "softmax", "hidden128": "hidden128", "hidden100x2": "hidden100x2", "cnn": "convnet"}
MATMUL = """
import os, time; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
n = 2048; a = tf.random.normal((n, n)); b = tf.random.normal((n, n))
f = tf.function(lambda: tf.matmul(a, b)); f().numpy()
best = 1e9
for _ in range(10):
    t = time.perf_counter(); f().numpy(); best = min(best, time.perf_counter() - t)
print(2 * n**3 / best / 1e9)
"""


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and output of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out


def mnistcli(name: str, data: tuple, run_dir: Path) -> dict:
    folder, group, _ = data
    wall, rss, _ = timed([sys.executable, "-m", "mnistcli", "train", f"model={name}", f"data={group}",
                          f"data.dir={folder}", "train.progress=false", f"hydra.run.dir={run_dir}"])
    m = json.loads((run_dir / "metrics.json").read_text())
    with open(run_dir / "history.csv") as f:
        epoch_seconds = [float(r["seconds"]) for r in csv.DictReader(f) if "seconds" in r]
    steady = sorted(epoch_seconds[1:])[len(epoch_seconds[1:]) // 2] if len(epoch_seconds) > 1 else None
    return {**m, "wall": wall, "rss": rss,
            "samples_per_s": m["data"]["train_size"] / steady if steady else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=DATA, default="mnist")
    parser.add_argument("--models", nargs="+", default=list(REFERENCE_EPOCHS), choices=list(REFERENCE_EPOCHS))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; walls are medians, keras acc a mean")
    args = parser.parse_args()
    data = DATA[args.data]
    if not (data[0] / "t10k-images-idx3-ubyte.gz").exists():
        sys.exit(f"no data in {data[0]}")
    console = Console(width=160)
    gflops = float(subprocess.run([sys.executable, "-c", MATMUL], capture_output=True, text=True, check=True).stdout)
    table = Table(title=f"mnistcli train vs plain Keras, {data[2]}; float32 matmul limit here {gflops:.0f} GFLOP/s")
    for col in ("model", "keras peer", "keras acc", "mnistcli acc", "keras s", "mnistcli s", "speed-up", "keras s to its acc",
                "mnistcli samples/s", "% of FLOP limit", "keras RSS MB", "mnistcli RSS MB", ""):
        table.add_column(col, justify="right")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.models:
            bases, ours = [], []
            for r in range(args.repeat):  # interleaved, so a slow spell of a shared machine hits both
                out = tmp / f"{name}-{r}.json"
                b_wall, b_rss, _ = timed([sys.executable, str(REPO / "bench" / "keras_baseline.py"), PEERS[name],
                                          str(REFERENCE_EPOCHS[name]), str(data[0]), str(out)])
                base = json.loads(out.read_text())
                base["wall"] = b_wall - base["scoring_seconds"]  # its per-epoch test scoring is ours, not theirs
                base["rss"] = b_rss
                base["reach"] = next(e["seconds"] for e in base["per_epoch"]
                                     if e["test_accuracy"] >= base["test_accuracy"])
                bases.append(base)
                ours.append(mnistcli(name, data, tmp / f"{name}-{r}"))
                console.print(f"{name} #{r + 1}: keras {base['test_accuracy']:.4f} in {base['wall']:.1f}s; mnistcli "
                              f"{ours[-1]['test_accuracy']:.4f} in {ours[-1]['wall']:.1f}s ({ours[-1]['epochs_run']} epochs)")
            b_acc = statistics.mean(b["test_accuracy"] for b in bases)
            b_wall = statistics.median(b["wall"] for b in bases)
            m_wall = statistics.median(m["wall"] for m in ours)
            m = ours[0]  # the same seed every time: the same accuracy and history
            sps = statistics.median(o["samples_per_s"] for o in ours) if m["samples_per_s"] else None
            # A dense network costs ~6 x parameters FLOPs a sample; a convolution reuses its weights, so no share.
            dense = m["model"].get("family") == "mlp"
            flop_share = 6 * m["params"] * sps / (gflops * 1e9) if sps and dense else None
            ok = m["test_accuracy"] >= b_acc and m_wall <= b_wall / 3
            failed |= not ok
            table.add_row(
                name, PEERS[name], f"{b_acc:.2%}", f"{m['test_accuracy']:.2%}", f"{b_wall:.1f}", f"{m_wall:.1f}",
                f"{b_wall / m_wall:.1f}x", f"{statistics.median(b['reach'] for b in bases):.1f}",
                f"{sps:,.0f}" if sps else "-", f"{flop_share:.1%}" if flop_share else "-",
                f"{max(b['rss'] for b in bases):.0f}", f"{max(o['rss'] for o in ours):.0f}",
                "[green]ok[/]" if ok else "[red]MISS[/]",
            )
        console.print(table)
        console.print("speed-up = keras s / mnistcli s, whole processes (medians of --repeat); ok = mnistcli reaches "
                      "at least the baseline's (mean) accuracy in at most a third of its time.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
