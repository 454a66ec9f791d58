"""The sweep configs compose and validate: the Optuna search space, its search.* knobs, the Slurm launcher preset."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from hydra.types import RunMode
from omegaconf import OmegaConf

from mnistcli.config.validate import validate
from mnistcli.errors import MnistcliError
from mnistcli.models.registry import build_model
from mnistcli.models.mlp import hidden_layers, layer_dropout
from mnistcli.sweeps.jobs import effective_settings

from conftest import REPO

SEARCHES = sorted(p.stem for p in (REPO / "conf" / "hparams_search").glob("*.yaml"))
LAUNCHERS = sorted(p.stem for p in (REPO / "conf" / "hydra" / "launcher").glob("*.yaml"))


def composed(*overrides: str, hydra: bool = False):
    with initialize_config_module(version_base="1.3", config_module="mnistcli.conf"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=hydra)
    return cfg if hydra else OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("name", SEARCHES)
def test_every_search_composes_validates_and_builds(name):
    cfg = composed(f"hparams_search={name}")
    validate(cfg)
    build_model(cfg["model"], image_size=cfg["data"]["image_size"])
    hydra = composed(f"hparams_search={name}", hydra=True).hydra
    assert "optuna" in hydra.sweeper._target_.lower() and hydra.sweeper.direction == "maximize"
    assert hydra.mode == RunMode.MULTIRUN and hydra.sweeper.storage is None  # in memory, see the yaml


def test_search_space_covers_the_issue():
    params = composed("hparams_search=mlp_optuna", hydra=True).hydra.sweeper.params
    assert set(params) == {
        "search.layers", "search.units1", "search.units2", "search.dropout",
        "model.activation", "train.learning_rate", "train.batch_size",
    }
    assert params["search.layers"] == "choice(0, 1, 2)"


@pytest.mark.parametrize(
    "overrides,units,dropout",
    [
        (["search.layers=0", "search.dropout=0.3"], [], 0.0),  # nothing to drop out, and validation agrees
        (["search.layers=1", "search.units1=64", "search.units2=999", "search.dropout=0.3"], [64], 0.3),
        (["search.layers=2", "search.units1=64", "search.units2=32"], [64, 32], 0.0),
    ],
)
def test_model_keys_derive_from_the_search_knobs(overrides, units, dropout):
    cfg = composed("hparams_search=mlp_optuna", *overrides)
    validate(cfg)
    assert cfg["model"]["hidden_units"] == units and cfg["model"]["dropout"] == dropout
    assert set(cfg["model"]) == {"family", "hidden_units", "activation", "dropout"}  # still the family's arguments


def test_units_of_a_missing_layer_do_not_change_the_job():
    one = composed("hparams_search=mlp_optuna", "search.layers=1", "search.units2=32")
    other = composed("hparams_search=mlp_optuna", "search.layers=1", "search.units2=256")
    assert one["search"] != other["search"] and effective_settings(one) == effective_settings(other)
    softmax = [composed("hparams_search=mlp_optuna", "search.layers=0", f"model.activation={a}") for a in ("relu", "tanh")]
    assert effective_settings(softmax[0]) == effective_settings(softmax[1])


@pytest.mark.parametrize(
    "override,needle",
    [
        ("search.layers=3", "search.layers must be an integer from 0 to 2, got 3"),
        ("search.units1=0", "search.units1 must be an integer >= 1"),
        ("search.dropout=1.5", "search.dropout must be a number in [0, 1)"),
        ("+search.depth=2", "unknown key search.depth; valid keys of search: layers, units1, units2, dropout"),
    ],
)
def test_bad_search_values_name_the_key(override, needle):
    with pytest.raises(Exception) as info:
        validate(composed("hparams_search=mlp_optuna", override))
    assert needle in str(info.value)


def test_resolvers():
    assert hidden_layers(0, 64, 32) == [] and hidden_layers(2, 64, 32) == [64, 32]
    assert layer_dropout(0, 0.4) == 0.0 and layer_dropout(1, 0.4) == 0.4
    with pytest.raises(MnistcliError):
        hidden_layers(True, 64, 32)


def test_search_section_is_optional():
    assert "search" not in composed()
    validate(composed())


@pytest.mark.parametrize("name", LAUNCHERS)
def test_every_launcher_preset_composes(name):
    launcher = composed(f"hydra/launcher={name}", "hydra.launcher.partition=gpu", hydra=True).hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu"
    assert launcher.cpus_per_task >= 1 and launcher.mem_gb >= 1


@pytest.mark.parametrize("name", ["joblib", "submitit_local", "submitit_slurm"])
def test_plugin_launchers_compose_with_our_config(name):
    hydra = composed(f"hydra/launcher={name}", hydra=True).hydra
    assert hydra.launcher._target_.startswith("hydra_plugins.")
    assert [c._target_ for c in hydra.callbacks.values()] == ["mnistcli.sweeps.callback.SweepCallback"]
