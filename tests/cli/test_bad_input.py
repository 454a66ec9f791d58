"""The bad-input catalogue: every mistake a user can make gets one clear line, a non-zero exit and no debris.

This table is the source of truth for docs/troubleshooting.md. Every case runs through the CLI in-process
and must print exactly one line starting "error: ", exit non-zero, show no traceback, and leave every file
under the working folder as it was (no run folder, no changed run). After changing the table, regenerate
the page (paths in messages become DATA, RUN and so on):

    MNISTCLI_WRITE_TROUBLESHOOTING=1 python -m pytest tests/cli/test_bad_input.py
"""

from __future__ import annotations

import errno
import fcntl
import gzip
import json
import os
import shutil
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mnistcli.cli.app import app

from conftest import REPO

runner = CliRunner()
DOC = REPO / "docs" / "troubleshooting.md"
IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


@dataclass
class Env:
    """What a case's setup may prepare; the placeholders DATA and RUN in `typed` stand for these folders."""

    root: Path
    data: Path
    run: Path | None
    monkeypatch: pytest.MonkeyPatch
    cleanups: list[Callable[[], None]]


@dataclass(frozen=True)
class Case:
    id: str
    section: str
    typed: str  # the command line, with DATA / RUN for the folders the setup prepares
    says: str  # a piece of the one-line message
    fix: str
    setup: Callable[[Env], None] | None = None


# --- setups -----------------------------------------------------------------------------------------------


def raw(folder: Path, name: str) -> bytes:
    return gzip.decompress((folder / name).read_bytes())


def put(folder: Path, name: str, data: bytes, compress: bool = True) -> None:
    (folder / name).write_bytes(gzip.compress(data, mtime=0) if compress else data)


def idx(magic: int, *dims: int) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims)


def bad_magic(env):
    put(env.data, IMAGES, b"\x12\x34" + raw(env.data, IMAGES)[2:])


def int32_images(env):
    data = raw(env.data, IMAGES)
    put(env.data, IMAGES, b"\x00\x00\x0c\x03" + data[4:])


def wrong_image_size(env):
    images = np.frombuffer(raw(env.data, IMAGES), np.uint8, offset=16).reshape(-1, 28, 28)
    put(env.data, IMAGES, idx(0x803, len(images), 27, 28) + images[:, :27, :].tobytes())


def labels_as_images(env):
    shutil.copy(env.data / LABELS, env.data / IMAGES)


def one_label_short(env):
    labels = raw(env.data, LABELS)[8:]
    put(env.data, LABELS, idx(0x801, len(labels) - 1) + labels[:-1])


