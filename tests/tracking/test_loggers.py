"""The loggers (logger=csv, tensorboard, mlflow, none) read back with their own readers: TensorBoard's
EventAccumulator and MLflow's client; the git commit in metrics.json; `mnistcli runs` by dataset."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf
from typer.testing import CliRunner

from mnistcli.cli.app import app
from mnistcli.config.validate import validate
from mnistcli.errors import MnistcliError

from conftest import REPO

runner = CliRunner()
LOGGER_FILES = sorted(p.stem for p in (REPO / "conf" / "logger").glob("*.yaml"))
SHRUNK = ["model=hidden128", "train.epochs=2", "train.progress=false", "data.train_limit=600", "train.batch_size=64"]


def composed(*overrides: str) -> dict:
    with initialize_config_module(version_base="1.3", config_module="mnistcli.conf"):
        return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)


@pytest.mark.parametrize("name", LOGGER_FILES)
def test_every_logger_config_composes(name):
    cfg = composed(f"logger={name}")
    validate(cfg)
    assert set(cfg["logger"]) == ({name} if name != "none" else set())


def test_loggers_combine_and_csv_is_the_default():
    assert composed()["logger"] == {"csv": {}}
    assert set(composed("logger=[csv,tensorboard,mlflow]")["logger"]) == {"csv", "tensorboard", "mlflow"}


def test_an_unknown_logger_fails_fast_listing_the_valid_ones():
    cfg = composed()
    with pytest.raises(MnistcliError, match="unknown logger 'wandb'; valid loggers: csv, tensorboard, mlflow"):
        validate({**cfg, "logger": {"wandb": {}}})


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory, tiny_mnist):
    """One run with every logger, MLflow's store named by MLFLOW_TRACKING_URI."""
    from mnistcli.training.pipeline import train

    folder = tmp_path_factory.mktemp("logged")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(folder)]
    subprocess.run([*git, "init", "-q"], check=True)  # trained from a work tree: metrics.json names its commit
    (folder / "README").write_text("x")
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    uri = f"sqlite:///{folder / 'store.db'}"
    cfg = composed(*SHRUNK, f"data.dir={tiny_mnist}", "logger=[csv,tensorboard,mlflow]")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(folder)
        (folder / "run").mkdir()
        record = train(cfg, folder / "run")
    return folder / "run", record, uri


def _events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def _scalars(accumulator, tag: str) -> list[tuple[int, float]]:
    import tensorflow as tf

    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in accumulator.Tensors(tag)]


def test_tensorboard_events_hold_the_curves_graph_and_confusion_matrix(logged_run):
    run, record, _ = logged_run
    train_events = _events(run / "tensorboard" / "train")
    val_events = _events(run / "tensorboard" / "validation")
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 3  # the csv logger too: a header and two epochs
    for tag in ("epoch_loss", "epoch_accuracy", "epoch_learning_rate"):
        assert [step for step, _ in _scalars(train_events, tag)] == [0, 1], tag
    val = _scalars(val_events, "epoch_accuracy")
    assert [s for s, _ in val] == [0, 1] and 0 < val[-1][1] <= 1
    assert train_events.Tags()["graph"]  # the op graph
    assert "keras" in train_events.Tags()["tensors"]  # the Keras model's conceptual graph
    image = _events(run / "tensorboard" / "test").Tensors("confusion_matrix")
    assert len(image) == 1 and image[0].step == 2
    width, height = (int(v) for v in image[0].tensor_proto.string_val[:2])
    assert width > 100 and height > 100


