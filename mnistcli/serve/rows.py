"""A reading as the API answers it: the keys of a `predict --json` row, and, when asked, the inputs the model saw."""

from __future__ import annotations

import numpy as np

from mnistcli.inference.predict import json_row


def api_row(reading: dict, name: str, run_id: str, with_inputs: bool = False) -> dict:
    """{"file", **the reading's JSON keys}; with_inputs adds "inputs": each digit's model input as rows of 0-255.

    A reading that describes its run (`run`, with the run's folder in `dir`) names the run by its id instead:
    an answer never shows where the server's files are.
    """
    row = {"file": name, **json_row(reading)}
    if isinstance(row.get("run"), dict) and "dir" in row["run"]:
        row["run"] = {**row["run"], "dir": run_id}
    if with_inputs:
        inputs = reading.get("inputs")
        if inputs is None:
            inputs = np.asarray(reading["pixels"])[None]
        row["inputs"] = [np.rint(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8).tolist() for x in inputs]
    return row
