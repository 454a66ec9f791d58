"""Interrupt and resume in-process: a resumed run ends bit for bit where an uninterrupted one does."""

from __future__ import annotations

import csv

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mnistcli.data.pipeline import epoch_batches
from mnistcli.training import checkpoint
from mnistcli.cli.app import app

runner = CliRunner()

# Dropout and early stopping: the two pieces of training state that model.save does not fully keep.
ARGS = [
    "model=hidden128", "model.dropout=0.3", "train.epochs=3", "train.early_stopping_patience=2",
    "train.progress=false", "data.train_limit=500", "seed=11",
]


def runs(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "outputs").rglob("metrics.json"))


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def weights(run: Path) -> list[np.ndarray]:
    from mnistcli.models.archive import load_model

    return load_model(run / "model.keras").get_weights()


def interrupt_after(monkeypatch, epochs: int, sig: int = signal.SIGINT) -> None:
    """Send this process a real signal right after the checkpoint of epoch `epochs` is written."""
    save = checkpoint.Checkpointer.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        save(self, epoch, logs)
        if epoch + 1 == epochs:
            os.kill(os.getpid(), sig)

    monkeypatch.setattr(checkpoint.Checkpointer, "on_epoch_end", on_epoch_end)


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory, tiny_mnist):
    """The same config three times: uninterrupted, again uninterrupted, and interrupted after epoch 1 + resumed.

    Returns (first, second, resumed, interrupted_metrics, interrupt_output, checkpoint_files).
    """
    root = tmp_path_factory.mktemp("resume")
    args = ["train", *ARGS, f"data.dir={tiny_mnist}"]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for _ in range(2):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
        interrupt_after(mp, 1)
        interrupted = runner.invoke(app, args)
        mp.undo()
        mp.chdir(root)
        run = runs(root)[-1]
        stopped = metrics(run)
        files = sorted(p.name for p in (run / "checkpoint").iterdir())
        resumed = runner.invoke(app, ["train", f"resume={run.relative_to(root)}"])
        assert resumed.exit_code == 0, resumed.output
    first, second, third = runs(root)
    return first, second, third, stopped, interrupted, files


def test_interrupt_marks_the_run_and_says_how_to_resume(three_runs):
    *_, run, stopped, interrupted, files = three_runs
    assert interrupted.exit_code == 130
    lines = interrupted.output.strip().splitlines()
    assert lines[-1].startswith("error: interrupted after epoch 1 of 3; resume with: mnistcli train resume=outputs/")
    assert "Traceback" not in interrupted.output
    assert stopped["status"] == "interrupted" and stopped["epochs_run"] == 1
    assert stopped["resume_with"].endswith(str(run.name))
    # One epoch's checkpoint: model + optimizer, early stopping's best weights, and the state naming them.
    assert files == ["epoch-0001.best.npz", "epoch-0001.keras", "state.json"]


