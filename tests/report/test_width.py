"""Every table and panel at 80 columns and at 200: no path wrapped or cut, no word cut to "…", nothing wider
than the terminal. (bench/tmux_captures.py checks the same in a real terminal, tmux, for whole commands.)"""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from mnistcli.report.cells import short_path
from mnistcli.report.console import console as terminal_console

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGITS = [str(d) for d in range(10)]
RUN = "outputs/2026-11-30/22-03-33-322024_hidden128x64-tanh"
JOB = "outputs/multirun/2026-11-30/22-04-33-043167/11"


@pytest.fixture
def screen(monkeypatch):
    """show(width, render, *args, terminal=False) -> the lines a terminal of that width shows."""

    def show(width: int, render, *args, terminal: bool = False) -> list[str]:
        out = io.StringIO()
        fake = Console(file=out, width=width, force_terminal=terminal, color_system=None, legacy_windows=False)
        for name, module in list(sys.modules.items()):
            if name.startswith("mnistcli.report") and getattr(module, "console", None) is terminal_console:
                monkeypatch.setattr(module, "console", fake)
        try:
            render(*args)
        finally:
            monkeypatch.undo()
        return out.getvalue().splitlines()

    return show


def assert_readable(lines: list[str], width: int, paths: list[str] = ()) -> None:
    text = "\n".join(lines)
    assert all(len(line.rstrip()) <= width for line in lines), "\n" + text
    assert "…" not in text, "\n" + text
    for path in paths:
        assert any(path in line for line in lines), f"{path} is not whole on any line:\n{text}"


def _runs(n: int = 3) -> dict:
    rows = []
    for i, (path, status) in enumerate([(RUN, "completed"), (JOB, "interrupted"), ("outputs/x/y_softmax", "died")][:n]):
        rows.append({
            "run": path, "run_dir": path, "sweep": "multirun" in path, "when": "2026-11-30T22:03:33+00:00",
            "model": "hidden128x64-tanh" if i == 0 else "softmax", "model_settings": "128-64 tanh dropout 0.2",
            "learning_rate": 0.00065362640, "batch_size": 128, "epochs": 20, "val_accuracy": 0.9781,
            "test_accuracy": 0.9773, "params": 109386, "train_seconds": 123.4, "status": status, "error": None,
        })
    return {"root": "outputs", "sort": "val_accuracy", "total": n, "runs": rows}


@pytest.mark.parametrize("width", [80, 200])
def test_runs_table(screen, width):
    from mnistcli.report.tables import runs_table

    lines = screen(width, runs_table, _runs())
    assert_readable(lines, width, [RUN, JOB, "completed", "interrupted", "died"])
    one_line_each = [line for line in lines if RUN in line and "97.8%" in line]
    if width == 200:
        assert one_line_each, "\n".join(lines)  # room for everything: a run is one line
    else:
        # The folder on a line of its own, after the dataset.
        assert not one_line_each and any(line.split() == ["-", RUN] for line in lines), "\n".join(lines)


def _summary(sweep_dir: str) -> dict:
    jobs = []
    for i in range(3):
        jobs.append({
            "job": str(i), "settings": {"model.activation": "gelu", "train.learning_rate": "0.0024912345678"},
            "val_accuracy": 0.96 + i / 1000, "test_accuracy": 0.95, "params": 101770, "train_seconds": 11.1,
            "status": "completed" if i else "duplicate", "duplicate_of": "2" if not i else None,
            "run_dir": f"{sweep_dir}/{i}", "error": None,
        })
    return {"sweep_dir": sweep_dir, "sorted_by": "val_accuracy", "best": "2", "columns": ["model.activation", "train.learning_rate"],
            "counts": {"completed": 2, "duplicate": 1}, "jobs": jobs[::-1]}


@pytest.mark.parametrize("width", [80, 150])
def test_sweep_summary_title_is_never_wrapped(screen, width):
    from mnistcli.report.tables import sweep_summary

    sweep = "outputs/multirun/2026-11-30/22-04-33-043167"
    lines = screen(width, sweep_summary, _summary(sweep))
    assert_readable(lines, width, [sweep, "3 jobs: 2 completed, 1 duplicate; best validation accuracy first"])
    assert lines[0] == f"sweep {sweep}"


def _metrics(classes: list[str]) -> dict:
    n = len(classes)
    cm = [[980 if i == j else (3 if (i + j) % 3 == 0 else 0) for j in range(n)] for i in range(n)]
    return {
        "status": "completed", "test_accuracy": 0.9773, "test_loss": 0.0704, "val_accuracy": 0.9783, "epochs_run": 3,
        "train_seconds": 5.6, "params": 101770, "data": {"source": "dir /work/shared/mnist (IDX)", "test_size": 10000},
        "run_dir": RUN, "model": {"name": "hidden128x64-tanh"}, "confusion_matrix": cm,
        "per_class": [{"class": c, "precision": 0.981, "recall": 0.988, "f1": 0.984, "support": 1000} for c in classes],
        "top_confusions": [{"true": classes[3], "predicted": classes[0], "count": 12}],
    }


