"""Random shifts, rotations and zooms of a training batch, drawn from (seed, step) alone so a resumed run sees the same."""

from __future__ import annotations

import math
from collections.abc import Mapping


def is_on(augment: Mapping[str, float] | None) -> bool:
    return bool(augment) and any(float(v) > 0 for v in augment.values())


def affine_batch(images, seed: int, step, augment: Mapping[str, float]):
    """(N, s, s) float32 images, each turned, scaled and shifted about its centre by its own random amounts.

    The amounts are uniform in [-rotation, rotation] degrees, [1 - zoom, 1 + zoom] and [-shift, shift] pixels,
    from tf.random.stateless_uniform seeded by (seed, step): the same step always gets the same changes,
    however training got there. Pixels moved in from outside are background (0, MNIST's black).
    """
    import tensorflow as tf

    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)])
    u = tf.random.stateless_uniform(tf.stack([n, 4]), seed=key, minval=-1.0, maxval=1.0)
    angle = u[:, 0] * float(augment.get("rotation", 0.0)) * (math.pi / 180)
    scale = 1.0 + u[:, 1] * float(augment.get("zoom", 0.0))
    dx, dy = u[:, 2] * float(augment.get("shift", 0.0)), u[:, 3] * float(augment.get("shift", 0.0))
    # The transform maps each output pixel (x, y) to the input point it is read from: the inverse of
    # "scale and turn about the centre, then shift".
    cx = (tf.cast(width, tf.float32) - 1) / 2
    cy = (tf.cast(height, tf.float32) - 1) / 2
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    x0, y0 = cx + dx, cy + dy
    transforms = tf.stack(
        [cos, sin, cx - cos * x0 - sin * y0, -sin, cos, cy + sin * x0 - cos * y0, tf.zeros_like(cos), tf.zeros_like(cos)],
        axis=1,
    )
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=images[..., None], transforms=transforms, output_shape=tf.stack([height, width]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    return moved[..., 0]
