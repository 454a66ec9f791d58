"""Pixel transforms shared by training data and predict: every image the model sees goes through here.

A user's digit is turned into what MNIST digits look like (see ``load_digit``): bright ink on a dark
background, the digit fitted into a 20x20 box keeping its aspect ratio, anti-aliased, and placed in a
28x28 field so that its centre of mass falls on the centre pixel. Only numpy and Pillow are used so
that ``mnistcli predict`` starts quickly.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnistcli.errors import MnistcliError

#: Refuse images with more pixels than this (decompression bombs; about an 80 megapixel photo).
MAX_PIXELS = 80_000_000
#: Images are shrunk so that their long side is at most about this many pixels before any arithmetic.
WORK_SIZE = 1024
#: Formats ``load_digit`` will try to decode; anything else is "not an image".
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
#: Suffixes ``find_images`` picks up inside a folder (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# MNIST geometry: the digit's bounding box is scaled to fit BOX x BOX and the centre of mass is put on
# pixel CENTRE of a FIELD x FIELD image (MNIST moved digits by whole pixels, so its digits have their
# centre of mass within half a pixel of index 14; we place it exactly, which is never more than half a
# pixel from what MNIST would have done and does not jump a pixel on tiny changes).
FIELD = 28
BOX = 20
CENTRE = 14.0
# Ink must differ from the background by at least this much (on a 0..1 grey scale) and by this many
# noise standard deviations, and cover at least this share of the image, or the image counts as blank.
MIN_CONTRAST = 0.08
MIN_CONTRAST_SIGMAS = 8.0
MIN_INK_SHARE = 2e-4
#: Digits smaller than this many pixels across are interpolated up before being measured and scaled.
UPSAMPLE_BELOW = 2 * BOX


def area_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) weights that average each output pixel over the input area it covers (a box filter)."""
    edges = np.arange(dst + 1) * (src / dst)
    lo, hi = edges[:-1, None], edges[1:, None]
    pix = np.arange(src)[None, :]
    overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0, None)
    return (overlap / (src / dst)).astype(np.float32)


