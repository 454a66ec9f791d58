"""Decoding an image file or its bytes safely into a grey float image: any format and mode, EXIF turned, bombs refused."""

from __future__ import annotations

import io
import math
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnistcli.errors import MnistcliError

#: Refuse images with more pixels than this (decompression bombs; about an 80 megapixel photo).
MAX_PIXELS = 80_000_000


#: Images are shrunk so that their long side is at most about this many pixels before any arithmetic.
WORK_SIZE = 1024


#: Formats ``load_digit`` will try to decode; anything else is "not an image".
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")


def read_grey(name: str) -> np.ndarray:
    """Decode the file ``name`` into a 2-D float32 grey image in [0, 1] (long side at most about WORK_SIZE)."""
    return read_image(name)[0]


def read_image(name: str) -> tuple[np.ndarray, tuple[int, int]]:
    """``read_grey``, and the picture's own (width, height) upright (after EXIF turning), to map boxes back."""
    if os.path.isdir(name):
        raise MnistcliError(f"{name}: is a folder, not an image file")
    try:
        if os.path.getsize(name) == 0:
            raise MnistcliError(f"{name}: empty file (0 bytes), not an image")
    except OSError as exc:
        raise MnistcliError(f"{name}: {_os_problem(exc)}") from None
    return _decode(name, name)


def grey_from_bytes(data: bytes, name: str = "upload") -> np.ndarray:
    """The same as read_grey for an image's bytes (a web upload); ``name`` starts every error message."""
    return image_from_bytes(data, name)[0]


def image_from_bytes(data: bytes, name: str = "upload") -> tuple[np.ndarray, tuple[int, int]]:
    """The same as read_image for an image's bytes."""
    if not data:
        raise MnistcliError(f"{name}: empty (0 bytes), not an image")
    return _decode(io.BytesIO(data), name)


def _decode(source, name: str) -> tuple[np.ndarray, tuple[int, int]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=FORMATS) as img:
                width, height = img.size
                if width < 1 or height < 1:
                    raise MnistcliError(f"{name}: image has no pixels ({width}x{height})")
                if width * height > MAX_PIXELS:
                    limit = MAX_PIXELS // 1_000_000
                    raise MnistcliError(f"{name}: image too large ({width}x{height} pixels, limit {limit} megapixels)")
                if max(width, height) > 2 * WORK_SIZE:  # JPEG: let the decoder scale down (1/2, 1/4, 1/8)
                    shrink = max(width, height) / WORK_SIZE
                    img.draft(img.mode, (int(width / shrink), int(height / shrink)))
                img.load()
                loaded = img.size
                img = _upright(img)
                turned = img.size != loaded  # a quarter turn (EXIF): width and height swap
                size = (height, width) if turned else (width, height)
                return _to_grey(img), size
    except MnistcliError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MnistcliError(f"{name}: image too large (possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise MnistcliError(f"{name}: not an image (or not PNG/JPEG/BMP/GIF/WebP/TIFF)") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise MnistcliError(f"{name}: {_os_problem(exc)}") from None
    except MemoryError:
        raise MnistcliError(f"{name}: image too large to decode (out of memory)") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad data (SyntaxError, struct.error...)
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise MnistcliError(f"{name}: cannot decode image, file is truncated or corrupt ({detail})") from None


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not an image file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read file ({exc.strerror or exc})"


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (phone photos); a broken EXIF block is ignored."""
    try:
        turned = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - any EXIF problem: keep the image as stored
        return img
    return img if turned is None else turned


_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")


def _to_grey(img: Image.Image) -> np.ndarray:
    """Loaded Pillow image -> 2-D float32 grey in [0, 1], transparency composited, shrunk to WORK_SIZE."""
    mode = img.mode
    if mode.startswith(("I", "F")):  # 16-bit and 32-bit grey (I;16, I;16B, I, F)
        # No fixed white level here (12-bit sensors, scientific data): stretch what is used to 0..1.
        # A flat or noise-only image stays blank: noise is judged against its own spread later.
        if mode not in ("I", "F"):
            img = img.convert("I")
        grey = np.asarray(_shrink(img), dtype=np.float64)
        grey = np.nan_to_num(grey, nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(grey.min()), float(grey.max())
        return ((grey - low) / (high - low) if high > low else np.zeros_like(grey)).astype(np.float32)

    # Everything else through Pillow's own (fast) conversions: palette, CMYK, YCbCr... to RGB(A),
    # then to luminance L = 0.299 R + 0.587 G + 0.114 B, keeping alpha (and palette transparency).
    alpha = mode in _ALPHA_MODES or "transparency" in img.info
    with warnings.catch_warnings():  # "palette images with transparency expressed in bytes..."
        warnings.simplefilter("ignore")
        if mode not in (("LA", "RGBA") if alpha else ("L", "RGB")):
            img = img.convert("RGBA" if alpha else "RGB")
        img = _shrink(img)
        if img.mode not in ("L", "LA"):
            img = img.convert("LA" if alpha else "L")
    arr = np.asarray(img, dtype=np.float32) * np.float32(1 / 255)
    if not alpha:
        return arr
    grey, alpha = arr[..., 0], arr[..., 1]
    if alpha.min() >= 0.99:  # an alpha channel, but nothing is transparent
        return np.ascontiguousarray(grey)
    # Transparent pixels are paper. Put the image on the paper colour that contrasts with its opaque
    # content: dark ink (or a sheet with dark writing) goes on white, light-only strokes go on black.
    # Either way the result is alpha * (ink colour's contrast with the paper).
    opaque = alpha > 0.5
    paper = 1.0
    if opaque.any() and np.count_nonzero(grey[opaque] < 0.5) <= 0.02 * np.count_nonzero(opaque):
        paper = 0.0
    return paper + alpha * (grey - paper)


def _shrink(img: Image.Image) -> Image.Image:
    """Box-reduce an image so its long side is at most WORK_SIZE (keeps thin strokes as grey)."""
    factor = math.ceil(max(img.size) / WORK_SIZE)
    return img.reduce(factor) if factor > 1 else img
