"""Reading the data files themselves: IDX pairs and npz archives, checked, with the SHA-256 of every file read."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistcli.data.idx import check_labels, read_images, read_labels
from mnistcli.errors import MnistcliError

IMAGE_SHAPE = (28, 28)


# Standard IDX file names (without .gz); gzip is detected from the bytes, not the name.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


TEST_PARTS = ("test_images", "test_labels")


@dataclass
class Raw:
    """The data as found: uint8 images (N, 28, 28), integer labels, before limiting, splitting and scaling."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    files: dict[str, str]
    warning: str | None = None  # for the user, loudly: e.g. the offline fallback's lower accuracy


class NotThere(Exception):
    """A source that is simply unavailable (not installed, offline): the next one is tried."""


def read_file(path: Path, files: dict[str, str]) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise MnistcliError(f"{path}: cannot be read ({e.strerror or e})") from None
    files[str(path)] = hashlib.sha256(data).hexdigest()
    return data


def read_idx_files(paths: Mapping[str, Path | None], source: str) -> Raw:
    files: dict[str, str] = {}
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        img_path, lab_path = paths.get(f"{split}_images"), paths.get(f"{split}_labels")
        if img_path is None or lab_path is None:
            arrays[f"x_{split}"] = np.zeros((0, *IMAGE_SHAPE), np.uint8)
            arrays[f"y_{split}"] = np.zeros((0,), np.uint8)
            continue
        x = read_images(read_file(img_path, files), name=str(img_path), shape=IMAGE_SHAPE)
        y = read_labels(read_file(lab_path, files), name=str(lab_path), num_classes=10)
        if len(x) != len(y):
            raise MnistcliError(f"{img_path} holds {len(x)} images but {lab_path} holds {len(y)} labels")
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return Raw(**arrays, source=source, files=files)


def read_npz(path: Path, source: str, test_only: bool) -> Raw:
    files: dict[str, str] = {}
    data = read_file(path, files)  # hashed, then parsed from the same bytes
    splits = ("test",) if test_only else ("train", "test")
    arrays: dict[str, np.ndarray] = {
        "x_train": np.zeros((0, *IMAGE_SHAPE), np.uint8),
        "y_train": np.zeros((0,), np.uint8),
    }
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            keys = set(npz.files)
            needed = [f"{p}_{s}" for s in splits for p in ("x", "y")]
            absent = [k for k in needed if k not in keys]
            if absent:
                raise MnistcliError(
                    f"{path}: npz has no {', '.join(absent)} (it holds {', '.join(sorted(keys)) or 'nothing'})"
                )
            for key in needed:
                arrays[key] = npz[key]
    except MnistcliError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError) as e:
        raise MnistcliError(f"{path}: not a valid npz file ({e})") from None
    for split in splits:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or tuple(x.shape[1:]) != IMAGE_SHAPE:
            raise MnistcliError(f"{path}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if x.dtype != np.uint8:
            if not np.issubdtype(x.dtype, np.integer) or (x.size and (x.min() < 0 or x.max() > 255)):
                raise MnistcliError(f"{path}: x_{split} must hold uint8 pixels 0..255, got dtype {x.dtype}")
            arrays[f"x_{split}"] = x.astype(np.uint8)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise MnistcliError(f"{path}: y_{split} must be a 1-d integer array, got {y.dtype} {y.shape}")
        check_labels(y, f"{path} y_{split}", 10)
        if len(x) != len(y):
            raise MnistcliError(f"{path}: x_{split} holds {len(x)} images but y_{split} holds {len(y)} labels")
    return Raw(**arrays, source=source, files=files)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
