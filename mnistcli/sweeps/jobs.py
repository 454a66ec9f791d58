"""One sweep job's end (a line, memory freed, the sweeper's objective), and reusing a finished twin's result."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from mnistcli.models import registry
from mnistcli.runs.record import RunRecord, now, read_record, write_record
from mnistcli.runtime.tf_workarounds import forget_traced_gradients
from mnistcli.sweeps.folders import job_dirs


def _jobs_share_this_process() -> bool:
    """Whether other jobs may be training in this process right now (joblib with threads)."""
    from hydra.core.hydra_config import HydraConfig

    launcher = HydraConfig.get().launcher
    return (
        launcher.get("prefer") == "threads"
        or launcher.get("require") == "sharedmem"
        or launcher.get("backend") == "threading"
    )


def free_memory() -> None:
    """Free what a finished job leaves in its process, so a process that runs many jobs does not grow."""
    if "keras" in sys.modules:  # a job that failed before building a model never imported it
        import keras

        if not _jobs_share_this_process():
            forget_traced_gradients()
        keras.backend.clear_session()
    gc.collect()


def job_end(num: int, record: RunRecord) -> float | None:
    """End a sweep job: one line on the terminal, memory freed, the objective for the sweeper returned.

    The objective is validation accuracy (Optuna maximises it; the test set is only reported). A failed job
    returns None, which Optuna records as a failed trial.
    """
    from mnistcli import report

    report.sweep_job(num, record.to_dict())
    free_memory()
    if record.status in ("completed", "duplicate") and record.val_accuracy is not None:
        return float(record.val_accuracy)
    return None


def effective_settings(cfg: dict) -> dict:
    """What decides a job's result: two jobs with equal settings train the same model to the same numbers."""
    train = {k: v for k, v in cfg["train"].items() if k != "progress"}
    return {"model": registry.effective(cfg["model"]), "train": train, "data": cfg["data"], "seed": cfg.get("seed")}


def reuse_twin(cfg: dict, run_dir: Path) -> RunRecord | None:
    """If a finished job of this sweep had the same effective settings, record its result here and return it.

    A search space whose knobs do not all apply (the units of a missing layer, the activation of softmax
    regression) proposes identical models; training one again would only cost time.
    """
    from hydra.core.hydra_config import HydraConfig

    from mnistcli.config.validate import validate
    from mnistcli.errors import MnistcliError

    validate(cfg)  # a bad combination fails as itself, never as the twin of a good one
    sweep_dir = Path(HydraConfig.get().sweep.dir)
    wanted = effective_settings(cfg)
    for other in job_dirs(sweep_dir):
        if other.resolve() == Path(run_dir).resolve():
            continue
        try:
            record = read_record(other)
            if record.status != "completed" or effective_settings(record.config) != wanted:
                continue
        except (MnistcliError, KeyError, TypeError, ValueError):  # still running, or failed before training
            continue
        started = now()
        twin = record.replace(
            status="duplicate", duplicate_of=str(other.relative_to(sweep_dir)), config=cfg, tracking=None,
            started_at=started, finished_at=started, train_seconds=0.0,
        )
        write_record(run_dir, twin)
        from mnistcli.tracking.loggers import Loggers

        tracked = Loggers(cfg).record_twin(run_dir, twin)  # an MLflow child run for this job too
        if tracked is not twin:  # the same record back when nothing tracks runs
            write_record(run_dir, tracked)
        return tracked
    return None
