"""Real signals to a real `python -m mnistcli train`: Ctrl-C, SIGTERM, kill -9, and two runs started together."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from mnistcli.cli.app import app

pytestmark = pytest.mark.slow

runner = CliRunner()
# A run far longer than any test: it is only ever stopped by the test's signal.
ENDLESS = ["model=hidden128", "train.epochs=1000", "train.progress=false", "data.train_limit=500", "seed=4"]
TEMPORARY = re.compile(r"^\..+\.tmp")  # rundir.atomic_write's names: never taken for an artifact


def start(cwd: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", COLUMNS="200")
    return subprocess.Popen(
        [sys.executable, "-m", "mnistcli", "train", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def epochs_done(run: Path) -> int:
    try:
        return json.loads((run / "checkpoint" / "state.json").read_text())["epochs_done"]
    except (OSError, ValueError):
        return 0


def wait_for_epoch(cwd: Path, proc: subprocess.Popen, after: int = 0, timeout: float = 120) -> Path:
    """The run folder, once its checkpoint holds more than `after` epochs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for state in cwd.glob("outputs/*/*/checkpoint/state.json"):
            if epochs_done(state.parent.parent) > after:
                return state.parent.parent
        if proc.poll() is not None:
            pytest.fail(f"training ended early ({proc.returncode}): {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no checkpoint appeared")


def check_every_file_is_complete(run: Path) -> list[Path]:
    """Load every file under its final name; returns the leftover temporary files (allowed, never loaded)."""
    from PIL import Image

    from mnistcli.models.archive import load_model

    leftovers = []
    for path in sorted(p for p in run.rglob("*") if p.is_file()):
        if TEMPORARY.match(path.name):
            leftovers.append(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".keras":
            load_model(path, compile=True)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                [npz[k] for k in npz.files]
        elif path.suffix == ".yaml":
            yaml.safe_load(path.read_text())
        elif path.suffix == ".csv":
            assert next(csv.reader(path.open()))[0] == "epoch"
        elif path.suffix == ".png":
            Image.open(path).verify()
        else:
            assert path.name in (".lock", "mnistcli.log"), path
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert (run / "checkpoint" / state["model"]).is_file()
    return leftovers


@pytest.mark.parametrize(
    "sig,code,said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "stopped by SIGTERM")]
)
def test_signal_stops_training_within_seconds_and_the_run_resumes(workdir, tiny_mnist, sig, code, said):
    proc = start(workdir, *ENDLESS, f"data.dir={tiny_mnist}")
    run = wait_for_epoch(workdir, proc)
    if sig == signal.SIGINT:
        # While it trains, the run folder is locked: a resume cannot write into it.
        busy = runner.invoke(app, ["train", f"resume={run}"])
        assert busy.exit_code == 2 and "in use by another mnistcli process" in busy.output
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert proc.returncode == code, err
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.fullmatch(
        rf"error: {said} after epoch (\d+) of 1000; resume with: mnistcli train resume=outputs/\S+", errors[0]
    ), err
    m = json.loads((run / "metrics.json").read_text())
    done = epochs_done(run)
    assert m["status"] == "interrupted" and m["epochs_run"] == done >= 1
    assert f"after epoch {done} of" in errors[0]
    if sig != signal.SIGINT:
        return  # SIGTERM takes the same path from here on
    # The folder it left behind finishes, one more epoch, from the last completed one.
    result = runner.invoke(app, ["train", f"resume={run}", f"train.epochs={done + 1}"])
    assert result.exit_code == 0, result.output
    m = json.loads((run / "metrics.json").read_text())
    assert m["status"] == "completed" and m["epochs_run"] == done + 1


def test_kill_9_leaves_no_half_written_artifact(workdir, tiny_mnist):
    """SIGKILL at arbitrary moments (twice, the second time during a resume): every file under its final name
    loads, the run stays resumable, and the resumed run completes."""
    proc = start(workdir, *ENDLESS, f"data.dir={tiny_mnist}")
    run = wait_for_epoch(workdir, proc)
    leftovers = []
    for delay, resume in ((0.13, True), (0.05, False)):
        time.sleep(delay)  # somewhere inside an epoch or inside a checkpoint write
        proc.kill()
        proc.wait(timeout=30)
        leftovers += check_every_file_is_complete(run)
        assert json.loads((run / "metrics.json").read_text())["status"] == "running"  # it never got to say
        done = epochs_done(run)
        if resume:
            proc = start(workdir, f"resume={run}")
            run = wait_for_epoch(workdir, proc, after=done)
    result = runner.invoke(app, ["train", f"resume={run}", f"train.epochs={done + 1}"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "metrics.json").read_text())["status"] == "completed"
    assert not [p for p in leftovers if p.exists()]  # resume cleared the dead writes' temporary files


def test_two_trainings_started_together_get_separate_run_folders(workdir, tiny_mnist):
    args = ["model=softmax", "train.epochs=1", "train.progress=false", "data.train_limit=500",
            f"data.dir={tiny_mnist}"]
    procs = [start(workdir, *args) for _ in range(2)]
    results = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    runs = sorted(p.parent for p in (workdir / "outputs").rglob("metrics.json"))
    assert len(runs) == 2 and runs[0] != runs[1]
    metrics = [json.loads((r / "metrics.json").read_text()) for r in runs]
    assert [m["status"] for m in metrics] == ["completed", "completed"]
    assert metrics[0]["confusion_matrix"] == metrics[1]["confusion_matrix"]  # same seed, same result
    for run in runs:
        assert not check_every_file_is_complete_final(run)


def check_every_file_is_complete_final(run: Path) -> list[str]:
    """Problems with a completed run folder: missing artifacts, leftovers of training."""
    from mnistcli.models.archive import load_model

    names = {p.name for p in run.iterdir()}
    problems = [f"missing {n}" for n in ("model.keras", "metrics.json", "history.csv", ".hydra") if n not in names]
    problems += [f"leftover {n}" for n in names if n in ("checkpoint", ".lock") or TEMPORARY.match(n)]
    load_model(run / "model.keras")
    return problems
