"""A real training on ../shared/mnist (the complete MNIST: 60,000 + 10,000); skipped with a reason on a fresh clone without it."""

from __future__ import annotations

import pytest

import json

from typer.testing import CliRunner

from mnistcli.cli.app import app

pytestmark = pytest.mark.slow


def test_train_on_real_mnist(workdir, shared_mnist):
    result = CliRunner().invoke(
        app, ["train", "model=softmax", "train.epochs=2", "train.progress=false", f"data.dir={shared_mnist}"]
    )
    assert result.exit_code == 0, result.output
    (metrics,) = (workdir / "outputs").rglob("metrics.json")
    m = json.loads(metrics.read_text())
    assert m["data"]["train_size"] + m["data"]["val_size"] == 60_000
    assert m["data"]["test_size"] == 10_000
    assert m["test_accuracy"] > 0.91  # softmax regression after 2 epochs on 60k real digits
