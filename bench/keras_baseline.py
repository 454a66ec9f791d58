"""The reference projects' training, as they write it: plain Keras, Adam, batch 32, fit on numpy arrays; and
the Keras team's own MNIST convnet (keras-io examples/vision/mnist_convnet.py) as its example trains it.

    python bench/keras_baseline.py MODEL EPOCHS DATA_DIR OUT_JSON     # MODEL: softmax, hidden128, hidden100x2, convnet

Writes final test accuracy and, per epoch, the test accuracy and seconds since process start (so the
benchmark can say when the baseline first reached its own final accuracy).
"""

import time

START = time.perf_counter()

import gzip  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from tensorflow import keras  # noqa: E402

HIDDEN = {"softmax": [], "hidden128": [128], "hidden100x2": [100, 100]}


def load(folder: Path, kind: str):
    images = gzip.open(folder / f"{kind}-images-idx3-ubyte.gz").read()
    labels = gzip.open(folder / f"{kind}-labels-idx1-ubyte.gz").read()
    return np.frombuffer(images, np.uint8, offset=16).reshape(-1, 28, 28) / 255.0, np.frombuffer(labels, np.uint8, offset=8)


def main() -> None:
    name, epochs, folder, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    x_train, y_train = load(folder, "train")
    x_test, y_test = load(folder, "t10k")
    if name == "convnet":
        # keras-io's mnist_convnet.py, layer for layer: batch 128, 10% of the training images for validation.
        x_train, x_test = x_train[..., None], x_test[..., None]
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ])
        fit_args = {"batch_size": 128, "validation_split": 0.1}
    else:
        model = keras.Sequential(
            [keras.Input((28, 28)), keras.layers.Flatten()]
            + [keras.layers.Dense(u, activation="relu") for u in HIDDEN[name]]
            + [keras.layers.Dense(10, activation="softmax")]
        )
        fit_args = {"batch_size": 32}
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    per_epoch = []
    scoring = [0.0]  # seconds spent scoring the test set, which the reference projects don't do

    class TestEachEpoch(keras.callbacks.Callback):
        # Measurement only: the time spent scoring is subtracted from every figure.
        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            acc = self.model.evaluate(x_test, y_test, batch_size=1024, verbose=0)[1]
            per_epoch.append({"epoch": epoch + 1, "seconds": now - START - scoring[0], "test_accuracy": acc})
            scoring[0] += time.perf_counter() - now

    fit_start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, verbose=0, callbacks=[TestEachEpoch()], **fit_args)
    fit_seconds = time.perf_counter() - fit_start - scoring[0]
    out.write_text(json.dumps({
        "test_accuracy": per_epoch[-1]["test_accuracy"], "per_epoch": per_epoch, "fit_seconds": fit_seconds,
        "train_size": int(len(y_train) * (0.9 if name == "convnet" else 1)), "params": model.count_params(), "scoring_seconds": scoring[0],
    }))


if __name__ == "__main__":
    main()