@pytest.mark.parametrize("classes", [DIGITS, FASHION], ids=["mnist", "fashion"])
@pytest.mark.parametrize("width", [80, 200])
def test_results_report(screen, width, classes):
    from mnistcli.report.training import metrics_report

    lines = screen(width, metrics_report, _metrics(classes), "evaluate")
    assert_readable(lines, width, [RUN, "completed", *classes])
    assert "evaluate hidden128x64-tanh" in lines[0]  # the title names the model; the folder is a row, never cut


def test_a_folder_too_long_for_the_panel_keeps_its_run_name(screen):
    from mnistcli.report.training import metrics_report

    deep = "/home/someone/projects/experiments/mnist/outputs/2026-11-30/22-03-33-322024_hidden128x64-tanh"
    lines = screen(80, metrics_report, dict(_metrics(DIGITS), run_dir=deep))
    (row,) = [line for line in lines if "│ run " in line]
    assert "…/" in row and "/outputs/2026-11-30/22-03-33-322024_hidden128x64-tanh │" in row, "\n".join(lines)
    assert all(len(line) <= 80 for line in lines)


def test_short_path():
    path = "/a/very/long/folder/outputs/2026-11-30/22-03-33-322024_hidden128"
    assert short_path(path, 200) == path
    assert short_path(path, 40) == "…/2026-11-30/22-03-33-322024_hidden128"
    assert short_path(path, 10) == "…/22-03-33-322024_hidden128"  # the run's name is never cut


@pytest.mark.parametrize("width", [80, 200])
def test_run_header_and_the_lines_after_it(screen, width):
    from mnistcli.report import training

    cfg = {
        "model": {"family": "mlp", "hidden_units": [128, 64], "activation": "tanh", "dropout": 0.2},
        "train": {"optimizer": "adam", "learning_rate": 0.008, "lr_schedule": "cosine", "batch_size": 128, "epochs": 20,
                  "early_stopping_patience": 3},
        "data": {"name": "fashion_mnist", "dir": "/work/shared/fashion", "image_size": 28},
        "seed": 42,
    }

    def render():
        training.run_header(cfg, RUN, resumed_after=7)
        training.data_ready({"source": "dir /work/shared/fashion (IDX)", "train_size": 54000, "val_size": 6000,
                             "test_size": 10000}, 28)
        training.model_ready(109386, 422)

    lines = screen(width, render)
    assert_readable(lines, width, [RUN, "/work/shared/fashion", "Fashion-MNIST", "resumed after epoch 7", "109,386"])


def test_next_steps_only_on_a_terminal(screen):
    from mnistcli.report.console import next_steps

    assert screen(80, next_steps, RUN) == []
    lines = screen(80, next_steps, RUN, terminal=True)
    assert [line.strip() for line in lines] == [
        "next:", f"mnistcli evaluate {RUN}", f"mnistcli predict x.png --run {RUN}",
    ]


def test_predict_bars_line_up_with_long_class_names(screen):
    from mnistcli.report.predictions import predictions

    probabilities = [0.01, 0.02, 0.03, 0.04, 0.05, 0.05, 0.0, 0.0, 0.8, 0.0]
    result = {"classes": FASHION, "results": [
        {"file": "a.png", "digit": "Bag", "confidence": 0.8, "low_confidence": False, "probabilities": probabilities},
    ]}
    lines = screen(80, predictions, result, 3)
    bars = [line for line in lines if "█" in line]
    assert len(bars) == 3 and len({line.index("█") for line in bars}) == 1, "\n".join(lines)


def test_next_steps_never_break_a_command(screen):
    from mnistcli.report.console import next_steps

    run = "outputs/2026-11-30/22-44-21-833000_hidden128x64-tanh-drop0.3"
    lines = screen(80, next_steps, run, terminal=True)
    assert lines[1:] == [f"mnistcli evaluate {run}", f"mnistcli predict x.png --run {run}"]  # no indent: it fits


def test_tracking_shows_where_it_went(screen, tmp_path, monkeypatch):
    """logger=mlflow: the run's MLflow id and store in the panel; logger=tensorboard: the command to open it."""
    from mnistcli.report.console import next_steps
    from mnistcli.report.training import metrics_report

    monkeypatch.chdir(tmp_path)
    run_id = "c35a7d46bdb94d5faf5d30653d4cc9c1"
    tracked = {"mlflow": {"run_id": run_id, "experiment_id": "1",
                          "tracking_uri": f"sqlite:///{tmp_path}/outputs/mlflow.db"}}
    lines = screen(80, metrics_report, dict(_metrics(DIGITS), tracking=tracked))
    assert_readable(lines, 80, [f"mlflow         run {run_id}", "sqlite:///outputs/mlflow.db"])
    lines = screen(80, next_steps, RUN, ["csv", "tensorboard"], terminal=True)
    assert lines[-1].strip() == f"mnistcli tensorboard {RUN}"
