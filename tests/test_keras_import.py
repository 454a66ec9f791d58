"""The fast, quiet Keras import leaves the interpreter as a plain import would."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys, typing
convert = typing._type_convert
from mnistcli.keras_import import NOT_FOR_KERAS, import_keras

keras = import_keras()
assert typing._type_convert is convert, "typing left patched"
assert not [n for n in NOT_FOR_KERAS if n in sys.modules and sys.modules[n] is None], "a module left hidden"
import matplotlib  # hidden only during the import
from tensorflow.python.ops import gen_math_ops
refs = gen_math_ops.TV_Abs_T.__constraints__
assert all(isinstance(r, typing.ForwardRef) for r in refs) and refs[1].__forward_arg__ == "_atypes.Float32"
assert refs[1] is gen_math_ops.TV_Acos_T.__constraints__[3]  # one ForwardRef per dtype string
assert typing.ForwardRef("_atypes.Float32") is not refs[1]  # and only during the import
import numpy as np
assert float(keras.ops.sum(keras.ops.ones((2, 3)))) == 6.0
print("ok")
"""


def test_import_keras_restores_typing_and_hidden_modules():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
    assert "cuInit" not in out.stderr and "cuda" not in out.stderr.lower()  # the start-up chatter stays hidden
