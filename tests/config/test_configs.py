"""Every config file composes, validates and builds; the wheel ships every config group."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from mnistcli.config.validate import validate
from mnistcli.models.registry import build_model, run_name

from conftest import REPO

CONF = REPO / "conf"
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
DATASETS = sorted(p.stem for p in (CONF / "data").glob("*.yaml"))


def composed(*overrides: str) -> dict:
    with initialize_config_module(version_base="1.3", config_module="mnistcli.conf"):
        cfg = compose("config", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_config_builds(name):
    cfg = composed(f"model={name}")
    validate(cfg)
    model = build_model(cfg["model"], image_size=cfg["data"]["image_size"])
    family = cfg["model"]["family"]
    if family == "mlp":
        dense = [layer for layer in model.layers if layer.name.startswith("hidden")]
        assert [layer.units for layer in dense] == cfg["model"]["hidden_units"]
        assert model.name == name == run_name(cfg["model"])  # files are named by the shape they build
    else:
        convs = [layer for layer in model.layers if layer.name.startswith("conv")]
        assert [layer.filters for layer in convs] == cfg["model"]["filters"]
        assert model.name == run_name(cfg["model"])  # cnn and lenet5 go by their classic names
    assert model.input_shape == (None, cfg["data"]["image_size"], cfg["data"]["image_size"])
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_config_trains(name, tiny_mnist, tmp_path):
    """One short epoch through the real pipeline (a shrunk config): a complete run folder, a usable model."""
    from mnistcli.training.pipeline import train

    cfg = composed(f"model={name}", f"data.dir={tiny_mnist}", "data.train_limit=300", "train.epochs=1",
                   "train.progress=false", "train.batch_size=32")
    from mnistcli.evaluation.evaluate import evaluate_run
    from mnistcli.inference.predict import Reader

    record = train(cfg, tmp_path)
    assert record.status == "completed" and record.epochs_run == 1 and 0.0 < record.test_accuracy <= 1.0
    assert {"model.keras", "model.tflite", "metrics.json"} <= {p.name for p in tmp_path.iterdir()}
    # the run folder alone evaluates (Keras) and reads digits (LiteRT) the same for every family
    assert evaluate_run(tmp_path)["confusion_matrix"] == record.confusion_matrix
    size = cfg["data"]["image_size"]
    reader = Reader(tmp_path)
    answer = reader.classify(np.zeros((1, size, size), np.float32))[0]
    assert reader.backend == "litert" and len(answer["probabilities"]) == 10


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes(name):
    validate(composed(f"experiment={name}"))


@pytest.mark.parametrize("name", DATASETS)
def test_every_data_config_composes(name):
    validate(composed(f"data={name}"))


def test_shape_named_models_match_their_layers():
    assert composed("model=hidden100x2")["model"]["hidden_units"] == [100, 100]
    assert composed("model=hidden100x2")["train"]["epochs"] == 20
    assert composed("model=hidden25x15")["data"]["image_size"] == 20
    assert composed("model=softmax")["model"]["hidden_units"] == []


def test_wheel_ships_every_config_group():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {p.parent for p in CONF.rglob("*.yaml")}
    packages = {".".join(("mnistcli", *f.relative_to(CONF.parent).parts)) for f in folders}
    assert packages <= set(setuptools["packages"])
    assert packages <= set(setuptools["package-data"])
