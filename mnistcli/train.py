"""`mnistcli train`: the Hydra task that loads data, builds, compiles and fits a model and fills its run folder."""

from __future__ import annotations

import csv
import io
import os
import platform
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is not for users

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import mnistcli  # noqa: E402
from mnistcli import report, sweep  # noqa: E402
from mnistcli.config import TrainSettings, validate  # noqa: E402
from mnistcli.errors import MnistcliError  # noqa: E402
from mnistcli.rundir import METRICS_FILE, MODEL_FILE, atomic_write, write_json, write_text  # noqa: E402


def compile_model(model, settings: TrainSettings) -> None:
    import keras

    optimizer = keras.optimizers.get({"class_name": settings.optimizer, "config": {"learning_rate": settings.learning_rate}})
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def fit_model(model, ds, settings: TrainSettings) -> dict[str, list[float]]:
    """Fit on the training split, validating on the validation split; returns Keras's history."""
    import keras

    from mnistcli.progress import RichProgress

    has_val = len(ds.y_val) > 0
    callbacks = []
    if settings.early_stopping_patience and has_val:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy", patience=settings.early_stopping_patience, restore_best_weights=True
            )
        )
    if settings.progress:
        steps = -(-len(ds.y_train) // settings.batch_size)
        callbacks.append(RichProgress(settings.epochs, steps))
    history = model.fit(
        ds.x_train,
        ds.y_train,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        validation_data=(ds.x_val, ds.y_val) if has_val else None,
        callbacks=callbacks,
        verbose=0,
        shuffle=True,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def _history_csv(history: dict[str, list[float]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    keys = list(history)
    writer.writerow(["epoch", *keys])
    for i in range(len(history["loss"])):
        writer.writerow([i + 1, *(f"{history[k][i]:.6f}" for k in keys)])
    return out.getvalue()


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "mnistcli": mnistcli.__version__,
    }


def train(cfg: dict, run_dir: Path) -> dict:
    """Train the model `cfg` describes and write model, metrics, history and plots into run_dir.

    Returns the metrics written to metrics.json.
    """
    validate(cfg)
    settings = TrainSettings(**cfg["train"])
    ds = load_data(cfg)

    import keras

    from mnistcli.evaluate import score_model
    from mnistcli.model import build_model
    from mnistcli import plots

    keras.utils.set_random_seed(cfg["seed"])
    model = build_model(**cfg["model"], image_size=cfg["data"]["image_size"], num_classes=len(ds.classes))
    compile_model(model, settings)
    data_info = {"name": ds.name, "source": ds.source, **ds.sizes(), "files": ds.files}
    record = {
        "status": "running",
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": cfg,
        "classes": ds.classes,
        "data": data_info,
        "model": {k: cfg["model"][k] for k in ("name", "hidden_units", "activation", "dropout")},
        "input": {"image_size": cfg["data"]["image_size"], "range": [0.0, 1.0], "ink": "bright"},
        "params": int(model.count_params()),
        "seed": cfg["seed"],
        "versions": _versions(),
        # So `mnistcli runs` can tell a run still training from one whose process died.
        "pid": os.getpid(),
        "host": platform.node(),
    }
    write_json(run_dir / METRICS_FILE, record)
    report.run_header(str(run_dir), cfg, data_info, record["params"])

    start = time.perf_counter()
    history = fit_model(model, ds, settings)
    train_seconds = time.perf_counter() - start

    scores = score_model(model, ds.x_test, ds.y_test, ds.classes)
    val = score_model(model, ds.x_val, ds.y_val, ds.classes) if len(ds.y_val) else None
    record.update(
        status="completed",
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        epochs_run=len(history["loss"]),
        train_seconds=round(train_seconds, 3),
        val_accuracy=val["test_accuracy"] if val else None,
        **scores,
    )
    atomic_write(run_dir / MODEL_FILE, lambda tmp: model.save(tmp))
    write_text(run_dir / "history.csv", _history_csv(history))
    plots.learning_curves(history, run_dir / "learning_curves.png")
    plots.confusion_matrix(scores["confusion_matrix"], ds.classes, run_dir / "confusion_matrix.png")
    # metrics.json last: a run that says "completed" has every artifact in place.
    write_json(run_dir / METRICS_FILE, record)
    return record


def load_data(cfg: dict):
    from mnistcli.data import load_dataset

    return load_dataset(**cfg["data"], seed=cfg["seed"])


def _discard(run_dir: Path) -> None:
    """Remove a run folder that failed before any of its own artifacts: bad input leaves nothing behind."""
    if not (run_dir / METRICS_FILE).exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        for parent in run_dir.parents:
            if parent.name in ("outputs", "") or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()


def _record_failure(run_dir: Path, cfg: dict, exc: BaseException) -> dict:
    """Mark a sweep job failed in its own metrics.json, so the sweep's summary can show it."""
    from mnistcli.errors import one_line
    from mnistcli.rundir import read_json

    path = run_dir / METRICS_FILE
    record = read_json(path) if path.exists() else {"config": cfg, "model": cfg.get("model")}
    record.update(status="failed", error=one_line(exc))
    write_json(path, record)
    return record


_failures: list[BaseException] = []


@hydra.main(version_base="1.3", config_path="pkg://mnistcli.conf", config_name="config")
def hydra_main(cfg: DictConfig) -> dict | float | None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    plain = OmegaConf.to_container(cfg, resolve=True)
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        # In a sweep, a job with the same settings as a finished one reuses its result (sweep.py).
        metrics = (multirun and sweep.reuse_twin(plain, run_dir)) or train(plain, run_dir)
    except Exception as exc:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            # One bad job must not stop a sweep: record it and let the launcher go on.
            from mnistcli.errors import one_line

            report.error(f"job {HydraConfig.get().job.num} failed: {one_line(exc)}")
            return sweep.job_end(_record_failure(run_dir, plain, exc))
        if (run_dir / METRICS_FILE).exists():
            _record_failure(run_dir, plain, exc)
        else:
            _discard(run_dir)
        # Raised by run() once Hydra has returned: raising through Hydra adds its own stderr line.
        _failures.append(exc)
        return None
    if multirun:  # one line per job, the table at the end; returns the objective a sweeper maximises
        return sweep.job_end(metrics)
    report.metrics_report(metrics, title=f"{plain['model']['name']}  {run_dir}")
    return metrics


def run(args: list[str]) -> None:
    """Hand the command line after `mnistcli train` to Hydra, with errors raised rather than printed."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # the CLI turns Hydra's errors into one line itself
    sys.argv = ["mnistcli train", *args]
    _failures.clear()
    hydra_main()
    if _failures:
        raise _failures.pop()
