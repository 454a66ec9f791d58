"""`mnistcli train`: the Hydra task that loads data, builds, compiles and fits a model and fills its run folder."""

from __future__ import annotations

import csv
import io
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is not for users

import hydra  # noqa: E402
import numpy as np  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import mnistcli  # noqa: E402
from mnistcli import report, sweep  # noqa: E402
from mnistcli.config import TrainSettings, check_choices, steps_per_epoch, validate  # noqa: E402
from mnistcli.errors import MnistcliError  # noqa: E402
from mnistcli.inference import export_litert  # noqa: E402
from mnistcli.keras_import import import_keras  # noqa: E402
from mnistcli.rundir import LITERT_FILE, METRICS_FILE, MODEL_FILE, atomic_write, write_json, write_text  # noqa: E402


def compile_model(model, settings: TrainSettings, steps: int) -> None:
    keras = import_keras()

    # Keras runs whole calls of steps_per_execution steps, so an epoch trains a whole number of calls.
    per_call = min(settings.steps_per_execution, steps)
    trained_per_epoch = -(-steps // per_call) * per_call
    rate = settings.learning_rate
    if settings.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=settings.epochs * trained_per_epoch)
    optimizer = keras.optimizers.get({"class_name": settings.optimizer, "config": {"learning_rate": rate}})
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=settings.jit_compile,
        steps_per_execution=per_call,
    )


def fit_model(model, ds, settings: TrainSettings, *, seed: int, run_dir: Path, resumed=None) -> dict[str, list[float]]:
    """Fit on the training split, validating on the validation split; returns the history of every epoch.

    Saves a checkpoint into run_dir after each epoch, and continues from `resumed` (a checkpoint.Checkpoint)
    when given: the data order of each epoch depends only on (seed, epoch), so a resumed run ends where an
    uninterrupted one would.
    """
    from mnistcli.checkpoint import Checkpointer, ResumableEarlyStopping, epoch_batches
    from mnistcli.evaluate import validation_logs
    from mnistcli.progress import RichProgress

    keras = import_keras()
    first = resumed.epochs_done if resumed else 0
    history = dict(resumed.history) if resumed else {}
    has_val = len(ds.y_val) > 0
    clock: dict[str, float] = {}
    # First, so the epoch's seconds and validation scores are in the logs that early stopping, the checkpoint
    # (history.csv, bench/train_speed.py) and the progress display read.
    callbacks = [
        keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: clock.update(start=time.perf_counter()),
            on_epoch_end=lambda epoch, logs: logs.update(
                validation_logs(model, ds.x_val, ds.y_val) if has_val else {},
                seconds=time.perf_counter() - clock["start"],
            ),
        )
    ]
    stopper = None
    if settings.early_stopping_patience and has_val:
        stopper = ResumableEarlyStopping(
            settings.early_stopping_patience, resumed and resumed.early_stopping, resumed and resumed.best_weights
        )
        callbacks.append(stopper)
    checkpointer = Checkpointer(run_dir, history, stopper)
    callbacks.append(checkpointer)  # after early stopping: it saves its verdict
    display = None
    if settings.progress:
        display = RichProgress(settings.epochs, steps_per_epoch(len(ds.y_train), settings.batch_size))
        callbacks.append(display)
    stopped = bool(resumed and (resumed.early_stopping or {}).get("stopped_epoch"))
    if first >= settings.epochs or stopped:
        # Interrupted after its last epoch: nothing left to fit, but early stopping still picks the best weights.
        if resumed and resumed.best_weights is not None:
            model.set_weights(resumed.best_weights)
        return history
    batches, steps = epoch_batches(ds.x_train, ds.y_train, settings.batch_size, seed, int(model.optimizer.iterations))
    _build_training_state(model, ds.x_train.shape[1:])
    try:
        model.fit(
            batches,
            steps_per_epoch=steps,
            initial_epoch=first,
            epochs=settings.epochs,
            callbacks=callbacks,
            verbose=0,
            shuffle=False,  # the batches come shuffled, by epoch_order
        )
    except BaseException:
        checkpointer.flush()  # stopped mid-epoch: keep the last completed epoch, not half of this one
        raise
    finally:
        if display is not None:
            display.progress.stop()  # an interrupted fit skips on_train_end: the live display must end anyway
    return history


