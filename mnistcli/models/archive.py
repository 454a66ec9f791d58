"""Saved models: a .keras archive checked for code references, then loaded by Keras with safe mode on."""

from __future__ import annotations

from mnistcli.errors import MnistcliError
from mnistcli.runtime.keras_import import import_keras

# What a model archive's config.json may name: the Keras modules a model's layers, initializers, optimizer,
# loss and metrics come from. Anything else (os.system, keras.models.load_model, keras.config.*) is refused
# before Keras sees it: safe mode has been bypassed by such references before (CVE-2025-1550, CVE-2025-9906).
ALLOWED_MODULES = frozenset(
    {"keras", "keras.layers", "keras.initializers", "keras.optimizers", "keras.optimizers.schedules", "keras.losses",
     "keras.metrics", "keras.regularizers", "keras.constraints", "keras.activations"}
)
# Plain functions (an activation or loss by reference) may come only from these.
FUNCTION_MODULES = frozenset({"keras.activations", "keras.losses", "keras.metrics"})
# Layers that carry or load code: a Python lambda, or a whole TensorFlow SavedModel (CVE-2026-1462).
CODE_LAYERS = frozenset({"Lambda", "TFSMLayer"})
_MAX_CONFIG_BYTES = 10 << 20


def _code_references(node, found: list[str]) -> list[str]:
    """Every object reference in a Keras config that points outside what an mnistcli model is built from."""
    if isinstance(node, dict):
        if "class_name" in node:
            module, name = node.get("module"), node.get("class_name")
            registered = node.get("registered_name")
            if name in CODE_LAYERS:
                found.append(f"a {name} layer")
            elif name == "function" and module not in FUNCTION_MODULES:
                found.append(f"{module}.{node.get('config')}")
            elif module is not None and module not in ALLOWED_MODULES:
                found.append(f"{module}.{name}")
            elif registered not in (None, name, "function") and not str(registered).startswith("keras"):
                found.append(f"custom object {registered}")
        for value in node.values():
            _code_references(value, found)
    elif isinstance(node, list):
        for value in node:
            _code_references(value, found)
    return found


def check_archive(path) -> None:
    """Refuse a .keras file that is not a zip, or whose config names code an mnistcli model never uses."""
    import json
    import zipfile


    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > _MAX_CONFIG_BYTES:
                raise MnistcliError(f"{path}: refused to load the model - its config.json is {info.file_size:,} bytes")
            config = json.loads(archive.read(info))
    except MnistcliError:
        raise
    except FileNotFoundError:
        raise MnistcliError(f"{path}: not found") from None
    except KeyError:
        raise MnistcliError(f"{path}: cannot load the model - not a .keras model archive (no config.json inside)") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as e:
        # Keras ignores safe mode for legacy HDF5 files (CVE-2025-9905): only .keras zip archives are opened.
        raise MnistcliError(
            f"{path}: cannot load the model - not a .keras model archive ({' '.join(str(e).split())[:120]})"
        ) from None
    code = _code_references(config, [])
    if code:
        raise MnistcliError(
            f"{path}: refused to load the model - it refers to code mnistcli models never contain "
            f"({', '.join(sorted(set(code))[:3])}); it was not written by mnistcli or has been tampered with"
        )


def load_model(path, *, compile: bool = False):
    """Load a saved model.keras: its config checked by check_archive, then Keras with safe mode on.

    `compile` restores the optimizer and its state too (for resuming training).
    """
    keras = import_keras()


    check_archive(path)
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged or hostile archive
        text = " ".join(str(exc).split()) or type(exc).__name__
        if "safe_mode" in text:
            raise MnistcliError(f"{path}: refused to load the model - Keras's safe mode blocked it ({text[:160]})") from None
        raise MnistcliError(f"{path}: cannot load the model ({text[:200]})") from None
