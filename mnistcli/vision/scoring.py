"""Scoring the lattice: each candidate digit's log-probability weighed by its shape, costs for strokes cut and
gaps merged, and ``best_path``, the most likely split of the line into digits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mnistcli.vision.lattice import Candidate, Line


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


def candidate_prior(c: Candidate, costs: Costs = COSTS) -> float:
    """Log-score of a candidate's shape and of the gaps inside it (0 for a digit-shaped, gap-free candidate)."""
    return (
        -costs.wide * max(0.0, c.aspect - costs.wide_from)
        - costs.short * max(0.0, costs.short_from - c.height)
        - costs.gap * c.gap
    )


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
            prior = 0.0 if costs.one_piece and line.pieces == 1 and c.stop == n and i == 0 else candidate_prior(c, costs)
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
