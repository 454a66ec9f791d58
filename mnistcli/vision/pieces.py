"""The pieces of ink on one line of writing: the ink map and stroke width, connected pieces, ruled lines, bars
and specks left out, the most prominent line found, strokes of one digit merged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mnistcli.errors import MnistcliError
from mnistcli.vision.frame import _drop_frame
from mnistcli.vision.ink import find_ink

#: Ink at or above this share of the ink level is a stroke ("core"); pieces grow into ink above LOW.
CORE = 0.5
LOW = 0.3


def ink_map(grey: np.ndarray, invert: bool | None, name: str) -> tuple[np.ndarray, float]:
    """Grey image -> ink map (0 background, ~1 ink), as for one digit, table bands along the edges cleared,
    and the strokes' typical width (pixels).

    The paper's estimate is narrowed to five stroke widths (at least a tenth of the picture): a shadow along
    the bottom of a wide picture of a number is then paper, not a dark band of "ink" under the digits.
    """
    seen: list[tuple[np.ndarray, float]] = []

    def narrow(first: np.ndarray) -> float | None:
        core = first >= CORE
        if not core.any():
            return None
        seen.append((first, ridge_width(core)))
        return max(5.0 * seen[0][1], 0.1 * max(first.shape))

    # (A small picture is a drawing or a crop: its paper's grid is fine already, and it is read quickly.)
    big = max(grey.shape) >= NARROW_FROM
    ink = find_ink(grey, invert, name, narrow if big else None)
    if seen and seen[0][0] is ink:
        width = seen[0][1]
    else:  # found again, or a small picture (where twice the area over the outline will do)
        width = ridge_width(ink >= CORE) if big else _outline_width(ink >= CORE)
    return _drop_frame(ink), width


#: Pictures with a long side from this many pixels have the paper's estimate narrowed to their strokes.
NARROW_FROM = 256


def ridge_width(core: np.ndarray) -> float:
    """Typical stroke width: twice the median distance to the paper along the strokes' middle lines."""
    dist = ndimage.distance_transform_edt(core)
    ridge = (dist > 0) & (dist >= ndimage.maximum_filter(dist, size=3))
    return 2.0 * float(np.median(dist[ridge])) if ridge.any() else 1.0


def _outline_width(core: np.ndarray) -> float:
    """Stroke width, roughly: twice the area over the outline's length (cheaper than ``ridge_width``)."""
    area = int(core.sum())
    outline = area - int(ndimage.binary_erosion(core).sum())
    return max(1.0, 2.0 * area / max(outline, 1))


def _remove_ruled_lines(mask: np.ndarray, height: float, stroke: float) -> np.ndarray:
    """Long thin horizontal runs (ruled paper, an underline) taken out of the mask; True where removed."""
    length = int(max(3 * height, 0.35 * mask.shape[1]))
    if length >= mask.shape[1]:
        return np.zeros_like(mask)
    # Opening along rows (a minimum, then a maximum filter over `length` columns): runs at least that long.
    # (On the mask, not the core: a light ruling - pale blue on white - is fainter than the writing.)
    runs = ndimage.maximum_filter1d(ndimage.minimum_filter1d(mask.view(np.uint8), length, axis=1), length, axis=1) > 0
    if not runs.any():
        return runs
    # Only thin runs: a run thicker than a few strokes is a bar or a shadow edge, handled elsewhere.
    lab, n = ndimage.label(runs)
    removed = np.zeros_like(mask)
    for i, sl in enumerate(ndimage.find_objects(lab), 1):
        if sl[0].stop - sl[0].start <= max(3, 0.2 * height, 2.5 * stroke):
            band = (slice(max(0, sl[0].start - 1), sl[0].stop + 1), sl[1])
            removed[band] |= mask[band] & (ndimage.binary_dilation(lab[band] == i, iterations=1))
    return removed


@dataclass
class Piece:
    labels: list[int]
    y0: int
    y1: int
    x0: int
    x1: int
    area: int  # core pixels

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0


def _pieces(lab: np.ndarray, n: int, core: np.ndarray) -> list[Piece]:
    areas = np.bincount(lab[core], minlength=n + 1)
    out = []
    for i, sl in enumerate(ndimage.find_objects(lab), 1):
        if sl is not None and areas[i] > 0:
            out.append(Piece([i], sl[0].start, sl[0].stop, sl[1].start, sl[1].stop, int(areas[i])))
    return out


