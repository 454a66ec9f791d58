"""Finding the digits on one line of writing, left to right, each framed the way MNIST frames a digit.

A picture of a number is turned into a *lattice*: the line's pieces of ink ("atoms", left to right) and the
candidate digits made of runs of neighbouring atoms, each framed into the model's input. A classifier scores
the candidates and ``best_path`` picks the reading - the split of the line into digits - that is most likely.
This layer never loads a model: ``mnistcli.inference.predict.Reader`` brings the probabilities.

What a real picture holds, and how it is dealt with (scipy.ndimage does the image operations):

* ink found as for one digit (``ink.find_ink``: polarity, uneven paper, shadows, grain), the paper's estimate
  narrowed to a few stroke widths, table bands along the edges dropped;
* connected pieces of ink: pixels at half the ink level, grown into fainter ones (down to LOW);
* ruled lines (long thin horizontal runs) removed; specks, UI bars and paper edges left out;
* the line: pieces that share rows with the tallest ones; another line of similar size is reported;
* strokes of one digit that do not touch (a 5's flag, a 4 in two strokes, a broken pen line) are merged
  when they lie over one another, and offered to the classifier as one digit when they lie side by side;
* touching or overlapping neighbours: a piece wide enough to hold two digits is cut at minima of its column
  profile; the classifier's confidence, with costs for strokes cut, gaps merged and unusual shapes for the
  digit read (``Costs``), chooses which cuts to keep;
* a candidate's strokes are made about as wide, for its height, as MNIST's (a ballpoint's thin line is
  thickened, a marker's thinned) before it is framed; the whole picture as one candidate is framed exactly
  as ``vision.digit`` frames one digit, so a picture of one digit reads as it always did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from mnistcli.data.resize import resize_digits
from mnistcli.errors import MnistcliError
from mnistcli.vision.frame import FIELD, _drop_frame, _ink_box, mnist_frame
from mnistcli.vision.ink import find_ink

#: Ink at or above this share of the ink level is a stroke ("core"); pieces grow into ink above LOW.
CORE = 0.5
LOW = 0.3
#: A candidate digit may be made of at most this many atoms.
MAX_ATOMS = 5


@dataclass(frozen=True)
class Costs:
    """How a split of the line into digits is scored: log-probabilities of the digits read are added up,
    and these costs (in the same units) are taken off.

    Chosen by coordinate search for the most exactly read numbers on 400 synthetic numbers (seed 100 of
    mnistcli.evaluation.numbers), read by two runs at once - an MLP and a CNN - so as not to suit one model;
    the accuracies reported (bench/number_reading.py, seed 1) are on other numbers.
    """

    cut: float = 2.5  # per stroke cut through when two digits are taken apart, beyond `cut_free` strokes
    cut_free: float = 0.25
    gap: float = 4.0  # per line-height of clear gap inside one digit (strokes side by side merged)
    skip: float = 2.5  # leaving out a small piece of ink that is no digit by itself
    wide: float = 4.5  # per unit of width/height above `wide_from`
    wide_from: float = 1.15
    short: float = 24.0  # per line-height of height below `short_from`
    short_from: float = 0.8
    digit: float = 0.0  # each digit after the first (a mild preference for fewer, whole digits)
    one_piece: bool = True  # a picture of one piece of ink: its whole is not judged by its shape
    shape: float = 0.5  # weight of how usual the candidate's width/height is for the digit read (ASPECT)


COSTS = Costs()

#: Each digit's width/height in MNIST's training set (ink above half, 60,000 digits): mean and standard
#: deviation of its logarithm. Two touching digits read as one are wide for the digit they are read as.
ASPECT = np.array([
    [-0.119, -1.007, -0.083, -0.262, -0.270, -0.086, -0.360, -0.294, -0.311, -0.433],
    [0.218, 0.489, 0.242, 0.226, 0.229, 0.286, 0.229, 0.230, 0.237, 0.215],
], np.float32)


@dataclass
class Candidate:
    """A run of atoms ``[start, stop)`` read as one digit: its box (x0, y0, x1, y1 in grey pixels) and shape."""

    start: int
    stop: int
    box: tuple[int, int, int, int]
    aspect: float  # width / height
    height: float  # height / the line's height
    gap: float  # clear gaps between its atoms, in line heights

    def prior(self, costs: Costs = COSTS) -> float:
        """Log-score of its shape and of the gaps inside it (0 for a digit-shaped, gap-free candidate)."""
        return (
            -costs.wide * max(0.0, self.aspect - costs.wide_from)
            - costs.short * max(0.0, costs.short_from - self.height)
            - costs.gap * self.gap
        )


@dataclass
class Line:
    """The lattice of one image: atoms, candidate digits and their model inputs, and what was noticed."""

    shape: tuple[int, int]  # the grey image's (height, width)
    atoms: int
    candidates: list[Candidate]
    inputs: np.ndarray  # (len(candidates), s, s) float32, the model's inputs
    cut_cost: list[float]  # cost of a digit boundary before atom i (index 0 unused)
    skippable: list[bool]  # atoms that may be left out (specks, small stray strokes)
    warning: str | None = None
    thumbnail: np.ndarray | None = None  # the ink map, small, for --show
    thumb_scale: float = 1.0  # thumbnail pixels per grey pixel
    notes: dict = field(default_factory=dict)
    pieces: int = 1  # separate pieces of ink on the line


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
        seen.append((first, _ridge_width(core)))
        return max(5.0 * seen[0][1], 0.1 * max(first.shape))

    # (A small picture is a drawing or a crop: its paper's grid is fine already, and it is read quickly.)
    big = max(grey.shape) >= NARROW_FROM
    ink = find_ink(grey, invert, name, narrow if big else None)
    if seen and seen[0][0] is ink:
        width = seen[0][1]
    else:  # found again, or a small picture (where twice the area over the outline will do)
        width = _ridge_width(ink >= CORE) if big else _outline_width(ink >= CORE)
    return _drop_frame(ink), width


#: Pictures with a long side from this many pixels have the paper's estimate narrowed to their strokes.
NARROW_FROM = 256


def _ridge_width(core: np.ndarray) -> float:
    """Typical stroke width: twice the median distance to the paper along the strokes' middle lines."""
    dist = ndimage.distance_transform_edt(core)
    ridge = (dist > 0) & (dist >= ndimage.maximum_filter(dist, size=3))
    return 2.0 * float(np.median(dist[ridge])) if ridge.any() else 1.0


