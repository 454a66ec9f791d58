"""Scaling digit images by area averaging: the one resize that training data and a user's digit both go through."""

from __future__ import annotations

import numpy as np


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
