"""A dataset ready for training: the raw data found (data/sources.py), limited, split, scaled to what models take."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from mnistcli.config.schema import DataSettings, SeedOnly
from mnistcli.config.validate import check
from mnistcli.data.resize import resize_digits
from mnistcli.data.sources import find_raw
from mnistcli.data.split import stratified_split

MNIST_CLASSES = [str(d) for d in range(10)]


FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


CLASSES = {"mnist": MNIST_CLASSES, "fashion_mnist": FASHION_CLASSES}


@dataclass
class Dataset:
    """Images (N, s, s) with bright ink, labels as int64 (N,).

    x_val and x_test are float32 in [0, 1], as models take them. x_train is what the batch stream
    (data/pipeline.py's epoch_batches) takes: uint8 pixels as stored, which it scales batch by batch to exactly the
    same float32 values - a quarter of the memory, and no 70-190 MB copies before the first step - or,
    for resized images, float32 in [0, 1].
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    name: str
    classes: list[str]
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of every data file read
    warning: str | None = None  # what the user must be told about this data (the offline fallback)
    augment: dict[str, float] = field(default_factory=dict)  # data.augment: for the training batches only

    def sizes(self) -> dict[str, int]:
        return {"train_size": len(self.y_train), "val_size": len(self.y_val), "test_size": len(self.y_test)}


def load_dataset(
    name: str = "mnist",
    dir: str | None = None,  # shadows the builtin: the config key is called dir
    system_dir: str | None = None,
    url: str | None = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    sha256: str | Mapping[str, str] | None = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    cache_dir: str = "~/.keras",
    image_size: int = 28,
    val_fraction: float = 0.1,
    train_limit: int | None = None,
    augment: Mapping[str, float] | None = None,
    *,
    seed: int,
    test_only: bool = False,
) -> Dataset:
    """Find, check and prepare a dataset; the keyword arguments are exactly conf/data/*.yaml's keys.

    `test_only` (for evaluate) skips the training files where it can: the train and val arrays are empty.
    """
    arguments = dict(name=name, dir=dir, system_dir=system_dir, url=url, sha256=sha256, cache_dir=cache_dir,
                     image_size=image_size, val_fraction=val_fraction, train_limit=train_limit)
    if augment is not None:
        arguments["augment"] = dict(augment)
    settings = check(DataSettings, arguments, "data")  # the config's rules, for callers that did not compose a config
    check(SeedOnly, {"seed": seed})
    raw = find_raw(name, dir, system_dir, url, sha256, cache_dir, seed, test_only)

    x_train, y_train = raw.x_train, raw.y_train
    if test_only:
        x_train, y_train = x_train[:0], y_train[:0]
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    keep, val = stratified_split(y_train, val_fraction, seed)
    as_stored = x_train.shape[1:] == (image_size, image_size)
    return Dataset(
        x_train=x_train[keep] if as_stored else _pixels(x_train[keep], image_size),
        y_train=y_train[keep].astype(np.int64),
        x_val=_pixels(x_train[val], image_size),
        y_val=y_train[val].astype(np.int64),
        x_test=_pixels(raw.x_test, image_size),
        y_test=raw.y_test.astype(np.int64),
        source=raw.source,
        name=name,
        classes=list(CLASSES[name]),
        files=raw.files,
        warning=raw.warning,
        augment=settings.augment.model_dump(),
    )


def _pixels(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, size, size) in [0, 1]; the only float conversion, done last."""
    x = images.astype(np.float32)
    x /= np.float32(255)
    if x.shape[1] != size or x.shape[2] != size:
        x = resize_digits(x, size)
        np.clip(x, 0.0, 1.0, out=x)
    return x
