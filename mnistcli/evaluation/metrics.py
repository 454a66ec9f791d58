"""Classification metrics from labels and predictions: confusion matrix, per-class scores, top confusions."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) counts, rows = true class, columns = predicted class."""
    flat = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str], top: int = 5) -> dict:
    """Accuracy, the confusion matrix, per-class precision/recall/F1/support and the most frequent confusions."""
    cm = confusion_matrix(y_true, y_pred, len(classes))
    tp = np.diag(cm).astype(float)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:top]
    confusions = [
        {"true": classes[i], "predicted": classes[j], "count": int(off[i, j])}
        for i, j in (np.unravel_index(k, off.shape) for k in order)
        if off[i, j] > 0
    ]
    return {
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "confusion_matrix": cm.tolist(),
        "per_class": [
            {
                "class": name,
                "precision": round(float(precision[k]), 4),
                "recall": round(float(recall[k]), 4),
                "f1": round(float(f1[k]), 4),
                "support": int(support[k]),
            }
            for k, name in enumerate(classes)
        ],
        "top_confusions": confusions,
    }
