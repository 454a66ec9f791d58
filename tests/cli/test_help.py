"""`mnistcli train --help`: every config group's options and the keys with their values and allowed values, from
the config and the schema, without TensorFlow (its speed: bench/help_speed.py)."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from mnistcli.cli.app import app

runner = CliRunner()


def help_lines(*args: str) -> list[str]:
    result = runner.invoke(app, ["train", *args])
    assert result.exit_code == 0, result.output
    return [" ".join(line.split()) for line in result.output.splitlines()]


def test_groups_with_the_option_in_use():
    lines = help_lines("--help")
    assert "model cnn, hidden1000, hidden100x2, hidden128*, hidden128x64, hidden25x15, lenet5, softmax" in " ".join(lines)
    assert "data fashion_mnist, mnist*" in lines and "experiment classic20x20, quick (optional)" in lines


def test_loggers_given_as_a_list_are_all_starred():
    """Hydra keeps no choice for a group given as a list (logger=[csv,tensorboard]): not "(optional)" then."""
    assert "logger csv*, mlflow, none, tensorboard" in help_lines("--help")
    assert "logger csv*, mlflow, none, tensorboard*" in help_lines("logger=[csv,tensorboard]", "--help")


def test_keys_with_values_and_allowed_values():
    lines = help_lines("-h")
    for row in (
        "train.epochs 8 an integer >= 1",
        "train.optimizer adam one of adam, adamw, nadam, rmsprop, sgd",
        "model.activation relu one of relu, tanh, sigmoid, elu, selu,",
        "data.val_fraction 0.1 a number in [0, 1)",
        "seed 42 an integer from 0 to 4294967295",
    ):
        assert any(line.startswith(row) for line in lines), (row, lines)
    assert "data.url" in " ".join(lines) and "--cfg job prints every key" in " ".join(lines)  # named, not listed


def test_overrides_before_help_show_their_values():
    lines = help_lines("model=softmax", "train.epochs=3", "--help")
    assert any(line.startswith("train.epochs 3 ") for line in lines)
    assert any(line.startswith("train.learning_rate 0.024 ") for line in lines)  # softmax's own rate
    assert "with model=softmax train.epochs=3" in lines


def test_a_mistake_before_help_is_one_line():
    result = runner.invoke(app, ["train", "model=nope", "--help"])
    assert result.exit_code == 2 and result.output.startswith("error: unknown model 'nope'; available: ")
    assert len(result.output.strip().splitlines()) == 1


def test_help_never_imports_tensorflow():
    check = (
        "import sys\n"
        "from mnistcli.cli.app import app\n"
        "try:\n    app(['train', '--help'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "assert not {'tensorflow', 'keras'} & set(sys.modules), sorted({'tensorflow', 'keras'} & set(sys.modules))\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, capture_output=True)
