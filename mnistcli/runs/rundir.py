"""Run folders: atomic artifact writes, and finding and opening the runs under outputs/."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from mnistcli.errors import MnistcliError

OUTPUTS = Path("outputs")
MODEL_FILE = "model.keras"
LITERT_FILE = "model.tflite"
METRICS_FILE = "metrics.json"

# Read once, while importing (before any thread starts): os.umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place.

    A crash, a kill -9 or a full disk mid-write leaves at most a hidden temporary file, never a half-written
    artifact under its final name. The temporary name keeps the suffix, since Keras and matplotlib choose
    the format by it. The data is flushed to disk before the rename, so a power cut cannot leave the final
    name pointing at an empty file either. A full disk or an unwritable folder is raised as MnistcliError.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
        with suppress(OSError):  # some mounts (CIFS, vfat) refuse modes: the file is written all the same
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide a run's files from the rest of a team
        os.close(fd)
        write(Path(tmp))
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException as exc:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
        if _disk_full(exc):
            raise MnistcliError(f"disk full while writing {path} (no space left on device); free some space") from None
        if isinstance(exc, OSError):
            raise MnistcliError(f"cannot write {path} ({exc.strerror or exc})") from None
        raise


def _fsync(path: str | Path) -> None:
    with suppress(OSError):  # some file systems cannot sync a folder; the rename is still atomic
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _disk_full(exc: BaseException | None) -> bool:
    """True when exc, or an error it was raised from, is "no space left" (h5py and zipfile wrap the OSError)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MnistcliError(f"{path}: not found") from None
    except (OSError, ValueError) as exc:
        raise MnistcliError(f"{path}: unreadable ({exc})") from None


def shown(run_dir: Path) -> str:
    """The run folder as a user would type it: relative to the current folder when inside it."""
    run_dir = Path(run_dir)
    with suppress(ValueError):
        return str(run_dir.resolve().relative_to(Path.cwd().resolve()))
    return str(run_dir)


def is_run(path: Path) -> bool:
    return (path / ".hydra").is_dir() and (path / METRICS_FILE).is_file()


def find_runs(root: Path = OUTPUTS) -> list[Path]:
    """Every run folder (single runs and sweep jobs) below root, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p.parent for p in root.rglob(METRICS_FILE) if is_run(p.parent)]
    return sorted(runs, key=lambda p: (p / ".hydra").stat().st_mtime)


def resolve_run(run_dir: Path | None, root: Path = OUTPUTS, *, need_model: bool = True) -> Path:
    """The run folder a command should use: the one given, or the newest finished one under root."""
    if run_dir is None:
        runs = [r for r in find_runs(root) if not need_model or (r / MODEL_FILE).is_file()]
        if not runs:
            raise MnistcliError(f"no trained runs under {root}/ - train one with `mnistcli train`")
        return runs[-1]
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MnistcliError(f"run folder {run_dir} does not exist")
    if need_model and not (run_dir / MODEL_FILE).is_file():
        raise MnistcliError(f"{run_dir} holds no {MODEL_FILE} - not a finished mnistcli run")
    return run_dir