def _build_training_state(model, image_shape: tuple[int, ...]) -> None:
    """Create the optimizer's, loss's and metrics' variables before fit traces its training step.

    Keras creates them during the first call of that step, and a tf.function that creates variables is
    traced twice. Building them first, symbolically (as Keras itself does under a distribution strategy),
    halves the first epoch's tracing: ~0.2 s for softmax, ~0.3 s for hidden128. A Keras without this
    private method just traces twice, as before.
    """
    build = getattr(model, "_symbolic_build", None)
    if build is not None:
        build(data_batch=(np.zeros((1, *image_shape), np.float32), np.zeros((1,), np.int64), None))


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


def train(cfg: dict, run_dir: Path, *, resume: bool = False) -> dict:
    """Train the model `cfg` describes and write model, metrics, history and plots into run_dir.

    With `resume`, continue from run_dir's checkpoint instead of starting afresh. Returns the metrics
    written to metrics.json.
    """
    from mnistcli.interrupts import run_lock

    validate(cfg)
    settings = TrainSettings(**cfg["train"])
    with run_lock(run_dir):
        return _train(cfg, settings, Path(run_dir), resume)


def _train(cfg: dict, settings: TrainSettings, run_dir: Path, resume: bool) -> dict:
    from mnistcli.painter import Painter

    painter = Painter()  # first: its process imports matplotlib while this one imports TensorFlow
    try:
        return _train_with(painter, cfg, settings, run_dir, resume)
    finally:
        painter.close()


def _train_with(painter, cfg: dict, settings: TrainSettings, run_dir: Path, resume: bool) -> dict:
    ds = load_data(cfg)

    keras = import_keras()  # before any module that imports Keras itself, to keep its start-up quiet

    from mnistcli import checkpoint
    from mnistcli.evaluate import score_model, validation_logs
    from mnistcli.model import build_model

    keras.utils.set_random_seed(cfg["seed"])
    data_info = {"name": ds.name, "source": ds.source, **ds.sizes(), "files": ds.files}
    resumed = None
    if resume:
        from mnistcli.resume import resumed_record

        resumed = checkpoint.load(run_dir)
        model = resumed.model
        record = resumed_record(run_dir, cfg, data_info, _versions(), resumed.epochs_done)
    else:
        model = build_model(**cfg["model"], image_size=cfg["data"]["image_size"], num_classes=len(ds.classes))
        compile_model(model, settings, steps_per_epoch(len(ds.y_train), settings.batch_size))
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
        }
    # So `mnistcli runs` can tell a run still training from one whose process died.
    record.update(pid=os.getpid(), host=platform.node())
    start = time.perf_counter()
    before = record.get("train_seconds") or 0.0  # seconds spent before an interruption
    write_json(run_dir / METRICS_FILE, record)
    export = None
    try:
        report.run_header(str(run_dir), cfg, data_info, record["params"])
        history = fit_model(model, ds, settings, seed=cfg["seed"], run_dir=run_dir, resumed=resumed)
        train_seconds = before + time.perf_counter() - start
        # predict answers in a fraction of a second from this, with no TensorFlow import. The export
        # (~0.2 s) runs in a thread beside the scoring and saving, whose TensorFlow kernels and file
        # writes leave the GIL free for it; the plots are drawn meanwhile by the painter's process.
        export = ThreadPoolExecutor(1).submit(atomic_write, run_dir / LITERT_FILE, partial(export_litert, model))
        painter.draw("learning_curves", history, run_dir / "learning_curves.png")

        scores = score_model(model, ds.x_test, ds.y_test, ds.classes)
        painter.draw("confusion_matrix", scores["confusion_matrix"], ds.classes, run_dir / "confusion_matrix.png")
        val = validation_logs(model, ds.x_val, ds.y_val) if len(ds.y_val) else None
        record.pop("resume_with", None)
        record.update(
            status="completed",
            finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            epochs_run=len(history["loss"]),
            train_seconds=round(train_seconds, 3),
            val_accuracy=val["val_accuracy"] if val else None,
            **scores,
        )
        atomic_write(run_dir / MODEL_FILE, lambda tmp: model.save(tmp))
        write_text(run_dir / "history.csv", _history_csv(history))
        painter.wait()
        export.result()
        # metrics.json last: a run that says "completed" has every artifact in place.
        write_json(run_dir / METRICS_FILE, record)
    except KeyboardInterrupt as exc:
        from mnistcli.resume import mark_interrupted

        record["train_seconds"] = round(before + time.perf_counter() - start, 3)
        _abandon(export, run_dir)
        raise mark_interrupted(run_dir, record, exc) from None
    except Exception as exc:
        _abandon(export, run_dir)
        with suppress(MnistcliError, OSError):  # a full disk must not hide the error that stopped the run
            _record_failure(run_dir, cfg, exc)
        if not (isinstance(exc, MnistcliError) and checkpoint.exists(run_dir)):
            raise
        from mnistcli.resume import shown

        # e.g. a full disk: the epochs already trained are safe in the checkpoint.
        raise MnistcliError(f"{exc}; then resume with: mnistcli train resume={shown(run_dir)}") from None
    # A completed run needs no checkpoint: its model.keras holds the final weights and optimizer state.
    shutil.rmtree(run_dir / checkpoint.CHECKPOINT_DIR, ignore_errors=True)
    return record


