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


#: Pixel noise (standard deviation) from which an image is smoothed before its ink is looked for: dithered
#: palette images (GIFs, web-palette PNGs) and very grainy photos. Camera noise after JPEG is about 0.02.
NOISY = 0.05


#: The paper's level is estimated on a grid of about this many cells along the long side.
GRID = 128


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


def _blotches(a: np.ndarray, tile: int = 16) -> float:
    """Standard deviation of the background's texture within tiles of 16x16 pixels (the quietest 20%).

    JPEG and blur leave neighbouring pixels equal, so their differences (``_noise``) say "no noise",
    while blotches a few pixels wide remain: the spread inside a tile sees them, and tiles, being small,
    see little of the page's shading. Tiles holding ink spread more, so the quiet ones are taken.
    """
    h, w = a.shape
    step = max(1, math.ceil(math.sqrt((h // tile) * (w // tile) / 1024)))
    tiles = a[: h // tile * tile, : w // tile * tile].reshape(h // tile, tile, w // tile, tile)[::step, :, ::step]
    tiles = tiles.transpose(0, 2, 1, 3).reshape(-1, tile * tile)
    if len(tiles) < 64:  # a small picture is a crop around its ink: its tiles hold ink, not texture
        return 0.0
    q25, q75 = np.percentile(tiles, [25, 75], axis=1)
    return quantiles((q75 - q25) / 1.349, 0.2)[0]


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
    vote = int(np.where(dark > light, 1, -1).sum()) >= 0
    # The levels are global: a shadow over part of the page, or a lamp's bright patch, is a large region
    # of "deviation" that can outvote a thin pen line. Strokes are narrow; shadows and paper are not.
    # When only one polarity has narrow structures, it is the ink's.
    thin_dark, thin_light = _narrow_structures(grey)
    if vote and thin_light > STROKES_WIN * thin_dark:
        return False
    if not vote and thin_dark > STROKES_WIN * thin_light:
        return True
    return vote


#: One polarity's narrow structures must outweigh the other's this many times to overrule the level vote.
STROKES_WIN = 4.0


def _narrow_structures(grey: np.ndarray) -> tuple[float, float]:
    """How strongly the picture's fine detail is darker, and how strongly lighter, than its surroundings.

    On a copy shrunk to at most 512 pixels, the local mean over 15% of the picture is subtracted: shading,
    shadows and the paper itself fall away, strokes stay. The cubes of what is left beyond the noise are
    summed on each side: a few strong narrow responses (strokes) outweigh the wide, moderate and two-sided
    ones of a shadow's edge. Returns (dark, light).
    """
    h, w = grey.shape
    f = max(1, math.ceil(max(h, w) / 512))
    small = grey[: h // f * f, : w // f * f].reshape(h // f, f, w // f, f).mean(axis=(1, 3)) if f > 1 else grey
    if min(small.shape) < 8:
        return 0.0, 0.0
    detail = small - box_blur(small, max(3, round(0.15 * max(small.shape))) | 1)
    margin = max(3.0 * _noise(small), 0.02)
    dark = float(np.power(np.maximum(-detail - margin, 0), 3).sum())
    light = float(np.power(np.maximum(detail - margin, 0), 3).sum())
    return dark, light


def box_blur(a: np.ndarray, size: int) -> np.ndarray:
    """Mean over size x size neighbourhoods (edges replicated), by running sums along each axis."""
    half = size // 2
    out = np.asarray(a, np.float32)
    for _ in range(2):  # along columns, then (transposed) along rows
        n = out.shape[0]
        c = np.cumsum(np.concatenate([np.repeat(out[:1], half + 1, axis=0), out, np.repeat(out[-1:], half, axis=0)]),
                      axis=0, dtype=np.float64)
        out = ((c[size : size + n] - c[:n]) * (1.0 / size)).astype(np.float32).T
    return out


def smoothed(grey: np.ndarray, grain: float) -> np.ndarray:
    """The image box-blurred (3, 5, then 7 pixels) until its grain is below NOISY / 2: the dots of a
    dithered palette image or a very noisy photo averaged away, before ink is looked for."""
    out = grey
    for size in (3, 5, 7):
        if grain < NOISY / 2 or min(grey.shape) < 3 * size:
            break
        out = box_blur(grey, size)
        grain = max(_noise(out), _blotches(out))
    return out


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


def _background(grey: np.ndarray, reach: float | None = None) -> np.ndarray:
    """Estimate of the (dark) background under a bright-ink image, same shape as ``grey``.

    On a coarse grid (long side about GRID cells) each cell's 25th percentile is its background level,
    which already drops thin strokes; a morphological opening (min, then max filter) 30% of the long
    side wide removes what is left of the strokes but keeps larger shapes - shadows, lighting - as
    they are, edges included; a final 3x3 max raises the background by a cell around such edges, so
    that interpolating the grid back to full size does not turn a shadow's edge into ink.
    ``reach`` (pixels), when given, narrows the opening to that width: what is known to be wider than
    any stroke - a shadow along the bottom of a wide picture of a number - then stays background.
    """
    h, w = grey.shape
    if max(h, w) < 64:  # a small image is a crop around the digit: one level will do (the noise
        return np.full_like(grey, quantiles(grey.reshape(-1), 0.05)[0])  # is allowed for later)
    f, gh, gw, size = _opening(h, w)  # (the last, partial, row and column of cells are left out)
    cells = grey[: gh * f, : gw * f].reshape(gh, f, gw, f).transpose(0, 2, 1, 3).reshape(gh, gw, f * f)
    level = np.partition(cells, (f * f) // 4, axis=2)[:, :, (f * f) // 4]
    if reach is not None:
        size = max(3, min(size, int(math.ceil(reach / f)) | 1))
    if size < 3:  # a thin strip of an image: one level will do
        return np.full_like(grey, quantiles(sample(grey), 0.05)[0])
    # Opening (min, then max filter): removes ink narrower than `size`, keeps larger shapes.
    level = sliding(sliding(level.astype(np.float32), size, np.minimum), size, np.maximum)
    level = sliding(level, 3, np.maximum)

    grid = Image.fromarray(np.ascontiguousarray(level, dtype=np.float32), mode="F")
    return np.asarray(grid.resize((w, h), Image.BILINEAR), dtype=np.float32)


def normalise(grey: np.ndarray, dark_ink: bool, name: str, reach: float | None = None) -> np.ndarray:
    """Grey image -> ink map: background 0, ink about 1, noise faded to 0.

    Dark ink on paper is measured as the share of light it takes away from the local paper brightness
    (so a shadow over the page does not weaken the ink); light ink on a dark background as the
    brightness it adds to the local background.
    """
    if dark_ink:
        paper = 1.0 - _background(1.0 - grey, reach)
        diff = (paper - grey) / np.maximum(paper, 0.1)
    else:
        diff = grey - _background(grey, reach)
    # Noise from neighbouring pixels' differences (ink edges are too few to matter, even when ink
    # covers most of a tight crop); then centre the background's noise on 0, taking the 5% quantile to
    # be background (1.645 sigma below its mean).
    sigma = max(_noise(diff), _blotches(diff))
    (q05, q25) = quantiles(sample(diff), 0.05, 0.25)
    # Where the background is not one level (a shadow's edge the estimate lags behind, more than 5% of
    # the picture), the 5% quantile is lower than the rest of the paper: the lower quartile bounds it.
    diff -= max(q05 + 1.645 * sigma, q25)
    blank = f"{name}: no ink found - is the image blank?"
    candidates = diff[diff > max(6.0 * sigma, 0.5 * MIN_CONTRAST)]
    if candidates.size < max(4, MIN_INK_SHARE * diff.size):
        raise MnistcliError(blank)
    (level,) = quantiles(candidates[:: max(1, candidates.size // 8192)], 0.9)
    floor = max(3.0 * sigma, 0.05 * level)
    if level < max(MIN_CONTRAST, MIN_CONTRAST_SIGMAS * sigma):
        # Most candidates may be paper the background estimate lags behind (a soft shadow's edge) while
        # the ink - a thin pen line - is a few hundred pixels: look at the strongest ones alone, and take
        # them for ink only if they form strokes, not scattered noise.
        level, cut = _strokes_level(diff, candidates)
        if level < max(MIN_CONTRAST, MIN_CONTRAST_SIGMAS * sigma):
            raise MnistcliError(blank)
        floor = max(3.0 * sigma, 0.5 * cut)
    # Scale so the ink is about 1; fade out what is within a few noise widths of the background
    # (zero below `floor`, untouched above twice that) so noise does not become faint ink.
    ink = np.clip(diff * np.float32(1.0 / level), 0.0, 1.0)
    ink *= np.clip(diff * np.float32(1.0 / floor) - 1.0, 0.0, 1.0)
    if np.count_nonzero(ink >= 0.5) < max(4, MIN_INK_SHARE * ink.size):
        raise MnistcliError(blank)
    return ink.astype(np.float32, copy=False)


def _strokes_level(diff: np.ndarray, candidates: np.ndarray) -> tuple[float, float]:
    """(ink level, cut) from the strongest candidates - those above half their 99.9% quantile - when they
    form strokes: at least 70% of them with two or more such neighbours (of 8). (0, 0) otherwise."""
    (top,) = quantiles(candidates, 0.999)
    cut = 0.5 * top
    strong = diff > cut
    count = int(strong.sum())
    if count < max(4, MIN_INK_SHARE * diff.size):
        return 0.0, 0.0
    pad = np.pad(strong, 1)
    h, w = strong.shape
    neighbours = sum(
        pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w].astype(np.uint8)
        for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
    )
    if np.count_nonzero(neighbours[strong] >= 2) < 0.7 * count:
        return 0.0, 0.0
    (level,) = quantiles(diff[strong], 0.5)
    return level, cut


def find_ink(grey: np.ndarray, invert: bool | None, name: str, narrow=None) -> np.ndarray:
    """A grey image's ink map (see ``normalise``), with its polarity detected unless ``invert`` forces it.

    A grainy image (dithered, very noisy: grain above NOISY) is smoothed first; one whose ink is not found
    at its own resolution, but grainy enough for smoothing to help, is tried once more smoothed.
    ``narrow``, when given, is called with the ink map found and returns how wide (pixels) the paper's
    estimate may take for ink, or None; when that is narrower than ``_background`` would take by default,
    the ink is found again with it (what is wider than any stroke - a shadow along the edge of a wide
    picture of a number - then stays paper).
    """
    grain = max(_noise(grey), _blotches(grey))
    tried_smooth = grain >= NOISY
    if tried_smooth:
        grey = smoothed(grey, max(grain, NOISY))
    dark_ink = ink_is_dark(grey) if invert is None else bool(invert)
    try:
        ink = normalise(grey, dark_ink, name)
    except MnistcliError as exc:
        if not tried_smooth and grain >= 0.6 * NOISY:
            soft = smoothed(grey, NOISY)  # at least one 3x3 pass
            try:
                return normalise(soft, ink_is_dark(soft) if invert is None else bool(invert), name)
            except MnistcliError:
                pass
        if invert is None:
            raise
        raise MnistcliError(f"{exc} (ink colour was forced: invert={bool(invert)})") from None
    if narrow is not None:
        width = narrow(ink)
        if width is not None and width < _opening_width(grey.shape):
            try:
                ink = normalise(grey, dark_ink, name, width)
            except MnistcliError:
                pass
    return ink


def _opening(h: int, w: int) -> tuple[int, int, int, int]:
    """``_background``'s grid for an h x w image: cell size f, grid rows and columns, default opening (cells)."""
    f = max(1, math.ceil(max(h, w) / GRID))
    gh, gw = h // f, w // f
    return f, gh, gw, min(int(0.3 * max(gh, gw)) | 1, (min(gh, gw) - 1) | 1)


def _opening_width(shape: tuple[int, int]) -> float:
    """How wide (pixels) the opening of ``_background`` is by default; infinite where it takes one level."""
    h, w = shape
    if max(h, w) < 64:
        return math.inf
    f, _, _, size = _opening(h, w)
    return math.inf if size < 3 else float(size * f)
