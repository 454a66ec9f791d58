"""What the Rich progress display costs training: paired epochs with and without it, in one process.

Whole runs on a shared 2-core machine differ by up to 40% from one minute to the next, far more than the
display could cost, so this alternates short fits of one model (display on, display off, ...) and
compares the pairs (30 by default): a slow spell hits both halves of a pair alike. Each half is a fit() of about a
second, so short epochs are drawn as rarely as in a real run. The display renders into a terminal
(a real one's escape codes, written to /dev/null) as often as in a real run. Target (issue 5): <= 3%.

    python bench/progress_cost.py [--model hidden100x2] [--pairs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "mnist"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="hidden100x2", choices=["softmax", "hidden128", "hidden100x2"])
    parser.add_argument("--pairs", type=int, default=30)
    args = parser.parse_args()

    from rich.console import Console

    from mnistcli import report
    from mnistcli.report import progress
    from mnistcli.data.pipeline import epoch_batches
    from mnistcli.config.schema import TrainSettings
    from mnistcli.data.dataset import load_dataset
    from mnistcli.runtime.keras_import import import_keras
    from mnistcli.models.registry import build_model
    from mnistcli.training.fit import compile_model

    import_keras()  # quietly, before the modules that import Keras themselves
    terminal = Console(file=open(os.devnull, "w"), force_terminal=True, width=120)  # noqa: SIM115
    report.console = progress.console = terminal
    ds = load_dataset(dir=str(MNIST) if MNIST.exists() else None, seed=0)
    hidden = {"softmax": [], "hidden128": [128], "hidden100x2": [100, 100]}[args.model]
    settings = TrainSettings(lr_schedule="constant", learning_rate=1e-3)  # only the timing matters here
    batches, steps = epoch_batches(ds.x_train, ds.y_train, settings.batch_size, 0, 0)
    model = build_model({"family": "mlp", "hidden_units": hidden, "activation": "relu", "dropout": 0.0})
    compile_model(model, settings, steps)

    inside = [0.0]  # seconds spent in the display's own code, whichever thread Keras calls it from

    def timed(method):
        def run(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                inside[0] += time.perf_counter() - start

        return run

    class Display(progress.RichProgress):
        # A real run starts and stops the display once, not once per fit() as here: that is kept out of the
        # timings, and the display is started only for the epochs that show it.
        def on_train_begin(self, logs=None):
            pass

        def on_train_end(self, logs=None):
            pass

        on_epoch_begin = timed(progress.RichProgress.on_epoch_begin)
        on_epoch_end = timed(progress.RichProgress.on_epoch_end)
        on_train_batch_end = timed(progress.RichProgress.on_train_batch_end)

    display = Display(10_000, steps)
    progress.RichProgress.on_train_begin(display)
    display.progress.stop()

    done = [0]  # epochs trained so far

    def fit(epochs: int, shown: bool) -> float:
        """Seconds per epoch of `epochs` epochs in one fit(), with or without the display."""
        if shown:
            display.progress.start()
        start = time.perf_counter()
        model.fit(batches, steps_per_epoch=steps, initial_epoch=done[0], epochs=done[0] + epochs, verbose=0,
                  callbacks=[display] if shown else [], shuffle=False)
        seconds = time.perf_counter() - start
        if shown:
            display.progress.stop()
        done[0] += epochs
        return seconds / epochs

    fit(1, True)  # tracing and warm-up, not counted
    # Each half of a pair lasts about a second, so the display redraws as often as in a real run.
    per_half = max(1, round(1.0 / fit(1, False)))
    inside[0] = 0.0
    ratios, on, off = [], [], []
    for i in range(args.pairs):
        first_shown = i % 2 == 0  # alternate which goes first, so neither always follows the other
        a = fit(per_half, first_shown)
        b = fit(per_half, not first_shown)
        shown, hidden_s = (a, b) if first_shown else (b, a)
        on.append(shown)
        off.append(hidden_s)
        ratios.append(shown / hidden_s)
    cost = statistics.median(ratios) - 1
    print(f"{args.model} on {len(ds.y_train):,} images, {args.pairs} pairs of {per_half} epochs: median epoch "
          f"{statistics.median(on):.3f} s with the display, {statistics.median(off):.3f} s without; "
          f"median paired cost {cost:+.1%} (target <= +3%); time inside the display's code: "
          f"{inside[0] / (sum(on) * per_half):.2%} of the epochs that showed it")
    return 0 if cost <= 0.03 else 1


if __name__ == "__main__":
    sys.exit(main())
