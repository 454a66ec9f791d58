"""MNIST's framing of an ink map: the digit fitted into a 20x20 box, anti-aliased, centred by mass in 28x28."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from mnistcli.errors import MnistcliError
from mnistcli.vision.ink import sliding

# MNIST geometry: the digit's bounding box is scaled to fit BOX x BOX and the centre of mass is put on
# pixel CENTRE of a FIELD x FIELD image (MNIST moved digits by whole pixels, so its digits have their
# centre of mass within half a pixel of index 14; we place it exactly, which is never more than half a
# pixel from what MNIST would have done and does not jump a pixel on tiny changes).
FIELD = 28


BOX = 20


CENTRE = 14.0


#: Digits smaller than this many pixels across are interpolated up before being measured and scaled.
UPSAMPLE_BELOW = 2 * BOX


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


def mnist_frame(ink: np.ndarray, name: str, drop_frame: bool = True) -> np.ndarray:
    """Ink map -> 28x28 MNIST-style digit: 20x20 box, aspect kept, area anti-aliased, centred by mass.

    The box is the extent of the half-intensity ink (the stroke edges of an anti-aliased drawing), so
    faint fringes and stray specks do not shrink the digit; fringes outside the box are still drawn.
    The digit is placed with sub-pixel precision so its centre of mass is exactly at (14, 14) (MNIST's
    own digits are within half a pixel of it).
    """
    if drop_frame:  # (segmentation has cleared the whole picture's frame before cutting out one digit)
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
        if not core.any():  # a speck of one or two pixels, smoothed below half by the interpolation
            raise MnistcliError(f"{name}: no ink found - is the image blank?")
        top, bottom, left, right = _ink_box(core)
        long_side = max(bottom - top, right - left)
    factor = int(long_side // (4 * BOX))
    if factor > 1:  # big digit: average factor x factor blocks first (same area average, far less work)
        ink = np.asarray(Image.fromarray(np.ascontiguousarray(ink, np.float32), "F").reduce(factor))
        core = np.asarray(Image.fromarray(core.astype(np.float32), "F").reduce(factor)) > 0
    # Keep only ink near the strokes (their anti-aliased fringe, within 4% of the digit's size):
    # faint noise elsewhere would pull the centre of mass and show as smudges.
    reach = 2 * max(2, round(0.04 * long_side / max(factor, 1))) + 1
    ink = np.where(sliding(core.astype(np.float32), reach, np.maximum) > 0, ink, np.float32(0))
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
