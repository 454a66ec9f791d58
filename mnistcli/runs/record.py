"""The run record, metrics.json: one typed record with a schema version, read and written by this module alone.

`completed` means every artifact of the run is in place: the record is written last. Records written before
the schema had a version (mnistcli 0.1: schema 1, a model config without `family`) are read as schema 2.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mnistcli.errors import MnistcliError
from mnistcli.models import registry
from mnistcli.runs.rundir import METRICS_FILE, read_json, write_json

SCHEMA_VERSION = 2
# died: ended by something outside the run (a Slurm time limit, scancel) before it could write its outcome.
STATUSES = ("running", "completed", "interrupted", "failed", "duplicate", "died")
# Left out of metrics.json while unset: they describe something that did not happen (yet).
_ONLY_WHEN_SET = (
    "finished_at", "error", "interrupted_at", "resume_with", "duplicate_of", "pid", "host", "git", "tracking"
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    """What a run folder says about itself: its config, data, model and, once trained, its scores."""

    config: dict
    status: str = "running"
    schema_version: int = SCHEMA_VERSION
    started_at: str | None = None
    finished_at: str | None = None
    classes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # name, source, split sizes, files read and their SHA-256
    model: dict = field(default_factory=dict)  # registry.summary: family, name, description, arguments
    input: dict = field(default_factory=dict)  # what the model takes: image_size, value range, ink
    params: int | None = None
    seed: int | None = None
    versions: dict = field(default_factory=dict)
    pid: int | None = None  # the training process, so `mnistcli runs` can tell a live run from a dead one
    host: str | None = None
    epochs_run: int | None = None
    train_seconds: float | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    confusion_matrix: list | None = None  # rows true class, columns predicted
    per_class: list | None = None
    top_confusions: list | None = None
    error: str | None = None
    interrupted_at: str | None = None
    resume_with: str | None = None
    resumed: list = field(default_factory=list)  # one entry per resume: when, after which epoch, versions
    duplicate_of: str | None = None  # a sweep job with a finished twin's settings
    git: dict | None = None  # the working directory's commit and whether it was dirty (runs/gitinfo.py)
    tracking: dict | None = None  # where loggers recorded the run elsewhere (the MLflow run's id and store)

    @classmethod
    def started(
        cls, cfg: dict, *, classes: list[str], data: dict, params: int, versions: dict, git: dict | None = None
    ) -> "RunRecord":
        """The record of a run about to train."""
        return cls(
            config=cfg, started_at=now(), classes=list(classes), data=data, model=registry.summary(cfg["model"]),
            input={"image_size": cfg["data"]["image_size"], "range": [0.0, 1.0], "ink": "bright"},
            params=int(params), seed=cfg["seed"], versions=versions, pid=os.getpid(), host=platform.node(), git=git,
        )

    @classmethod
    def failed_early(cls, cfg: dict, error: str) -> "RunRecord":
        """A job that failed before training (a bad value in a sweep): its config, as far as it goes, and why."""
        model = cfg.get("model") if isinstance(cfg.get("model"), dict) else {}
        return cls(config=cfg, status="failed", model=dict(model), error=error)

    @classmethod
    def from_dict(cls, data: dict) -> "RunRecord":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("config", {})
        values.setdefault("schema_version", 1)  # mnistcli 0.1 wrote no version
        record = cls(**values)
        if record.schema_version < 2:  # schema 1: the model config had a name and MLP keys, no family
            model = record.config.get("model")
            if isinstance(model, dict):
                record.config = dict(record.config, model=registry.upgrade(model))
            if isinstance(record.model, dict):
                record.model = registry.upgrade(record.model)
            record.schema_version = SCHEMA_VERSION
        return record

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for key in _ONLY_WHEN_SET:
            if data[key] is None:
                del data[key]
        return data

    @property
    def name(self) -> str:
        """The model's short name (hidden128, softmax...), or '?' for a record too damaged to say."""
        return str((self.model or {}).get("name") or "?")

    def replace(self, **changes: Any) -> "RunRecord":
        return dataclasses.replace(self, **changes)


def read_record(run_dir: Path) -> RunRecord:
    """The run's record; MnistcliError when it is missing, unreadable or not an mnistcli record."""
    path = Path(run_dir) / METRICS_FILE
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise MnistcliError(f"{path} has no config - not written by this mnistcli")
    return RunRecord.from_dict(data)


def write_record(run_dir: Path, record: RunRecord) -> None:
    """The one writer of metrics.json (atomically: a crash never leaves half a record)."""
    if record.status not in STATUSES:
        raise ValueError(f"unknown run status {record.status!r}")
    write_json(Path(run_dir) / METRICS_FILE, record.to_dict())
