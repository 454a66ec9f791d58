"""The quiet, lean Keras import leaves the interpreter as a plain import would."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from mnistcli.runtime.keras_import import NOT_FOR_KERAS, import_keras

keras = import_keras()
assert not [n for n in NOT_FOR_KERAS if n in sys.modules and sys.modules[n] is None], "a module left hidden"
assert not [n for n in NOT_FOR_KERAS if n in sys.modules], "TensorFlow imported what it was not to"
import matplotlib  # hidden only during the import
assert float(keras.ops.sum(keras.ops.ones((2, 3)))) == 6.0
print("ok")
"""


def test_import_keras_leaves_no_module_hidden():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
    assert "cuInit" not in out.stderr and "cuda" not in out.stderr.lower()  # the start-up chatter stays hidden