def resize_digits(images: np.ndarray, size: int) -> np.ndarray:
    """Scale square digit images (N, H, H) to (N, size, size) float32 by area averaging.

    The same function runs on training data and on a user's image at predict time, so a model trained
    on 20x20 digits sees 20x20 digits made the same way.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.shape[1] == size and images.shape[2] == size:
        return images
    rows = area_matrix(images.shape[1], size)
    cols = area_matrix(images.shape[2], size)
    return np.einsum("ij,njk,lk->nil", rows, images, cols, optimize=True).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Finding image files


def find_images(paths: Iterable[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """Expand command-line arguments into image files.

    A file argument is taken as it is (``load_digit`` reports it if it is not an image). A folder
    argument gives its ``*.png``, ``*.jpg`` and ``*.jpeg`` files (any letter case, sorted by name, not
    recursive). Returns ``(files, errors)``: each argument that is missing, unreadable, or a folder
    without images adds a one-line message to ``errors`` instead of raising. Duplicates are dropped.
    """
    files: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            files.append(path)

    for arg in paths:
        path = os.fspath(arg)
        if os.path.isdir(path):
            try:
                names = sorted(os.listdir(path))
            except OSError as exc:
                errors.append(f"{path}: cannot read folder ({exc.strerror or exc})")
                continue
            found = [
                os.path.join(path, name)
                for name in names
                if name.lower().endswith(IMAGE_SUFFIXES) and os.path.isfile(os.path.join(path, name))
            ]
            if not found:
                errors.append(f"{path}: folder has no .png, .jpg or .jpeg images")
            for name in found:
                add(name)
        elif os.path.isfile(path):
            add(path)
        elif os.path.lexists(path):
            errors.append(f"{path}: not a file or folder")
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors


# --------------------------------------------------------------------------------------------------
# Loading a user's digit


def load_digit(path: str | os.PathLike, image_size: int = 28, invert: bool | None = None) -> np.ndarray:
    """Read a digit image and make it look like an MNIST digit.

    Returns float32 ``(image_size, image_size)`` in [0, 1] with bright ink on a dark background:

    * decoded safely (PNG, JPEG, BMP, GIF, WebP, TIFF; any mode - palette, 16-bit, CMYK, 1-bit...),
      EXIF orientation applied, big photos decoded at reduced size, transparency composited (the
      transparent part is paper; the alpha channel carries the ink);
    * ink colour: dark ink on light paper is detected automatically and inverted; ``invert=True``
      forces that, ``invert=False`` says the ink is already lighter than its background;
    * normalised against an uneven background (shadows, lighting gradients, grey paper), scaled so
      the ink is about 1, noise faded to 0; bands of table along the photo's edges and stray specks
      away from the digit are ignored;
    * cropped to the ink, fitted into a 20x20 box keeping the aspect ratio (area anti-aliasing), and
      placed in a 28x28 field with its centre of mass on pixel (14, 14), like MNIST's own digits;
    * scaled with ``resize_digits`` if ``image_size`` is not 28 (the same way as the training data).

    Every problem with the file (missing, a folder, empty, not an image, truncated or corrupt, over
    MAX_PIXELS, blank) raises ``MnistcliError`` with a one-line message starting with the path.
    Known limit: a light-on-dark digit cropped so tightly that ink covers most of the picture is
    taken for dark ink; pass ``invert=False`` for it.
    """
    name = os.fspath(path)
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise MnistcliError(f"{name}: image size must be a positive whole number, not {image_size!r}")
    grey = _read_grey(name)
    dark_ink = _ink_is_dark(grey) if invert is None else bool(invert)
    try:
        ink = _normalise(grey, dark_ink, name)
    except MnistcliError as exc:
        if invert is None:
            raise
        raise MnistcliError(f"{exc} (ink colour was forced: invert={bool(invert)})") from None
    digit = _mnist_frame(ink, name)
    if image_size != FIELD:
        digit = resize_digits(digit[None], int(image_size))[0]
    return np.clip(digit, 0.0, 1.0).astype(np.float32)


#: From this many files on, ``load_digits`` spreads the work over processes (below it, starting them costs more).
PARALLEL_FROM = 64


def load_digits(
    paths: list[str], image_size: int = 28, invert: bool | None = None, workers: int | None = None
) -> list[np.ndarray | MnistcliError]:
    """``load_digit`` for many files, in order: each item is the digit or the MnistcliError its file raised.

    About 3 ms per file is numpy and Pillow work that holds the GIL, so threads do not help; for large
    batches, processes do (1,000 files on 2 cores: 2.9 s -> 1.6 s). ``workers`` defaults to the usable cores.
    """
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    jobs = [(path, image_size, invert) for path in paths]
    if workers < 2 or len(jobs) < PARALLEL_FROM:
        return [_load_one(job) for job in jobs]
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    # fork starts a worker in milliseconds, but is only safe before TensorFlow or LiteRT has started its
    # thread pools; within a process that has loaded them (tests, notebooks) spawn is the safe choice.
    loaded = any(m in sys.modules for m in ("tensorflow", "ai_edge_litert"))
    method = "spawn" if loaded or "fork" not in multiprocessing.get_all_start_methods() else "fork"
    chunk = max(1, len(jobs) // (workers * 4))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        return list(pool.map(_load_one, jobs, chunksize=chunk))


def _load_one(job: tuple[str, int, bool | None]) -> np.ndarray | MnistcliError:
    try:
        return load_digit(*job)
    except MnistcliError as exc:
        return exc


def _read_grey(name: str) -> np.ndarray:
    """Decode ``name`` into a 2-D float32 grey image in [0, 1] (long side at most about WORK_SIZE)."""
    if os.path.isdir(name):
        raise MnistcliError(f"{name}: is a folder, not an image file")
    try:
        if os.path.getsize(name) == 0:
            raise MnistcliError(f"{name}: empty file (0 bytes), not an image")
    except OSError as exc:
        raise MnistcliError(f"{name}: {_os_problem(exc)}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(name, formats=FORMATS) as img:
                width, height = img.size
                if width < 1 or height < 1:
                    raise MnistcliError(f"{name}: image has no pixels ({width}x{height})")
                if width * height > MAX_PIXELS:
                    limit = MAX_PIXELS // 1_000_000
                    raise MnistcliError(f"{name}: image too large ({width}x{height} pixels, limit {limit} megapixels)")
                if max(width, height) > 2 * WORK_SIZE:  # JPEG: let the decoder scale down (1/2, 1/4, 1/8)
                    shrink = max(width, height) / WORK_SIZE
                    img.draft(img.mode, (int(width / shrink), int(height / shrink)))
                img.load()
                img = _upright(img)
                return _to_grey(img)
    except MnistcliError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MnistcliError(f"{name}: image too large (possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise MnistcliError(f"{name}: not an image (or not PNG/JPEG/BMP/GIF/WebP/TIFF)") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise MnistcliError(f"{name}: {_os_problem(exc)}") from None
    except MemoryError:
        raise MnistcliError(f"{name}: image too large to decode (out of memory)") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad data (SyntaxError, struct.error...)
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise MnistcliError(f"{name}: cannot decode image, file is truncated or corrupt ({detail})") from None


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not an image file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read file ({exc.strerror or exc})"


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (phone photos); a broken EXIF block is ignored."""
    try:
        turned = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - any EXIF problem: keep the image as stored
        return img
    return img if turned is None else turned


