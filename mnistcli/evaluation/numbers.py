"""A synthetic evaluation set for reading whole numbers: real MNIST test digits strung into numbers with uneven,
sometimes touching gaps, then re-rendered as a photo, a scan or a drawing (noise, blur, shading, paper colour,
JPEG), with the scores that judge a reader on it (exact-number and per-digit accuracy).

The tests (a floor on a small set) and ``bench/number_reading.py`` (the numbers in the README) both use it.
Everything is seeded: the same ``(digits, seed)`` always gives the same images.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

#: Rendering styles and how often each is drawn.
STYLES = {"phone": 0.45, "scan": 0.2, "canvas": 0.15, "marker": 0.1, "board": 0.1}


@dataclass
class SyntheticNumber:
    """One image of a number: its encoded file, the digits it shows, and where each digit was drawn."""

    data: bytes  # a PNG or JPEG file
    number: str
    boxes: list[tuple[int, int, int, int]]  # x0, y0, x1, y1 in the image's pixels, one per digit
    style: str
    touching: bool  # at least two neighbours touch or overlap
    suffix: str = ".png"
    notes: list[str] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)  # which of the given digits were strung


def _crop(digit: np.ndarray) -> np.ndarray:
    """The digit cut to its ink (values above 0.1), as float 0..1."""
    d = digit.astype(np.float32)
    if d.max() > 1.0:
        d = d / 255.0
    rows, cols = np.flatnonzero(d.max(1) > 0.1), np.flatnonzero(d.max(0) > 0.1)
    return d[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _scaled(ink: np.ndarray, height: float) -> np.ndarray:
    f = height / ink.shape[0]
    size = (max(1, round(ink.shape[1] * f)), max(1, round(ink.shape[0] * f)))
    pad = np.pad(ink, 1)  # a zero border so the bilinear edge fades out
    img = Image.fromarray(pad, "F").resize((size[0] + round(2 * f), size[1] + round(2 * f)), Image.BILINEAR)
    return np.clip(np.asarray(img, np.float32), 0, 1)


def string_digits(
    digits: Sequence[np.ndarray], rng: np.random.Generator, height: float, touch: float = 0.2
) -> tuple[np.ndarray, list[tuple[int, int, int, int]], bool]:
    """MNIST digits strung left to right at about ``height`` pixels: ink map (0..1), each digit's box, touching?

    Each digit keeps its own shape and proportions; its height varies by +-10%, it sits up to 8% of the height
    above or below the line, and the gap to its neighbour is drawn from 0.05 to 0.5 of the height - or, with
    probability ``touch``, from -0.12 to 0 (the digits touch or overlap a little).
    """
    pieces, tops = [], []
    for d in digits:
        ink = _scaled(_crop(d), height * rng.uniform(0.9, 1.1))
        pieces.append(ink)
        tops.append(rng.uniform(-0.08, 0.08) * height)
    gaps, touching = [], False
    for _ in range(len(pieces) - 1):
        if rng.random() < touch:
            gaps.append(rng.uniform(-0.12, 0.0) * height)
            touching = True
        else:
            gaps.append(rng.uniform(0.05, 0.5) * height)
    lefts = [0.0]
    for p, g in zip(pieces[:-1], gaps):
        lefts.append(lefts[-1] + p.shape[1] + g)
    top0 = min(tops)
    width = int(np.ceil(lefts[-1] + pieces[-1].shape[1]))
    tall = int(np.ceil(max(t - top0 + p.shape[0] for t, p in zip(tops, pieces))))
    canvas = np.zeros((tall + 1, width + 1), np.float32)
    boxes = []
    for p, t, x in zip(pieces, tops, lefts):
        y0, x0 = int(round(t - top0)), int(round(x))
        view = canvas[y0 : y0 + p.shape[0], x0 : x0 + p.shape[1]]
        np.maximum(view, p[: view.shape[0], : view.shape[1]], out=view)
        rows, cols = np.flatnonzero(p.max(1) >= 0.5), np.flatnonzero(p.max(0) >= 0.5)
        boxes.append((x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1))
    return canvas, boxes, touching


def _stroke(ink: np.ndarray, rng: np.random.Generator, height: float, style: str) -> np.ndarray:
    """Thinner (fine pen) or thicker (marker) strokes than MNIST's own, by grey erosion or dilation."""
    from scipy import ndimage

    if style == "marker":
        r = max(1, round(height * rng.uniform(0.02, 0.05)))
        return ndimage.grey_dilation(ink, size=(2 * r + 1, 2 * r + 1))
    if rng.random() < 0.35 and height >= 50:  # a fine pen: about half MNIST's stroke width
        r = max(1, round(height * 0.025))
        return ndimage.grey_erosion(ink, size=(2 * r + 1, 2 * r + 1))
    return ink


