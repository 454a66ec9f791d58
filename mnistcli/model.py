"""Model factory: the keys of a conf/model file in, an uncompiled Keras MLP out."""

from __future__ import annotations

import os
from collections.abc import Sequence

# Keras activation names a hidden layer may use; the config check lists them on a typo.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "leaky_relu", "linear")


def import_keras():
    """Import Keras (and TensorFlow) with their C++ start-up chatter about missing CUDA kept off the terminal.

    absl prints those lines straight to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL is read, so the
    descriptor itself is pointed at /dev/null for the first import and device discovery only.
    """
    import sys

    if "keras" in sys.modules:
        import keras

        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            import keras
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery prints the "failed call to cuInit" line
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return keras


def build_model(
    name: str,
    hidden_units: Sequence[int],
    activation: str = "relu",
    dropout: float = 0.0,
    *,
    image_size: int = 28,
    num_classes: int = 10,
):
    """Flatten -> [Dense(units, activation) -> Dropout] per hidden layer -> Dense(num_classes, softmax).

    `hidden_units=[]` is softmax regression. Inputs are (image_size, image_size) float32 in [0, 1],
    bright ink on dark, as MNIST stores them.
    """
    keras = import_keras()  # lazy: TensorFlow costs seconds to import

    layers = [keras.Input(shape=(image_size, image_size), name="pixels"), keras.layers.Flatten()]
    for i, units in enumerate(hidden_units, start=1):
        layers.append(keras.layers.Dense(int(units), activation=activation, name=f"hidden{i}"))
        if dropout:
            layers.append(keras.layers.Dropout(float(dropout), name=f"dropout{i}"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="classes"))
    return keras.Sequential(layers, name=name)


def load_model(path):
    """Load a saved model.keras with Keras's safe mode on: no arbitrary code from the archive runs."""
    keras = import_keras()

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged or hostile archive
        from mnistcli.errors import MnistcliError

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MnistcliError(f"{path}: cannot load the model ({first[:200]})") from None
