"""What training says where nobody watches a terminal: one plain line per epoch on redirected stdout, and the
run folder's mnistcli.log with the config, the data, every epoch, the result and any error."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mnistcli.cli.app import app

runner = CliRunner()
EPOCH = re.compile(r"^epoch (\d+)/3  loss \d\.\d{4}  acc \d\.\d{4}  val_acc \d\.\d{4}  lr [\d.e-]+  \d+\.\d s$")


@pytest.fixture(scope="module")
def redirected(tmp_path_factory, tiny_mnist) -> tuple[str, Path]:
    """A run with the default progress display, its stdout not a terminal (as in a log file, Slurm or CI)."""
    root = tmp_path_factory.mktemp("redirected")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        result = runner.invoke(app, ["train", "model=softmax", "train.epochs=3", "data.val_fraction=0.1",
                                     "data.train_limit=500", f"data.dir={tiny_mnist}"])
    assert result.exit_code == 0, result.output
    (run,) = [p.parent for p in (root / "outputs").rglob("metrics.json")]
    return result.output, run


def test_redirected_output_has_one_plain_line_per_epoch(redirected):
    output, _ = redirected
    epochs = [line for line in output.splitlines() if line.startswith("epoch ")]
    assert [EPOCH.match(line).group(1) for line in epochs] == ["1", "2", "3"], output
    assert "\x1b" not in output and "━" not in output  # no progress bars, no cursor movements, no colours
    assert "next:" not in output  # the hint is for a terminal


def test_the_run_log_holds_config_data_epochs_and_result(redirected):
    _, run = redirected
    lines = [line.split(maxsplit=3)[3] for line in (run / "mnistcli.log").read_text().splitlines()]
    text = "\n".join(lines)
    assert lines[0].startswith("mnistcli train: outputs/") and run.name in lines[0]
    assert "model softmax: no hidden layer" in lines and any(line.startswith("train adam, lr 0.024") for line in lines)
    assert any(line.startswith("data dir ") and "train 450, val 50, test 1,000 (28x28)" in line for line in lines)
    assert [EPOCH.match(line).group(1) for line in lines if line.startswith("epoch ")] == ["1", "2", "3"], text
    assert lines[-1].startswith("completed: test accuracy ") and "3 epochs" in lines[-1]
    assert "absl" not in text and "Assets written" not in text  # TensorFlow's INFO chatter stays out


def test_history_keeps_the_learning_rate_of_each_epoch(redirected):
    _, run = redirected
    header, *rows = (run / "history.csv").read_text().splitlines()
    assert "learning_rate" in header.split(",")
    rates = [float(row.split(",")[header.split(",").index("learning_rate")]) for row in rows]
    assert rates[0] == pytest.approx(0.024) and rates[0] > rates[1] > rates[2] > 0  # the cosine schedule


def test_a_failed_run_logs_its_error(tmp_path, tiny_mnist, monkeypatch):
    from mnistcli.evaluation import scoring

    def broken(*args, **kwargs):
        raise MemoryError("out of memory while scoring")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(scoring, "score_model", broken)
    result = runner.invoke(app, ["train", "model=softmax", "train.epochs=1", "data.train_limit=500",
                                 "train.progress=false", f"data.dir={tiny_mnist}"])
    assert result.exit_code == 1
    (log,) = (tmp_path / "outputs").rglob("mnistcli.log")
    assert log.read_text().count("ERROR   failed: out of memory while scoring") == 1


def test_early_stopping_says_when_and_which_weights_it_kept(monkeypatch, caplog):
    from mnistcli.report import progress

    out = io.StringIO()
    monkeypatch.setattr(progress, "console", Console(file=out, width=80, color_system=None))
    stopper = SimpleNamespace(stopped_epoch=7, best_epoch=4, best=0.9811, patience=3)
    with caplog.at_level(logging.INFO, logger="mnistcli"):
        progress.EpochLines(20, stopper, echo=False).on_train_end()
    assert out.getvalue().splitlines() == [
        "stopped early after epoch 8 of 20 (val_acc no better for 3 epochs)",
        "kept the weights of epoch 5, the best: val_acc 0.9811",
    ]
    assert caplog.messages == [
        "stopped early after epoch 8 of 20 (val_acc no better for 3 epochs); "
        "kept the weights of epoch 5, the best: val_acc 0.9811"
    ]
