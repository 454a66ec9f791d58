"""Compiling a built model and fitting it: the optimizer and its schedule, the callbacks, the resumable batch stream."""

from __future__ import annotations

import time
from pathlib import Path

from mnistcli.config.schema import TrainSettings
from mnistcli.data.pipeline import epoch_batches, steps_per_epoch
from mnistcli.runtime.keras_import import import_keras
from mnistcli.runtime.tf_workarounds import build_training_state


def compile_model(model, settings: TrainSettings, steps: int) -> None:
    keras = import_keras()

    # Keras runs whole calls of steps_per_execution steps, so an epoch trains a whole number of calls.
    per_call = min(settings.steps_per_execution, steps)
    trained_per_epoch = -(-steps // per_call) * per_call
    rate = settings.learning_rate
    total = settings.epochs * trained_per_epoch
    if settings.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=total)
    elif settings.lr_schedule == "onecycle":  # up from 0 over the first 20% of steps, then cosine down to 0
        warmup = max(1, total // 5)
        rate = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=total - warmup, warmup_target=rate, warmup_steps=warmup)
    optimizer = keras.optimizers.get({"class_name": settings.optimizer, "config": {"learning_rate": rate}})
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=settings.jit_compile,
        steps_per_execution=per_call,
    )


def fit_model(
    model, ds, settings: TrainSettings, *, seed: int, run_dir: Path, resumed=None, callbacks: list | None = None
) -> dict[str, list[float]]:
    """Fit on the training split, validating on the validation split; returns the history of every epoch.

    Saves a checkpoint into run_dir after each epoch, and continues from `resumed` (a checkpoint.Checkpoint)
    when given: the data order of each epoch depends only on (seed, epoch), so a resumed run ends where an
    uninterrupted one would. `callbacks` (the loggers') see each epoch's logs with the validation scores.
    """
    from mnistcli.evaluation.scoring import validation_logs
    from mnistcli.report.progress import training_display
    from mnistcli.training.checkpoint import Checkpointer, ResumableEarlyStopping

    keras = import_keras()
    first = resumed.epochs_done if resumed else 0
    history = dict(resumed.history) if resumed else {}
    has_val = len(ds.y_val) > 0
    clock: dict[str, float] = {}
    # First, so the epoch's seconds and validation scores are in the logs that early stopping, the checkpoint
    # (history.csv, bench/train_speed.py) and the progress display read.
    extra = list(callbacks or [])
    callbacks = [
        keras.callbacks.LambdaCallback(
            # The learning rate the epoch starts with (its schedule's value at the epoch's first step).
            on_epoch_begin=lambda epoch, logs: clock.update(
                lr=float(model.optimizer.learning_rate), start=time.perf_counter()
            ),
            on_epoch_end=lambda epoch, logs: logs.update(
                validation_logs(model, ds.x_val, ds.y_val) if has_val else {},
                seconds=time.perf_counter() - clock["start"],
                learning_rate=clock["lr"],
            ),
        )
    ]
    stopper = None
    if settings.early_stopping_patience and has_val:
        stopper = ResumableEarlyStopping(
            settings.early_stopping_patience, resumed and resumed.early_stopping, resumed and resumed.best_weights
        )
        callbacks.append(stopper)
    # Bars on a terminal, a line per epoch elsewhere, the run's log always; after early stopping, which it reports,
    # and before the checkpoint: a Ctrl-C between the two cannot leave a checkpointed epoch out of the log.
    display = training_display(
        settings.epochs, steps_per_epoch(len(ds.y_train), settings.batch_size), progress=settings.progress,
        early_stopping=stopper,
    )
    checkpointer = Checkpointer(run_dir, history, stopper)
    # The loggers' callbacks too before the checkpoint, for the same reason: an epoch the checkpoint has is in them.
    callbacks += [*display, *extra, checkpointer]  # the checkpointer after early stopping: it saves its verdict
    stopped = bool(resumed and (resumed.early_stopping or {}).get("stopped_epoch"))
    if first >= settings.epochs or stopped:
        # Interrupted after its last epoch: nothing left to fit, but early stopping still picks the best weights.
        if resumed and resumed.best_weights is not None:
            model.set_weights(resumed.best_weights)
        return history
    batches, steps = epoch_batches(
        ds.x_train, ds.y_train, settings.batch_size, seed, int(model.optimizer.iterations), ds.augment
    )
    build_training_state(model, ds.x_train.shape[1:])
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
        for shown in display:
            shown.close()  # an interrupted fit skips on_train_end: the live display must end anyway
    return history
