"""Finding the ink: its polarity (dark on light or light on dark), the paper's uneven level, and an ink map from 0 to 1."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from mnistcli.errors import MnistcliError

# Ink must differ from the background by at least this much (on a 0..1 grey scale) and by this many
# noise standard deviations, and cover at least this share of the image, or the image counts as blank.
MIN_CONTRAST = 0.08


MIN_CONTRAST_SIGMAS = 8.0


MIN_INK_SHARE = 2e-4


def sample(a: np.ndarray, limit: int = 16384) -> np.ndarray:
    """A regular subsample of about ``limit`` pixels, for statistics on big images (do not modify it)."""
    step = max(1, int(math.sqrt(a.size / limit)))
    return a[::step, ::step].reshape(-1)


def quantiles(values: np.ndarray, *qs: float) -> list[float]:
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
            jitter = min(jitter, quantiles(pairs, 0.25)[0])
    return 0.0 if jitter == math.inf else jitter / (0.3186 * math.sqrt(2))


def ink_is_dark(grey: np.ndarray) -> bool:
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
    (median,) = quantiles(values, 0.5)
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-3:  # one flat level: blank either way
        return True
    bins = np.minimum(((values - low) * (32 / (high - low))).astype(np.intp), 31)
    counts = np.convolve(np.bincount(bins, minlength=32), [1, 2, 1], mode="same")
    mode = low + (int(np.argmax(counts)) + 0.5) * (high - low) / 32
    ring = max(1, min(grey.shape) // 50)
    border = np.concatenate([b.ravel() for b in (grey[:ring], grey[-ring:], grey[:, :ring], grey[:, -ring:])])
    (border_level,) = quantiles(border[:: max(1, border.size // 4096)], 0.5)
    c = max(1, min(grey.shape) // 10)
    corners = np.concatenate([b.ravel() for b in (grey[:c, :c], grey[:c, -c:], grey[-c:, :c], grey[-c:, -c:])])
    (corner_level,) = quantiles(corners[:: max(1, corners.size // 4096)], 0.5)
    levels = np.array([[median], [mode], [border_level], [corner_level]], np.float32)
    dark = np.maximum(levels - margin - values, 0).sum(axis=1)
    light = np.maximum(values - levels - margin, 0).sum(axis=1)
    return int(np.where(dark > light, 1, -1).sum()) >= 0


def sliding(a: np.ndarray, size: int, op) -> np.ndarray:
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
        return np.full_like(grey, quantiles(grey.reshape(-1), 0.05)[0])  # is allowed for later)
    f = max(1, math.ceil(max(h, w) / 64))
    gh, gw = h // f, w // f  # (the last, partial, row and column of cells are left out)
    cells = grey[: gh * f, : gw * f].reshape(gh, f, gw, f).transpose(0, 2, 1, 3).reshape(gh, gw, f * f)
    level = np.partition(cells, (f * f) // 4, axis=2)[:, :, (f * f) // 4]
    size = min(int(0.3 * max(gh, gw)) | 1, (min(gh, gw) - 1) | 1)
    if size < 3:  # a thin strip of an image: one level will do
        return np.full_like(grey, quantiles(sample(grey), 0.05)[0])
    # Opening (min, then max filter): removes ink narrower than `size`, keeps larger shapes.
    level = sliding(sliding(level.astype(np.float32), size, np.minimum), size, np.maximum)
    level = sliding(level, 3, np.maximum)

    grid = Image.fromarray(np.ascontiguousarray(level, dtype=np.float32), mode="F")
    return np.asarray(grid.resize((w, h), Image.BILINEAR), dtype=np.float32)


def normalise(grey: np.ndarray, dark_ink: bool, name: str) -> np.ndarray:
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
    (q05,) = quantiles(sample(diff), 0.05)
    diff -= q05 + 1.645 * sigma
    blank = f"{name}: no ink found - is the image blank?"
    candidates = diff[diff > max(6.0 * sigma, 0.5 * MIN_CONTRAST)]
    if candidates.size < max(4, MIN_INK_SHARE * diff.size):
        raise MnistcliError(blank)
    (level,) = quantiles(candidates[:: max(1, candidates.size // 8192)], 0.9)
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
