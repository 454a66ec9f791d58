"""Run folders: atomic artifact writes, and finding and opening the runs under outputs/."""

from __future__ import annotations

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


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place.

    A crash or full disk mid-write leaves at most a hidden temporary file, never a half-written
    artifact under its final name. The temporary name keeps the suffix, since Keras and matplotlib
    choose the format by it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


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
