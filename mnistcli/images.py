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
from typing import Iterable

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

    Returns float32 ``(image_size, image_size)`` in [0, 1] with bright ink on a dark background. The
    image is decoded (EXIF orientation applied, transparency composited), turned into grey, inverted if
    the ink is darker than the paper (detected automatically; ``invert=True`` forces inverting,
    ``invert=False`` forbids it), normalised against an uneven background, cropped to the ink, fitted
    into a 20x20 box keeping its aspect ratio with area anti-aliasing, put in a 28x28 field with its
    centre of mass on the centre pixel, and finally scaled with ``resize_digits`` if ``image_size`` is
    not 28. Every problem with the file raises ``MnistcliError`` with a one-line message naming it.
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
                    raise MnistcliError(
                        f"{name}: image too large ({width}x{height} pixels, limit {MAX_PIXELS // 1_000_000} megapixels)"
                    )
                if max(width, height) > 2 * WORK_SIZE:
                    img.draft(img.mode, (width * WORK_SIZE // max(width, height), height * WORK_SIZE // max(width, height)))
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
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error...)
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
    except Exception:
        return img
    return img if turned is None else turned


_OPAQUE_MODES = {"L": "L", "1": "L", "RGB": "RGB", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB", "RGBX": "RGB", "P": "RGB"}
_ALPHA_MODES = {"LA": "LA", "La": "LA", "PA": "RGBA", "RGBA": "RGBA", "RGBa": "RGBA"}


def _to_grey(img: Image.Image) -> np.ndarray:
    """Loaded Pillow image -> 2-D float32 grey in [0, 1], transparency composited, shrunk to WORK_SIZE."""
    mode = img.mode
    if mode.startswith("I") or mode.startswith("F"):  # 16-bit and 32-bit grey (I;16, I;16B, I, F)
        if mode not in ("I", "F"):
            img = img.convert("I")
        img = _shrink(img)
        grey = np.asarray(img, dtype=np.float32)
        top = float(grey.max()) if grey.size else 0.0
        if mode.startswith("I;16") or (mode == "I" and 255 < top <= 65535):
            grey = grey / 65535.0
        elif mode == "I" and top <= 255:
            grey = grey / 255.0
        elif top > 1.0:
            grey = grey / top
        return np.clip(np.nan_to_num(grey), 0.0, 1.0)

    if mode in _ALPHA_MODES or "transparency" in img.info:
        target = _ALPHA_MODES.get(mode, "LA" if mode in ("L", "1") else "RGBA")
    elif mode in _OPAQUE_MODES:
        target = _OPAQUE_MODES[mode]
    else:
        target = "RGB"
    if img.mode != target:
        with warnings.catch_warnings():  # "palette images with transparency expressed in bytes..."
            warnings.simplefilter("ignore")
            img = img.convert(target)
    img = _shrink(img)
    arr = np.asarray(img, dtype=np.float32) * np.float32(1 / 255)
    if arr.ndim == 2:
        return arr
    if target in ("RGB", "RGBA"):
        grey = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
    else:
        grey = arr[..., 0]
    if target in ("RGB", "L"):
        return grey
    alpha = arr[..., -1]
    if alpha.min() >= 0.99:  # an alpha channel, but nothing is transparent
        return grey
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
    ks = [min(values.size - 1, max(0, int(round(q * (values.size - 1))))) for q in qs]
    part = np.partition(values, ks)
    return [float(part[k]) for k in ks]


def _ink_is_dark(grey: np.ndarray) -> bool:
    """True when the ink is darker than the background (the usual pen on paper).

    Three guesses at the background level vote: the median (ink is a minority), the most common grey
    level (right even when ink, with its anti-aliased edges, covers nearly half of a tight crop) and
    the median of the image's border (right for a tight crop or an unevenly lit photo, wrong for a
    photo showing the table around the paper). For each, the ink is on whichever side of it has more
    total deviation beyond the noise level.
    """
    step = max(1, int(math.sqrt(grey.size / 4096)))
    sample = grey[::step, ::step]
    values = sample.reshape(-1)
    # Noise from neighbouring pixels' differences (ink edges are too few to matter).
    (jitter,) = _quantiles(np.abs(np.diff(sample, axis=1)).reshape(-1), 0.5) if sample.shape[1] > 1 else (0.0,)
    margin = max(3.0 * jitter / (0.6745 * math.sqrt(2)), 0.02)
    (median,) = _quantiles(values, 0.5)
    low, high = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=32, range=(low, max(high, low + 1e-6)))
    counts = np.convolve(counts, [1, 2, 1], mode="same")
    mode = float(edges[np.argmax(counts)] + (edges[1] - edges[0]) / 2) if high > low else low
    ring = max(1, min(grey.shape) // 50)
    border = np.concatenate([grey[:ring].reshape(-1), grey[-ring:].reshape(-1), grey[:, :ring].reshape(-1), grey[:, -ring:].reshape(-1)])
    (border_level,) = _quantiles(border[:: max(1, border.size // 4096)], 0.5)
    votes = 0
    for level in (median, mode, border_level):
        dark = float(np.clip(level - margin - values, 0, None).sum())
        light = float(np.clip(values - level - margin, 0, None).sum())
        votes += dark > light
    return votes >= 2


def _sliding(a: np.ndarray, size: int, op) -> np.ndarray:
    """Separable min or max filter (``op`` is np.minimum or np.maximum) with a size x size window.

    Outside the image counts as -inf: a min filter is -inf within size // 2 of the edge, a max filter
    ignores the outside. Each axis takes O(log size) whole-array operations (runs of 2, 4, 8, ...).
    """
    half = size // 2
    for _ in range(2):
        edge = np.full((half,) + a.shape[1:], -np.inf, a.dtype)
        m = np.concatenate([edge, a, edge])
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
    which already drops thin strokes; a morphological opening (min then max filter) as wide as 30% of
    the grid removes what is left of the strokes but keeps shadows and lighting as they are, edges
    included; a final 3x3 max errs towards the ink side of the background near such edges (so a
    shadow edge never turns into ink); the grid is interpolated back to full size.
    """
    h, w = grey.shape
    if max(h, w) < 64:  # a small image is a crop around the digit: one level will do
        return np.full_like(grey, _quantiles(grey.reshape(-1), 0.25)[0])
    f = max(1, math.ceil(max(h, w) / 64))
    gh, gw = -(-h // f), -(-w // f)
    cells = np.pad(grey, ((0, gh * f - h), (0, gw * f - w)), mode="edge")
    cells = cells.reshape(gh, f, gw, f).transpose(0, 2, 1, 3).reshape(gh, gw, f * f)
    level = np.partition(cells, (f * f) // 4, axis=2)[:, :, (f * f) // 4]
    size = min(int(0.3 * min(gh, gw)) | 1, (min(gh, gw) - 1) | 1)
    if size < 3:  # a thin strip of an image: one level will do
        return np.full_like(grey, _quantiles(_sample(grey), 0.25)[0])
    # Opening (min, then max filter): removes ink narrower than `size`, keeps larger shapes. Outside
    # the image counts as background, so strokes along the edge of a tight crop go too.
    level = _sliding(_sliding(level.astype(np.float32), size, np.minimum), size, np.maximum)
    level = _sliding(level, 3, np.maximum)

    def weights(n: int, cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n) + 0.5) / f - 0.5, 0, cells - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, cells - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, wy = weights(h, gh)
    x0, x1, wx = weights(w, gw)
    rows = level[y0] * (1 - wy)[:, None] + level[y1] * wy[:, None]  # (h, gw)
    return (rows[:, x0] * (1 - wx) + rows[:, x1] * wx).astype(np.float32)


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
    # Noise, measured on the side of the background that ink never reaches, from quantiles low enough
    # to be background even when ink covers half the image (a tight crop): for Gaussian noise the 5%
    # and 25% quantiles are 1.645 and 0.674 sigma below the mean.
    q05, q25 = _quantiles(_sample(diff), 0.05, 0.25)
    sigma = (q25 - q05) / (1.645 - 0.674)
    diff -= q25 + 0.674 * sigma  # centre the background's noise on 0
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


def _box_weights(n_in: int, n_out: int, start: float, scale: float) -> np.ndarray:
    """(n_out, n_in) area-averaging weights: output pixel u covers input [start + u/scale, start + (u+1)/scale]."""
    lo = start + np.arange(n_out)[:, None] / scale
    hi = lo + 1.0 / scale
    pix = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0, None)
    return (overlap * scale).astype(np.float32)


def _render(ink: np.ndarray, top: float, left: float, scale: float) -> np.ndarray:
    """The FIELD x FIELD area average of ``ink`` whose pixel (0, 0) covers input (top, left) onwards."""
    span = FIELD / scale
    r0, c0 = max(0, int(top)), max(0, int(left))
    r1, c1 = min(ink.shape[0], int(math.ceil(top + span)) + 1), min(ink.shape[1], int(math.ceil(left + span)) + 1)
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


UPSAMPLE_BELOW = 2 * BOX  # digits smaller than this (in pixels) are interpolated up first


def _mnist_frame(ink: np.ndarray, name: str) -> np.ndarray:
    """Ink map -> 28x28 MNIST-style digit: 20x20 box, aspect kept, area anti-aliased, centred by mass.

    The box is the extent of the half-intensity ink (the stroke edges of an anti-aliased drawing), so
    faint fringes and stray specks do not shrink the digit; fringes outside the box are still drawn.
    The digit is placed with sub-pixel precision so its centre of mass is exactly at (14, 14) (MNIST's
    own digits are within half a pixel of it).
    """
    top, bottom, left, right = _ink_box(ink >= 0.5)
    long_side = max(bottom - top, right - left)
    margin = int(math.ceil(0.75 * long_side)) + 2  # the 28x28 field reaches 0.7 * long_side past the box
    ink = ink[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin]
    if long_side < UPSAMPLE_BELOW:  # tiny digit: interpolate it up so its edges and box are sub-pixel exact
        factor = int(math.ceil(4 * BOX / long_side))
        big = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), mode="F")
        ink = np.asarray(big.resize((ink.shape[1] * factor, ink.shape[0] * factor), Image.BILINEAR), dtype=np.float32)
        top, bottom, left, right = _ink_box(ink >= 0.5)
        long_side = max(bottom - top, right - left)
    factor = int(long_side // (4 * BOX))
    if factor > 1:  # big digit: average factor x factor blocks first (same area average, far less work)
        height, width = -(-ink.shape[0] // factor) * factor, -(-ink.shape[1] // factor) * factor
        ink = np.pad(ink, ((0, height - ink.shape[0]), (0, width - ink.shape[1])))
        ink = ink.reshape(height // factor, factor, width // factor, factor).mean(axis=(1, 3), dtype=np.float32)
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
