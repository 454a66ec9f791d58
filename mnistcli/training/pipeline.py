"""One training run, `train(cfg, run_dir)`: load the data, build, compile and fit the model, fill its run folder."""

from __future__ import annotations

import platform
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path

import mnistcli
from mnistcli import report
from mnistcli.config.schema import TrainSettings
from mnistcli.config.validate import validate
from mnistcli.data.dataset import Dataset, load_dataset
from mnistcli.data.pipeline import steps_per_epoch
from mnistcli.errors import MnistcliError, one_line
from mnistcli.runs.record import RunRecord, now, read_record, write_record
from mnistcli.runs.gitinfo import git_state
from mnistcli.runs.rundir import LITERT_FILE, METRICS_FILE, MODEL_FILE, atomic_write, shown
from mnistcli.runs.runlog import RunLog, run_log
from mnistcli.tracking.loggers import Loggers


def train(cfg: dict, run_dir: Path, *, resume: bool = False) -> RunRecord:
    """Train the model `cfg` describes and write model, metrics, history and plots into run_dir.

    With `resume`, continue from run_dir's checkpoint instead of starting afresh. Returns the run's record,
    as written to metrics.json.
    """
    from mnistcli.training.interrupts import run_lock

    settings = validate(cfg).train
    loggers = Loggers(cfg)  # a logger that cannot work (MLflow not installed) is one line, before anything heavy
    with run_lock(run_dir), run_log(run_dir) as log:
        return _train(cfg, settings, Path(run_dir), resume, log, loggers)


def _train(cfg: dict, settings: TrainSettings, run_dir: Path, resume: bool, log: RunLog, loggers: Loggers) -> RunRecord:
    from mnistcli.report.painter import Painter

    painter = Painter()  # first: its process imports matplotlib while this one imports TensorFlow
    try:
        return _train_with(painter, cfg, settings, run_dir, resume, log, loggers)
    finally:
        painter.close()


def load_data(cfg: dict) -> Dataset:
    return load_dataset(**cfg["data"], seed=cfg["seed"])


