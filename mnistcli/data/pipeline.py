"""The training input pipeline: an endless tf.data stream of batches whose order depends only on (seed, epoch)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mnistcli.data.augment import affine_batch, is_on


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Training steps in one epoch: whole batches only, at least one."""
    # A smaller last batch would make TensorFlow trace the step a second time.
    return max(1, train_size // batch_size)


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch `epoch` (0-based) visits the n training examples."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def epoch_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, first_step: int, augment: Mapping[str, float] | None = None
):
    """An endless tf.data stream of float32 training batches from global step `first_step` on, and the steps per epoch.

    Batch b of the stream is the (b % steps)-th batch of epoch b // steps in epoch_order, so the stream
    depends only on the seed. Keras, running several steps per call, reads past an epoch's last batch
    into the next epoch, so batches are counted by the optimizer's step count, not by epoch: a resumed
    run starts at optimizer.iterations and sees exactly the batches the uninterrupted run saw.
    Built like Keras's own in-memory pipeline (the arrays once, gathered by index per batch); uint8 images
    are scaled to [0, 1] batch by batch. With `augment` (data.augment), batch b's images are randomly shifted,
    turned and zoomed by amounts drawn from (seed, b) alone (data/augment.py).
    """
    import tensorflow as tf

    n = len(y)
    batch_size = min(batch_size, n)  # drop_remainder below needs at least one whole batch
    steps = steps_per_epoch(n, batch_size)
    first_epoch, skip = divmod(int(first_step), steps)

    def order(epoch: np.int64) -> np.ndarray:
        return epoch_order(seed, int(epoch), n).astype(np.int64)

    def one_epoch(epoch):
        indices = tf.numpy_function(order, [epoch], tf.int64, stateful=False)
        indices.set_shape([n])
        return tf.data.Dataset.from_tensor_slices(indices).batch(batch_size, drop_remainder=True)

    augmented = is_on(augment)

    def gather(step, i, xy):
        images = tf.gather(xy[0], i)
        if x.dtype == np.uint8:  # float32 in [0, 1], the same values as data._pixels gives
            images = tf.cast(images, tf.float32) / 255.0
        if augmented:
            images = affine_batch(images, seed, step, augment)
        return images, tf.gather(xy[1], i)

    batches = tf.data.Dataset.range(first_epoch, 2**62).flat_map(one_epoch).skip(skip)
    numbers = tf.data.Dataset.range(first_step, 2**62)  # the global step of each batch: what augmentation draws from
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
    data = tf.data.Dataset.zip((numbers, batches, arrays)).map(
        gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return data.prefetch(tf.data.AUTOTUNE), steps
