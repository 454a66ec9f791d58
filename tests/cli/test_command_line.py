"""`mnistcli train`'s command line as a new user types it: typos get a likely fix, user config dirs work for every group."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mnistcli.cli.app import app
from mnistcli.config.command_line import check_flags, config_sources
from mnistcli.config.completion import complete
from mnistcli.config.groups import options
from mnistcli.config.validate import suggest_key
from mnistcli.errors import MnistcliError

runner = CliRunner()


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("epochs", "train.epochs"), ("model.hiden_units", "model.hidden_units"), ("optimizer", "train.optimizer"),
     ("trian.epochs", "train.epochs"), ("val_fraction", "data.val_fraction"), ("sed", "seed"), ("banana", None)],
)
def test_a_mistyped_key_suggests_the_real_one(typed, meant):
    assert suggest_key(typed) == meant


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--epochs", "5"], "unknown option --epochs: settings are given as key=value, e.g. mnistcli train train.epochs=5"),
        (["--epochs=5"], "e.g. mnistcli train train.epochs=5"),
        (["--batch-size", "64"], "e.g. mnistcli train train.batch_size=64"),
        (["-sc", "install=bash"], "mnistcli --install-completion"),
    ],
)
def test_options_hydra_does_not_know_get_one_line(args, says):
    with pytest.raises(MnistcliError) as err:
        check_flags(args)
    assert says in str(err.value)


def test_hydra_flags_and_their_values_pass():
    check_flags(["-m", "model=softmax", "--cfg", "job", "-cd", "/x-cd", "data.dir=/x-cd", "--info", "searchpath"])
    check_flags(["data.dir=/tmp/-m", "train.learning_rate=-1"])  # values, not flags


def test_substrings_of_values_are_not_flags():
    # data.dir=/x-cd is no -cd: a user config dir comes only from the flag itself.
    assert config_sources(["data.dir=/x-cd"]) == config_sources([])
    assert config_sources(["-cd", "/mine"])[-1] == {"schema": "file", "path": "/mine"}


def test_a_user_config_dir_adds_options_to_every_group(tmp_path, workdir, tiny_mnist):
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "mine.yaml").write_text(
        "# @package _global_\nmodel:\n  family: mlp\n  hidden_units: [32]\n  activation: tanh\n  dropout: 0.0\n"
    )
    (tmp_path / "conf" / "experiment").mkdir()
    (tmp_path / "conf" / "experiment" / "tiny.yaml").write_text("# @package _global_\ntrain:\n  epochs: 1\n")
    assert "mine" in options(config_sources(["-cd", str(tmp_path / "conf")]))["model"]
    result = runner.invoke(
        app,
        ["train", "-cd", str(tmp_path / "conf"), "model=mine", "experiment=tiny", "train.progress=false",
         "data.train_limit=500", f"data.dir={tiny_mnist}"],
    )
    assert result.exit_code == 0, result.output
    (metrics,) = (workdir / "outputs").rglob("metrics.json")
    m = json.loads(metrics.read_text())
    assert m["model"]["name"] == "hidden32-tanh" and m["epochs_run"] == 1
    assert metrics.parent.name.endswith("_hidden32-tanh")
    # and an option that is in neither place is still named, with the user's own among the choices
    result = runner.invoke(app, ["train", "-cd", str(tmp_path / "conf"), "model=mien"])
    assert result.exit_code == 2 and "unknown model 'mien'" in result.output and "did you mean mine?" in result.output


def test_version():
    from mnistcli import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"mnistcli {__version__}"


def test_hydra_help_no_longer_offers_a_completion_that_cannot_work():
    result = runner.invoke(app, ["train", "--hydra-help"])
    assert result.exit_code == 0, result.output
    assert " -sc" not in result.output and "mnistcli --install-completion" in result.output


@pytest.mark.parametrize(
    ("incomplete", "expected", "absent"),
    [
        ("mod", ["model=", "model.hidden_units="], []),
        ("model=hid", ["model=hidden128", "model=hidden100x2"], ["model=softmax"]),
        ("train.optimizer=", ["train.optimizer=adam", "train.optimizer=sgd"], []),
        ("train.progress=", ["train.progress=true", "train.progress=false"], []),
        ("hydra/launcher=", ["hydra/launcher=slurm"], []),
        ("experiment=", ["experiment=quick"], []),
    ],
)
def test_completion_offers_groups_options_keys_and_choices(incomplete, expected, absent):
    offered = complete(incomplete)
    assert set(expected) <= set(offered) and not set(absent) & set(offered)


def test_the_installed_completion_script_completes_through_the_real_command():
    """What bash runs on Tab: the command itself with Click's completion variables set."""
    env = {"_MNISTCLI_COMPLETE": "complete_bash", "COMP_WORDS": "mnistcli train model=soft", "COMP_CWORD": "2"}
    result = runner.invoke(app, [], env=env, prog_name="mnistcli")
    assert "model=softmax" in result.output.split()
    env = {"_MNISTCLI_COMPLETE": "complete_bash", "COMP_WORDS": "mnistcli ev", "COMP_CWORD": "1"}
    assert runner.invoke(app, [], env=env, prog_name="mnistcli").output.split() == ["evaluate"]