def _abandon(export, run_dir: Path) -> None:
    """A run that did not complete gets no LiteRT model: wait for a running export, then remove its file."""
    if export is not None:
        with suppress(Exception):
            export.result()
        (run_dir / LITERT_FILE).unlink(missing_ok=True)


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
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    plain = OmegaConf.to_container(cfg, resolve=False)  # what a failure record shows if resolving fails
    try:
        # Inside the try: a bad value for an interpolation (e.g. search.layers=5) fails this job, not the sweep.
        plain = OmegaConf.to_container(cfg, resolve=True)
        check_choices(HydraConfig.get().runtime.choices)
        # In a sweep, a job with the same settings as a finished one reuses its result (sweep.py).
        metrics = (multirun and sweep.reuse_twin(plain, run_dir)) or train(plain, run_dir)
    except KeyboardInterrupt:
        # Not caught as a failure: an interrupt stops a whole sweep. train() has marked the run interrupted.
        _discard(run_dir)
        raise
    except Exception as exc:
        if multirun:
            # One bad job must not stop a sweep: record it and let the launcher go on.
            from mnistcli.errors import one_line

            report.error(f"job {HydraConfig.get().job.num} failed: {one_line(exc)}")
            return sweep.job_end(_record_failure(run_dir, plain, exc))
        from mnistcli.interrupts import RunInUse

        if isinstance(exc, RunInUse):
            pass  # the folder belongs to another process: leave it alone
        elif (run_dir / METRICS_FILE).exists():
            with suppress(MnistcliError, OSError):  # a full disk must not hide the error that stopped the run
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
    """Hand the command line after `mnistcli train` to Hydra, with errors raised rather than printed.

    `resume=RUN_FOLDER` bypasses Hydra: the run folder already holds the composed config.
    Ctrl-C and SIGTERM raise interrupts.Interrupted throughout.
    """
    from mnistcli.interrupts import signals_interrupt
    from mnistcli.resume import resume_from_args

    with signals_interrupt():
        if resume_from_args(args):
            return
        os.environ["HYDRA_FULL_ERROR"] = "1"  # the CLI turns Hydra's errors into one line itself
        sys.argv = ["mnistcli train", *args]
        _failures.clear()
        try:
            with _mode_from_command_line(args):
                hydra_main()
        except OSError as e:
            if type(e).__module__.startswith("hydra."):
                raise  # MissingConfigException is an OSError too: a config group option that does not exist
            # Our task catches its own errors, so this is Hydra creating the run folder or its .hydra files.
            raise MnistcliError(f"cannot write the run folder: {e.strerror or e}: {e.filename or ''}".rstrip(": ")) from None
        except ValueError as e:
            if "No trials are completed" not in str(e):
                raise
            # Optuna asks for the best trial after its last one; when every trial failed there is none.
            raise MnistcliError("every trial of the search failed (their errors are above); nothing to report") from None
        if _failures:
            raise _failures.pop()


@contextmanager
def _mode_from_command_line(args: list[str]):
    """Skip Hydra's first composition of the config, which only reads hydra.mode, when the command line decides.

    Hydra composes the whole config once to learn hydra.mode, then again to run it: ~0.1 s of every
    command. Among mnistcli's configs only the hyperparameter searches set hydra.mode (a search is a sweep
    without -m; tests/test_sweeps.py checks that no other config does), so the mode is left to Hydra when
    the command line chooses a search, sets hydra.mode itself or adds config files of its own; otherwise
    -m alone decides between a run and a sweep.
    """
    from hydra._internal.hydra import Hydra

    if any(key in arg for arg in args for key in _MODE_SETTERS):
        yield
        return
    get_mode = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: None  # what it returns when no config sets the mode
    try:
        yield
    finally:
        Hydra.get_mode = get_mode


# Command-line words that can bring in a hydra.mode: the search group, the key itself, and a user's own
# config folder, path or primary config.
_MODE_SETTERS = ("hparams_search", "hydra.mode", "-cd", "--config-dir", "-cp", "--config-path", "-cn", "--config-name")
