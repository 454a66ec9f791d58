"""A user's digit image made into what MNIST digits look like: decoded, ink found, framed, scaled to the run's size.

A user's digit is turned into what MNIST digits look like: bright ink on a dark background, the digit
fitted into a 20x20 box keeping its aspect ratio, anti-aliased, and placed in a 28x28 field so that its
centre of mass falls on the centre pixel. Only numpy and Pillow are used so that ``mnistcli predict``
starts quickly. ``digit_from_grey`` is the array-in entry (a web server's decoded upload); ``load_digit``
reads a file.
"""

from __future__ import annotations

import os

import numpy as np

from mnistcli.data.resize import resize_digits
from mnistcli.errors import MnistcliError
from mnistcli.vision.decode import read_grey
from mnistcli.vision.frame import FIELD, mnist_frame
from mnistcli.vision.ink import find_ink

def load_digit(path: str | os.PathLike, image_size: int = 28, invert: bool | None = None) -> np.ndarray:
    """Read a digit image and make it look like an MNIST digit.

    Returns float32 ``(image_size, image_size)`` in [0, 1] with bright ink on a dark background:

    * decoded safely (PNG, JPEG, BMP, GIF, WebP, TIFF; any mode - palette, 16-bit, CMYK, 1-bit...),
      EXIF orientation applied, big photos decoded at reduced size, transparency composited (the
      transparent part is paper; the alpha channel carries the ink);
    * ink colour: dark ink on light paper is detected automatically and inverted; ``invert=True``
      forces that, ``invert=False`` says the ink is already lighter than its background;
    * normalised against an uneven background (shadows, lighting gradients, grey paper), scaled so
      the ink is about 1, noise faded to 0; bands of table along the photo's edges and stray specks
      away from the digit are ignored;
    * cropped to the ink, fitted into a 20x20 box keeping the aspect ratio (area anti-aliasing), and
      placed in a 28x28 field with its centre of mass on pixel (14, 14), like MNIST's own digits;
    * scaled with ``resize_digits`` if ``image_size`` is not 28 (the same way as the training data).

    Every problem with the file (missing, a folder, empty, not an image, truncated or corrupt, over
    MAX_PIXELS, blank) raises ``MnistcliError`` with a one-line message starting with the path.
    Known limit: a light-on-dark digit cropped so tightly that ink covers most of the picture is
    taken for dark ink; pass ``invert=False`` for it.
    """
    name = os.fspath(path)
    _check_size(image_size, name)
    return digit_from_grey(read_grey(name), image_size, invert, name)


def digit_from_grey(grey: np.ndarray, image_size: int = 28, invert: bool | None = None, name: str = "image") -> np.ndarray:
    """The array-in half of ``load_digit``: a decoded 2-D grey image in [0, 1] (any size) -> the model's input.

    ``name`` starts every error message (a file name, or what a server calls the upload).
    """
    _check_size(image_size, name)
    grey = np.asarray(grey, dtype=np.float32)
    if grey.ndim != 2 or grey.size == 0:
        raise MnistcliError(f"{name}: expected a 2-D grey image, got an array of shape {grey.shape}")
    digit = mnist_frame(find_ink(grey, invert, name), name)
    if image_size != FIELD:
        digit = resize_digits(digit[None], int(image_size))[0]
    return np.clip(digit, 0.0, 1.0).astype(np.float32)


def _check_size(image_size: object, name: str) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise MnistcliError(f"{name}: image size must be a positive whole number, not {image_size!r}")