def test_mlflow_run_holds_params_metrics_tags_and_artifacts(logged_run):
    from mlflow.tracking import MlflowClient

    run, record, uri = logged_run
    tracked = json.loads((run / "metrics.json").read_text())["tracking"]["mlflow"]
    assert tracked["tracking_uri"] == uri
    client = MlflowClient(uri)
    got = client.get_run(tracked["run_id"])
    assert got.info.status == "FINISHED"
    params = got.data.params
    assert params["model.hidden_units"] == "[128]" and params["train.epochs"] == "2"
    assert params["data.train_limit"] == "600" and params["seed"] == "42"
    tags = got.data.tags
    assert tags["mnistcli.dataset"] == "mnist" and tags["mnistcli.version"] == record.versions["mnistcli"]
    assert tags["mnistcli.model"] == "hidden128" and tags["mlflow.source.git.commit"] == record.git["commit"]
    metrics = got.data.metrics
    assert metrics["test_accuracy"] == pytest.approx(record.test_accuracy)
    assert metrics["final_val_accuracy"] == pytest.approx(record.val_accuracy)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert [m.step for m in client.get_metric_history(got.info.run_id, key)] == [1, 2], key
    artifacts = {a.path for a in client.list_artifacts(got.info.run_id)}
    assert {"learning_curves.png", "confusion_matrix.png", "history.csv", "model.keras", "model.tflite",
            "metrics.json"} <= artifacts


def test_an_unwritable_sqlite_store_fails_at_once_in_one_line(tmp_path, monkeypatch):
    """MLflow alone retried such a store 10 times over 100 s, printing a WARNING block each time."""
    import logging
    import time

    from mnistcli.tracking import mlflow_store
    from mnistcli.tracking.mlflow_run import MlflowRun

    (tmp_path / "a-file").write_text("x")
    started = time.monotonic()
    for uri, says in ((f"sqlite:///{tmp_path}/a-file/store.db", "cannot create the SQLite store's folder"),
                      ("sqlite:////proc/store.db", "cannot create files in the SQLite store's folder /proc")):
        with pytest.raises(MnistcliError, match=f"^MLflow at {uri}: {says}") as caught:
            mlflow_store.check_sqlite_folder(uri)
        assert "\n" not in str(caught.value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////proc/store.db")
    with pytest.raises(MnistcliError, match="/proc"):
        MlflowRun({})  # before any training: the logger is built from the config first
    assert time.monotonic() - started < 5
    mlflow_store.check_sqlite_folder(f"sqlite:///{tmp_path}/new/store.db")  # a folder made when missing
    assert (tmp_path / "new").is_dir()
    mlflow_store.client(f"sqlite:///{tmp_path}/new/store.db")
    for name in mlflow_store.QUIET_LOGGERS:  # retries' warnings are not for the terminal
        assert logging.getLogger(name).getEffectiveLevel() > logging.WARNING, name


@pytest.mark.slow
def test_mlflow_default_store_is_under_outputs(workdir, tiny_mnist, monkeypatch):
    """Through the CLI, MLFLOW_TRACKING_URI unset: a SQLite store and artifacts beside the runs in outputs/.
    (logger=mlflow without MLflow installed is in tests/cli/test_bad_input.py.)"""
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = runner.invoke(app, ["train", *SHRUNK, "train.epochs=1", f"data.dir={tiny_mnist}", "logger=mlflow"])
    assert result.exit_code == 0, result.output
    (run,) = [p.parent for p in (workdir / "outputs").rglob("metrics.json") if (p.parent / ".hydra").is_dir()]
    assert not (run / "history.csv").exists()  # only the loggers chosen
    db = workdir / "outputs" / "mlflow.db"
    client = MlflowClient(f"sqlite:///{db}")
    (found,) = client.search_runs([client.get_experiment_by_name("mnistcli").experiment_id])
    assert found.data.tags["mnistcli.run_dir"] == str(run.resolve())
    assert Path(found.info.artifact_uri.removeprefix("file://")).is_relative_to(workdir / "outputs" / "mlruns")


def test_logger_none_writes_only_the_run_folders_own_files(tmp_path, tiny_mnist):
    from mnistcli.training.pipeline import train

    train(composed(*SHRUNK, "train.epochs=1", f"data.dir={tiny_mnist}", "logger=none"), tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"metrics.json", "model.keras", "learning_curves.png"} <= names
    assert not names & {"history.csv", "tensorboard"}


# ------------------------------------------------------------------------------------------ git commit


def test_git_state_of_a_work_tree_and_of_none(tmp_path, monkeypatch):
    from mnistcli.runs.gitinfo import git_state

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert git_state(tmp_path) is None  # not a repository
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (tmp_path / "untracked.txt").write_text("not a change")
    assert git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "a.txt").write_text("2")
    assert git_state(tmp_path) == {"commit": head, "dirty": True}
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # git missing
    assert git_state(tmp_path) is None


