"""The tensorboard logger: Keras's TensorBoard callback into the run folder's tensorboard/, and the confusion
matrix as an image once the run is scored."""

from __future__ import annotations

from pathlib import Path

EVENTS_DIR = "tensorboard"


def callbacks(run_dir: Path, settings: dict) -> list:
    """Keras's own callback: epoch_loss, epoch_accuracy and epoch_learning_rate in train/, the validation
    split's in validation/ (its val_ values, which fit.py adds to each epoch's logs), the Keras model as a
    conceptual graph; and, with write_graph, the model's op graph (Keras 3's own needs a TensorFlow API
    that TensorFlow 2.21 no longer has, so it writes none)."""
    from mnistcli.runtime.keras_import import import_keras

    keras = import_keras()
    board = keras.callbacks.TensorBoard(
        log_dir=str(Path(run_dir) / EVENTS_DIR),
        write_graph=settings.get("write_graph", True),
        histogram_freq=settings.get("histogram_freq", 0),
        update_freq="epoch",
        profile_batch=0,
    )
    if not settings.get("write_graph", True):
        return [board]
    events = Path(run_dir) / EVENTS_DIR / "train"
    return [board, keras.callbacks.LambdaCallback(on_train_begin=lambda logs: _write_graph(board.model, events))]


def _write_graph(model, folder: Path) -> None:
    """The model's forward pass, traced once, as the GRAPHS tab's op graph."""
    import tensorflow as tf

    traced = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
    )
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        tf.summary.graph(traced.graph)
    writer.close()


def log_confusion_matrix(run_dir: Path, png: Path, step: int) -> None:
    """The run's confusion_matrix.png as an image summary (IMAGES tab), at the run's last epoch."""
    import tensorflow as tf

    image = tf.io.decode_png(Path(png).read_bytes(), channels=3)
    writer = tf.summary.create_file_writer(str(Path(run_dir) / EVENTS_DIR / "test"))
    with writer.as_default():
        tf.summary.image("confusion_matrix", image[tf.newaxis], step=step)
    writer.close()
