"""A sweep logged to MLflow: one parent run, a child per trained job - Optuna trials in this process, joblib jobs
in worker processes - read back with MLflow's own client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mnistcli.cli.app import app

pytestmark = pytest.mark.slow
FAST = ["train.epochs=1", "train.progress=false", "data.train_limit=500"]


def _runs(uri: str):
    """(the parent run, its children) of the one sweep in the store."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mnistcli").experiment_id
    runs = client.search_runs([experiment])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1
    return parent, children


def _trained_jobs(sweep: Path) -> dict[str, dict]:
    """Every job that has a result: trained, or a twin's reused (duplicate), each with an MLflow run."""
    found = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")}
    return {k: m for k, m in found.items() if m["status"] in ("completed", "duplicate")}


SWEEPS = {
    "optuna": ["hparams_search=mlp_optuna", "hydra.sweeper.n_trials=2"],
    # Softmax has no hidden layer to activate: job 1 is job 0's twin, not trained again, yet a child run too.
    "grid-with-a-twin": ["model=softmax", "model.activation=relu,tanh"],
}


@pytest.mark.parametrize("sweep_args", SWEEPS.values(), ids=SWEEPS.keys())
def test_a_sweep_is_a_parent_run_with_a_child_per_job(sweep_args, tmp_path, tiny_mnist, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "-m", *sweep_args, "logger=[csv,mlflow]", *FAST, f"data.dir={tiny_mnist}"])
    assert result.exit_code == 0, result.output
    (sweep,) = [p.parent for p in tmp_path.glob("outputs/multirun/*/*/summary.json")]
    parent, children = _runs(uri)
    assert parent.info.status == "FINISHED" and parent.data.tags["mnistcli.sweep_dir"] == str(sweep.resolve())
    summary = json.loads((sweep / "summary.json").read_text())
    assert parent.data.tags["mnistcli.best_job"] == summary["best"]
    trained = _trained_jobs(sweep)
    assert len(children) == len(trained) >= 1
    by_id = {c.info.run_id: c for c in children}
    for job, record in trained.items():
        child = by_id[record["tracking"]["mlflow"]["run_id"]]
        assert child.info.status == "FINISHED" and child.info.run_name.startswith(f"{job}_")
        assert child.data.metrics["test_accuracy"] == pytest.approx(record["test_accuracy"])
        assert child.data.tags.get("mnistcli.duplicate_of") == record.get("duplicate_of")
        assert child.data.params["model.hidden_units"] == str(record["config"]["model"]["hidden_units"])
    best = summary["jobs"][0]
    if best["val_accuracy"] is not None:
        assert parent.data.metrics["best_val_accuracy"] == pytest.approx(best["val_accuracy"])
    if "model=softmax" in sweep_args:
        assert sorted(c.data.tags.get("mnistcli.duplicate_of", "-") for c in children) == ["-", "0"]


def test_joblib_jobs_in_other_processes_find_their_parent(tmp_path, tiny_mnist):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, COLUMNS="120")
    proc = subprocess.run(
        [sys.executable, "-m", "mnistcli", "train", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
         "model=softmax,hidden128", "logger=mlflow", *FAST, f"data.dir={tiny_mnist}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (sweep,) = [p.parent for p in tmp_path.glob("outputs/multirun/*/*/summary.json")]
    parent, children = _runs(uri)
    trained = _trained_jobs(sweep)
    assert len(trained) == 2 and len(children) == 2
    assert {c.info.run_id for c in children} == {r["tracking"]["mlflow"]["run_id"] for r in trained.values()}
    assert all(c.info.status == "FINISHED" for c in children) and parent.info.status == "FINISHED"
    assert "mlflow" not in (proc.stdout + proc.stderr).lower().replace("logger=mlflow", "")  # nothing of MLflow's on screen


@pytest.mark.parametrize("stop, status", [(RuntimeError("the launcher refused the request"), "FAILED"),
                                          (KeyboardInterrupt(), "KILLED")], ids=["launch-fails", "ctrl-c"])
def test_a_sweep_stopped_while_launching_closes_its_parent_run(stop, status, tmp_path, monkeypatch):
    """Hydra calls no on_multirun_end when its launcher raises: the parent run must not stay RUNNING."""
    from hydra.core.plugins import Plugins

    Plugins.instance()  # its first scan loads the plugin modules afresh: patch the class it then holds
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher

    def launch(self, job_overrides, initial_job_idx):
        raise stop

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(BasicLauncher, "launch", launch)
    result = CliRunner().invoke(app, ["train", "-m", "model=softmax,hidden128", "logger=mlflow", *FAST])
    assert result.exit_code != 0, result.output
    parent, children = _runs(uri)
    assert parent.info.status == status and parent.info.end_time and not children