def _place(ink: np.ndarray, rng: np.random.Generator, height: float):
    """The ink on a page with margins: (page, offset (x, y))."""
    h, w = ink.shape
    mx = int(rng.uniform(0.3, 1.5) * height)
    my = int(rng.uniform(0.3, 1.2) * height)
    page = np.zeros((h + 2 * my, w + 2 * mx), np.float32)
    ox = int(rng.uniform(0.3, 1.7) * mx)
    oy = int(rng.uniform(0.3, 1.7) * my)
    page[oy : oy + h, ox : ox + w] = ink
    return page, (ox, oy)


def _lighting(shape, rng: np.random.Generator, shadow: bool) -> np.ndarray:
    """A smooth light field: a gradient across the page and, maybe, a soft shadow over part of it."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= max(h, w)
    xx /= max(h, w)
    a, b = rng.uniform(-0.25, 0.25, 2)
    light = 1.0 + a * (xx - xx.mean()) + b * (yy - yy.mean())
    if shadow:
        from scipy import ndimage

        edge = rng.uniform(0.1, 0.9)
        angle = rng.uniform(0, np.pi)
        side = (np.cos(angle) * (xx - xx.mean() - (edge - 0.5)) + np.sin(angle) * (yy - yy.mean())) > 0
        soft = ndimage.gaussian_filter(side.astype(np.float32), sigma=max(2.0, 0.06 * max(h, w)))
        light *= 1.0 - rng.uniform(0.25, 0.5) * soft
    return light


def _encode(img: Image.Image, jpeg_quality: int | None) -> tuple[bytes, str]:
    buf = io.BytesIO()
    if jpeg_quality:
        img.save(buf, "JPEG", quality=jpeg_quality)
        return buf.getvalue(), ".jpg"
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue(), ".png"


def render(ink: np.ndarray, rng: np.random.Generator, style: str, height: float) -> tuple[Image.Image, int | None]:
    """An ink map drawn as a picture of ``style``; returns the image and the JPEG quality to save it with (or None)."""
    h, w = ink.shape
    if style == "canvas":  # a drawing app: flat background, anti-aliased strokes, PNG
        if rng.random() < 0.3:
            grey = ink  # white on black
        else:
            grey = 1.0 - ink
        return Image.fromarray(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8), "L").convert("RGB"), None
    if style == "board":  # chalk or a light pen on a dark board or screen, photographed
        base = rng.uniform(0.08, 0.3)
        grey = base * _lighting(ink.shape, rng, shadow=False) + ink * rng.uniform(0.5, 0.85)
        grey = _blur(grey, rng.uniform(0.3, 1.2) * height / 60)
        grey = grey + rng.normal(0, rng.uniform(0.01, 0.04), grey.shape)
        tint = np.array([rng.uniform(0.8, 1.0), 1.0, rng.uniform(0.85, 1.0)], np.float32)
        return _rgb(grey[..., None] * tint), int(rng.integers(55, 92))
    paper = np.array(
        [[1.0, 1.0, 1.0], [0.96, 0.93, 0.84], [0.9, 0.9, 0.88], [0.93, 0.95, 1.0], [0.99, 0.96, 0.9]], np.float32
    )[rng.integers(5)] * rng.uniform(0.75, 1.0)
    ink_rgb = np.array(
        [[0.05, 0.05, 0.08], [0.1, 0.15, 0.55], [0.25, 0.25, 0.28], [0.1, 0.1, 0.35], [0.55, 0.1, 0.1]], np.float32
    )[rng.integers(5)]
    strength = rng.uniform(0.6, 0.95) if style != "scan" else rng.uniform(0.8, 1.0)
    alpha = np.clip(ink * strength, 0, 1)[..., None]
    colour = paper * (1 - alpha) + ink_rgb * alpha
    if style == "phone":
        colour = colour * _lighting(ink.shape, rng, shadow=rng.random() < 0.5)[..., None]
        colour = _blur(colour, rng.uniform(0.2, 1.3) * max(1.0, height / 60))
        colour = colour + rng.normal(0, rng.uniform(0.005, 0.035), colour.shape)
        return _rgb(colour), int(rng.integers(50, 95))
    if style == "scan":
        colour = colour + rng.normal(0, rng.uniform(0.0, 0.02), colour.shape)
        return _rgb(colour), (int(rng.integers(70, 95)) if rng.random() < 0.5 else None)
    # marker: thick strokes, photographed in good light
    colour = colour * _lighting(ink.shape, rng, shadow=False)[..., None]
    colour = colour + rng.normal(0, 0.01, colour.shape)
    return _rgb(colour), int(rng.integers(70, 95))


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    if sigma < 0.2:
        return a
    spec = (sigma, sigma, 0) if a.ndim == 3 else sigma
    return ndimage.gaussian_filter(a, sigma=spec)


def _rgb(a: np.ndarray) -> Image.Image:
    a = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    return Image.fromarray(a, "RGB" if a.ndim == 3 else "L")


def synthetic_number(
    digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator, n_digits: int | None = None,
    style: str | None = None, touch: float = 0.2,
) -> SyntheticNumber:
    """One number of ``n_digits`` (default 2 to 10) random test digits, rendered in ``style`` (default random)."""
    n = int(n_digits or rng.integers(2, 11))
    picks = rng.integers(0, len(digits), n)
    style = style or str(rng.choice(list(STYLES), p=list(STYLES.values())))
    # Digit height: small drawings to phone photos; a long number is kept under ~1,400 px wide.
    height = float(np.exp(rng.uniform(np.log(32), np.log(180))))
    height = min(height, 1400 / (0.85 * n))
    ink, boxes, touching = string_digits([digits[i] for i in picks], rng, height, touch)
    ink = _stroke(ink, rng, height, style)
    if rng.random() < 0.15:  # a little rotation of the page
        angle = rng.uniform(-4, 4)
        ink = np.asarray(Image.fromarray(ink, "F").rotate(angle, Image.BILINEAR, expand=False), np.float32)
    page, (ox, oy) = _place(ink, rng, height)
    notes = []
    if style in ("phone", "scan") and rng.random() < 0.25:  # specks of dirt
        for _ in range(int(rng.integers(1, 5))):
            r = max(1, int(rng.uniform(0.01, 0.03) * height))
            y, x = int(rng.integers(0, page.shape[0] - r)), int(rng.integers(0, page.shape[1] - r))
            page[y : y + r, x : x + r] = np.maximum(page[y : y + r, x : x + r], rng.uniform(0.4, 0.9))
        notes.append("specks")
    img, quality = render(page, rng, style, height)
    data, suffix = _encode(img, quality)
    boxes = [(x0 + ox, y0 + oy, x1 + ox, y1 + oy) for x0, y0, x1, y1 in boxes]
    label = "".join(str(int(labels[i])) for i in picks)
    return SyntheticNumber(data, label, boxes, style, touching, suffix, notes, [int(i) for i in picks])


def synthetic_numbers(digits: np.ndarray, labels: np.ndarray, count: int, seed: int = 0, **kw) -> list[SyntheticNumber]:
    """``count`` synthetic numbers, the same ones for the same digits and seed."""
    rng = np.random.default_rng(seed)
    return [synthetic_number(digits, labels, rng, **kw) for _ in range(count)]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two digit strings (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def scores(truths: Sequence[str], readings: Sequence[str | None]) -> dict:
    """Exact-number accuracy, per-digit accuracy (1 - edit distance / digits, over all numbers), right count.

    A reading of None (the image was refused) counts as no digits read.
    """
    n = len(truths)
    exact = sum(t == r for t, r in zip(truths, readings))
    digits = sum(len(t) for t in truths)
    errors = sum(edit_distance(t, r or "") for t, r in zip(truths, readings))
    count = sum(len(t) == len(r or "") for t, r in zip(truths, readings))
    return {
        "numbers": n,
        "exact": exact / n if n else 0.0,
        "digit_accuracy": max(0.0, 1 - errors / digits) if digits else 0.0,
        "right_length": count / n if n else 0.0,
    }