def _label(mask: np.ndarray, core: np.ndarray, name: str) -> tuple[np.ndarray, list[Piece]]:
    """Connected pieces of ink (8-connected); only pieces with some core ink count. Returns the label image
    and the pieces. (Bridging small breaks here - a closing - joined neighbouring digits more often than it
    mended broken strokes: the lattice offers broken pieces as one digit instead.)"""
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    keep = np.zeros(n + 1, bool)
    keep[np.unique(lab[core])] = True
    keep[0] = False
    lab[~keep[lab]] = 0
    pieces = _pieces(lab, n, core)
    if not pieces:
        raise MnistcliError(f"{name}: no ink found - is the image blank?")
    return lab, pieces


def _line_height(pieces: list[Piece]) -> float:
    """The median height of the pieces that are big compared with the biggest one."""
    biggest = max(p.area for p in pieces)
    return float(np.median([p.h for p in pieces if p.area >= 0.1 * biggest]))


def _merge(a: Piece, b: Piece) -> Piece:
    return Piece(a.labels + b.labels, min(a.y0, b.y0), max(a.y1, b.y1), min(a.x0, b.x0), max(a.x1, b.x1),
                  a.area + b.area)


def _x_overlap(a: Piece, b: Piece) -> int:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _y_overlap(a: Piece, b: Piece) -> int:
    return min(a.y1, b.y1) - max(a.y0, b.y0)


