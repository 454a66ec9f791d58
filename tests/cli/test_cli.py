"""CLI wiring: help, a one-epoch train on tiny real data, evaluate, and bad input as one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mnistcli.cli.app import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def run_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("metrics.json"))


@pytest.fixture
def trained(workdir, tiny_mnist) -> Path:
    result = invoke(
        "train", "model=hidden128", "train.epochs=1", "train.progress=false", f"data.dir={tiny_mnist}"
    )
    assert result.exit_code == 0, result.output
    (run,) = run_folders(workdir / "outputs")
    return run


def test_help_lists_commands_without_importing_tensorflow():
    proc = subprocess.run([sys.executable, "-m", "mnistcli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "train" in proc.stdout and "evaluate" in proc.stdout
    # Speed is what matters, and it comes from never importing TensorFlow for help: checked in a fresh process
    # (this one has imported it for other tests), on the command module and on what `train --help` loads.
    check = (
        "import sys, mnistcli.cli.app, mnistcli.training.hydra_app, mnistcli.config.completion; "
        "assert not {'tensorflow', 'keras'} & set(sys.modules), sorted({'tensorflow', 'keras'} & set(sys.modules))"
    )
    subprocess.run([sys.executable, "-c", check], check=True)


def test_train_writes_a_complete_run_folder(trained):
    names = {p.name for p in trained.iterdir()}
    assert {".hydra", "model.keras", "metrics.json", "history.csv", "learning_curves.png", "confusion_matrix.png"} <= names
    assert not [n for n in names if ".tmp" in n]
    m = json.loads((trained / "metrics.json").read_text())
    assert m["status"] == "completed"
    assert 0.5 < m["test_accuracy"] <= 1 and m["test_loss"] > 0 and 0 < m["val_accuracy"] <= 1
    cm = m["confusion_matrix"]
    assert len(cm) == 10 and all(len(r) == 10 for r in cm) and sum(map(sum, cm)) == m["data"]["test_size"] == 1000
    assert len(m["per_class"]) == 10 and {"precision", "recall", "f1", "support"} <= set(m["per_class"][0])
    assert m["epochs_run"] == 1 and m["train_seconds"] > 0 and m["params"] == 784 * 128 + 128 + 1290
    assert m["data"]["train_size"] == 3600 and m["data"]["val_size"] == 400 and "source" in m["data"]
    assert m["model"] == {"family": "mlp", "name": "hidden128", "description": "128 relu", "hidden_units": [128],
                          "activation": "relu", "dropout": 0.0}
    assert m["schema_version"] == 2
    assert set(m["versions"]) == {"python", "tensorflow", "keras", "mnistcli"}
    umask = os.umask(0o022)
    os.umask(umask)
    # Artifacts are written to temporary files and renamed: they still get the usual permissions, not 0600.
    assert {p.name: p.stat().st_mode & 0o777 for p in trained.iterdir() if p.is_file()} == {
        p.name: 0o666 & ~umask for p in trained.iterdir() if p.is_file()
    }


def test_evaluate_newest_run_matches_training(trained):
    result = invoke("evaluate", "--json")
    assert result.exit_code == 0, result.output
    m = json.loads(result.stdout)
    stored = json.loads((trained / "metrics.json").read_text())
    assert m["test_accuracy"] == pytest.approx(stored["test_accuracy"])
    assert m["confusion_matrix"] == stored["confusion_matrix"]
    assert set(stored) <= set(m)


def test_evaluate_renders_report(trained):
    result = invoke("evaluate", str(trained))
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and "confusion matrix" in result.output
    assert "most frequent confusions" in result.output


def test_same_seed_same_accuracy(workdir, tiny_mnist):
    args = ["train", "model=softmax", "train.epochs=1", "train.progress=false", f"data.dir={tiny_mnist}", "seed=3"]
    for _ in range(2):
        assert invoke(*args).exit_code == 0
    first, second = (json.loads((r / "metrics.json").read_text()) for r in run_folders(workdir / "outputs"))
    assert first["test_accuracy"] == second["test_accuracy"]
    assert first["confusion_matrix"] == second["confusion_matrix"]


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["model=hidden7"], "hidden100x2"),  # lists the valid options
        (["train.epochs=-1"], "train.epochs must be an integer >= 1, got -1"),
        (["model.activation=foo"], "relu, tanh"),
        (["model.depth=3"], "model.depth"),
        (["train.epochs=[1"], "train.epochs"),
    ],
)
def test_bad_override_is_one_line_and_leaves_nothing(workdir, overrides, needle):
    result = invoke("train", *overrides)
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not run_folders(workdir / "outputs") and not any((workdir / "outputs").rglob("*")) if (workdir / "outputs").exists() else True


@pytest.mark.parametrize(
    "args,needle",
    [
        (["evaluate", "no/such/run"], "does not exist"),
        (["evaluate"], "no trained runs"),
    ],
)
def test_evaluate_bad_run_folder(workdir, args, needle):
    result = invoke(*args)
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output


def test_evaluate_damaged_model(trained):
    (trained / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    result = invoke("evaluate", str(trained))
    assert result.exit_code == 2 and "cannot load the model" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cfg_job_prints_config_without_training(workdir):
    result = invoke("train", "model=hidden100x2", "--cfg", "job")
    assert result.exit_code == 0
    assert "hidden_units:" in result.output and "- 100" in result.output
    assert not (workdir / "outputs").exists()


def test_hydra_help_lists_model_options():
    result = invoke("train", "--help")
    assert result.exit_code == 0
    assert "hidden100x2" in result.output and "softmax" in result.output
