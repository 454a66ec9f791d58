"""The candidate lattice of one line: its atoms (pieces of ink, wide ones cut where two digits may touch) and
every run of neighbouring atoms that could be one digit, each framed the way MNIST frames a digit."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from mnistcli.data.resize import resize_digits
from mnistcli.errors import MnistcliError
from mnistcli.vision.frame import FIELD, _ink_box, mnist_frame
from mnistcli.vision.pieces import CORE, LOW, LinePieces, Piece, ridge_width

#: A candidate digit may be made of at most this many atoms.
MAX_ATOMS = 5


@dataclass
class Candidate:
    """A run of atoms ``[start, stop)`` read as one digit: its box (x0, y0, x1, y1 in grey pixels) and shape."""

    start: int
    stop: int
    box: tuple[int, int, int, int]
    aspect: float  # width / height
    height: float  # height / the line's height
    gap: float  # clear gaps between its atoms, in line heights


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


def frame_ink(ink: np.ndarray, image_size: int, name: str, drop: bool = True) -> np.ndarray:
    digit = mnist_frame(ink, name, drop)
    if image_size != FIELD:
        digit = resize_digits(digit[None], int(image_size))[0]
    return np.clip(digit, 0.0, 1.0).astype(np.float32)


def thumbnail_of(ink: np.ndarray, width: int = 160) -> tuple[np.ndarray, float]:
    from PIL import Image

    h, w = ink.shape
    scale = min(1.0, width / w, 0.75 * width / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(np.ascontiguousarray(ink, np.float32), "F").resize(size, Image.BOX)
    return np.asarray(img, np.float32).astype(np.float16), scale


def core_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    core = ink >= CORE
    if not core.any():
        return 0, 0, ink.shape[1], ink.shape[0]
    top, bottom, left, right = _ink_box(core)
    return left, top, right, bottom


#: A cut may wander this share of the line's height either side of its column, one column per row at most.
SEAM_REACH = 0.15
SEAM_STEP = 0.05  # cost of each sideways step, in pixels of ink (a straight cut is preferred when as good)
#: Cuts follow such paths only where the strokes are at least this share of the line's height wide (a marker):
#: thick strokes of touching digits merge into a blob no straight cut parts cheaply. With thinner strokes the
#: freedom found cheap paths through digits (an open 0 parted into "(" and ")") about as often as it helped.
SEAM_FROM = 0.14


def _seam(mine: np.ndarray, x: int, reach: int) -> tuple[np.ndarray, float]:
    """The path from top to bottom through ``mine`` (a piece's stroke pixels) near column ``x`` that crosses
    the fewest of them, moving at most one column a row: its column in each row and the pixels crossed.
    (Touching or overlapping neighbours are rarely parted by a straight line; a path can follow the gap.)"""
    lo, hi = max(0, x - reach), min(mine.shape[1], x + reach + 1)
    # Strokes widened by a pixel either side: a path stepping sideways cannot slip between two pixels that
    # touch only at their corners (a thin slanted stroke).
    cost = ndimage.maximum_filter1d(mine, 3, axis=1)[:, lo:hi].astype(np.float32)
    acc = cost[0].copy()
    back = np.zeros(cost.shape, np.int8)
    inf = np.float32(np.inf)
    for y in range(1, len(cost)):
        left = np.concatenate(([inf], acc[:-1])) + SEAM_STEP
        right = np.concatenate((acc[1:], [inf])) + SEAM_STEP
        options = np.stack([left, acc, right])
        back[y] = options.argmin(axis=0) - 1
        acc = options.min(axis=0) + cost[y]
    col = int(np.argmin(acc + SEAM_STEP * np.abs(np.arange(lo, hi) - x)))  # ties: nearest the seed column
    total = float(cost[-1, col])
    path = np.empty(len(cost), np.int64)
    path[-1] = col
    for y in range(len(cost) - 1, 0, -1):
        col += int(back[y, col])
        path[y - 1] = col
        total += float(cost[y - 1, col])
    return path + lo, total


def _cuts(lab: np.ndarray, core: np.ndarray, p: Piece, height: float, stroke: float) -> list[tuple[np.ndarray, float]]:
    """Where a wide piece may be cut into two digits: paths (the column the cut passes in each of the piece's
    rows) started at minima of its column profile, each with its cost (strokes cut through)."""
    if p.w < 0.45 * height:
        return []
    sl = (slice(p.y0, p.y1), slice(p.x0, p.x1))
    mine = np.isin(lab[sl], p.labels) & core[sl]
    prof = mine.sum(axis=0).astype(np.float32)
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
            chosen.append((x, value))
        if len(chosen) >= limit:
            break
    reach = max(1, min(int(SEAM_REACH * height), margin - 1))
    cuts = []
    for x, value in sorted(chosen):
        if stroke >= SEAM_FROM * height:
            path, crossed = _seam(mine, x, reach)
            path = np.clip(path, 1, p.w - 1)
            if cuts:  # cuts never cross: each stays right of the one before
                path = np.maximum(path, cuts[-1][0] - p.x0)
            # (never 0: a cost of 0 marks where a new piece starts)
            cuts.append((path + p.x0, max(1e-3, min(value, crossed) / stroke)))
        else:
            cuts.append((np.full(p.h, p.x0 + x), value / stroke))
    return cuts


def build(ink: np.ndarray, found: LinePieces, stroke: float, image_size: int, name: str, thumb, thumb_scale: float,
          shape: tuple[int, int], whole_ink: np.ndarray | None = None) -> Line:
    """The lattice of one line: its atoms (pieces, wide ones cut), every run of up to MAX_ATOMS atoms as a
    candidate digit framed for the model, and the whole picture (``whole_ink``: its ink map as one digit sees it,
    by default ``ink``) framed exactly as one digit."""
    lab, core, pieces, loose_ids, height, warning = (
        found.lab, found.core, found.pieces, found.loose, found.height, found.warning)
    # Atoms: the pieces, wide ones cut along their candidate paths. Each atom: (labels, x-range, its left and
    # right boundaries in each of the piece's rows, and the piece's first row) - its pixels lie between them.
    atoms: list[tuple[list[int], int, int, np.ndarray, np.ndarray, int]] = []
    cut_cost: list[float] = []
    skippable: list[bool] = []
    # A picture of one piece of ink no wider than tall is one digit (two touching digits are wider):
    # no cuts - it is read exactly as one digit always was, and quickly.
    alone = len(pieces) == 1 and not loose_ids and pieces[0].w < 0.9 * pieces[0].h
    for p in pieces:
        cuts = _cuts(lab, core, p, height, stroke) if id(p) not in loose_ids and not alone else []
        edges = [np.full(p.h, p.x0)] + [path for path, _ in cuts] + [np.full(p.h, p.x1)]
        costs = [0.0] + [c for _, c in cuts]
        for k in range(len(edges) - 1):
            left, right = edges[k], edges[k + 1]
            atoms.append((p.labels, int(left.min()), int(right.max()), left, right, p.y0))
            cut_cost.append(costs[k] if k > 0 else 0.0)
            skippable.append(id(p) in loose_ids)
    n = len(atoms)
    # Which atom each pixel belongs to (-1: none): its strokes, then their faint fringe around them.
    owner = np.full(lab.shape, -1, np.int32)
    boxes = []
    for k, (labels, x0, x1, left, right, y0) in enumerate(atoms):
        rows = slice(y0, y0 + len(left))
        cols = np.arange(x0, x1)[None, :]
        mine = np.isin(lab[rows, x0:x1], labels) & (cols >= left[:, None]) & (cols < right[:, None])
        owner[rows, x0:x1][mine] = k
        sub = mine & core[rows, x0:x1]
        ys = np.flatnonzero(sub.any(axis=1))
        xs = np.flatnonzero(sub.any(axis=0))
        if ys.size == 0:
            boxes.append((x0, 0, x1, 0))
        else:
            boxes.append((x0 + int(xs[0]), y0 + int(ys[0]), x0 + int(xs[-1]) + 1, y0 + int(ys[-1]) + 1))
    # Where a new piece starts, how far its ink is from each of the atoms before it (clear gaps, in pixels).
    # (The nearest pixels of two pieces lie on their outlines: those, at most 150 of each, are compared.)
    outline = core & ~ndimage.binary_erosion(core)
    points = []
    for k, (_, x0, x1, *_) in enumerate(atoms):
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
                    inputs.append(frame_ink(ink if whole_ink is None else whole_ink, image_size, name))
                else:
                    part = _even_strokes(_atoms_ink(ink, owner, i, j, (x0, y0, x1, y1)), h)
                    inputs.append(frame_ink(part, image_size, name, drop=False))
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
    width = ridge_width(np.pad(core[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1))
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
