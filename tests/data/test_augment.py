"""data.augment: random shifts, turns and zooms of training batches, drawn from (seed, step) alone."""

from __future__ import annotations

import numpy as np
import pytest

from mnistcli.data.pipeline import epoch_batches

AUGMENT = {"rotation": 15.0, "shift": 2.0, "zoom": 0.1}


def digits(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28), np.uint8)
    x[:, 8:20, 12:16] = 255  # a bar in the middle: moved, turned and scaled by augmentation
    x[:, 4, 4] = rng.integers(0, 255, n)
    return x, np.arange(n, dtype=np.int64) % 10


def take(stream, k: int) -> list[np.ndarray]:
    return [images.numpy() for images, _ in stream.take(k)]


def test_the_same_step_always_gets_the_same_changes():
    x, y = digits()
    a, steps = epoch_batches(x, y, 16, seed=3, first_step=0, augment=AUGMENT)
    b, _ = epoch_batches(x, y, 16, seed=3, first_step=0, augment=AUGMENT)
    later, _ = epoch_batches(x, y, 16, seed=3, first_step=5, augment=AUGMENT)  # a resumed run, 5 steps in
    first, again, resumed = take(a, 8), take(b, 8), take(later, 3)
    for u, v in zip(first, again):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(first[5:], resumed):
        np.testing.assert_array_equal(u, v)
    other, _ = epoch_batches(x, y, 16, seed=4, first_step=0, augment=AUGMENT)
    assert not np.array_equal(take(other, 1)[0], first[0])


def test_augmentation_changes_images_but_keeps_labels_and_ink():
    x, y = digits()
    plain, _ = epoch_batches(x, y, 16, seed=3, first_step=0)
    moved, _ = epoch_batches(x, y, 16, seed=3, first_step=0, augment=AUGMENT)
    (p_images, p_labels), (m_images, m_labels) = next(iter(plain)), next(iter(moved))
    np.testing.assert_array_equal(p_labels.numpy(), m_labels.numpy())
    p, m = p_images.numpy(), m_images.numpy()
    assert m.dtype == np.float32 and 0.0 <= m.min() and m.max() <= 1.0 + 1e-6
    assert all(not np.array_equal(a, b) for a, b in zip(p, m))  # every image changed
    # A turn, a shift of 2 pixels and a zoom of 10% keep the bar's ink within a few percent.
    np.testing.assert_allclose(m.sum(axis=(1, 2)), p.sum(axis=(1, 2)), rtol=0.25)


def test_no_augmentation_is_exactly_the_plain_stream():
    x, y = digits()
    plain, _ = epoch_batches(x, y, 16, seed=3, first_step=0)
    zero, _ = epoch_batches(x, y, 16, seed=3, first_step=0, augment={"rotation": 0.0, "shift": 0.0, "zoom": 0.0})
    for u, v in zip(take(plain, 4), take(zero, 4)):
        np.testing.assert_array_equal(u, v)


def test_validation_and_test_images_are_never_augmented(tiny_mnist):
    from mnistcli.data.dataset import load_dataset

    plain = load_dataset(dir=str(tiny_mnist), seed=0)
    augmented = load_dataset(dir=str(tiny_mnist), seed=0, augment=AUGMENT)
    assert augmented.augment == AUGMENT and plain.augment == {"rotation": 0.0, "shift": 0.0, "zoom": 0.0}
    np.testing.assert_array_equal(plain.x_val, augmented.x_val)
    np.testing.assert_array_equal(plain.x_test, augmented.x_test)


@pytest.mark.parametrize(("key", "value"), [("rotation", 90.0), ("shift", -1.0), ("zoom", 0.9)])
def test_out_of_range_strengths_are_refused(tiny_mnist, key, value):
    from mnistcli.data.dataset import load_dataset
    from mnistcli.errors import MnistcliError

    with pytest.raises(MnistcliError, match=f"data.augment.{key} must be"):
        load_dataset(dir=str(tiny_mnist), seed=0, augment={**AUGMENT, key: value})