def _outline_width(core: np.ndarray) -> float:
    """Stroke width, roughly: twice the area over the outline's length (cheaper than ``_ridge_width``)."""
    area = int(core.sum())
    outline = area - int(ndimage.binary_erosion(core).sum())
    return max(1.0, 2.0 * area / max(outline, 1))


def _frame(ink: np.ndarray, image_size: int, name: str, drop: bool = True) -> np.ndarray:
    digit = mnist_frame(ink, name, drop)
    if image_size != FIELD:
        digit = resize_digits(digit[None], int(image_size))[0]
    return np.clip(digit, 0.0, 1.0).astype(np.float32)


def _thumbnail(ink: np.ndarray, width: int = 160) -> tuple[np.ndarray, float]:
    from PIL import Image

    h, w = ink.shape
    scale = min(1.0, width / w, 0.75 * width / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(np.ascontiguousarray(ink, np.float32), "F").resize(size, Image.BOX)
    return np.asarray(img, np.float32).astype(np.float16), scale


def _core_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    core = ink >= CORE
    if not core.any():
        return 0, 0, ink.shape[1], ink.shape[0]
    top, bottom, left, right = _ink_box(core)
    return left, top, right, bottom


def single(grey: np.ndarray, image_size: int = 28, invert: bool | None = None, name: str = "image") -> Line:
    """The whole image read as one digit (today's reading, ``--single``), as a one-candidate lattice."""
    ink = _drop_frame(find_ink(grey, invert, name))
    pixels = _frame(ink, image_size, name)
    thumb, scale = _thumbnail(ink)
    x0, y0, x1, y1 = _core_box(ink)
    cand = Candidate(0, 1, (x0, y0, x1, y1), (x1 - x0) / max(1, y1 - y0), 1.0, 0.0)
    return Line(grey.shape, 1, [cand], pixels[None], [0.0], [False], None, thumb, scale)


# --------------------------------------------------------------------------------------------------
# Pieces of ink


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
class _Piece:
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


def _pieces(lab: np.ndarray, n: int, core: np.ndarray) -> list[_Piece]:
    areas = np.bincount(lab[core], minlength=n + 1)
    out = []
    for i, sl in enumerate(ndimage.find_objects(lab), 1):
        if sl is not None and areas[i] > 0:
            out.append(_Piece([i], sl[0].start, sl[0].stop, sl[1].start, sl[1].stop, int(areas[i])))
    return out


def _label(mask: np.ndarray, core: np.ndarray, name: str) -> tuple[np.ndarray, list[_Piece]]:
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


def _line_height(pieces: list[_Piece]) -> float:
    """The median height of the pieces that are big compared with the biggest one."""
    biggest = max(p.area for p in pieces)
    return float(np.median([p.h for p in pieces if p.area >= 0.1 * biggest]))


def _merge(a: _Piece, b: _Piece) -> _Piece:
    return _Piece(a.labels + b.labels, min(a.y0, b.y0), max(a.y1, b.y1), min(a.x0, b.x0), max(a.x1, b.x1),
                  a.area + b.area)


def _x_overlap(a: _Piece, b: _Piece) -> int:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _y_overlap(a: _Piece, b: _Piece) -> int:
    return min(a.y1, b.y1) - max(a.y0, b.y0)


def _lines(pieces: list[_Piece]) -> list[list[_Piece]]:
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
    groups: dict[int, list[_Piece]] = {}
    for i in range(len(pieces)):
        groups.setdefault(find(i), []).append(pieces[i])
    return list(groups.values())


# --------------------------------------------------------------------------------------------------
# The lattice


def find_line(
    grey: np.ndarray, image_size: int = 28, invert: bool | None = None, name: str = "image"
) -> Line:
    """One line of handwritten digits -> its lattice (see the module's docstring)."""
    ink, stroke = ink_map(grey, invert, name)
    thumb, thumb_scale = _thumbnail(ink)
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
    def is_bar(p: _Piece) -> bool:
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
    merged: list[_Piece] = []
    for p in groups:
        for k, q in enumerate(merged):
            if _x_overlap(p, q) >= 0.6 * min(p.w, q.w):
                merged[k] = _merge(q, p)
                break
        else:
            merged.append(p)
    groups = sorted(merged, key=lambda p: p.x0 + p.x1)
    loose: list[_Piece] = []
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
    return _lattice(ink, lab, core, atoms_pieces, set(map(id, loose)), height, stroke, image_size, name,
                    warning, thumb, thumb_scale, grey.shape)


def _cuts(lab: np.ndarray, core: np.ndarray, p: _Piece, height: float, stroke: float) -> list[tuple[int, float]]:
    """Columns where a wide piece may be cut into two digits, with the cost (strokes cut through)."""
    if p.w < 0.45 * height:
        return []
    sl = (slice(p.y0, p.y1), slice(p.x0, p.x1))
    mine = np.isin(lab[sl], p.labels)
    prof = (core[sl] & mine).sum(axis=0).astype(np.float32)
    smooth = ndimage.uniform_filter1d(prof, size=max(1, int(round(stroke / 2)) | 1), mode="nearest")
    margin = max(2, int(0.12 * height))
    # Columns at a minimum of the smoothed profile within `margin` either side, away from the piece's ends.
    low = ndimage.minimum_filter1d(smooth, 2 * margin + 1, mode="nearest")
    xs = np.flatnonzero(smooth <= low)
    cands = sorted((float(prof[x]), int(x)) for x in xs if margin <= x < p.w - margin)
    chosen: list[tuple[int, float]] = []
    limit = max(1, round(p.w / (0.4 * height)))  # about one cut per possible digit boundary, no more
    for value, x in cands:
        if value > 3.5 * stroke:
            break
        if all(abs(x - c) >= margin for c, _ in chosen):
            chosen.append((x, value / stroke))
        if len(chosen) >= limit:
            break
    return sorted((p.x0 + x, cost) for x, cost in chosen)


def _lattice(ink, lab, core, pieces, loose_ids, height, stroke, image_size, name, warning, thumb, thumb_scale, shape):
    # Atoms: the pieces, wide ones cut at their candidate columns. Each atom: (labels, x-range) of its pixels.
    atoms: list[tuple[list[int], int, int]] = []
    cut_cost: list[float] = []
    skippable: list[bool] = []
    # A picture of one piece of ink no wider than tall is one digit (two touching digits are wider):
    # no cuts - it is read exactly as one digit always was, and quickly.
    alone = len(pieces) == 1 and not loose_ids and pieces[0].w < 0.9 * pieces[0].h
    for p in pieces:
        cuts = _cuts(lab, core, p, height, stroke) if id(p) not in loose_ids and not alone else []
        edges = [p.x0] + [x for x, _ in cuts] + [p.x1]
        costs = [0.0] + [c for _, c in cuts]
        for k in range(len(edges) - 1):
            atoms.append((p.labels, edges[k], edges[k + 1]))
            cut_cost.append(costs[k] if k > 0 else 0.0)
            skippable.append(id(p) in loose_ids)
    n = len(atoms)
    # Which atom each pixel belongs to (-1: none): its strokes, then their faint fringe around them.
    owner = np.full(lab.shape, -1, np.int32)
    boxes = []
    for k, (labels, x0, x1) in enumerate(atoms):
        mine = np.isin(lab[:, x0:x1], labels)
        owner[:, x0:x1][mine] = k
        sub = mine & core[:, x0:x1]
        rows = np.flatnonzero(sub.any(axis=1))
        cols = np.flatnonzero(sub.any(axis=0))
        if rows.size == 0:
            boxes.append((x0, 0, x1, 0))
        else:
            boxes.append((x0 + int(cols[0]), int(rows[0]), x0 + int(cols[-1]) + 1, int(rows[-1]) + 1))
    # Where a new piece starts, how far its ink is from each of the atoms before it (clear gaps, in pixels).
    # (The nearest pixels of two pieces lie on their outlines: those, at most 150 of each, are compared.)
    outline = core & ~ndimage.binary_erosion(core)
    points = []
    for k, (labels, x0, x1) in enumerate(atoms):
        ys, xs = np.nonzero((owner[:, x0:x1] == k) & outline[:, x0:x1])
        step = max(1, ys.size // 150)
        points.append(np.stack([ys[::step], xs[::step] + x0], axis=1).astype(np.float32))
    distance: dict[tuple[int, int], float] = {}
    for k in range(1, n):
        if cut_cost[k] > 0:  # a cut inside one piece: no gap
            continue
        for a in range(max(0, k - MAX_ATOMS + 1), k):
            if boxes[k][0] - boxes[a][2] > 1.6 * height:  # too far apart to be one digit anyway
                continue
            if len(points[a]) and len(points[k]):
                d = points[a][:, None, :] - points[k][None, :, :]
                distance[a, k] = float(np.sqrt((d * d).sum(axis=2).min()))
    grow = max(1, int(round(stroke / 2)))
    near = ndimage.maximum_filter(owner, size=2 * grow + 1)
    fringe = (owner < 0) & (near >= 0) & (lab == 0)
    owner[fringe] = near[fringe]
    candidates: list[Candidate] = []
    inputs = []
    for i in range(n):
        # Runs of up to MAX_ATOMS atoms; and the whole picture (the one-digit reading) always.
        for j in [*range(i + 1, min(n, i + MAX_ATOMS) + 1), *([n] if i == 0 and n > MAX_ATOMS else [])]:
            bx = [b for b in boxes[i:j] if b[3] > b[1]]
            if not bx:
                continue
            x0, y0 = min(b[0] for b in bx), min(b[1] for b in bx)
            x1, y1 = max(b[2] for b in bx), max(b[3] for b in bx)
            w, h = x1 - x0, y1 - y0
            whole = i == 0 and j == n
            if j - i > 1 and w > 1.6 * height and not whole:
                continue
            # Clear gaps between the pieces merged into one digit: each piece's distance to the nearest before it.
            gaps = 0.0
            for k in range(i + 1, j):
                if cut_cost[k] == 0.0:
                    gaps += min((distance.get((a, k), 0.0) for a in range(i, k)), default=0.0) / height
            try:
                if whole:  # the whole image: exactly the one-digit reading (--single)
                    inputs.append(_frame(ink, image_size, name))
                else:
                    part = _even_strokes(_atoms_ink(ink, owner, i, j, (x0, y0, x1, y1)), h)
                    inputs.append(_frame(part, image_size, name, drop=False))
            except MnistcliError:  # nothing left to frame (a speck): no candidate
                continue
            candidates.append(Candidate(i, j, (x0, y0, x1, y1), w / max(h, 1), h / height, gaps))
    return Line(shape, n, candidates, np.stack(inputs) if inputs else np.zeros((0, image_size, image_size), np.float32),
                cut_cost, skippable, warning, thumb, thumb_scale, {"height": height, "stroke": stroke}, len(pieces))


#: MNIST's strokes are about this share of a digit's height wide (median; 2% of digits below 0.075,
#: 2% above 0.22). A fine pen's digit is thickened towards it before framing, a marker's thinned.
STROKE_SHARE = (0.08, 0.11, 0.22, 0.16)  # thicken below [0] to [1]; thin above [2] to [3]


def _even_strokes(part: np.ndarray, height: int) -> np.ndarray:
    """One candidate's ink with its strokes made about as wide, for its height, as MNIST's. (Measured on the
    candidate itself: one pen's line is not equally wide in every digit of a photo - shadow, blur, pressure.)"""
    core = part >= CORE
    if not core.any() or height < 12:
        return part
    rows, cols = np.flatnonzero(core.any(axis=1)), np.flatnonzero(core.any(axis=0))
    width = _ridge_width(np.pad(core[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1))
    low, to_low, high, to_high = STROKE_SHARE
    if width < low * height:
        grow = int(round(to_low * height - width))
        if grow >= 1:
            return ndimage.grey_dilation(part, size=(grow + 1, grow + 1))
    if width > high * height:
        shrink = int(round(width - to_high * height))
        if shrink >= 1:
            thinner = ndimage.grey_erosion(part, size=(shrink + 1, shrink + 1))
            if np.count_nonzero(thinner >= CORE) >= 0.3 * np.count_nonzero(core):
                return thinner
    return part


def _atoms_ink(ink: np.ndarray, owner: np.ndarray, i: int, j: int, box) -> np.ndarray:
    """The ink of atoms i to j-1 alone (with their faint fringe), cropped around their box with a margin."""
    x0, y0, x1, y1 = box
    m = int(max(x1 - x0, y1 - y0) * 0.8) + 2
    r0, r1, c0, c1 = max(0, y0 - m), min(ink.shape[0], y1 + m), max(0, x0 - m), min(ink.shape[1], x1 + m)
    sub = owner[r0:r1, c0:c1]
    # Its own pixels, and faint ink no piece holds (a pen line too light to join its stroke) within its box.
    cols = np.arange(c0, c1)[None, :]
    rows = np.arange(r0, r1)[:, None]
    inside = (cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1)
    patch = ink[r0:r1, c0:c1]
    mine = ((sub >= i) & (sub < j)) | ((sub < 0) & inside & (patch < LOW))
    return np.where(mine, patch, np.float32(0))


def _scores(line: Line, probs: np.ndarray, costs: Costs) -> np.ndarray:
    """Each candidate's log-score as a digit: its probabilities weighed by how usual its shape is for each digit."""
    if not len(probs):
        return np.zeros(0)
    if probs.shape[1] != ASPECT.shape[1] or not costs.shape:
        return np.log(np.clip(probs.max(axis=1), 1e-6, 1.0))
    aspect = np.log(np.maximum([c.aspect for c in line.candidates], 1e-3))[:, None]
    z = np.maximum(aspect - ASPECT[0], 0) / ASPECT[1]  # only wider than usual: narrow pieces are judged otherwise
    weight = np.full((len(z), 1), costs.shape)
    if costs.one_piece and line.pieces == 1:
        weight[[k for k, c in enumerate(line.candidates) if c.start == 0 and c.stop == line.atoms]] = 0.0
    return np.log(np.clip((probs * np.exp(-0.5 * weight * z * z)).sum(axis=1), 1e-6, 1.0))


def best_path(line: Line, probs: np.ndarray, costs: Costs = COSTS) -> tuple[list[int], float]:
    """The most likely split of the line into digits: candidate indices left to right, and the path's score.

    Each digit scores the log of its top probability plus its prior (shape, gaps merged); each boundary
    through ink costs ``costs.cut`` per stroke cut; a small piece may be left out at ``costs.skip``.
    """
    n = line.atoms
    best = [-math.inf] * (n + 1)
    back: list[tuple[int, int | None]] = [(-1, None)] * (n + 1)
    best[0] = 0.0
    by_start: dict[int, list[int]] = {}
    for k, c in enumerate(line.candidates):
        by_start.setdefault(c.start, []).append(k)
    top = _scores(line, probs, costs)
    for i in range(n):
        if best[i] == -math.inf:
            continue
        boundary = costs.cut * max(0.0, line.cut_cost[i] - costs.cut_free) + costs.digit if i > 0 else 0.0
        for k in by_start.get(i, []):
            c = line.candidates[k]
            prior = 0.0 if costs.one_piece and line.pieces == 1 and c.stop == n and i == 0 else c.prior(costs)
            score = best[i] + top[k] + prior - boundary
            if score > best[c.stop]:
                best[c.stop], back[c.stop] = score, (i, k)
        if line.skippable[i] and best[i] - costs.skip > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] - costs.skip, (i, None)
    if best[n] == -math.inf:
        return [], -math.inf
    path = []
    j = n
    while j > 0:
        i, k = back[j]
        if k is not None:
            path.append(k)
        j = i
    return path[::-1], best[n]