def test_a_run_records_the_commit_it_started_from(logged_run):
    from mnistcli.runs.record import read_record

    run, _, uri = logged_run
    head = subprocess.run(["git", "-C", str(run.parent), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert read_record(run).git == {"commit": head.stdout.strip(), "dirty": False}


def test_records_without_git_or_tracking_still_read(tmp_path):
    from mnistcli.runs.record import read_record

    (tmp_path / "metrics.json").write_text(json.dumps({"config": {"model": {"family": "mlp"}}, "status": "completed",
                                                       "schema_version": 2}))
    record = read_record(tmp_path)
    assert record.git is None and record.tracking is None
    assert "git" not in record.to_dict() and "tracking" not in record.to_dict()


# ------------------------------------------------------------------------------------------ runs by dataset


def _fake_run(root: Path, name: str, dataset: str, source: str, accuracy: float) -> None:
    from mnistcli.runs.record import RunRecord, write_record

    run = root / "outputs" / "d" / name
    (run / ".hydra").mkdir(parents=True)
    cfg = {"model": {"family": "mlp", "hidden_units": [], "activation": "relu", "dropout": 0.0},
           "data": {"name": dataset}, "train": {"epochs": 1}}
    record = RunRecord(config=cfg, status="completed", data={"name": dataset, "source": source},
                       val_accuracy=accuracy, test_accuracy=accuracy, train_seconds=1.0, params=7850)
    write_record(run, record)


def test_runs_show_and_filter_the_dataset(workdir):
    from mnistcli.data.fallback import FALLBACK_SOURCE

    _fake_run(workdir, "full", "mnist", "dir /data (IDX)", 0.92)
    _fake_run(workdir, "sample", "mnist", FALLBACK_SOURCE, 0.85)
    _fake_run(workdir, "fashion", "fashion_mnist", "dir /fashion (IDX)", 0.83)
    listed = runner.invoke(app, ["runs"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[1].split()[:2] == ["model", "settings"]
    # Best first, two lines a run at 80 columns: the numbers, then the dataset and the folder.
    assert len(lines) == 3 + 2 * 3, listed.output
    data_cells = [line.split("  outputs/")[0].strip() for line in lines[4::2]]
    assert data_cells == ["MNIST", "MNIST 5k", "Fashion-MNIST"], listed.output
    for name, expected in (("mnist", ["full"]), ("mnist_5k", ["sample"]), ("fashion_mnist", ["fashion"])):
        result = runner.invoke(app, ["runs", "--dataset", name, "--json"])
        assert result.exit_code == 0, result.output
        assert [Path(r["run_dir"]).name for r in json.loads(result.stdout)] == expected
    bad = runner.invoke(app, ["runs", "--dataset", "cifar"])
    assert bad.exit_code == 2 and "valid datasets: mnist, fashion_mnist, mnist_5k" in bad.output
    typo = runner.invoke(app, ["runs", "--dataset", "fashion"])
    assert typo.exit_code == 2 and typo.output.strip().endswith("; did you mean fashion_mnist?"), typo.output
    none = runner.invoke(app, ["runs", "outputs/d/full", "--dataset", "fashion_mnist"])
    assert none.exit_code == 0 and none.output.startswith("no runs trained on Fashion-MNIST under "), none.output


# ------------------------------------------------------------------------------------------ mnistcli tensorboard


def test_tensorboard_verb_serves_the_folder_it_is_given(logged_run, monkeypatch):
    from mnistcli.tracking import board

    run, _, _ = logged_run
    command = board.board_command(run, port=6007)
    assert command[1:5] == ["-m", "mnistcli.tracking.board", "--logdir", str(run)] and "6007" in command
    seen = {}

    class Process:
        def __init__(self, args):
            seen["args"] = args

        def wait(self):
            return 0

    monkeypatch.setattr(board.subprocess, "Popen", Process)
    result = runner.invoke(app, ["tensorboard", str(run.parent), "--port", "6008"])
    assert result.exit_code == 0, result.output
    assert seen["args"][4] == str(run.parent) and "6008" in seen["args"]


@pytest.mark.slow
def test_an_interrupted_run_is_killed_in_mlflow_and_its_resume_goes_on_in_the_same_run(tmp_path, tiny_mnist, monkeypatch):
    from mlflow.tracking import MlflowClient

    from conftest import _train_in

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run = _train_in(tmp_path, *SHRUNK, "train.epochs=3", f"data.dir={tiny_mnist}", "logger=[csv,mlflow]",
                    interrupt_after=1)
    run_id = json.loads((run / "metrics.json").read_text())["tracking"]["mlflow"]["run_id"]
    client = MlflowClient(uri)
    assert client.get_run(run_id).info.status == "KILLED"
    resumed = runner.invoke(app, ["train", f"resume={run}"])
    assert resumed.exit_code == 0, resumed.output
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED" and len(client.search_runs([got.info.experiment_id])) == 1
    assert [m.step for m in client.get_metric_history(run_id, "val_accuracy")] == [1, 2, 3]


def test_a_missing_plot_is_a_warning_not_a_failed_run(tmp_path):
    """The confusion matrix for TensorBoard comes from the saved plot: without it the run is still complete."""
    from mnistcli.runs.record import RunRecord
    from mnistcli.tracking.loggers import Loggers

    loggers = Loggers({"logger": {"csv": {}, "tensorboard": {}}})
    record = RunRecord(config={}, status="running")
    loggers.start(tmp_path, record)
    warnings = loggers.finish(record, {"loss": [0.5], "accuracy": [0.9]})
    assert warnings == ["TensorBoard has no confusion matrix for this run: confusion_matrix.png is missing"]
    assert (tmp_path / "history.csv").is_file()
    (tmp_path / "confusion_matrix.png").write_bytes(b"not a png")
    (damaged,) = loggers.finish(record, {"loss": [0.5], "accuracy": [0.9]})
    assert damaged.startswith("TensorBoard has no confusion matrix for this run: ") and "\n" not in damaged


@pytest.mark.slow
def test_tensorboard_in_a_sweep_writes_each_jobs_events_in_its_folder(workdir, tiny_mnist):
    """A grid sweep with logger=tensorboard: each job's own event files, read back with EventAccumulator."""
    result = runner.invoke(app, ["train", "-m", "model=softmax,hidden128", "logger=tensorboard", "train.epochs=1",
                                 "train.progress=false", "data.train_limit=500", f"data.dir={tiny_mnist}"])
    assert result.exit_code == 0, result.output
    (sweep,) = [p.parent for p in (workdir / "outputs" / "multirun").glob("*/*/summary.json")]
    jobs = sorted(p.parent for p in sweep.glob("*/metrics.json"))
    assert [j.name for j in jobs] == ["0", "1"]
    for job in jobs:
        accuracy = _scalars(_events(job / "tensorboard" / "train"), "epoch_accuracy")
        assert [step for step, _ in accuracy] == [0] and 0 < accuracy[0][1] <= 1, job
        assert len(_events(job / "tensorboard" / "test").Tensors("confusion_matrix")) == 1
        assert not (job / "history.csv").exists()  # only the loggers chosen
    # hidden128 holds out a validation split (softmax's config does not): its events are the job's own too.
    assert [s for s, _ in _scalars(_events(jobs[1] / "tensorboard" / "validation"), "epoch_accuracy")] == [0]
