"""A trained run's classifier as a plain function: LiteRT when the run exported it, Keras otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.runtime.keras_import import quiet_stderr  # LiteRT's runtime prints an INFO line to fd 2 on start
from mnistcli.runs.rundir import LITERT_FILE, MODEL_FILE

Classifier = Callable[[np.ndarray], np.ndarray]  # (N, s, s) float32 in [0, 1] -> (N, classes) probabilities


def litert_classifier(path: Path) -> Classifier:
    """LiteRT runs the exported model in a few milliseconds, without importing TensorFlow (~5 s)."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        with quiet_stderr():
            interpreter = Interpreter(model_path=str(path), num_threads=2)
            interpreter.allocate_tensors()
    except Exception as exc:  # the runtime raises ValueError/RuntimeError on a damaged flatbuffer
        raise MnistcliError(f"{path}: cannot load the LiteRT model ({str(exc).strip().splitlines()[0][:200]})") from None
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]

    def classify(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if tuple(interpreter.get_input_details()[0]["shape"]) != x.shape:
            interpreter.resize_tensor_input(inp["index"], list(x.shape))
            with quiet_stderr():
                interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(out["index"]), dtype=np.float32)

    return classify


def keras_classifier(path: Path) -> Classifier:
    from mnistcli.evaluation.scoring import predict_proba
    from mnistcli.models.archive import load_model

    model = load_model(path)
    return lambda x: predict_proba(model, np.asarray(x, np.float32)).astype(np.float32)


def load_classifier(run_dir: Path, backend: str = "auto") -> tuple[Classifier, str]:
    """The run's classifier and the name of the backend used ("litert" or "keras")."""
    litert, keras_file = run_dir / LITERT_FILE, run_dir / MODEL_FILE
    if backend == "litert" or (backend == "auto" and litert.is_file()):
        if not litert.is_file():
            raise MnistcliError(f"{run_dir} has no {LITERT_FILE} - retrain, or use --backend keras")
        return litert_classifier(litert), "litert"
    if not keras_file.is_file():
        raise MnistcliError(f"{run_dir} holds no {MODEL_FILE} - not a finished mnistcli run")
    return keras_classifier(keras_file), "keras"
