"""`mnistcli runs`: every single run and sweep job under a folder, one row each, best first."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from mnistcli.config.schema import DATASET_NAMES
from mnistcli.config.validate import did_you_mean
from mnistcli.data.fallback import FALLBACK_SOURCE
from mnistcli.errors import MnistcliError
from mnistcli.models import registry
from mnistcli.runs.record import RunRecord, read_record
from mnistcli.runs.rundir import OUTPUTS, find_runs

# Sort key -> True when bigger is better (shown first). Rows without the value always go last.
SORT_KEYS = {
    "val_accuracy": True,
    "test_accuracy": True,
    "when": True,  # newest first
    "train_seconds": False,
    "params": False,
    "model": False,
    "status": False,
}


# `mnistcli runs --dataset NAME`: the datasets a run can have trained on (the config's data.name choices), and
# the offline 5,000-digit MNIST sample as its own: its accuracies are not comparable with the full MNIST's.
OFFLINE_SAMPLE = "mnist_5k"
DATASETS = {**DATASET_NAMES, OFFLINE_SAMPLE: "the offline 5k MNIST sample"}


def dataset_of(name: str | None, source: str | None) -> str | None:
    """mnist, fashion_mnist or mnist_5k (the offline sample); None for a record that does not say."""
    if name == "mnist" and source == FALLBACK_SOURCE:
        return OFFLINE_SAMPLE
    return name or None


def _process_start(pid: int) -> float | None:
    """When a local process started (seconds since the epoch), from /proc; None where /proc cannot say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        ticks = float(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime, counted after the command name
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def live_status(record: dict) -> str:
    """The status metrics.json records, with "running" checked against the process that wrote it.

    A run still marked "running" whose process is gone was killed or interrupted before it could write its
    outcome: "died". A run on another machine cannot be checked and stays "running?".
    """
    status = record.get("status", "unknown")
    if status != "running":
        return status
    pid, host = record.get("pid"), record.get("host")
    if not isinstance(pid, int) or host != platform.node():
        return "running?"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "died"
    except PermissionError:
        pass  # alive, another user's
    started = record.get("started_at")
    begun = _process_start(pid)
    if started and begun is not None:
        # The pid was reused if today's process with that number started after the run did.
        if begun > datetime.fromisoformat(started).timestamp() + 1:
            return "died"
    return "running"


def _row(run: Path, root: Path) -> dict:
    try:
        record = read_record(run)
    except MnistcliError as exc:  # damaged by hand or a full disk: shown, not hidden
        record = RunRecord(config={}, status="unreadable", error=str(exc))
    cfg = record.config
    train = cfg.get("train") or {}
    data = record.data or {}
    parts = run.relative_to(root).parts if run != root else (run.name,)
    when = record.started_at
    if not when:  # a job that failed before training has no start time; its folder's does
        when = datetime.fromtimestamp((run / ".hydra").stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    return {
        "run": "/".join(parts),
        "run_dir": str(run),
        "sweep": "multirun" in run.parts or (run.parent / "multirun.yaml").is_file(),
        "when": when,
        **_model(cfg.get("model") or record.model),
        "learning_rate": train.get("learning_rate"),
        "batch_size": train.get("batch_size"),
        "epochs": record.epochs_run or train.get("epochs"),
        "data": data.get("source") or (cfg.get("data") or {}).get("name"),
        "dataset": data.get("name") or (cfg.get("data") or {}).get("name"),
        "offline_sample": data.get("source") == FALLBACK_SOURCE,
        "train_size": data.get("train_size"),
        "val_accuracy": record.val_accuracy,
        "test_accuracy": record.test_accuracy,
        "params": record.params,
        "train_seconds": record.train_seconds,
        "status": live_status(record.to_dict()),
        "error": record.error,
    }


def _model(model_cfg) -> dict:
    """The model's name and one-line description, from the registry; a model it cannot read shows as such."""
    try:
        return {"model": registry.run_name(model_cfg), "model_settings": registry.describe(model_cfg)}
    except Exception:  # noqa: BLE001 - a failed job's config may be what made it fail
        family = model_cfg.get("family") if isinstance(model_cfg, dict) else None
        return {"model": family or None, "model_settings": None}


def list_runs(
    directory: Path | None = None, sort: str = "val_accuracy", top: int | None = None, dataset: str | None = None
) -> dict:
    """The runs under directory (default outputs/) as rows sorted by `sort`, at most `top` of them; only those
    trained on `dataset` (a key of DATASETS) when given."""
    if dataset is not None and dataset not in DATASETS:
        raise MnistcliError(
            f"unknown dataset '{dataset}'; valid datasets: {', '.join(DATASETS)}{did_you_mean(dataset, list(DATASETS))}"
        )
    if sort not in SORT_KEYS:
        raise MnistcliError(f"cannot sort by '{sort}'; valid keys: {', '.join(SORT_KEYS)}")
    if top is not None and top < 1:
        raise MnistcliError(f"--top must be at least 1, got {top}")
    root = Path(directory) if directory is not None else OUTPUTS
    if directory is not None and not root.is_dir():
        raise MnistcliError(f"{root} is not a folder")
    rows = [_row(run, root) for run in find_runs(root)]
    if dataset is not None:
        rows = [r for r in rows if dataset_of(r["dataset"], r["data"]) == dataset]
    descending = SORT_KEYS[sort]
    present = [r for r in rows if r[sort] is not None]
    absent = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: r[sort], reverse=descending)
    rows = present + absent
    total = len(rows)
    if top is not None:
        rows = rows[:top]
    return {"root": str(root), "sort": sort, "total": total, "runs": rows, "dataset": dataset,
            "dataset_name": DATASETS.get(dataset) if dataset else None}