def _lines(pieces: list[Piece]) -> list[list[Piece]]:
    """Tall pieces grouped into lines of writing: pieces that share at least 40% of the shorter one's rows."""
    order = sorted(range(len(pieces)), key=lambda i: pieces[i].y0)
    parent = list(range(len(pieces)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in range(len(order)):
        for b in range(a + 1, len(order)):
            p, q = pieces[order[a]], pieces[order[b]]
            if q.y0 >= p.y1:
                continue
            if _y_overlap(p, q) >= 0.4 * min(p.h, q.h):
                parent[find(order[a])] = find(order[b])
    groups: dict[int, list[Piece]] = {}
    for i in range(len(pieces)):
        groups.setdefault(find(i), []).append(pieces[i])
    return list(groups.values())


#: A piece of faint ink (a light pen, a fine pen's thin line) is found in the ink map smoothed over half a
#: stroke from this level on; it is lifted to full ink when its strongest pixels stay below FAINT_BELOW.
FAINT_FROM = 0.08
FAINT_BELOW = 0.88


def lift_faint(ink: np.ndarray, stroke: float) -> np.ndarray:
    """The ink map with digits much fainter than the line's strongest made as dark as them.

    The ink level is set by the darkest strokes of the picture; a digit written more lightly, or with a
    thinner line, may then hold no stroke ink (CORE) at all and be lost. A piece of faint ink as tall as the
    line's digits (and no wider than a few of them), away from the picture's edges and made of strokes rather
    than a filled blob (a shadow), is divided by its own level (its 95th percentile).
    """
    core = ink >= CORE
    lab, n = ndimage.label(core, structure=np.ones((3, 3), bool))
    if n == 0:
        return ink
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    slices = ndimage.find_objects(lab)
    height = float(np.median([sl[0].stop - sl[0].start for sl, a in zip(slices, sizes) if a >= 0.1 * sizes.max()]))
    smooth = ndimage.gaussian_filter(ink, sigma=max(1.0, stroke / 2))
    flab, fn = ndimage.label(smooth >= FAINT_FROM, structure=np.ones((3, 3), bool))
    out = ink
    for i, sl in enumerate(ndimage.find_objects(flab), 1):
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if h < 0.6 * height or h > 2.0 * height or w > 2.5 * height:
            continue
        if sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == ink.shape[0] or sl[1].stop == ink.shape[1]:
            continue  # a shadow's edge or the paper's corner, not writing
        mine = flab[sl] == i
        values = ink[sl][mine]
        values = values[values >= 0.1]
        if values.size < 10:
            continue
        level = float(np.percentile(values, 95))
        if level >= FAINT_BELOW or level <= 0:
            continue
        lifted = np.clip(ink[sl][mine] / level, 0.0, 1.0)
        if np.count_nonzero(lifted >= CORE) > 0.45 * h * w:
            continue  # a filled blob (a shadow), not strokes
        if out is ink:
            out = ink.copy()
        out[sl][mine] = lifted
    return out


@dataclass
class LinePieces:
    """What ``line_pieces`` finds: the label image, core mask, the line's pieces left to right (``loose``: the
    ids of small stray pieces that may be left out), the line's height and a warning (several lines)."""

    lab: np.ndarray
    core: np.ndarray
    pieces: list[Piece]
    loose: set[int]
    height: float
    warning: str | None


def line_pieces(ink: np.ndarray, stroke: float, name: str) -> LinePieces:
    """An ink map -> the pieces of its most prominent line of writing (see ``vision.segment``)."""
    core = ink >= CORE
    if not core.any():
        raise MnistcliError(f"{name}: no ink found - is the image blank?")
    mask = ink >= LOW
    lab, pieces = _label(mask, core, name)
    height = _line_height(pieces)
    removed = _remove_ruled_lines(mask, height, stroke)
    if removed.any():
        mask &= ~removed
        core &= ~removed
        lab, pieces = _label(mask, core, name)
        height = _line_height(pieces)

    gh, gw = ink.shape
    # Bars along the edges (a UI bar, the paper's edge, a shadow's border): long and touching the border.
    def is_bar(p: Piece) -> bool:
        touches = p.y0 == 0 or p.x0 == 0 or p.y1 == gh or p.x1 == gw
        if not touches:
            return False
        # A band (thin, or solidly filled) along an edge - not a line of writing that touches the border.
        if p.w >= 0.5 * gw and p.w >= 3 * p.h and (p.h <= 4 * stroke or p.area >= 0.6 * p.w * p.h):
            return True
        return p.h >= 0.8 * gh and p.h >= 8 * p.w and p.h >= 1.8 * height and len(pieces) > 1

    pieces = [p for p in pieces if not is_bar(p)]
    if not pieces:
        raise MnistcliError(f"{name}: no ink found - is the image blank?")
    biggest = max(p.area for p in pieces)
    tall = [p for p in pieces if p.h >= 0.5 * max(q.h for q in pieces if q.area >= 0.1 * biggest)]
    height = float(np.median([p.h for p in tall]))
    tall = [p for p in pieces if p.h >= 0.5 * height and p.area >= 0.02 * biggest]

    lines = _lines(tall)
    main = max(lines, key=lambda ps: sum(p.area for p in ps))
    mean_area = sum(p.area for p in main) / len(main)
    others = [ps for ps in lines if ps is not main and any(p.h >= 0.6 * height and p.area >= 0.25 * mean_area for p in ps)]
    warning = None
    if others:
        warning = f"looks like {len(others) + 1} lines of writing; only the most prominent line was read (predict reads one line)"
    band_top, band_bottom = min(p.y0 for p in main), max(p.y1 for p in main)
    height = float(np.median([p.h for p in main]))
    ids = {id(p) for p in main}
    # Minor pieces inside the line's band: parts of digits, or specks.
    slack = 0.25 * height
    minor = [
        p for p in pieces
        if id(p) not in ids and p.y1 > band_top - slack and p.y0 < band_bottom + slack
        and not any(q is p for ps in others for q in ps)
    ]
    groups = sorted(main, key=lambda p: p.x0 + p.x1)
    # Tall pieces lying over one another (a 4 drawn in two strokes, a broken stroke): one group.
    merged: list[Piece] = []
    for p in groups:
        for k, q in enumerate(merged):
            if _x_overlap(p, q) >= 0.6 * min(p.w, q.w):
                merged[k] = _merge(q, p)
                break
        else:
            merged.append(p)
    groups = sorted(merged, key=lambda p: p.x0 + p.x1)
    loose: list[Piece] = []
    median_area = float(np.median([p.area for p in groups]))
    for p in minor:
        best, share = None, 0.0
        for k, q in enumerate(groups):
            ov = _x_overlap(p, q) / max(1, p.w)
            if ov > share:
                best, share = k, ov
        if best is not None and share >= 0.5:
            groups[best] = _merge(groups[best], p)
        elif p.area >= 0.04 * median_area:
            loose.append(p)
        # else: a speck on its own - left out
    atoms_pieces = sorted(groups + loose, key=lambda p: p.x0 + p.x1)
    return LinePieces(lab, core, atoms_pieces, set(map(id, loose)), height, warning)
