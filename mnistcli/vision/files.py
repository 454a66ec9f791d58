"""Turning command-line arguments (files and folders) into the image files to read."""

from __future__ import annotations

import os
from collections.abc import Iterable

#: Suffixes ``find_images`` picks up inside a folder (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def find_images(paths: Iterable[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """Expand command-line arguments into image files.

    A file argument is taken as it is (``load_digit`` reports it if it is not an image). A folder
    argument gives its ``*.png``, ``*.jpg`` and ``*.jpeg`` files (any letter case, sorted by name, not
    recursive). Returns ``(files, errors)``: each argument that is missing, unreadable, or a folder
    without images adds a one-line message to ``errors`` instead of raising. Duplicates are dropped.
    """
    files: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            files.append(path)

    for arg in paths:
        path = os.fspath(arg)
        if os.path.isdir(path):
            try:
                names = sorted(os.listdir(path))
            except OSError as exc:
                errors.append(f"{path}: cannot read folder ({exc.strerror or exc})")
                continue
            found = [
                os.path.join(path, name)
                for name in names
                if name.lower().endswith(IMAGE_SUFFIXES) and os.path.isfile(os.path.join(path, name))
            ]
            if not found:
                errors.append(f"{path}: folder has no .png, .jpg or .jpeg images")
            for name in found:
                add(name)
        elif os.path.isfile(path):
            add(path)
        elif os.path.lexists(path):
            errors.append(f"{path}: not a file or folder")
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors
