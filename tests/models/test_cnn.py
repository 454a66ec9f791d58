"""The cnn family: its keys are the builder's arguments, checked like the MLP's, and its models export and read."""

from __future__ import annotations

import numpy as np
import pytest

from mnistcli.config.validate import validate
from mnistcli.errors import MnistcliError
from mnistcli.models import registry

from config.test_configs import composed


def cnn(**changes):
    base = {"family": "cnn", "filters": [16, 32], "kernel_sizes": [5, 5], "padding": "same", "pool": "max",
            "batch_norm": True, "activation": "relu", "dense_units": [], "dropout": 0.25}
    return {**base, **changes}


def test_names_and_descriptions_follow_the_effective_model():
    assert registry.run_name(cnn()) == "cnn16x32-bn"
    assert registry.run_name(cnn(batch_norm=False, dense_units=[128], activation="tanh")) == "cnn16x32-dense128-tanh"
    assert registry.describe(cnn()) == "conv 16-32 k5-5 maxpool, bn, relu, dropout 0.25"
    assert registry.run_name(composed("model=lenet5")["model"]) == "lenet5"  # a classic goes by its name
    assert registry.run_name(composed("model=lenet5", "model.dropout=0.1")["model"]) == "cnn6x16-dense120x84"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.filters=[]"], "model.filters must be a list of 1 to 6 positive integers"),
        (["model.filters=[16,0]"], "model.filters must be a list of 1 to 6 positive integers"),
        (["model.kernel_sizes=[5]"], "model.kernel_sizes has 1 entries but model.filters has 2"),
        (["model.pool=min"], "model.pool must be one of max, avg, none, got 'min'"),
        (["model.padding=full"], "model.padding must be one of same, valid"),
        (["model.batch_norm=yes"], "model.batch_norm must be true or false, got 'yes'"),
        (["model.dropout=1.5"], "model.dropout must be a number in [0, 1), got 1.5"),
        (["+model.hidden_units=[8]"], "unknown key model.hidden_units; valid keys of model: filters, kernel_sizes"),
        (["data.augment.rotation=90"], "data.augment.rotation must be a number of degrees from 0 to 45, got 90"),
    ],
)
def test_bad_values_are_named(overrides, message):
    with pytest.raises(MnistcliError) as err:
        validate(composed("model=cnn", *overrides))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_blocks_that_shrink_the_image_to_nothing_are_refused():
    with pytest.raises(MnistcliError, match="shrink a 28x28 image to nothing"):
        registry.build_model(cnn(filters=[8, 8, 8], kernel_sizes=[9, 9, 9], padding="valid"))


def test_a_cnn_takes_the_same_pixels_as_an_mlp_and_exports_for_litert(tmp_path):
    from mnistcli.inference.classifier import litert_classifier
    from mnistcli.inference.export import export_litert

    model = registry.build_model(cnn(filters=[4, 8]))
    x = np.random.default_rng(0).random((3, 28, 28), np.float32)
    export_litert(model, tmp_path / "model.tflite")
    expected = np.asarray(model(x, training=False))
    np.testing.assert_allclose(litert_classifier(tmp_path / "model.tflite")(x), expected, atol=1e-5)


def test_the_cnn_search_derives_model_and_augmentation_keys():
    cfg = composed("hparams_search=cnn_optuna", "search.width=8", "search.kernel=3", "search.dense=0", "search.augment=0.5")
    validate(cfg)
    assert cfg["model"]["filters"] == [8, 16] and cfg["model"]["kernel_sizes"] == [3, 3]
    assert cfg["model"]["dense_units"] == []
    assert cfg["data"]["augment"] == {"rotation": 5.0, "shift": 1.0, "zoom": 0.05}
