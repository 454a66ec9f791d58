"""Sweeps on tiny real data: a grid and its summary, an Optuna search, twin jobs, the joblib and submitit
launchers with a failing job, and `mnistcli runs` on the folders they leave."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mnistcli.cli.app import app
from mnistcli.runs.listing import live_status

pytestmark = pytest.mark.slow

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
# ~2 s of training per job: one epoch on 450 digits (+50 for validation).
FAST = ["train.epochs=1", "train.progress=false", "data.train_limit=500"]


def sweep_dir(root: Path) -> Path:
    (found,) = root.glob("outputs/multirun/*/*/summary.json")  # the Optuna sweeper writes no multirun.yaml
    return found.parent


def job_metrics(sweep: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")}


def sweep_in(folder: Path, *args: str):
    """`mnistcli train -m ...` in this process (the basic launcher runs every job here), from `folder`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        result = runner.invoke(app, ["train", "-m", *args])
    assert result.exit_code == 0, result.output
    return result


def sweep_subprocess(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """The same in a child process: launchers that start processes of their own are tested as users run them.
    (Run one at a time: on two cores, overlapping them with the in-process sweeps was slower in total.)"""
    env = dict(os.environ, COLUMNS="120")
    proc = subprocess.run(
        [sys.executable, "-m", "mnistcli", "train", "-m", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def grid(tmp_path_factory, tiny_mnist) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("grid")
    # Softmax regression has no hidden layer to activate: its two jobs are twins, trained once.
    result = sweep_in(folder, "model=softmax,hidden128", "model.activation=relu,tanh", *FAST, f"data.dir={tiny_mnist}")
    return folder, result.output


@pytest.fixture(scope="module")
def optuna(tmp_path_factory, tiny_mnist) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("optuna")
    result = sweep_in(folder, "hparams_search=mlp_optuna", "hydra.sweeper.n_trials=3", *FAST, f"data.dir={tiny_mnist}")
    return folder, result.output


# ------------------------------------------------------------------------------------------ grid and summary


def assert_best_first(vals: list) -> None:
    """Highest first; jobs without the value (no validation split) after all that have it."""
    scored = [v for v in vals if v is not None]
    assert vals == sorted(scored, reverse=True) + [None] * (len(vals) - len(scored)), vals


def test_grid_sweep_ends_with_a_summary(grid):
    folder, output = grid
    sweep = sweep_dir(folder)
    metrics = job_metrics(sweep)
    assert sorted(metrics) == ["0", "1", "2", "3"]
    assert [metrics[n]["status"] for n in "0123"] == ["completed", "duplicate", "completed", "completed"]

    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["columns"] == ["model", "model.activation"]  # only what differs between jobs
    assert summary["sorted_by"] == "val_accuracy" and summary["counts"] == {"completed": 3, "duplicate": 1}
    jobs = summary["jobs"]
    vals = [j["val_accuracy"] for j in jobs]
    assert_best_first(vals)
    assert summary["best"] == jobs[0]["job"]
    # softmax.yaml trains on every training image (no validation split): its jobs rank after those with one.
    assert {j["settings"]["model"] for j in jobs if j["val_accuracy"] is None} == {"softmax"}
    for job in jobs:
        m = metrics[job["job"]]
        assert (job["val_accuracy"], job["test_accuracy"], job["params"]) == (m["val_accuracy"], m["test_accuracy"], m["params"])
        assert job["status"] == m["status"] and job["train_seconds"] >= 0
    # An activation without a hidden layer did nothing: the summary shows none for softmax.
    assert {(j["settings"]["model"], j["settings"]["model.activation"]) for j in jobs} == {
        ("softmax", None), ("hidden128", "relu"), ("hidden128", "tanh")
    }

    with open(sweep / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["job"] for r in rows] == [j["job"] for j in jobs]
    assert {"model", "model.activation", "val_accuracy", "test_accuracy", "params", "train_seconds", "status"} <= set(rows[0])

    # One line per job while it runs, then the table with the best row marked.
    assert output.count(" completed  val ") == 3 and "job 1  = job 0 (same settings, not trained again)" in output
    assert "4 jobs: 3 completed, 1 duplicate" in output and "★ " + jobs[0]["job"] in output
    assert "summary.csv" in output


def test_twin_jobs_are_not_trained_twice(grid):
    sweep = sweep_dir(grid[0])
    first, second = job_metrics(sweep)["0"], job_metrics(sweep)["1"]
    assert second["duplicate_of"] == "0" and second["train_seconds"] == 0.0
    assert (second["val_accuracy"], second["test_accuracy"]) == (first["val_accuracy"], first["test_accuracy"])
    assert second["config"]["model"]["activation"] == "tanh"  # its own config, the twin's numbers
    assert not (sweep / "1" / "model.keras").exists()


# ------------------------------------------------------------------------------------------ Optuna


def test_optuna_search_maximises_validation_accuracy(optuna):
    folder, output = optuna
    sweep = sweep_dir(folder)
    metrics = job_metrics(sweep)
    assert len(metrics) == 3 and all(m["status"] in ("completed", "duplicate") for m in metrics.values())
    for num, m in metrics.items():
        # The layers that exist come from search.*; units of a missing layer play no part.
        overrides = dict(o.split("=", 1) for o in yaml.safe_load((sweep / num / ".hydra/overrides.yaml").read_text()))
        layers = int(overrides["search.layers"])
        units = [int(overrides["search.units1"]), int(overrides["search.units2"])][:layers]
        assert m["config"]["model"]["hidden_units"] == units
        assert m["config"]["model"]["dropout"] == (0.0 if layers == 0 else float(overrides["search.dropout"]))
        assert m["config"]["train"]["batch_size"] == int(overrides["train.batch_size"])

    # The objective Optuna saw is each job's validation accuracy (what the task returned), never the test's.
    result = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert result["best_value"] == max(m["val_accuracy"] for m in metrics.values())
    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["jobs"][0]["val_accuracy"] == result["best_value"]
    assert not [c for c in summary["columns"] if c.startswith("search.")]  # shown as the model keys they set
    assert "3 jobs" in output


# ------------------------------------------------------------------------------------------ launchers, failures


@pytest.fixture(scope="module")
def submitit_sweep(tmp_path_factory, tiny_mnist) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("submitit")
    # Job 1 is a bad combination (dropout without a hidden layer): it fails, job 0 trains.
    proc = sweep_subprocess(
        folder, "hydra/launcher=submitit_local", "model=softmax", "model.dropout=0,0.3", *FAST, f"data.dir={tiny_mnist}"
    )
    return folder, proc


def test_submitit_local_runs_each_job_in_its_own_process(submitit_sweep):
    folder, proc = submitit_sweep
    sweep = sweep_dir(folder)
    assert len([p for p in (sweep / ".submitit").iterdir() if any(p.iterdir())]) == 2  # one submitit job each
    metrics = job_metrics(sweep)
    assert metrics["0"]["status"] == "completed" and metrics["0"]["pid"] not in (os.getpid(), None)
    assert metrics["1"]["status"] == "failed" and "model.dropout" in metrics["1"]["error"]
    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["counts"] == {"completed": 1, "failed": 1} and summary["best"] == "0"
    assert [j["job"] for j in summary["jobs"]] == ["0", "1"]
    assert "2 jobs: 1 completed, 1 failed" in proc.stdout and "job 1 failed: model.dropout" in proc.stderr


def test_joblib_sweep_survives_a_failing_job(tmp_path, tiny_mnist):
    proc = sweep_subprocess(
        tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "model=softmax,hidden128", "model.dropout=0.2",
        *FAST, f"data.dir={tiny_mnist}",
    )
    sweep = sweep_dir(tmp_path)
    metrics = job_metrics(sweep)
    assert metrics["0"]["status"] == "failed" and metrics["1"]["status"] == "completed"
    assert metrics["1"]["pid"] != os.getpid()  # trained in a joblib worker
    summary = json.loads((sweep / "summary.json").read_text())
    assert [(j["job"], j["status"]) for j in summary["jobs"]] == [("1", "completed"), ("0", "failed")]
    assert summary["jobs"][1]["error"].startswith("model.dropout needs at least one hidden layer")
    assert "1 completed, 1 failed" in proc.stdout


# ------------------------------------------------------------------------------------------ mnistcli runs


def runs(folder: Path, *args: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        return runner.invoke(app, ["runs", *args])


def test_runs_lists_every_job_best_first(grid):
    folder, _ = grid
    result = runs(folder, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 4 and all(r["sweep"] for r in rows)
    assert sorted(r["status"] for r in rows) == ["completed", "completed", "completed", "duplicate"]
    assert_best_first([r["val_accuracy"] for r in rows])
    # Rows are named by the effective model (the tanh jobs are not "hidden128"), described by its family.
    assert {r["model"] for r in rows} == {"softmax", "hidden128", "hidden128-tanh"}
    assert {r["model_settings"] for r in rows} == {"no hidden layer", "128 relu", "128 tanh"}

    table = runs(folder)
    assert table.exit_code == 0 and "4 runs under outputs/" in table.output and "hidden128" in table.output


def test_runs_sort_top_and_folder(grid):
    folder, _ = grid
    result = runs(folder, str(sweep_dir(folder)), "--sort", "test_accuracy", "--top", "2", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    every = json.loads(runs(folder, "--json").stdout)
    assert [r["test_accuracy"] for r in rows] == sorted((r["test_accuracy"] for r in every), reverse=True)[:2]
    assert rows[0]["run"] in {"0", "1", "2", "3"}  # relative to the folder given
    assert "top 2 of 4" in runs(folder, "--top", "2").output


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--sort", "accuracy"], "valid keys: val_accuracy, test_accuracy, when"),
        (["--top", "0"], "--top must be at least 1"),
        (["no/such/folder"], "is not a folder"),
    ],
)
def test_runs_bad_input_is_one_line(tmp_path, args, needle):
    result = runs(tmp_path, *args)
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_runs_shows_failed_and_dead_runs(submitit_sweep, tmp_path):
    folder, _ = submitit_sweep
    rows = json.loads(runs(folder, "--json").stdout)
    assert [r["status"] for r in rows] == ["completed", "failed"]
    assert rows[1]["error"].startswith("model.dropout") and rows[1]["val_accuracy"] is None

    # A run still marked "running" whose process has gone (killed, Ctrl-C before it could say so) is "died".
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = json.loads((sweep_dir(folder) / "0" / "metrics.json").read_text())
    gone = dict(record, status="running", pid=dead.pid)
    assert live_status(gone) == "died"
    assert live_status(dict(record, status="running", pid=os.getpid())) == "running"
    assert live_status(dict(record, status="running", host="elsewhere")) == "running?"

    run = tmp_path / "outputs" / "2026-01-01" / "00-00-00_hidden128"
    (run / ".hydra").mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(gone))
    assert [r["status"] for r in json.loads(runs(tmp_path, "--json").stdout)] == ["died"]
    assert "died" in runs(tmp_path).output


def test_runs_with_nothing_to_show(tmp_path):
    result = runs(tmp_path)
    assert result.exit_code == 0 and "no runs under outputs/" in result.output
    assert json.loads(runs(tmp_path, "--json").stdout) == []


def test_a_search_whose_every_trial_fails_ends_with_one_clear_line(tmp_path, tiny_mnist):
    # search.layers=5 fails while the job's config is resolved: each trial fails on its own (not the
    # whole sweep at its first job), and the end says so instead of Optuna's "No trials are completed yet".
    # In a child process, as users run it: in this one, logging handlers of earlier in-process runs write to
    # CliRunner streams that are closed by now.
    proc = subprocess.run(
        [sys.executable, "-m", "mnistcli", "train", "-m", "hparams_search=mlp_optuna", "hydra.sweeper.n_trials=2",
         "search.layers=5", *FAST, f"data.dir={tiny_mnist}"],
        cwd=tmp_path, env=dict(os.environ, COLUMNS="200"), capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert output.count("search.layers must be an integer from 0 to 2, got 5") == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: every trial of the search failed (their errors are above); nothing to report"
    )
    assert "Traceback" not in output


def test_hydra_mode_on_the_command_line_still_chooses_a_sweep(tmp_path, tiny_mnist):
    """mnistcli skips Hydra's mode-only composition of the config unless the command line sets hydra.mode."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        result = runner.invoke(app, ["train", "hydra.mode=MULTIRUN", "model=softmax", *FAST, f"data.dir={tiny_mnist}"])
    assert result.exit_code == 0, result.output
    (job,) = tmp_path.glob("outputs/multirun/*/*/0/metrics.json")
    assert json.loads(job.read_text())["status"] == "completed"


def test_a_search_is_a_sweep_without_m(tmp_path, tiny_mnist):
    """hparams_search sets hydra.mode=MULTIRUN itself: Hydra must still read it (no mode shortcut for it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        result = runner.invoke(app, ["train", "hparams_search=mlp_optuna", "hydra.sweeper.n_trials=2", *FAST,
                                     f"data.dir={tiny_mnist}"])
    assert result.exit_code == 0, result.output
    assert len(job_metrics(sweep_dir(tmp_path))) == 2


def test_only_searches_set_hydra_mode():
    """train._mode_from_command_line leaves the mode to Hydra only for the searches: no other config may set it."""
    setters = [p.relative_to(ROOT / "conf").as_posix() for p in sorted((ROOT / "conf").rglob("*.yaml"))
               if "mode" in ((yaml.safe_load(p.read_text()) or {}).get("hydra") or {})]
    assert setters and all(s.startswith("hparams_search/") for s in setters), setters


def test_the_cnn_search_trains_cnns_ranked_by_validation(tmp_path, tiny_mnist):
    """hparams_search=cnn_optuna: its knobs become the cnn's filters, kernels, dense layer and augmentation."""
    result = sweep_in(tmp_path, "hparams_search=cnn_optuna", "hydra.sweeper.n_trials=2", "model.filters=[4,8]",
                      "data.train_limit=300", "train.epochs=1", "train.progress=false", f"data.dir={tiny_mnist}")
    sweep = sweep_dir(tmp_path)
    metrics = job_metrics(sweep)
    assert len(metrics) == 2 and all(m["status"] in ("completed", "duplicate") for m in metrics.values())
    for num, m in metrics.items():
        overrides = dict(o.split("=", 1) for o in yaml.safe_load((sweep / num / ".hydra/overrides.yaml").read_text()))
        kernel = int(overrides["search.kernel"])
        assert m["model"]["family"] == "cnn" and m["config"]["model"]["kernel_sizes"] == [kernel, kernel]
        strength = float(overrides["search.augment"])
        assert m["config"]["data"]["augment"]["rotation"] == pytest.approx(10 * strength, abs=1e-5)
    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["sorted_by"] == "val_accuracy" and "2 jobs" in result.output
