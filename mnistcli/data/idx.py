"""Reading IDX files (the MNIST / Fashion-MNIST format), gzipped or raw, with every defect reported clearly.

IDX layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type these datasets use), a byte with
the number of dimensions, one big-endian uint32 per dimension, then the values. Images are 0x00000803
(N x rows x cols), labels 0x00000801 (N). Anything else - bad magic, a truncated body, a truncated gzip
stream, extra bytes - is raised as MnistcliError naming the file and the problem, never as another exception.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
# The type codes the IDX format defines; all but unsigned bytes are rejected by name rather than as "bad magic".
_TYPE_NAMES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32",
               0x0E: "float64"}

Source = bytes | bytearray | memoryview | str | os.PathLike


def is_gzip(data: bytes) -> bool:
    """True when the bytes start with the gzip magic number (file names are not trusted)."""
    return bytes(data[:2]) == GZIP_MAGIC


def _label(source: Source, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return str(source)


def read_bytes(source: Source, name: str | None = None) -> bytes:
    """The (decompressed when gzipped) content of a path or of bytes given directly."""
    label = _label(source, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise MnistcliError(f"{label}: file not found") from None
        except IsADirectoryError:
            raise MnistcliError(f"{label}: is a folder, expected an IDX file") from None
        except OSError as e:
            raise MnistcliError(f"{label}: cannot be read ({e.strerror or e})") from None
    if not is_gzip(data):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise MnistcliError(f"{label}: truncated gzip file (the compressed stream ends early)") from None
    except (OSError, zlib.error, ValueError, struct.error, IndexError, MemoryError) as e:
        raise MnistcliError(f"{label}: corrupt gzip file ({e})") from None


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Parse uncompressed IDX bytes into a uint8 array (read-only, a view of `data`)."""
    if len(data) < 4:
        raise MnistcliError(f"{name}: not an IDX file (only {len(data)} bytes, shorter than the 4-byte header)")
    zero, dtype_code, dims = struct.unpack_from(">HBB", data, 0)
    if zero != 0:
        raise MnistcliError(
            f"{name}: not an IDX file (bad magic number 0x{int.from_bytes(data[:4], 'big'):08X}; "
            f"expected 0x{IMAGES_MAGIC:08X} for images or 0x{LABELS_MAGIC:08X} for labels)"
        )
    if dtype_code != UBYTE:
        kind = _TYPE_NAMES.get(dtype_code, "unknown")
        raise MnistcliError(
            f"{name}: IDX data type 0x{dtype_code:02X} ({kind}) is not supported; MNIST files hold unsigned bytes (0x08)"
        )
    if dims == 0:
        raise MnistcliError(f"{name}: IDX header declares 0 dimensions")
    if ndim is not None and dims != ndim:
        expected = f"0x{0x800 + ndim:08X}"
        raise MnistcliError(
            f"{name}: IDX file has {dims} dimension(s) (magic 0x{0x800 + dims:08X}), expected {ndim} "
            f"(magic {expected})"
        )
    header = 4 + 4 * dims
    if len(data) < header:
        raise MnistcliError(f"{name}: truncated IDX header ({len(data)} bytes, the header needs {header})")
    shape = struct.unpack_from(f">{dims}I", data, 4)
    expected_bytes = 1
    for d in shape:
        expected_bytes *= d
    body = len(data) - header
    dims_text = " x ".join(str(d) for d in shape)
    if body < expected_bytes:
        raise MnistcliError(
            f"{name}: truncated IDX file (header says {dims_text} = {expected_bytes} values, "
            f"the file holds {body})"
        )
    if body > expected_bytes:
        raise MnistcliError(
            f"{name}: IDX file has {body - expected_bytes} unexpected extra bytes after the "
            f"{dims_text} values its header describes"
        )
    try:
        return np.frombuffer(data, dtype=np.uint8, count=expected_bytes, offset=header).reshape(shape)
    except ValueError:  # e.g. 0 x 4294967295 x 4294967295: empty, but too big a shape for numpy
        raise MnistcliError(f"{name}: IDX header dimensions {dims_text} are too large") from None


def read_idx(source: Source, *, name: str | None = None, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or raw, detected by magic bytes) from a path or from bytes.

    Returns a read-only uint8 array with the header's shape; raises MnistcliError for anything malformed.
    """
    label = _label(source, name)
    return parse_idx(read_bytes(source, label), label, ndim)


def read_images(source: Source, *, name: str | None = None, shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """An (N, rows, cols) uint8 image file; rows x cols must equal `shape` (28 x 28 for MNIST and Fashion)."""
    label = _label(source, name)
    data = read_bytes(source, label)
    if len(data) >= 4 and data[:3] == b"\x00\x00\x08" and data[3] == 1:
        raise MnistcliError(f"{label}: this is an IDX label file (magic 0x{LABELS_MAGIC:08X}), expected images")
    images = parse_idx(data, label, ndim=3)
    if tuple(images.shape[1:]) != tuple(shape):
        raise MnistcliError(
            f"{label}: images are {images.shape[1]} x {images.shape[2]} pixels, expected "
            f"{shape[0]} x {shape[1]}"
        )
    return images


def read_labels(source: Source, *, name: str | None = None, num_classes: int = 10) -> np.ndarray:
    """An (N,) uint8 label file with every label in 0..num_classes-1."""
    label = _label(source, name)
    data = read_bytes(source, label)
    if len(data) >= 4 and data[:3] == b"\x00\x00\x08" and data[3] == 3:
        raise MnistcliError(f"{label}: this is an IDX image file (magic 0x{IMAGES_MAGIC:08X}), expected labels")
    labels = parse_idx(data, label, ndim=1)
    check_labels(labels, label, num_classes)
    return labels


def check_labels(labels: np.ndarray, name: str, num_classes: int = 10) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise MnistcliError(
            f"{name}: {bad.size} label(s) outside 0..{num_classes - 1} (e.g. {int(bad[0])})"
        )


def read_pair(
    images: Source, labels: Source, *, shape: tuple[int, int] = (28, 28), num_classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Images and their labels, checked against each other (same count)."""
    x = read_images(images, shape=shape)
    y = read_labels(labels, num_classes=num_classes)
    if len(x) != len(y):
        raise MnistcliError(
            f"{_label(images, None)} holds {len(x)} images but {_label(labels, None)} holds {len(y)} labels"
        )
    return x, y


def write_idx(array: np.ndarray, path: str | os.PathLike | None = None, *, compress: bool = False) -> bytes:
    """IDX bytes for a uint8 array (gzipped when `compress`), written to `path` when given - for tests and tools."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(f">HBB{array.ndim}I", 0, UBYTE, array.ndim, *array.shape)
    data = header + array.tobytes()
    if compress:
        data = gzip.compress(data, mtime=0)
    if path is not None:
        Path(path).write_bytes(data)
    return data
