"""fit_model's preparation of a compiled model, before Keras traces its training step."""

from __future__ import annotations

import numpy as np


def test_training_state_is_built_before_the_first_step_without_touching_the_weights():
    """Variables created inside the first training step make tf.function trace it twice (~0.2-0.3 s)."""
    from mnistcli.config import TrainSettings
    from mnistcli.keras_import import import_keras
    from mnistcli.model import build_model
    from mnistcli.train import _build_training_state, compile_model

    keras = import_keras()
    keras.utils.set_random_seed(0)
    model = build_model("h", [8], dropout=0.5)
    compile_model(model, TrainSettings(), steps=1)
    weights = model.get_weights()
    assert not model.optimizer.built and len(model.metrics_variables) == 2  # the loss tracker's only
    _build_training_state(model, (28, 28))
    assert model.optimizer.built and len(model.metrics_variables) == 4  # and the accuracy's
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert int(model.optimizer.iterations) == 0  # built, not stepped
    history = model.fit(np.zeros((8, 28, 28), np.float32), np.zeros(8, np.int64), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
