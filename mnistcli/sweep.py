"""Sweeps (`mnistcli train -m`): each job's end, twin jobs, and the summary table a finished sweep leaves behind."""

from __future__ import annotations

import csv
import gc
import io
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback

from mnistcli.rundir import METRICS_FILE, write_json, write_text

SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
# Finished states first, then the ones that never produced numbers.
STATUS_ORDER = ("completed", "duplicate", "interrupted", "failed", "died")
# Override keys under search.* are knobs the model keys are derived from (conf/hparams_search): the summary
# shows the model settings they produced, so the units of a layer that does not exist never appear.
SEARCH_PREFIX = "search."
DERIVED_KEYS = ("model.hidden_units", "model.dropout", "model.activation")


class SweepCallback(Callback):
    """Hydra callback (conf/config.yaml, hydra.callbacks): prepares each sweep job's process, and tabulates the
    sweep where it was started once every job is over, whatever the launcher."""

    def on_job_start(self, config, **kwargs: Any) -> None:
        from hydra.types import RunMode

        if config.hydra.mode == RunMode.MULTIRUN:  # a single run's process ends with its job
            limit_malloc_arenas()

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        from mnistcli import report

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            summary = summarize_sweep(sweep_dir)
        except Exception as exc:  # the jobs' results are on disk; a summary bug must not hide them
            if os.environ.get("MNISTCLI_DEBUG"):
                raise
            from mnistcli.errors import one_line

            report.warning(f"no summary for {sweep_dir}: {type(exc).__name__}: {one_line(exc)}")
            return
        report.sweep_summary(summary)


# ---------------------------------------------------------------------------------------------- one job


# glibc's mallopt() parameter for the number of malloc arenas.
_M_ARENA_MAX = -8
# Measured (bench/sweep_memory.py): with glibc's default of 8 arenas per core, TensorFlow's worker threads
# fragment freed memory over many arenas and a process running 20 jobs kept growing; with 2 it stays flat.
MALLOC_ARENAS = 2


_arenas_limited = False


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas for a process that will run sweep jobs (best before TensorFlow starts threads)."""
    global _arenas_limited
    if _arenas_limited:
        return
    _arenas_limited = True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return  # macOS, musl: another allocator, nothing to tune
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass


def _jobs_share_this_process() -> bool:
    """Whether other jobs may be training in this process right now (joblib with threads)."""
    from hydra.core.hydra_config import HydraConfig

    launcher = HydraConfig.get().launcher
    return (
        launcher.get("prefer") == "threads"
        or launcher.get("require") == "sharedmem"
        or launcher.get("backend") == "threading"
    )


def _forget_traced_gradients() -> None:
    """Drop the gradient functions TensorFlow registered while tracing the finished job's training step.

    Keras's optimizer all-reduces gradients through tf.custom_gradient, and TensorFlow registers a
    "CustomGradient-<n>" gradient function for every graph traced through it and never removes it; the
    function keeps the whole traced graph alive (~7,000 Python objects and 20 graph functions a job here).
    It is looked up only while that graph is being traced, so once no job is training it is garbage.
    """
    ops = sys.modules.get("tensorflow.python.framework.ops")
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        return  # a TensorFlow whose internals differ: nothing we know how to free
    for name in [n for n in registry if isinstance(n, str) and n.startswith("CustomGradient-")]:
        del registry[name]


def free_memory() -> None:
    """Free what a finished job leaves in its process, so a process that runs many jobs does not grow."""
    if "keras" in sys.modules:  # a job that failed before building a model never imported it
        import keras

        if not _jobs_share_this_process():
            _forget_traced_gradients()
        keras.backend.clear_session()
    gc.collect()


def job_end(record: dict) -> float | None:
    """End a sweep job: one line on the terminal, memory freed, the objective for the sweeper returned.

    The objective is validation accuracy (Optuna maximises it; the test set is only reported). A failed job
    returns None, which Optuna records as a failed trial.
    """
    from hydra.core.hydra_config import HydraConfig

    from mnistcli import report

    report.sweep_job(HydraConfig.get().job.num, record)
    free_memory()
    if record.get("status") in ("completed", "duplicate") and record.get("val_accuracy") is not None:
        return float(record["val_accuracy"])
    return None


def effective_settings(cfg: dict) -> dict:
    """What decides a job's result: two jobs with equal settings train the same model to the same numbers."""
    model = {k: v for k, v in cfg["model"].items() if k != "name"}
    if not model.get("hidden_units"):  # softmax regression: no layer to activate or drop out
        model.pop("activation", None)
        model.pop("dropout", None)
    train = {k: v for k, v in cfg["train"].items() if k != "progress"}
    return {"model": model, "train": train, "data": cfg["data"], "seed": cfg.get("seed")}


