"""Exporting a trained Keras model for LiteRT, so predict runs without importing TensorFlow."""

from __future__ import annotations

from pathlib import Path


def export_litert(model, path: Path) -> None:
    """Write the model as a LiteRT flatbuffer: (N, s, s) float32 pixels in, (N, classes) probabilities out.

    TensorFlow's converter takes the one inference function directly: twice as fast (~0.2 s against
    ~0.4 s) as model.export(format="litert"), which first writes Keras's whole export archive as a
    SavedModel and loads it back.
    """
    import tensorflow as tf

    weights = tf.Module()
    weights.variables_ = [v.value for v in model.variables]  # the tf.Variables the converter freezes
    pixels = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name="pixels")
    serve = tf.function(lambda x: model(x, training=False), autograph=False).get_concrete_function(pixels)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve], trackable_obj=weights)
    Path(path).write_bytes(converter.convert())
