"""Each TensorFlow/Keras workaround still has the internal it relies on, and still bites: a failure here means a
library changed, and the workaround must be updated or dropped - never that it silently stopped helping."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from mnistcli.runtime import tf_workarounds


def _compiled(seed: int = 0):
    from mnistcli.config.schema import TrainSettings
    from mnistcli.models.registry import build_model
    from mnistcli.runtime.keras_import import import_keras
    from mnistcli.training.fit import compile_model

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    model = build_model({"family": "mlp", "hidden_units": [8], "activation": "relu", "dropout": 0.5})
    compile_model(model, TrainSettings(steps_per_execution=1), steps=1)
    return model


def _traces_of_the_training_step(build_first: bool) -> int:
    model = _compiled()
    traced = []
    step = model.train_step
    model.train_step = lambda data: (traced.append(1), step(data))[1]
    if build_first:
        assert tf_workarounds.build_training_state(model, (28, 28)), "Keras no longer has Model._symbolic_build"
    model.fit(np.zeros((8, 28, 28), np.float32), np.zeros(8, np.int64), epochs=1, batch_size=8, verbose=0)
    return len(traced)


def test_building_the_training_state_first_halves_the_tracing():
    """Without it Keras traces the first step twice (it creates variables); with it, once. If Keras stops tracing
    twice on its own, the first assertion fails: the workaround can then go."""
    assert _traces_of_the_training_step(build_first=False) == 2
    assert _traces_of_the_training_step(build_first=True) == 1


def test_building_the_training_state_leaves_weights_and_step_count_alone():
    model = _compiled()
    weights = model.get_weights()
    assert not model.optimizer.built and len(model.metrics_variables) == 2  # the loss tracker's only
    assert tf_workarounds.build_training_state(model, (28, 28))
    assert model.optimizer.built and len(model.metrics_variables) == 4  # and the accuracy's
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert int(model.optimizer.iterations) == 0  # built, not stepped
    history = model.fit(np.zeros((8, 28, 28), np.float32), np.zeros(8, np.int64), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_traced_custom_gradients_pile_up_in_the_registry_and_are_forgotten():
    """TensorFlow registers a CustomGradient-<n> per traced training step and keeps it: the registry must still be
    where forget_traced_gradients looks, hold such entries after a fit, and lose them afterwards."""
    model = _compiled()
    model.fit(np.zeros((8, 28, 28), np.float32), np.zeros(8, np.int64), epochs=1, verbose=0)
    registry = tf_workarounds.gradient_registry()
    assert registry is not None, "TensorFlow's gradient registry moved: forget_traced_gradients frees nothing"
    stale = [n for n in registry if str(n).startswith(tf_workarounds.CUSTOM_GRADIENT_PREFIX)]
    assert stale, "no CustomGradient entries after a fit: TensorFlow no longer keeps them (drop the workaround)"
    assert tf_workarounds.forget_traced_gradients() == len(stale)
    assert not [n for n in registry if str(n).startswith(tf_workarounds.CUSTOM_GRADIENT_PREFIX)]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_malloc_arenas_can_be_capped():
    assert tf_workarounds.limit_malloc_arenas()