def reuse_twin(cfg: dict, run_dir: Path) -> dict | None:
    """If a finished job of this sweep had the same effective settings, record its result here and return it.

    A search space whose knobs do not all apply (the units of a missing layer, the activation of softmax
    regression) proposes identical models; training one again would only cost time.
    """
    from hydra.core.hydra_config import HydraConfig

    from mnistcli.config import validate

    validate(cfg)  # a bad combination fails as itself, never as the twin of a good one
    sweep_dir = Path(HydraConfig.get().sweep.dir)
    wanted = effective_settings(cfg)
    for other in _job_dirs(sweep_dir):
        if other.resolve() == Path(run_dir).resolve():
            continue
        record = _read(other / METRICS_FILE)
        if not record or record.get("status") != "completed" or "config" not in record:
            continue
        if effective_settings(record["config"]) == wanted:
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            twin = {
                **record,
                "status": "duplicate",
                "duplicate_of": str(other.relative_to(sweep_dir)),
                "config": cfg,
                "started_at": now,
                "finished_at": now,
                "train_seconds": 0.0,
            }
            write_json(Path(run_dir) / METRICS_FILE, twin)
            return twin
    return None


# ---------------------------------------------------------------------------------------------- summary


def _read(path: Path) -> dict | None:
    """A JSON file's content, or None while it is missing or unreadable (the summary shows such a job as died)."""
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _job_dirs(sweep_dir: Path) -> list[Path]:
    """The job folders of a sweep (each holds Hydra's .hydra/), in job order."""
    dirs = [p.parent for p in Path(sweep_dir).rglob(".hydra") if p.is_dir() and p.parent != Path(sweep_dir)]
    return sorted(dirs, key=lambda d: [int(part) if part.isdigit() else part for part in d.relative_to(sweep_dir).parts])


def _overrides(job_dir: Path) -> dict[str, str]:
    """The job's command-line overrides (.hydra/overrides.yaml), key -> value text."""
    try:
        items = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError):
        return {}
    pairs = (str(item).split("=", 1) for item in items)
    return {p[0]: p[1] if len(p) > 1 else "" for p in pairs}


def _job_row(job_dir: Path, sweep_dir: Path) -> dict:
    record = _read(job_dir / METRICS_FILE)
    status = (record or {}).get("status", "died")
    if status == "running":  # the sweep is over, so a job still "running" was killed (OOM, timeout, signal)
        status = "died"
    record = record or {}
    model = (record.get("config") or {}).get("model") or record.get("model") or {}
    return {
        "job": str(job_dir.relative_to(sweep_dir)),
        "overrides": _overrides(job_dir),
        "status": status,
        "val_accuracy": record.get("val_accuracy"),
        "test_accuracy": record.get("test_accuracy"),
        "params": record.get("params"),
        "train_seconds": record.get("train_seconds"),
        "epochs_run": record.get("epochs_run"),
        "model.hidden_units": model.get("hidden_units"),
        "model.dropout": model.get("dropout"),
        "model.activation": model.get("activation"),
        "error": record.get("error") or (None if record else f"no {METRICS_FILE}: the job never started training"),
        "duplicate_of": record.get("duplicate_of"),
        "run_dir": str(job_dir),
    }


def _varying_columns(rows: list[dict]) -> list[str]:
    """Override keys whose value differs between jobs, search knobs replaced by the model keys they set."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row["overrides"] if k not in keys]
    varying = [k for k in keys if len({row["overrides"].get(k) for row in rows}) > 1]
    columns = [k for k in varying if not k.startswith(SEARCH_PREFIX)]
    if len(columns) < len(varying):
        for key in DERIVED_KEYS:
            values = {repr(row[key]) for row in rows if row["status"] != "died"}
            if key not in columns and len(values) > 1:
                columns.append(key)
    return columns


def _sort_metric(rows: list[dict]) -> str:
    """Jobs are ranked by validation accuracy; by test accuracy only when no job had a validation split."""
    return "val_accuracy" if any(r["val_accuracy"] is not None for r in rows) else "test_accuracy"


def summarize_sweep(sweep_dir: Path, *, write: bool = True) -> dict:
    """One row per job of a finished sweep, best first; written to summary.json and summary.csv in sweep_dir."""
    sweep_dir = Path(sweep_dir)
    rows = [_job_row(d, sweep_dir) for d in _job_dirs(sweep_dir)]
    columns = _varying_columns(rows)
    for row in rows:
        row["settings"] = {k: row["overrides"][k] if k in row["overrides"] else row.get(k) for k in columns}
        if row["model.hidden_units"] == []:  # no hidden layer: an activation or dropout setting did nothing
            row["settings"].update({k: None for k in ("model.activation", "model.dropout") if k in columns})
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