def history(run: Path) -> list[dict]:
    """history.csv without the per-epoch wall-clock seconds, which no two runs share."""
    with open(run / "history.csv") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(three_runs):
    first, _, resumed, *_ = three_runs
    a, b = metrics(first), metrics(resumed)
    assert b["status"] == "completed" and b["epochs_run"] == a["epochs_run"] == 3
    assert a["test_accuracy"] == b["test_accuracy"] and a["test_loss"] == b["test_loss"]
    assert a["confusion_matrix"] == b["confusion_matrix"]
    # Every epoch's loss and accuracy to 6 decimals, and every weight exactly.
    assert history(first) == history(resumed)
    for wa, wb in zip(weights(first), weights(resumed), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert [r["after_epoch"] for r in b["resumed"]] == [1]
    assert "resume_with" not in b and "interrupted_at" not in b
    # Finished: every artifact, and no checkpoint, lock or temporary file left behind.
    names = {p.name for p in resumed.iterdir()}
    assert {p.name for p in first.iterdir()} - {"mnistcli.log"} <= names
    assert not names & {"checkpoint", ".lock"} and not [n for n in names if ".tmp" in n]


def log_lines(run: Path) -> list[str]:
    """mnistcli.log's messages, without their time and level."""
    return [line.split(maxsplit=3)[3] for line in (run / "mnistcli.log").read_text().splitlines()]


def test_a_resumed_run_log_tells_the_whole_story(three_runs):
    *_, run, _stopped, _interrupted, _files = three_runs
    lines = log_lines(run)
    epochs = [line.split("  ")[0] for line in lines if line.startswith("epoch ")]
    assert epochs == ["epoch 1/3", "epoch 2/3", "epoch 3/3"], lines
    interrupted = next(i for i, line in enumerate(lines) if line.startswith("interrupted after epoch 1 of 3"))
    resumed = next(i for i, line in enumerate(lines) if line.startswith("mnistcli train (resumed after epoch 1)"))
    assert lines.index(next(line for line in lines if line.startswith("epoch 1/3"))) < interrupted < resumed
    assert sum(line.startswith("data dir ") for line in lines) == 2  # each start says where its data came from
    assert lines[-1].startswith("completed: test accuracy ")


def test_same_seed_is_bit_identical_over_several_epochs(three_runs):
    first, second, *_ = three_runs
    a, b = metrics(first), metrics(second)
    assert a["test_accuracy"] == b["test_accuracy"] and a["confusion_matrix"] == b["confusion_matrix"]
    assert history(first) == history(second)
    for wa, wb in zip(weights(first), weights(second), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_run_records_versions_and_data_hashes(three_runs, tiny_mnist):
    import hashlib

    m = metrics(three_runs[0])
    assert set(m["versions"]) == {"python", "tensorflow", "keras", "mnistcli"}
    files = m["data"]["files"]
    assert sorted(Path(p).name for p in files) == sorted(p.name for p in tiny_mnist.iterdir())
    for path, digest in files.items():
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest


def test_batch_stream_depends_only_on_seed_and_step():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1)
    y = np.arange(10, dtype=np.int64)
    whole, steps = epoch_batches(x, y, 4, seed=3, first_step=0)
    assert steps == 2  # whole batches only: 10 // 4
    batches = [b[1].numpy().tolist() for b in whole.take(8)]
    assert all(len(b) == 4 for b in batches)
    later, _ = epoch_batches(x, y, 4, seed=3, first_step=5)
    # A run resumed at optimizer step 5 sees what an uninterrupted one saw from step 5 on.
    assert [b[1].numpy().tolist() for b in later.take(3)] == batches[5:8]
    epochs = [sum(batches[i * 2:(i + 1) * 2], []) for i in range(3)]
    assert all(len(set(e)) == 8 for e in epochs)  # no example twice in an epoch
    assert epochs[0] != epochs[1]  # each epoch in its own order
    again, _ = epoch_batches(x, y, 4, seed=3, first_step=0)
    assert [b[1].numpy().tolist() for b in again.take(8)] == batches


def test_batch_stream_scales_uint8_pixels_exactly_as_the_float_data():
    """Training images stay uint8 until each batch: the model must see the very floats x_val and x_test hold."""
    from mnistcli.data.dataset import _pixels

    x = (np.arange(16 * 8 * 8) % 256).astype(np.uint8).reshape(16, 8, 8)  # every pixel value
    y = np.arange(16, dtype=np.int64)  # each image's own index
    stream, _ = epoch_batches(x, y, 4, seed=0, first_step=0)
    for images, labels in stream.take(8):
        assert images.dtype == "float32"
        np.testing.assert_array_equal(images.numpy(), _pixels(x[labels.numpy()], 8))


def test_checkpoint_restores_the_dropout_random_stream(tmp_path):
    """model.save leaves SeedGenerator states out; the checkpoint must not, or dropout masks change on resume."""
    import keras

    from mnistcli.models.registry import build_model
    from mnistcli.training.fit import compile_model
    from mnistcli.config.schema import TrainSettings

    keras.utils.set_random_seed(0)
    model = build_model({"family": "mlp", "hidden_units": [8], "dropout": 0.5})
    compile_model(model, TrainSettings(), steps=1)
    model.fit(np.zeros((8, 28, 28), np.float32), np.zeros(8, np.int64), epochs=1, verbose=0)
    saved = checkpoint.rng_state(model)
    assert list(saved) == ["dropout1/seed_generator"]
    checkpoint.save(model, tmp_path, 1, {"loss": [1.0]}, None)
    plain = keras.saving.load_model(tmp_path / "checkpoint" / "epoch-0001.keras")
    assert checkpoint.rng_state(plain) != saved  # what a naive resume would continue with
    restored = checkpoint.load(tmp_path)
    assert checkpoint.rng_state(restored.model) == saved
    assert restored.epochs_done == 1 and restored.history == {"loss": [1.0]}
    assert int(restored.model.optimizer.iterations.numpy()) == 1  # the optimizer state came along


def test_interrupt_while_loading_data_leaves_nothing(workdir, tiny_mnist, monkeypatch):
    import mnistcli.training.pipeline

    def stop(cfg):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the signal should have interrupted")

    monkeypatch.setattr(mnistcli.training.pipeline, "load_data", stop)
    result = runner.invoke(app, ["train", *ARGS, f"data.dir={tiny_mnist}"])
    assert result.exit_code == 143, result.output
    # The run's header is on screen from the start (issue 15); then the one error line.
    assert result.output.strip().splitlines()[-1] == "error: interrupted by SIGTERM" and "Traceback" not in result.output
    assert not (workdir / "outputs").exists() or not any((workdir / "outputs").rglob("*"))


def test_resume_can_extend_an_interrupted_run(workdir, tiny_mnist, monkeypatch):
    interrupt_after(monkeypatch, 1, signal.SIGTERM)
    args = ["train", "model=softmax", "train.epochs=2", "train.progress=false", "data.train_limit=500",
            f"data.dir={tiny_mnist}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 143 and "stopped by SIGTERM after epoch 1 of 2" in result.output
    monkeypatch.undo()
    monkeypatch.chdir(workdir)
    (run,) = runs(workdir)
    result = runner.invoke(app, ["train", f"resume={run}", "train.epochs=3"])
    assert result.exit_code == 0, result.output
    m = metrics(run)
    assert m["status"] == "completed" and m["epochs_run"] == 3 and m["config"]["train"]["epochs"] == 3
    assert not (run / "checkpoint").exists()


def test_interrupt_between_disk_checkpoints_keeps_the_last_epoch(three_runs, tiny_mnist, tmp_path):
    """Epoch 2's state is only in memory when the signal lands (disk writes are throttled): the interrupt
    writes it out, and resuming from it still ends exactly where the uninterrupted run did."""
    first = three_runs[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        interrupt_after(mp, 2)
        interrupted = runner.invoke(app, ["train", *ARGS, f"data.dir={tiny_mnist}"])
        mp.undo()
        mp.chdir(tmp_path)
        assert interrupted.exit_code == 130, interrupted.output
        run = runs(tmp_path)[-1]
        assert metrics(run)["epochs_run"] == 2
        assert "epoch-0002.keras" in {p.name for p in (run / "checkpoint").iterdir()}
        resumed = runner.invoke(app, ["train", f"resume={run.relative_to(tmp_path)}"])
        assert resumed.exit_code == 0, resumed.output
    a, b = metrics(first), metrics(run)
    assert a["test_accuracy"] == b["test_accuracy"] and a["confusion_matrix"] == b["confusion_matrix"]
    assert history(first) == history(run)


CNN_ARGS = [
    "model=cnn", "model.filters=[4,8]", "model.batch_norm=true", "model.dense_units=[16]", "model.dropout=0.2",
    "train.epochs=2",
    "train.progress=false", "data.train_limit=400", "seed=5",
    "data.augment.rotation=10", "data.augment.shift=2", "data.augment.zoom=0.1",
]


def test_a_cnn_with_augmentation_resumes_bit_identically(tmp_path, tiny_mnist):
    """Batch norm's moving statistics, dropout and the augmentation drawn from (seed, step) all come back."""
    args = ["train", *CNN_ARGS, f"data.dir={tiny_mnist}"]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        interrupt_after(mp, 1)
        interrupted = runner.invoke(app, args)
        assert interrupted.exit_code == 130, interrupted.output
        mp.undo()
        mp.chdir(tmp_path)
        run = runs(tmp_path)[-1]
        resumed = runner.invoke(app, ["train", f"resume={run.relative_to(tmp_path)}"])
        assert resumed.exit_code == 0, resumed.output
        third = runner.invoke(app, args)  # the same seed again, uninterrupted: the same model
        assert third.exit_code == 0, third.output
    first, again, same = runs(tmp_path)
    assert metrics(first)["confusion_matrix"] == metrics(same)["confusion_matrix"]
    for wa, wb in zip(weights(first), weights(same), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert metrics(again)["status"] == "completed" and metrics(again)["resumed"][0]["after_epoch"] == 1
    assert history(first) == history(again)
    for wa, wb in zip(weights(first), weights(again), strict=True):
        np.testing.assert_array_equal(wa, wb)