def _train_with(
    painter, cfg: dict, settings: TrainSettings, run_dir: Path, resume: bool, log: RunLog, loggers: Loggers
) -> RunRecord:
    """Something is on screen all along: a spinner while the data loads (~0.5 s) and while TensorFlow does
    (2-16 s), the run's header as soon as nothing the user gave can still be refused (bad input is one line)."""
    from mnistcli.runtime.keras_import import import_keras

    with report.busy("loading the data"):
        ds = load_data(cfg)
    if ds.warning:  # after the spinner: a panel printed under it would leave the spinner's line behind
        report.data_warning(ds.warning)
    data_info = {"name": ds.name, "source": ds.source, **ds.sizes(), "files": ds.files}
    if not resume:  # a resume is checked against its checkpoint first, which needs TensorFlow
        _announce(cfg, run_dir, data_info)
    with report.busy(None if "keras" in sys.modules else "loading TensorFlow"):
        keras = import_keras()  # before any module that imports Keras itself, to keep its start-up quiet

        from mnistcli.evaluation.scoring import score_model, validation_logs
        from mnistcli.inference.export import export_litert
        from mnistcli.models.registry import build_model
        from mnistcli.training import checkpoint
        from mnistcli.training.fit import compile_model, fit_model

    keras.utils.set_random_seed(cfg["seed"])
    steps = steps_per_epoch(len(ds.y_train), settings.batch_size)
    resumed = None
    if resume:
        from mnistcli.training.resume import resumed_record

        with report.busy("loading the checkpoint"):
            resumed = checkpoint.load(run_dir)
        model = resumed.model
        record = resumed_record(run_dir, cfg, data_info, versions(), resumed.epochs_done)
        _announce(cfg, run_dir, data_info, resumed_after=resumed.epochs_done)
    else:
        model = build_model(cfg["model"], image_size=cfg["data"]["image_size"], num_classes=len(ds.classes))
        compile_model(model, settings, steps)
        record = RunRecord.started(
            cfg, classes=ds.classes, data=data_info, params=model.count_params(), versions=versions(), git=git_state()
        )
    # Before the run's first record: an MLflow store out of reach is one line and leaves no run folder behind.
    record = loggers.start(run_dir, record, resumed=resume)
    start = time.perf_counter()
    before = record.train_seconds or 0.0  # seconds spent before an interruption
    write_record(run_dir, record)
    log.keep()  # the folder is this run's now: its log is written from here on, with what was said so far
    export = None
    try:
        report.model_ready(record.params, steps)
        history = fit_model(
            model, ds, settings, seed=cfg["seed"], run_dir=run_dir, resumed=resumed, callbacks=loggers.callbacks()
        )
        train_seconds = before + time.perf_counter() - start
        # predict answers in a fraction of a second from this, with no TensorFlow import. The export
        # (~0.2 s) runs in a thread beside the scoring and saving, whose TensorFlow kernels and file
        # writes leave the GIL free for it; the plots are drawn meanwhile by the painter's process.
        export = ThreadPoolExecutor(1).submit(atomic_write, run_dir / LITERT_FILE, partial(export_litert, model))

        scores = score_model(model, ds.x_test, ds.y_test, ds.classes)
        # The plots' titles name the model, the data and the test accuracy, so they wait for the scores.
        meta = _plot_meta(record, ds, scores, history, settings)
        painter.draw("learning_curves", history, run_dir / "learning_curves.png", meta)
        painter.draw("confusion_matrix", scores["confusion_matrix"], ds.classes, run_dir / "confusion_matrix.png", meta)
        val = validation_logs(model, ds.x_val, ds.y_val) if len(ds.y_val) else None
        record = record.replace(
            status="completed",
            finished_at=now(),
            resume_with=None,
            epochs_run=len(history["loss"]),
            train_seconds=round(train_seconds, 3),
            val_accuracy=val["val_accuracy"] if val else None,
            **scores,
        )
        atomic_write(run_dir / MODEL_FILE, lambda tmp: model.save(tmp))
        painter.wait()
        export.result()
        for warning in loggers.finish(record, history):  # history.csv, TensorBoard's confusion matrix, MLflow's
            report.warning(warning)
        # metrics.json last: a run that says "completed" has every artifact in place.
        write_record(run_dir, record)
    except KeyboardInterrupt as exc:
        from mnistcli.training.resume import mark_interrupted

        record = record.replace(train_seconds=round(before + time.perf_counter() - start, 3))
        _abandon(export, run_dir)
        loggers.abort(interrupted=True)
        interrupted = mark_interrupted(run_dir, record, exc)
        report.run_failed(str(interrupted))
        raise interrupted from None
    except Exception as exc:
        _abandon(export, run_dir)
        loggers.abort(interrupted=False)
        with suppress(MnistcliError, OSError):  # a full disk must not hide the error that stopped the run
            record_failure(run_dir, cfg, exc)
        if not (isinstance(exc, MnistcliError) and checkpoint.exists(run_dir)):
            raise
        # e.g. a full disk: the epochs already trained are safe in the checkpoint.
        raise MnistcliError(f"{exc}; then resume with: mnistcli train resume={shown(run_dir)}") from None
    # A completed run needs no checkpoint: its model.keras holds the final weights and optimizer state.
    shutil.rmtree(run_dir / checkpoint.CHECKPOINT_DIR, ignore_errors=True)
    report.run_finished(record.to_dict())
    return record


def _announce(cfg: dict, run_dir: Path, data_info: dict, resumed_after: int | None = None) -> None:
    """The run's header and where its data came from, on screen and in its log."""
    report.run_header(cfg, str(run_dir), resumed_after=resumed_after)
    report.data_ready(data_info, cfg["data"]["image_size"])


def _plot_meta(record: RunRecord, ds: Dataset, scores: dict, history: dict, settings: TrainSettings) -> dict:
    """What the plots say of the run beside their curves: model, data, test accuracy, the epoch whose weights it kept."""
    epochs = len(history["loss"])
    kept = epochs
    if settings.early_stopping_patience and history.get("val_accuracy"):
        # Early stopping keeps the best validation epoch's weights, whether or not it stopped early.
        kept = max(range(epochs), key=lambda i: (history["val_accuracy"][i], -i)) + 1
    return {
        "model": record.name, "description": record.model.get("description"), "data": ds.name, "source": ds.source,
        "test_accuracy": scores["test_accuracy"], "kept_epoch": kept,
    }


def _abandon(export, run_dir: Path) -> None:
    """A run that did not complete gets no LiteRT model: wait for a running export, then remove its file."""
    if export is not None:
        with suppress(Exception):
            export.result()
        (run_dir / LITERT_FILE).unlink(missing_ok=True)


def record_failure(run_dir: Path, cfg: dict, exc: BaseException) -> RunRecord:
    """Mark a run (or sweep job) failed in its own metrics.json, so `runs` and the sweep's summary can show why."""
    path = run_dir / METRICS_FILE
    previous = read_record(run_dir) if path.exists() else None
    record = (previous or RunRecord.failed_early(cfg, one_line(exc))).replace(status="failed", error=one_line(exc))
    with run_log(run_dir) as log:
        write_record(run_dir, record)
        log.keep()
        if not (previous and previous.status == "failed" and previous.error == record.error):  # once in the log
            report.run_failed(f"failed: {record.error}")
    return record


def versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "mnistcli": mnistcli.__version__,
    }