def truncated_gzip(env):
    data = (env.data / LABELS).read_bytes()
    (env.data / LABELS).write_bytes(data[: len(data) // 2])


def corrupt_gzip(env):
    # A fixed, not random, body: random bytes after the magic sometimes read as a stream that merely ends early.
    (env.data / LABELS).write_bytes(b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 200)


def truncated_idx(env):
    data = raw(env.data, LABELS)
    (env.data / LABELS).unlink()
    put(env.data, "train-labels-idx1-ubyte", data[:-10], compress=False)  # raw, not gzipped: cut short


def label_out_of_range(env):
    data = bytearray(raw(env.data, LABELS))
    data[8 + 5] = 10
    put(env.data, LABELS, bytes(data))


def empty_folder(env):
    for p in env.data.iterdir():
        p.unlink()


def missing_labels(env):
    (env.data / LABELS).unlink()


def data_is_a_file(env):
    shutil.rmtree(env.data)
    env.data.write_text("not a folder")


def corrupt_npz(env):
    empty_folder(env)
    (env.data / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")


def unreadable_folder(env):
    # Tests run as root, where chmod 000 does not stop reading: make listing the folder fail instead.
    real = os.listdir

    def listdir(path="."):
        if Path(path) == env.data:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    env.monkeypatch.setattr(os, "listdir", listdir)


def unreadable_file(env):
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == LABELS:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    env.monkeypatch.setattr(Path, "read_bytes", read_bytes)


def outputs_is_a_file(env):
    (env.root / "outputs").write_text("not a folder")


def outputs_read_only(env):
    # As root, a read-only mode does not stop writes: make creating anything under outputs/ fail instead.
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if "outputs" in self.parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    env.monkeypatch.setattr(Path, "mkdir", mkdir)


def damaged_model(env):
    (env.run / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")


def mlflow_missing(env):
    env.monkeypatch.setitem(sys.modules, "mlflow", None)  # what importing an uninstalled package finds


def not_a_run(env):
    (env.run / "metrics.json").unlink()


def no_checkpoint(env):
    shutil.rmtree(env.run / "checkpoint")


def damaged_checkpoint(env):
    (env.run / "checkpoint" / "state.json").write_text('{"epochs_done": ')


def data_changed(env):
    path = env.run / "metrics.json"
    m = json.loads(path.read_text())
    first = sorted(m["data"]["files"])[0]
    m["data"]["files"][first] = "0" * 64  # as if that file had different bytes when the run started
    path.write_text(json.dumps(m))


def fashion_run(env):
    path = env.run / "metrics.json"
    m = json.loads(path.read_text())
    m["data"]["name"] = m["config"]["data"]["name"] = "fashion_mnist"  # as if trained with data=fashion_mnist
    path.write_text(json.dumps(m))


def still_running(env):
    fd = os.open(env.run / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what the training process holds
    env.cleanups.append(lambda: os.close(fd))


# --- the catalogue ----------------------------------------------------------------------------------------

C, D, R, E = "Config and overrides", "Data files", "Run folders: evaluate and resume", "Disk and folders"
L = "Loggers and listings"
S = "mnistcli serve"
P = "Reading images: predict"
Q = "train.epochs=1 train.progress=false data.train_limit=500"  # after the mistake: a quick run otherwise
CASES = [
    Case("group-option", C, "mnistcli train model=hidden7",
         "unknown model 'hidden7'; available: cnn, hidden1000, hidden100x2, hidden128, hidden128x64, hidden25x15, lenet5, softmax; did you mean hidden128?",
         "Pick one of the options listed (`mnistcli train --help` shows every group)."),
    Case("optional-group-option", C, "mnistcli train experiment=quik",
         "unknown experiment 'quik'; available: classic20x20, quick; did you mean quick?",
         "Use one of the listed experiments; without this check Hydra would silently train without it."),
    Case("unknown-group", C, "mnistcli train optimizer=adam",
         "unknown key optimizer: 'optimizer' is neither a config key nor a config group; did you mean train.optimizer=adam?",
         "The optimizer is a key of the train group: `train.optimizer=adam`."),
    Case("key-without-section", C, "mnistcli train epochs=5",
         "unknown key epochs: 'epochs' is neither a config key nor a config group; did you mean train.epochs=5?",
         "Training settings live under `train.`: `train.epochs=5`."),
    Case("unknown-key", C, "mnistcli train model.depth=3", "unknown key model.depth: model has no key 'depth'",
         "Use a key the model has (family, hidden_units, activation, dropout); depth is `model.hidden_units=[128,64]`."),
    Case("misspelt-key", C, "mnistcli train model.hiden_units=[64]",
         "unknown key model.hiden_units: model has no key 'hiden_units'; did you mean model.hidden_units=[64]?",
         "Fix the spelling: `model.hidden_units=[64]`."),
    Case("double-dash-option", C, "mnistcli train --epochs 5",
         "unknown option --epochs: settings are given as key=value, e.g. mnistcli train train.epochs=5",
         "Hydra takes `key=value` overrides, not options: `mnistcli train train.epochs=5`."),
    Case("unknown-key-added", C, "mnistcli train +model.depth=3",
         "unknown key model.depth; valid keys of model: hidden_units, activation, dropout",
         "`+` adds a key, but the model would ignore it: use one of the listed keys."),
    Case("unknown-family", C, "mnistcli train model.family=rnn", "model.family must be one of mlp, cnn, got 'rnn'",
         "Use a listed family, or a model file of it (`model=hidden128`)."),
    Case("unknown-train-key", C, "mnistcli train +train.momentum=0.9", "unknown key train.momentum; valid keys of train:",
         "Use one of the listed keys; the optimizers keep their Keras defaults apart from the learning rate."),
    Case("unknown-top-level-key", C, "mnistcli train +sed=3",
         "unknown key sed; valid top-level keys: data, logger, model, search, seed, train; did you mean seed?",
         "Fix the spelling (`seed=3`)."),
    Case("unknown-section", C, "mnistcli train +trian.epochs=3", "unknown key trian; valid top-level keys",
         "Fix the spelling (`train.epochs=3`)."),
    Case("override-syntax", C, "mnistcli train train.epochs=[1", "cannot parse override 'train.epochs=[1'",
         "Close the brackets, or quote values with spaces: `'model.hidden_units=[128, 64]'`."),
    Case("epochs-text", C, "mnistcli train train.epochs=ten", "train.epochs must be an integer >= 1, got 'ten'",
         "Give a whole number: `train.epochs=10`."),
    Case("epochs-zero", C, "mnistcli train train.epochs=0", "train.epochs must be an integer >= 1, got 0", "Train at least one epoch."),
    Case("epochs-negative", C, "mnistcli train train.epochs=-1", "train.epochs must be an integer >= 1, got -1", "Train at least one epoch."),
    Case("batch-fraction", C, "mnistcli train train.batch_size=1.5", "train.batch_size must be an integer >= 1, got 1.5",
         "Give a whole number of images per batch."),
    Case("batch-zero", C, "mnistcli train train.batch_size=0", "train.batch_size must be an integer >= 1, got 0",
         "Give a batch size of at least 1 (32 to 256 are usual)."),
    Case("lr-zero", C, "mnistcli train train.learning_rate=0", "train.learning_rate must be a number > 0 and <= 10, got 0",
         "Give a positive learning rate, e.g. 0.001."),
    Case("lr-negative", C, "mnistcli train train.learning_rate=-0.1", "train.learning_rate must be a number > 0",
         "Give a positive learning rate, e.g. 0.001."),
    Case("optimizer-typo", C, "mnistcli train train.optimizer=adamm", "must be one of adam, adamw, nadam, rmsprop, sgd",
         "Use one of the listed optimizers."),
    Case("patience-negative", C, "mnistcli train train.early_stopping_patience=-2", "train.early_stopping_patience must be an integer >= 0",
         "Give 0 (off) or a number of epochs."),
    Case("progress-not-bool", C, "mnistcli train train.progress=maybe", "train.progress must be true or false, got 'maybe'",
         "Give true or false."),
    Case("activation-typo", C, "mnistcli train model.activation=foo", "model.activation must be one of relu, tanh",
         "Use one of the listed activations."),
    Case("units-zero", C, "mnistcli train model.hidden_units=[0]", "model.hidden_units must be a list of positive integers",
         "Every layer needs at least one unit."),
    Case("units-negative", C, "mnistcli train model.hidden_units=[-5,10]", "model.hidden_units must be a list of positive integers",
         "Every layer needs at least one unit."),
    Case("units-not-a-list", C, "mnistcli train model.hidden_units=128", "model.hidden_units must be a list of positive integers, e.g. [] or [128]",
         "Put the sizes in brackets: `model.hidden_units=[128]`."),
    Case("dropout-without-layers", C, "mnistcli train model=softmax model.dropout=0.5", "model.dropout needs at least one hidden layer",
         "Dropout acts between hidden layers: pick a model with some, or leave dropout at 0."),
    Case("dropout-one", C, "mnistcli train model.dropout=1.0", "model.dropout must be a number in [0, 1), got 1.0",
         "Dropout is the fraction of units dropped: below 1."),
    Case("image-size", C, "mnistcli train data.image_size=40", "data.image_size must be an integer from 8 to 28, got 40",
         "Digits are 28x28; they can only be scaled down."),
    Case("val-fraction", C, "mnistcli train data.val_fraction=1.0", "data.val_fraction must be a number in [0, 1), got 1.0",
         "Hold out less than all of the training data, e.g. 0.1."),
    Case("train-limit-zero", C, "mnistcli train data.train_limit=0", "data.train_limit must be null or an integer >= 1, got 0",
         "Give a number of images, or null for all."),
    Case("dataset-name", C, "mnistcli train data.name=cifar", "data.name must be one of mnist, fashion_mnist, got 'cifar'",
         "Pick a dataset with `data=mnist` or `data=fashion_mnist` (these also set the download address)."),
    Case("sha256", C, "mnistcli train data.sha256=abc", "data.sha256 must be 64 hexadecimal digits (a SHA-256), got 'abc'",
         "Give the file's full SHA-256 (`sha256sum FILE`), or null to skip the check."),
    Case("seed-negative", C, "mnistcli train seed=-1", "seed must be an integer from 0 to 4294967295, got -1", "Give a seed from 0 up."),
    Case("seed-text", C, "mnistcli train seed=abc", "seed must be an integer from 0 to 4294967295, got 'abc'", "Give a whole number."),

    Case("data-missing", D, f"mnistcli train data.dir=no/such/folder {Q}", "data.dir no/such/folder: folder does not exist",
         "Check the path; a folder you name must hold the data (mnistcli never silently falls back from it)."),
    Case("data-not-a-folder", D, f"mnistcli train data.dir=DATA {Q}", "is not a folder", "Name the folder that holds the files, not a file.",
         data_is_a_file),
    Case("data-empty", D, f"mnistcli train data.dir=DATA {Q}", "no IDX files or npz found; expected train-images-idx3-ubyte[.gz]",
         "Put the four IDX files (gzipped or not) or mnist.npz in the folder.", empty_folder),
    Case("data-incomplete", D, f"mnistcli train data.dir=DATA {Q}", "missing train-labels-idx1-ubyte",
         "Add the missing file.", missing_labels),
    Case("data-unreadable-folder", D, f"mnistcli train data.dir=DATA {Q}", "folder cannot be read (Permission denied)",
         "Give yourself read permission on the folder (`chmod +rx`).", unreadable_folder),
    Case("data-unreadable-file", D, f"mnistcli train data.dir=DATA {Q}", "train-labels-idx1-ubyte.gz: cannot be read (Permission denied)",
         "Give yourself read permission on the file.", unreadable_file),
    Case("idx-bad-magic", D, f"mnistcli train data.dir=DATA {Q}", "not an IDX file (bad magic number 0x12340803",
         "The file is not MNIST data (or is damaged): download it again.", bad_magic),
    Case("idx-not-bytes", D, f"mnistcli train data.dir=DATA {Q}", "IDX data type 0x0C (int32) is not supported",
         "MNIST files hold unsigned bytes; convert the data to uint8 IDX.", int32_images),
    Case("idx-wrong-size", D, f"mnistcli train data.dir=DATA {Q}", "images are 27 x 28 pixels, expected 28 x 28",
         "Use 28x28 digit images (`data.image_size` scales them down later).", wrong_image_size),
    Case("idx-swapped", D, f"mnistcli train data.dir=DATA {Q}", "this is an IDX label file (magic 0x00000801), expected images",
         "The image and label files are mixed up: check their names.", labels_as_images),
    Case("idx-counts", D, f"mnistcli train data.dir=DATA {Q}", "holds 4000 images but",
         "The image and label files are from different sets, or one is damaged: download them again.", one_label_short),
    Case("gzip-truncated", D, f"mnistcli train data.dir=DATA {Q}", "truncated gzip file (the compressed stream ends early)",
         "The download was cut short: download the file again.", truncated_gzip),
    Case("gzip-corrupt", D, f"mnistcli train data.dir=DATA {Q}", "corrupt gzip file",
         "The file is damaged: download it again.", corrupt_gzip),
    Case("idx-truncated", D, f"mnistcli train data.dir=DATA {Q}", "truncated IDX file (header says 4000 = 4000 values, the file holds 3990)",
         "The file was cut short: download it again.", truncated_idx),
    Case("labels-range", D, f"mnistcli train data.dir=DATA {Q}", "label(s) outside 0..9 (e.g. 10)",
         "Labels must be digits 0-9: the file is damaged or not MNIST.", label_out_of_range),
    Case("npz-corrupt", D, f"mnistcli train data.dir=DATA {Q}", "mnist.npz: not a valid npz file",
         "Download mnist.npz again (or use the four IDX files).", corrupt_npz),

    Case("evaluate-missing-run", R, "mnistcli evaluate no/such/run", "run folder no/such/run does not exist",
         "Check the path; `ls outputs/*/` lists the runs."),
    Case("evaluate-no-runs", R, "mnistcli evaluate", "no trained runs under outputs/ - train one with `mnistcli train`",
         "Train a model first, or run mnistcli from the folder that holds outputs/."),
    Case("evaluate-no-model", R, "mnistcli evaluate RUN", "holds no model.keras - not a finished mnistcli run",
         "The run did not finish: resume it (`mnistcli train resume=RUN`) or pick another."),
    Case("evaluate-damaged-model", R, "mnistcli evaluate RUN", "cannot load the model - not a .keras model archive",
         "The model file is damaged: train the run again.", damaged_model),
    Case("evaluate-data-dir", R, "mnistcli evaluate RUN --data-dir no/such/folder", "data.dir no/such/folder: folder does not exist",
         "Check the path of the test data."),
    Case("resume-missing-run", R, "mnistcli train resume=no/such/run", "run folder no/such/run does not exist",
         "Give the folder the interrupted run printed (`resume with: ...`)."),
    Case("resume-empty", R, "mnistcli train resume=", "resume= needs the run folder to continue",
         "Give the run folder: `mnistcli train resume=outputs/DATE/TIME_MODEL`."),
    Case("resume-with-overrides", R, "mnistcli train resume=RUN model=softmax",
         "only train.epochs and train.progress may be given with it, not 'model=softmax'",
         "A resumed run keeps its own config; start a new run to change anything else."),
    Case("resume-completed", R, "mnistcli train resume=RUN", "already completed (1 epoch); nothing to resume",
         "Start a new run to train longer or differently."),
    Case("resume-not-a-run", R, "mnistcli train resume=RUN", "has no metrics.json - not an mnistcli run folder",
         "Give a run folder (it holds metrics.json and .hydra/).", not_a_run),
    Case("resume-no-checkpoint", R, "mnistcli train resume=RUN", "has no checkpoint to resume from",
         "It stopped before its first epoch ended: run the printed command to start it again.", no_checkpoint),
    Case("resume-damaged-checkpoint", R, "mnistcli train resume=RUN", "checkpoint/state.json: unreadable",
         "The checkpoint is damaged (mnistcli writes it atomically, so something else changed it): start again.",
         damaged_checkpoint),
    Case("resume-fewer-epochs", R, "mnistcli train resume=RUN train.epochs=1", "train.epochs=1 is fewer than the 2 epochs",
         "Give at least as many epochs as it has trained."),
    Case("resume-data-changed", R, "mnistcli train resume=RUN", "the data changed since",
         "Restore the data the run started with, or start a new run.", data_changed),
    Case("resume-still-running", R, "mnistcli train resume=RUN", "is in use by another mnistcli process",
         "Wait for that training to finish or stop it (Ctrl-C) first.", still_running),

    Case("serve-no-runs", S, "mnistcli serve", "no trained runs under outputs/ - train one with `mnistcli train`",
         "Train a run first, or give one with `--run RUN` (`--run best` takes the best on MNIST)."),
    Case("serve-missing-run", S, "mnistcli serve --run no/such/run", "run folder no/such/run does not exist",
         "Give a run folder (`mnistcli runs` lists them) or `--run best`."),
    Case("serve-address", S, "mnistcli serve --run RUN --host 192.0.2.1",
         "cannot listen on 192.0.2.1:8000 (Cannot assign requested address)",
         "Give an address of this machine: 127.0.0.1 (the default), or 0.0.0.0 for every interface."),
    Case("predict-other-dataset", P, "mnistcli predict DATA --run RUN",
         "was trained on fashion_mnist, not handwritten digits (mnist) - pick another run (--run best), or pass --any-dataset",
         "Read digits with a run trained on MNIST (`--run best` picks the one with the best validation accuracy); "
         "`--any-dataset` uses this run anyway, one class per picture.", fashion_run),
    Case("predict-best-without-runs", P, "mnistcli predict DATA --run best",
         "no completed runs trained on mnist under outputs/ - train one with `mnistcli train`",
         "Train a model first (`mnistcli train`), or name a run folder with `--run`."),

    Case("logger-unknown", L, "mnistcli train logger=[csv,wandb]",
         "unknown logger 'wandb'; available: csv, mlflow, none, tensorboard",
         "Use the listed loggers; several go in brackets: `logger=[csv,tensorboard,mlflow]`."),
    Case("logger-setting", L, "mnistcli train logger=tensorboard logger.tensorboard.histogram_freq=-1",
         "logger.tensorboard.histogram_freq must be an integer >= 0 (0: no weight histograms), got -1",
         "Give 0 (no histograms) or a number of epochs between them."),
    Case("mlflow-missing", L, f"mnistcli train logger=mlflow data.dir=DATA {Q}",
         'logger=mlflow needs MLflow, which is not installed: pip install "mnistcli[mlflow]"',
         'Install the extra (`pip install "mnistcli[mlflow]"`), or choose another logger.', mlflow_missing),
    Case("mlflow-missing-sweep", L, f"mnistcli train -m model=softmax,hidden128 logger=mlflow data.dir=DATA {Q}",
         'logger=mlflow needs MLflow, which is not installed: pip install "mnistcli[mlflow]"',
         "The same: a sweep stops before its first job.", mlflow_missing),
    Case("mlflow-store-unwritable", L,
         f"mnistcli train logger=mlflow logger.mlflow.tracking_uri=sqlite:////proc/mlflow.db data.dir=DATA {Q}",
         "MLflow at sqlite:////proc/mlflow.db: cannot create files in the SQLite store's folder /proc",
         "Point `logger.mlflow.tracking_uri` or `MLFLOW_TRACKING_URI` at a folder you can write to (or unset it: "
         "`outputs/mlflow.db`). It fails at once, where MLflow alone retried for 100 s."),
    Case("runs-dataset", L, "mnistcli runs --dataset fashion",
         "unknown dataset 'fashion'; valid datasets: mnist, fashion_mnist, mnist_5k",
         "Give one of the listed names (`mnist_5k` is the offline 5,000-digit sample)."),
    Case("tensorboard-no-events", L, "mnistcli tensorboard RUN",
         "no TensorBoard event files under ",
         "Train with `logger=[csv,tensorboard]` (or add tensorboard to your loggers), then open that run."),

    Case("outputs-is-a-file", E, f"mnistcli train data.dir=DATA {Q}", "cannot write the run folder",
         "Move the file called outputs away, or run from another folder.", outputs_is_a_file),
    Case("outputs-read-only", E, f"mnistcli train data.dir=DATA {Q}", "cannot write the run folder: Permission denied",
         "Run from a folder you can write to, or make outputs/ writable.", outputs_read_only),
]
# Which template run a case's RUN copies.
INTERRUPTED = {"resume-not-a-run", "resume-no-checkpoint", "resume-damaged-checkpoint", "resume-fewer-epochs",
               "resume-data-changed", "resume-still-running", "resume-with-overrides", "evaluate-no-model"}
ALSO_IN_DOC = [  # cases with their own tests below: they leave a (resumable) run behind by design
    ("disk-full-model", E, f"mnistcli train data.dir=DATA {Q} (disk full while saving)",
     "disk full while writing RUN/model.keras (no space left on device); free some space; then resume with: "
     "mnistcli train resume=RUN", "Free some disk space, then run the printed resume command: the trained epochs are kept."),
    ("disk-full-checkpoint", E, f"mnistcli train data.dir=DATA {Q} (disk full in the first epoch)",
     "disk full while writing RUN/checkpoint/epoch-0001.keras (no space left on device); free some space",
     "Free some disk space and train again (nothing was trained yet)."),
]

_said: dict[str, str] = {}


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, workdir, tiny_mnist, finished_run, interrupted_run, monkeypatch):
    data = workdir / "data"
    shutil.copytree(tiny_mnist, data)
    run = None
    if "RUN" in case.typed:
        template = interrupted_run if case.id in INTERRUPTED else finished_run
        run = workdir / "outputs" / template.parent.name / template.name
        shutil.copytree(template, run)
        if template == interrupted_run:
            # The run's own config names the data folder it was trained on: keep it valid for the copy.
            m = json.loads((run / "metrics.json").read_text())
            assert m["config"]["data"]["dir"] == str(tiny_mnist)
    env = Env(workdir, data, run, monkeypatch, [])
    if case.setup:
        case.setup(env)
    before = files_under(workdir)

    args = [a.replace("DATA", str(data)).replace("RUN", str(run)) for a in case.typed.split()[1:]]
    result = runner.invoke(app, args)
    monkeypatch.undo()  # before checking: some setups replace os.listdir or Path.mkdir
    for cleanup in env.cleanups:
        cleanup()
    output = result.output.strip()

    assert result.exit_code == 2, output
    assert case.says in output, output
    assert output.startswith("error: ") and len(output.splitlines()) == 1, output
    assert "Traceback" not in output
    assert files_under(workdir) == before  # nothing written, nothing changed
    _said[case.id] = _placeholders(output, workdir, data, run)


def _placeholders(text: str, root: Path, data: Path, run: Path | None) -> str:
    if run is not None:
        text = text.replace(str(run), "RUN").replace(str(run.relative_to(root)), "RUN")
    return text.replace(str(data), "DATA").replace(str(root) + "/", "").removeprefix("error: ")


@pytest.mark.parametrize("where", ["model", "checkpoint"])
def test_disk_full_while_saving(where, workdir, tiny_mnist, monkeypatch):
    """A full disk mid-save: a clear line, a failed (and, with a checkpoint, resumable) run, no partial file."""
    import keras

    real_save = keras.Model.save

    def save(self, filepath, *args, **kwargs):
        if Path(filepath).name.startswith(".model." if where == "model" else ".epoch-"):
            Path(filepath).write_bytes(b"PK\x03\x04 half an archive")  # what a full disk leaves behind
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save)
    result = runner.invoke(app, ["train", *QUICK_ARGS, f"data.dir={tiny_mnist}"])
    monkeypatch.undo()
    monkeypatch.chdir(workdir)
    output = result.output.strip().splitlines()[-1]
    (run,) = [p.parent for p in (workdir / "outputs").rglob("metrics.json")]
    target = "model.keras" if where == "model" else "checkpoint/epoch-0001.keras"
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert output.startswith(f"error: disk full while writing {run / target} (no space left on device)")
    names = [p.name for p in run.rglob("*")]
    assert "model.keras" not in names and not [n for n in names if ".tmp" in n]
    m = json.loads((run / "metrics.json").read_text())
    assert m["status"] == "failed" and "disk full" in m["error"]
    if where == "model":
        # Space freed: the resume finishes from the checkpoint without training again.
        assert output.endswith(f"then resume with: mnistcli train resume={run.relative_to(workdir)}")
        result = runner.invoke(app, ["train", f"resume={run}"])
        assert result.exit_code == 0, result.output
        assert json.loads((run / "metrics.json").read_text())["status"] == "completed"
    _said[f"disk-full-{where}"] = _placeholders(output, workdir, tiny_mnist, run)


QUICK_ARGS = Q.split() + ["model=softmax"]


def test_catalogue_is_big_enough_and_documented():
    assert len(CASES) + len(ALSO_IN_DOC) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    doc = DOC.read_text(encoding="utf-8")
    for case in CASES:
        assert f"`{case.typed}`" in doc and case.fix in doc, f"docs/troubleshooting.md lacks {case.id}"
    for _id, _section, typed, _says, fix in ALSO_IN_DOC:
        assert f"`{typed}`" in doc and fix in doc


@pytest.fixture(scope="module", autouse=True)
def write_doc():
    """With MNISTCLI_WRITE_TROUBLESHOOTING=1, rewrite docs/troubleshooting.md from the messages just seen."""
    yield
    if not os.environ.get("MNISTCLI_WRITE_TROUBLESHOOTING"):
        return
    rows = [(c.id, c.section, c.typed, _said.get(c.id, c.says), c.fix) for c in CASES]
    rows += [(i, s, t, _said.get(i, says), f) for i, s, t, says, f in ALSO_IN_DOC]
    out = [
        "# Troubleshooting: what mnistcli says when something is wrong",
        "",
        "Every mistake below gets one line starting `error:`, a non-zero exit status (2) and no traceback, and",
        "leaves nothing behind: no run folder, no changed run. DATA stands for your data folder and RUN for a",
        "run folder (`outputs/DATE/TIME_MODEL`). This page is generated from `tests/cli/test_bad_input.py`, which",
        "checks every case; `MNISTCLI_WRITE_TROUBLESHOOTING=1 python -m pytest tests/cli/test_bad_input.py`",
        "rewrites it.",
        "",
        "Interrupted runs are not errors: Ctrl-C or `kill` (SIGTERM) stops training within a second with",
        "exit status 130 or 143 and prints `error: interrupted after epoch 3 of 10; resume with: mnistcli train",
        "resume=RUN`; the run folder keeps every finished epoch, and that command continues to the same result",
        "an uninterrupted run would have reached.",
    ]
    for section in dict.fromkeys(r[1] for r in rows):
        out += ["", f"## {section}", ""]
        for _id, sec, typed, said, fix in rows:
            if sec == section:
                out += [f"- **You typed** `{typed}`", f"  - **mnistcli says** `{said}`", f"  - **Fix:** {fix}"]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(out) + "\n", encoding="utf-8")

