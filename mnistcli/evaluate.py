"""`mnistcli evaluate`: recompute a run's test metrics from its run folder alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.metrics import classification_report
from mnistcli.rundir import METRICS_FILE, MODEL_FILE, read_json, resolve_run


def predict_proba(model, x: np.ndarray, batch_size: int = 10_000) -> np.ndarray:
    """Class probabilities by calling the model eagerly: for an MLP this is faster than model.predict,
    which traces a graph first (about a second) to then run a few milliseconds of arithmetic."""
    chunks = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, model.output_shape[-1]), np.float32)


def score_model(model, x: np.ndarray, y: np.ndarray, classes: list[str]) -> dict:
    """Test loss and accuracy, the confusion matrix and per-class scores of a model on (x, y)."""
    probs = predict_proba(model, x).astype(np.float64)
    report = classification_report(y, probs.argmax(axis=1), classes)
    return {"test_accuracy": report.pop("accuracy"), "test_loss": _loss(probs, y), **report}


def validation_logs(model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """val_loss and val_accuracy as Keras's fit would log them, from one eager call.

    fit's own validation traces a second graph on the first epoch (~0.3 s) and sets up an evaluation
    loop every epoch (~30 ms); the arithmetic itself takes a few milliseconds.
    """
    probs = predict_proba(model, x).astype(np.float64)
    return {"val_accuracy": float(np.mean(probs.argmax(axis=1) == y)), "val_loss": _loss(probs, y)}


def _loss(probs: np.ndarray, y: np.ndarray) -> float:
    # Keras's sparse categorical cross-entropy, with its clipping, so losses match fit's numbers.
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)).mean())


def evaluate_run(run_dir: Path | None = None, data_dir: Path | None = None) -> dict:
    """The run's metrics.json with every test figure recomputed on its test set (or data_dir's)."""
    from mnistcli.data import load_dataset
    from mnistcli.keras_import import import_keras
    from mnistcli.model import load_model

    run = resolve_run(run_dir)
    stored = read_json(run / METRICS_FILE)
    if "config" not in stored:
        raise MnistcliError(f"{run / METRICS_FILE} has no config - not written by this mnistcli")
    cfg = stored["config"]
    data_cfg = dict(cfg["data"], **({"dir": str(data_dir)} if data_dir else {}))
    ds = load_dataset(**data_cfg, seed=cfg["seed"], test_only=True)
    import_keras()
    model = load_model(run / MODEL_FILE)
    scores = score_model(model, ds.x_test, ds.y_test, ds.classes)
    data = dict(stored.get("data", {}), source=ds.source, test_size=int(len(ds.y_test)))
    return {**stored, **scores, "data": data, "run_dir": str(run)}

