"""Workarounds for TensorFlow and Keras behaviour that measurably costs mnistcli time or memory, each behind one function.

Each relies on something the libraries do not promise, so each has a test (tests/runtime/test_tf_workarounds.py)
that fails loudly when the internal it relies on changes - not a silent loss of the gain:

- ``build_training_state``: Keras's private ``Model._symbolic_build`` (the first epoch traced once, not twice:
  ~0.2 s for softmax, ~0.3 s for hidden128);
- ``forget_traced_gradients``: TensorFlow's private gradient registry (a sweep's process stays flat instead of
  growing ~13 MiB a job, bench/sweep_memory.py);
- ``limit_malloc_arenas``: glibc's public ``mallopt``, but tuned for TensorFlow's threads (same bench).
"""

from __future__ import annotations

import platform
import sys

import numpy as np

# glibc's mallopt() parameter for the number of malloc arenas.
_M_ARENA_MAX = -8
# Measured (bench/sweep_memory.py): with glibc's default of 8 arenas per core, TensorFlow's worker threads
# fragment freed memory over many arenas and a process running 20 jobs kept growing; with 2 it stays flat.
MALLOC_ARENAS = 2
# The module and attribute that hold TensorFlow's registry of gradient functions.
GRADIENT_REGISTRY_MODULE = "tensorflow.python.framework.ops"
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"

_arenas_limited = False


def build_training_state(model, image_shape: tuple[int, ...]) -> bool:
    """Create the optimizer's, loss's and metrics' variables before fit traces its training step.

    Keras creates them during the first call of that step, and a tf.function that creates variables is
    traced twice. Building them first, symbolically (as Keras itself does under a distribution strategy),
    halves the first epoch's tracing. Returns False (and costs only the second trace) where Keras has no
    such method.
    """
    build = getattr(model, "_symbolic_build", None)
    if build is None:
        return False
    build(data_batch=(np.zeros((1, *image_shape), np.float32), np.zeros((1,), np.int64), None))
    return True


def gradient_registry() -> dict | None:
    """TensorFlow's name -> gradient function registry, or None where TensorFlow keeps it elsewhere."""
    ops = sys.modules.get(GRADIENT_REGISTRY_MODULE)
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def forget_traced_gradients() -> int:
    """Drop the gradient functions TensorFlow registered while tracing a finished job's training step.

    Keras's optimizer all-reduces gradients through tf.custom_gradient, and TensorFlow registers a
    "CustomGradient-<n>" gradient function for every graph traced through it and never removes it; the
    function keeps the whole traced graph alive (~7,000 Python objects and 20 graph functions a job here).
    It is looked up only while that graph is being traced, so once no job is training it is garbage.
    Returns how many were dropped.
    """
    registry = gradient_registry()
    if registry is None:
        return 0
    stale = [n for n in registry if isinstance(n, str) and n.startswith(CUSTOM_GRADIENT_PREFIX)]
    for name in stale:
        del registry[name]
    return len(stale)


def limit_malloc_arenas() -> bool:
    """Cap glibc's malloc arenas for a process that will run sweep jobs (best before TensorFlow starts threads)."""
    global _arenas_limited
    if _arenas_limited:
        return True
    _arenas_limited = True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False  # macOS, musl: another allocator, nothing to tune
    import ctypes

    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, MALLOC_ARENAS))
    except (OSError, AttributeError):
        return False
