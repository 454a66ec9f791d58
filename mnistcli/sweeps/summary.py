"""The summary a finished sweep leaves behind: one row per job, best validation accuracy first, as JSON and CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from mnistcli.errors import MnistcliError
from mnistcli.models import registry
from mnistcli.runs.record import RunRecord, read_record
from mnistcli.runs.rundir import METRICS_FILE, write_json, write_text
from mnistcli.sweeps.folders import job_dirs, overrides

SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"


# Finished states first, then the ones that never produced numbers.
STATUS_ORDER = ("completed", "duplicate", "interrupted", "failed", "died")
# Override keys under search.* are knobs the model keys are derived from (conf/hparams_search): the summary
# shows the model settings they produced, so the units of a layer that does not exist never appear.
SEARCH_PREFIX = "search."


def _job_row(job_dir: Path, sweep_dir: Path) -> dict:
    record: RunRecord | None
    try:
        record = read_record(job_dir)
    except MnistcliError:  # not written yet, or unreadable: the job died before it could say anything
        record = None
    status = record.status if record else "died"
    if status == "running":  # the sweep is over, so a job still "running" was killed (OOM, timeout, signal)
        status = "died"
    r = record or RunRecord(config={})
    return {
        "job": str(job_dir.relative_to(sweep_dir)),
        "overrides": overrides(job_dir),
        "status": status,
        "val_accuracy": r.val_accuracy,
        "test_accuracy": r.test_accuracy,
        "params": r.params,
        "train_seconds": r.train_seconds,
        "epochs_run": r.epochs_run,
        "model": _effective_model(r.config.get("model") or r.model),
        "error": r.error or (None if record else f"no {METRICS_FILE}: the job never started training"),
        "duplicate_of": r.duplicate_of,
        "run_dir": str(job_dir),
    }


def _effective_model(model_cfg) -> dict | None:
    """The model settings that made a difference (registry.effective), None where the config cannot say."""
    try:
        return {f"model.{k}": v for k, v in registry.effective(model_cfg).items() if k != "family"}
    except Exception:  # noqa: BLE001 - a failed job's config may be what made it fail
        return None


def _varying_columns(rows: list[dict]) -> list[str]:
    """Override keys whose value differs between jobs, search knobs replaced by the model keys they set."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row["overrides"] if k not in keys]
    varying = [k for k in keys if len({row["overrides"].get(k) for row in rows}) > 1]
    columns = [k for k in varying if not k.startswith(SEARCH_PREFIX)]
    if len(columns) < len(varying):  # search knobs varied: show the model settings they produced
        models = [row["model"] for row in rows if row["model"] is not None]
        for key in dict.fromkeys(k for m in models for k in m):
            if key not in columns and len({repr(m.get(key)) for m in models}) > 1:
                columns.append(key)
    return columns


def _setting(row: dict, key: str):
    """A job's value for a column: what the model really used for a model key (None: it made no difference)."""
    if key.startswith("model.") and row["model"] is not None:
        return row["model"].get(key)
    return row["overrides"][key] if key in row["overrides"] else None


def _sort_metric(rows: list[dict]) -> str:
    """Jobs are ranked by validation accuracy; by test accuracy only when no job had a validation split."""
    return "val_accuracy" if any(r["val_accuracy"] is not None for r in rows) else "test_accuracy"


def summarize_sweep(sweep_dir: Path, *, write: bool = True) -> dict:
    """One row per job of a finished sweep, best first; written to summary.json and summary.csv in sweep_dir."""
    sweep_dir = Path(sweep_dir)
    rows = [_job_row(d, sweep_dir) for d in job_dirs(sweep_dir)]
    columns = _varying_columns(rows)
    for row in rows:
        row["settings"] = {k: _setting(row, k) for k in columns}
    metric = _sort_metric(rows)

    def rank(row: dict) -> tuple:
        # Ties go to the smaller model, never to the better test score: the test set only reports.
        status = STATUS_ORDER.index(row["status"]) if row["status"] in STATUS_ORDER else len(STATUS_ORDER)
        value = row[metric]
        return (value is None, -(value or 0.0), status, row["params"] if row["params"] is not None else float("inf"))

    rows.sort(key=rank)
    best = rows[0]["job"] if rows and rows[0][metric] is not None else None
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = {
        "sweep_dir": str(sweep_dir),
        "sorted_by": metric,
        "best": best,
        "columns": columns,
        "counts": counts,
        "jobs": rows,
    }
    optuna = sweep_dir / "optimization_results.yaml"
    if optuna.is_file():
        summary["optuna"] = yaml.safe_load(optuna.read_text(encoding="utf-8"))
    if write:
        write_json(sweep_dir / SUMMARY_JSON, summary)
        write_text(sweep_dir / SUMMARY_CSV, _csv(summary))
    return summary


def _csv(summary: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    fields = ["val_accuracy", "test_accuracy", "params", "train_seconds", "epochs_run", "status", "error", "duplicate_of"]
    writer.writerow(["job", *summary["columns"], *fields, "run_dir"])
    for row in summary["jobs"]:
        settings = [row["settings"][k] for k in summary["columns"]]
        writer.writerow([row["job"], *settings, *("" if row[f] is None else row[f] for f in fields), row["run_dir"]])
    return out.getvalue()
