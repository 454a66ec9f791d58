"""The seeded, stratified split of a labelled set into two parts (validation from training, test from a sample)."""

from __future__ import annotations

import numpy as np


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, take) with floor(len(y) * fraction) taken, about the same share of every class.

    Seeded and deterministic; both index arrays are sorted, so the kept data stays in its original order.
    """
    n = len(y)
    n_take = int(n * fraction)
    if n_take <= 0:
        return np.arange(n), np.arange(0)
    rng = np.random.default_rng([seed, n])
    perm = rng.permutation(n)
    order = perm[np.argsort(y[perm], kind="stable")]  # grouped by class, shuffled within each class
    pos = np.arange(n, dtype=np.int64)
    picked = ((pos + 1) * n_take) // n > (pos * n_take) // n  # exactly n_take positions, evenly spread
    return np.sort(order[~picked]), np.sort(order[picked])
