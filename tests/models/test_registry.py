"""The model-family registry: names, descriptions and settings come from the family, not from MLP keys elsewhere."""

from __future__ import annotations

import pytest

from mnistcli.errors import MnistcliError
from mnistcli.models import registry


def mlp(units, activation="relu", dropout=0.0):
    return {"family": "mlp", "hidden_units": units, "activation": activation, "dropout": dropout}


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (mlp([]), "softmax"),
        (mlp([128]), "hidden128"),
        (mlp([100, 100]), "hidden100x2"),
        (mlp([128, 64]), "hidden128x64"),
        (mlp([256, 64]), "hidden256x64"),
        (mlp([128], "tanh"), "hidden128-tanh"),
        (mlp([128], dropout=0.2), "hidden128-drop0.2"),
        (mlp([], "tanh"), "softmax"),  # no layer to activate: the same model
    ],
)
def test_run_names_follow_the_effective_model(model, name):
    assert registry.run_name(model) == name


def test_descriptions_say_only_what_the_model_has():
    assert registry.describe(mlp([])) == "no hidden layer"  # softmax's panel never says relu
    assert registry.describe(mlp([128, 64], "tanh", 0.2)) == "128-64 tanh dropout 0.2"


def test_effective_settings_drop_what_changes_nothing():
    assert registry.effective(mlp([], "tanh")) == registry.effective(mlp([], "relu")) == {"family": "mlp", "hidden_units": []}
    assert registry.effective(mlp([8], "tanh")) != registry.effective(mlp([8], "relu"))


def test_summary_is_what_a_run_record_keeps():
    assert registry.summary(mlp([128])) == {
        "family": "mlp", "name": "hidden128", "description": "128 relu", "hidden_units": [128], "activation": "relu",
        "dropout": 0.0,
    }


def test_an_unknown_family_lists_the_known_ones():
    with pytest.raises(MnistcliError, match="model.family must be one of mlp, cnn, got 'rnn'"):
        registry.run_name({"family": "rnn"})
    with pytest.raises(MnistcliError, match="no model.family"):
        registry.run_name({"hidden_units": [8]})


def test_records_from_before_families_are_upgraded():
    old = {"name": "hidden128", "hidden_units": [128], "activation": "relu", "dropout": 0.0}
    assert registry.upgrade(old) == {"family": "mlp", "hidden_units": [128], "activation": "relu", "dropout": 0.0}
    assert registry.upgrade(mlp([8])) == mlp([8])


def test_every_family_builds_with_its_defaults_and_declares_its_arguments():
    for family in registry.FAMILIES.values():
        assert family.name and family.args.model_fields  # its YAML keys
        assert callable(family.build) and callable(family.run_name) and callable(family.describe)
