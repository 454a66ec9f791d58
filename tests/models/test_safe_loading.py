"""Model files run no code: Lambda layers and tampered archives are refused, nothing is unpickled."""

from __future__ import annotations

import ast
import json
import re
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mnistcli.cli.app import app
from mnistcli.errors import MnistcliError

from conftest import REPO

runner = CliRunner()


@pytest.fixture(scope="module")
def good_model(tmp_path_factory) -> Path:
    """A real (untrained) mnistcli model file, compiled like training saves it."""
    from mnistcli.config.schema import TrainSettings
    from mnistcli.models.registry import build_model
    from mnistcli.training.fit import compile_model

    model = build_model({"family": "mlp", "hidden_units": [16], "dropout": 0.2})
    compile_model(model, TrainSettings(), steps=1)
    path = tmp_path_factory.mktemp("models") / "model.keras"
    model.save(path)
    return path


def rewrite_config(src: Path, dst: Path, edit) -> Path:
    """Copy a .keras archive with its config.json changed by edit(config) - what an attacker would do."""
    with zipfile.ZipFile(src) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    edit(config)
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return dst


def last_layer(config: dict) -> dict:
    return config["config"]["layers"][-1]


def tamper_layer_is_os_system(config, marker):
    last_layer(config).update(module="os", class_name="system", config={"command": f"touch {marker}"})


def tamper_model_is_os_system(config, marker):
    config.update(module="os", class_name="system", config=f"touch {marker}")


def tamper_activation_is_os_system(config, marker):
    last_layer(config)["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "function",
    }


def tamper_lambda_turns_safe_mode_off(config, marker):
    # The CVE-2025-9906 pattern: a Lambda whose function is a Keras function that disables safe mode.
    config["config"]["layers"].insert(2, {
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "x", "function": {"module": "keras.config", "class_name": "function",
                                             "config": "enable_unsafe_deserialization",
                                             "registered_name": "function"}},
    })


def tamper_keras_function_load_model(config, marker):
    last_layer(config)["config"]["activation"] = {
        "module": "keras.models", "class_name": "function", "config": "load_model", "registered_name": "function",
    }


def tamper_tfsmlayer(config, marker):
    last_layer(config).update(module="keras.layers", class_name="TFSMLayer",
                              config={"filepath": str(marker), "call_endpoint": "serve"})


@pytest.mark.parametrize(
    "tamper,named",
    [
        (tamper_layer_is_os_system, "os.system"),
        (tamper_model_is_os_system, "os.system"),
        (tamper_activation_is_os_system, "os.system"),
        (tamper_lambda_turns_safe_mode_off, "Lambda"),
        (tamper_keras_function_load_model, "keras.models.load_model"),
        (tamper_tfsmlayer, "TFSMLayer"),
    ],
)
def test_tampered_archive_is_refused_and_runs_nothing(good_model, tmp_path, tamper, named):
    from mnistcli.models.archive import load_model

    marker = tmp_path / "PWNED"
    bad = rewrite_config(good_model, tmp_path / "model.keras", lambda c: tamper(c, marker))
    with pytest.raises(MnistcliError) as err:
        load_model(bad)
    message = str(err.value)
    assert "refused to load the model" in message and named in message and "\n" not in message
    assert not marker.exists()


def test_lambda_model_is_refused_by_our_check_and_by_keras_safe_mode(tmp_path, monkeypatch):
    import keras

    import mnistcli.models.archive
    from mnistcli.models.archive import load_model

    model = keras.Sequential([
        keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10),
    ])
    path = tmp_path / "model.keras"
    model.save(path)
    with pytest.raises(MnistcliError, match="refused to load the model - it refers to code .*a Lambda layer"):
        load_model(path)
    # The second line of defence: with our check skipped, Keras's safe mode still refuses the lambda.
    monkeypatch.setattr(mnistcli.models.archive, "check_archive", lambda path: None)
    with pytest.raises(MnistcliError, match="refused to load the model - Keras's safe mode blocked it"):
        load_model(path)


def test_h5_file_named_model_keras_is_refused(tmp_path, good_model):
    """Keras ignores safe mode for legacy HDF5 (CVE-2025-9905): such a file must never reach Keras."""
    import keras

    from mnistcli.models.archive import load_model

    h5 = tmp_path / "legacy.h5"
    keras.saving.load_model(good_model).save(h5)
    disguised = tmp_path / "model.keras"
    disguised.write_bytes(h5.read_bytes())
    with pytest.raises(MnistcliError, match="not a .keras model archive"):
        load_model(disguised)


def test_evaluate_refuses_a_tampered_run_model(good_model, workdir, tiny_mnist):
    """Through the CLI: one line, exit 2, and the archive's code never runs."""
    result = runner.invoke(app, ["train", "model=softmax", "train.epochs=1", "train.progress=false",
                                 "data.train_limit=500", f"data.dir={tiny_mnist}"])
    assert result.exit_code == 0, result.output
    (run,) = [p.parent for p in (workdir / "outputs").rglob("model.keras")]
    marker = workdir / "PWNED"
    rewrite_config(run / "model.keras", run / "model.keras", lambda c: tamper_layer_is_os_system(c, marker))
    result = runner.invoke(app, ["evaluate", str(run)])
    assert result.exit_code == 2 and "refused to load the model" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not marker.exists()


def test_good_model_still_loads(good_model):
    from mnistcli.models.archive import load_model

    model = load_model(good_model)
    assert model.output_shape == (None, 10)
    assert load_model(good_model, compile=True).optimizer.__class__.__name__ == "Adam"


def test_npz_with_pickled_objects_is_refused_not_unpickled(tmp_path):
    from mnistcli.data.dataset import load_dataset

    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    arrays = {"x_train": np.zeros((2, 28, 28), np.uint8), "y_train": np.zeros(2, np.uint8),
              "x_test": np.array([Payload()], dtype=object), "y_test": np.zeros(1, np.uint8)}
    with open(tmp_path / "mnist.npz", "wb") as f:
        np.savez(f, **arrays)  # object arrays are stored pickled
    with pytest.raises(MnistcliError, match="mnist.npz: not a valid npz file"):
        load_dataset(dir=str(tmp_path), url=None, seed=0)
    assert not marker.exists()


def test_no_code_path_can_unpickle():
    """Every np.load passes allow_pickle=False, and nothing imports pickle, marshal or dill."""
    for path in sorted((REPO / "mnistcli").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load" and \
                    getattr(node.func.value, "id", None) in ("np", "numpy"):
                kwargs = {k.arg: k.value for k in node.keywords}
                assert "allow_pickle" in kwargs, f"{path.name}:{node.lineno} np.load without allow_pickle=False"
                assert isinstance(kwargs["allow_pickle"], ast.Constant) and kwargs["allow_pickle"].value is False
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "marshal", "dill", "cloudpickle"} & set(names), f"{path.name}:{node.lineno}"


def test_minimum_keras_has_the_known_safe_mode_fixes():
    """pyproject's keras floor must exclude every release with a known safe-mode bypass (see the comment there)."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if re.match(r"keras\b", d)]
    floor = tuple(int(p) for p in re.search(r">=\s*([\d.]+)", spec).group(1).split("."))
    assert floor >= (3, 13, 2)  # CVE-2026-1462 (TFSMLayer) fixed in 3.13.2; 3.11.0 only fixed CVE-2025-9906
    import keras

    installed = tuple(int(p) for p in re.findall(r"\d+", keras.__version__)[:3])
    assert installed >= floor