_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")


def _to_grey(img: Image.Image) -> np.ndarray:
    """Loaded Pillow image -> 2-D float32 grey in [0, 1], transparency composited, shrunk to WORK_SIZE."""
    mode = img.mode
    if mode.startswith(("I", "F")):  # 16-bit and 32-bit grey (I;16, I;16B, I, F)
        # No fixed white level here (12-bit sensors, scientific data): stretch what is used to 0..1.
        # A flat or noise-only image stays blank: noise is judged against its own spread later.
        if mode not in ("I", "F"):
            img = img.convert("I")
        grey = np.asarray(_shrink(img), dtype=np.float64)
        grey = np.nan_to_num(grey, nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(grey.min()), float(grey.max())
        return ((grey - low) / (high - low) if high > low else np.zeros_like(grey)).astype(np.float32)

    # Everything else through Pillow's own (fast) conversions: palette, CMYK, YCbCr... to RGB(A),
    # then to luminance L = 0.299 R + 0.587 G + 0.114 B, keeping alpha (and palette transparency).
    alpha = mode in _ALPHA_MODES or "transparency" in img.info
    with warnings.catch_warnings():  # "palette images with transparency expressed in bytes..."
        warnings.simplefilter("ignore")
        if mode not in (("LA", "RGBA") if alpha else ("L", "RGB")):
            img = img.convert("RGBA" if alpha else "RGB")
        img = _shrink(img)
        if img.mode not in ("L", "LA"):
            img = img.convert("LA" if alpha else "L")
    arr = np.asarray(img, dtype=np.float32) * np.float32(1 / 255)
    if not alpha:
        return arr
    grey, alpha = arr[..., 0], arr[..., 1]
    if alpha.min() >= 0.99:  # an alpha channel, but nothing is transparent
        return np.ascontiguousarray(grey)
    # Transparent pixels are paper. Put the image on the paper colour that contrasts with its opaque
    # content: dark ink (or a sheet with dark writing) goes on white, light-only strokes go on black.
    # Either way the result is alpha * (ink colour's contrast with the paper).
    opaque = alpha > 0.5
    paper = 1.0
    if opaque.any() and np.count_nonzero(grey[opaque] < 0.5) <= 0.02 * np.count_nonzero(opaque):
        paper = 0.0
    return paper + alpha * (grey - paper)


def _shrink(img: Image.Image) -> Image.Image:
    """Box-reduce an image so its long side is at most WORK_SIZE (keeps thin strokes as grey)."""
    factor = math.ceil(max(img.size) / WORK_SIZE)
    return img.reduce(factor) if factor > 1 else img


def _sample(a: np.ndarray, limit: int = 16384) -> np.ndarray:
    """A regular subsample of about ``limit`` pixels, for statistics on big images (do not modify it)."""
    step = max(1, int(math.sqrt(a.size / limit)))
    return a[::step, ::step].reshape(-1)


def _quantiles(values: np.ndarray, *qs: float) -> list[float]:
    """Nearest-rank quantiles (q in [0, 1]) of a 1-D array with one partial sort."""
    ks = [min(values.size - 1, max(0, round(q * (values.size - 1)))) for q in qs]
    part = np.partition(values, ks)
    return [float(part[k]) for k in ks]


def _noise(a: np.ndarray) -> float:
    """Standard deviation of pixel noise, from differences of neighbouring pixels.

    The lower quartile of their sizes is used (0.3186 * sqrt(2) sigma for Gaussian noise), so that
    ink edges, even in a tiny image where most pixels are near one, do not count as noise.
    """
    step = max(1, math.ceil(math.sqrt(a.size / 4096)))
    jitter = math.inf
    for b in (a[::step], a[:, ::step].T):  # along rows and along columns: a thin stroke spoils only one
        if b.shape[1] >= 2:
            pairs = np.abs(b[:, 1::2] - b[:, 0 : 2 * (b.shape[1] // 2) : 2]).reshape(-1)[::step]
            jitter = min(jitter, _quantiles(pairs, 0.25)[0])
    return 0.0 if jitter == math.inf else jitter / (0.3186 * math.sqrt(2))


def _ink_is_dark(grey: np.ndarray) -> bool:
    """True when the ink is darker than the background (the usual pen on paper).

    Four guesses at the background level vote: the median and the most common grey level (right
    when ink is a minority of the pixels, and for a photo that shows the table around the paper),
    and the median of the border and of the four corners (right for a tight crop where thick ink
    covers most of the image). For each, the ink is on whichever side of it has more total deviation
    beyond the noise. A tie means dark ink, by far the more common kind of picture.
    """
    step = max(1, math.ceil(math.sqrt(grey.size / 4096)))
    sample = grey[::step, ::step]
    values = sample.reshape(-1)
    margin = max(3.0 * _noise(grey), 0.02)
    (median,) = _quantiles(values, 0.5)
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-3:  # one flat level: blank either way
        return True
    bins = np.minimum(((values - low) * (32 / (high - low))).astype(np.intp), 31)
    counts = np.convolve(np.bincount(bins, minlength=32), [1, 2, 1], mode="same")
    mode = low + (int(np.argmax(counts)) + 0.5) * (high - low) / 32
    ring = max(1, min(grey.shape) // 50)
    border = np.concatenate([b.ravel() for b in (grey[:ring], grey[-ring:], grey[:, :ring], grey[:, -ring:])])
    (border_level,) = _quantiles(border[:: max(1, border.size // 4096)], 0.5)
    c = max(1, min(grey.shape) // 10)
    corners = np.concatenate([b.ravel() for b in (grey[:c, :c], grey[:c, -c:], grey[-c:, :c], grey[-c:, -c:])])
    (corner_level,) = _quantiles(corners[:: max(1, corners.size // 4096)], 0.5)
    levels = np.array([[median], [mode], [border_level], [corner_level]], np.float32)
    dark = np.maximum(levels - margin - values, 0).sum(axis=1)
    light = np.maximum(values - levels - margin, 0).sum(axis=1)
    return int(np.where(dark > light, 1, -1).sum()) >= 0


def _sliding(a: np.ndarray, size: int, op) -> np.ndarray:
    """Separable min or max filter (``op`` is np.minimum or np.maximum), size x size, edges replicated.

    Each axis takes O(log size) whole-array operations: runs of 2, 4, 8, ... then two overlapping runs.
    """
    half = size // 2
    for _ in range(2):
        m = np.concatenate([np.repeat(a[:1], half, axis=0), a, np.repeat(a[-1:], half, axis=0)])
        run = 1
        while 2 * run <= size:
            m = op(m[:-run], m[run:])
            run *= 2
        if size > run:
            m = op(m[: m.shape[0] - (size - run)], m[size - run :])
        a = m.T
    return a


def _background(grey: np.ndarray) -> np.ndarray:
    """Estimate of the (dark) background under a bright-ink image, same shape as ``grey``.

    On a coarse grid (long side about 64 cells) each cell's 25th percentile is its background level,
    which already drops thin strokes; a morphological opening (min, then max filter) 30% of the long
    side wide removes what is left of the strokes but keeps larger shapes - shadows, lighting - as
    they are, edges included; a final 3x3 max raises the background by a cell around such edges, so
    that interpolating the grid back to full size does not turn a shadow's edge into ink.
    """
    h, w = grey.shape
    if max(h, w) < 64:  # a small image is a crop around the digit: one level will do (the noise
        return np.full_like(grey, _quantiles(grey.reshape(-1), 0.05)[0])  # is allowed for later)
    f = max(1, math.ceil(max(h, w) / 64))
    gh, gw = h // f, w // f  # (the last, partial, row and column of cells are left out)
    cells = grey[: gh * f, : gw * f].reshape(gh, f, gw, f).transpose(0, 2, 1, 3).reshape(gh, gw, f * f)
    level = np.partition(cells, (f * f) // 4, axis=2)[:, :, (f * f) // 4]
    size = min(int(0.3 * max(gh, gw)) | 1, (min(gh, gw) - 1) | 1)
    if size < 3:  # a thin strip of an image: one level will do
        return np.full_like(grey, _quantiles(_sample(grey), 0.05)[0])
    # Opening (min, then max filter): removes ink narrower than `size`, keeps larger shapes.
    level = _sliding(_sliding(level.astype(np.float32), size, np.minimum), size, np.maximum)
    level = _sliding(level, 3, np.maximum)

    grid = Image.fromarray(np.ascontiguousarray(level, dtype=np.float32), mode="F")
    return np.asarray(grid.resize((w, h), Image.BILINEAR), dtype=np.float32)


def _normalise(grey: np.ndarray, dark_ink: bool, name: str) -> np.ndarray:
    """Grey image -> ink map: background 0, ink about 1, noise faded to 0.

    Dark ink on paper is measured as the share of light it takes away from the local paper brightness
    (so a shadow over the page does not weaken the ink); light ink on a dark background as the
    brightness it adds to the local background.
    """
    if dark_ink:
        paper = 1.0 - _background(1.0 - grey)
        diff = (paper - grey) / np.maximum(paper, 0.1)
    else:
        diff = grey - _background(grey)
    # Noise from neighbouring pixels' differences (ink edges are too few to matter, even when ink
    # covers most of a tight crop); then centre the background's noise on 0, taking the 5% quantile to
    # be background (1.645 sigma below its mean).
    sigma = _noise(diff)
    (q05,) = _quantiles(_sample(diff), 0.05)
    diff -= q05 + 1.645 * sigma
    blank = f"{name}: no ink found - is the image blank?"
    candidates = diff[diff > max(6.0 * sigma, 0.5 * MIN_CONTRAST)]
    if candidates.size < max(4, MIN_INK_SHARE * diff.size):
        raise MnistcliError(blank)
    (level,) = _quantiles(candidates[:: max(1, candidates.size // 8192)], 0.9)
    if level < max(MIN_CONTRAST, MIN_CONTRAST_SIGMAS * sigma):
        raise MnistcliError(blank)
    # Scale so the ink is about 1; fade out what is within a few noise widths of the background
    # (zero below `floor`, untouched above twice that) so noise does not become faint ink.
    floor = max(3.0 * sigma, 0.05 * level)
    ink = np.clip(diff * np.float32(1.0 / level), 0.0, 1.0)
    ink *= np.clip(diff * np.float32(1.0 / floor) - 1.0, 0.0, 1.0)
    if np.count_nonzero(ink >= 0.5) < max(4, MIN_INK_SHARE * ink.size):
        raise MnistcliError(blank)
    return ink.astype(np.float32, copy=False)


def _span(profile: np.ndarray) -> tuple[int, int]:
    """[start, stop) of the ink along one axis from a count profile, dropping small far-off specks."""
    nz = np.flatnonzero(profile)
    if nz[-1] - nz[0] + 1 == nz.size:  # one solid run: nothing to drop
        return int(nz[0]), int(nz[-1]) + 1
    breaks = np.flatnonzero(np.diff(nz) > 1)
    groups = [(int(a), int(b) + 1) for a, b in zip(np.r_[nz[0], nz[breaks + 1]], np.r_[nz[breaks], nz[-1]])]
    total = float(profile.sum())
    while len(groups) > 1:
        first, last = groups[0], groups[-1]
        mass_first = float(profile[first[0] : first[1]].sum())
        mass_last = float(profile[last[0] : last[1]].sum())
        if mass_first <= mass_last:
            drop, mass, gap, rest = 0, mass_first, groups[1][0] - first[1], groups[-1][1] - groups[1][0]
        else:
            drop, mass, gap, rest = -1, mass_last, last[0] - groups[-2][1], groups[-2][1] - groups[0][0]
        if mass < 0.05 * total and gap > 0.25 * rest:  # a speck, well away from the digit
            groups.pop(drop)
            total -= mass
        else:
            break
    return groups[0][0], groups[-1][1]


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (top, bottom, left, right; half-open) of the ink mask, ignoring stray specks."""
    top, bottom, left, right = 0, mask.shape[0], 0, mask.shape[1]
    for _ in range(2):
        lo, hi = _span(mask[top:bottom, left:right].sum(axis=1))
        top, bottom = top + lo, top + hi
        lo, hi = _span(mask[top:bottom, left:right].sum(axis=0))
        left, right = left + lo, left + hi
    return top, bottom, left, right


def _drop_frame(ink: np.ndarray) -> np.ndarray:
    """Clear bands of "ink" along the image's edges that are really the table or a shadow around a
    photographed sheet: runs of lines from an edge that are at least 90% ink, with a clear gap (no ink
    at all) between them and the rest. A stroke along the edge of a tight crop has no such gap."""
    mask = ink >= 0.5
    h, w = mask.shape
    if h < 8 or w < 8:
        return ink
    rows, cols = mask.mean(axis=1) >= 0.9, mask.mean(axis=0) >= 0.9

    def run(flags: np.ndarray) -> int:
        return int(np.argmin(flags)) if not flags.all() else flags.size

    cut = [run(rows), run(rows[::-1]), run(cols), run(cols[::-1])]  # top, bottom, left, right
    if not any(cut) or cut[0] + cut[1] >= h or cut[2] + cut[3] >= w:
        return ink
    inner = mask[cut[0] : h - cut[1], cut[2] : w - cut[3]]
    gy, gx = max(1, h // 50), max(1, w // 50)
    clear = [not inner[:gy].any(), not inner[-gy:].any(), not inner[:, :gx].any(), not inner[:, -gx:].any()]
    cut = [n if ok else 0 for n, ok in zip(cut, clear)]
    if not any(cut):
        return ink
    ink = ink.copy()
    ink[: cut[0]] = 0
    ink[h - cut[1] :] = 0
    ink[:, : cut[2]] = 0
    ink[:, w - cut[3] :] = 0
    return ink


def _box_weights(n_in: int, n_out: int, start: float, scale: float) -> np.ndarray:
    """(n_out, n_in) area-averaging weights; output pixel u covers input [start + u/scale, start + (u+1)/scale]."""
    lo = start + np.arange(n_out)[:, None] / scale
    hi = lo + 1.0 / scale
    pix = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0, None)
    return (overlap * scale).astype(np.float32)


def _render(ink: np.ndarray, top: float, left: float, scale: float) -> np.ndarray:
    """The FIELD x FIELD area average of ``ink`` whose pixel (0, 0) covers input (top, left) onwards."""
    span = FIELD / scale
    r0, c0 = max(0, int(top)), max(0, int(left))
    r1 = min(ink.shape[0], math.ceil(top + span) + 1)
    c1 = min(ink.shape[1], math.ceil(left + span) + 1)
    if r1 <= r0 or c1 <= c0:
        return np.zeros((FIELD, FIELD), np.float32)
    part = ink[r0:r1, c0:c1]
    rows = _box_weights(part.shape[0], FIELD, top - r0, scale)
    cols = _box_weights(part.shape[1], FIELD, left - c0, scale)
    # Two plain einsums, not "@": BLAS threads cost more than they save on matrices this small.
    return np.einsum("ik,lk->il", np.einsum("ij,jk->ik", rows, part), cols)


def _centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass with pixel i centred at i + 0.5."""
    mass = float(a.sum())
    rows = float(a.sum(axis=1) @ (np.arange(a.shape[0]) + 0.5)) / mass
    cols = float(a.sum(axis=0) @ (np.arange(a.shape[1]) + 0.5)) / mass
    return rows, cols


def _mnist_frame(ink: np.ndarray, name: str) -> np.ndarray:
    """Ink map -> 28x28 MNIST-style digit: 20x20 box, aspect kept, area anti-aliased, centred by mass.

    The box is the extent of the half-intensity ink (the stroke edges of an anti-aliased drawing), so
    faint fringes and stray specks do not shrink the digit; fringes outside the box are still drawn.
    The digit is placed with sub-pixel precision so its centre of mass is exactly at (14, 14) (MNIST's
    own digits are within half a pixel of it).
    """
    ink = _drop_frame(ink)
    core = ink >= 0.5
    if not core.any():
        raise MnistcliError(f"{name}: no ink found - is the image blank?")
    top, bottom, left, right = _ink_box(core)
    long_side = max(bottom - top, right - left)
    margin = math.ceil(0.75 * long_side) + 2  # the 28x28 field reaches 0.7 * long_side past the box
    crop = (slice(max(0, top - margin), bottom + margin), slice(max(0, left - margin), right + margin))
    ink, core = ink[crop], core[crop]
    if long_side < UPSAMPLE_BELOW:  # tiny digit: interpolate it up so its edges and box are sub-pixel exact
        factor = math.ceil(4 * BOX / long_side)
        big = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), mode="F")
        big = big.resize((ink.shape[1] * factor, ink.shape[0] * factor), Image.BILINEAR)
        ink = np.asarray(big, dtype=np.float32)
        core = ink >= 0.5
        top, bottom, left, right = _ink_box(core)
        long_side = max(bottom - top, right - left)
    factor = int(long_side // (4 * BOX))
    if factor > 1:  # big digit: average factor x factor blocks first (same area average, far less work)
        ink = np.asarray(Image.fromarray(np.ascontiguousarray(ink, np.float32), "F").reduce(factor))
        core = np.asarray(Image.fromarray(core.astype(np.float32), "F").reduce(factor)) > 0
    # Keep only ink near the strokes (their anti-aliased fringe, within 4% of the digit's size):
    # faint noise elsewhere would pull the centre of mass and show as smudges.
    reach = 2 * max(2, round(0.04 * long_side / max(factor, 1))) + 1
    ink = np.where(_sliding(core.astype(np.float32), reach, np.maximum) > 0, ink, np.float32(0))
    scale = BOX * factor / long_side if factor > 1 else BOX / long_side
    if not float(ink.sum()) > 0:
        raise MnistcliError(f"{name}: no ink found - is the image blank?")
    # Put the ink's centre of mass on the centre of pixel CENTRE, then correct for the small difference
    # between the drawing's centre of mass and that of its pixels.
    cy, cx = _centre_of_mass(ink)
    top, left = cy - (CENTRE + 0.5) / scale, cx - (CENTRE + 0.5) / scale
    for _ in range(3):
        field = _render(ink, top, left, scale)
        if not float(field.sum()) > 0:
            raise MnistcliError(f"{name}: no ink found - is the image blank?")
        fy, fx = (v - CENTRE - 0.5 for v in _centre_of_mass(field))
        if abs(fy) < 0.01 and abs(fx) < 0.01:  # nearly always so at once
            break
        top, left = top + fy / scale, left + fx / scale
    return field
