"""Confusion matrix orientation and per-class scores on hand-checked numbers."""

from __future__ import annotations

import numpy as np

from mnistcli.evaluation.metrics import classification_report, confusion_matrix


def test_rows_are_true_columns_predicted():
    cm = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_per_class_scores_and_confusions():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    rep = classification_report(y_true, y_pred, ["0", "1", "2"])
    assert rep["accuracy"] == 4 / 6
    zero, one, two = rep["per_class"]
    assert (zero["precision"], zero["recall"], zero["support"]) == (round(2 / 3, 4), round(2 / 3, 4), 3)
    assert (one["precision"], one["recall"]) == (round(2 / 3, 4), 1.0)
    assert two == {"class": "2", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert rep["top_confusions"][0]["count"] == 1
    assert {(c["true"], c["predicted"]) for c in rep["top_confusions"]} == {("0", "1"), ("2", "0")}
