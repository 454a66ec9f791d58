"""`mnistcli predict`: read digits from image files with a trained run, one result per file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.images import find_images, load_digits
from mnistcli.inference import load_classifier
from mnistcli.rundir import METRICS_FILE, read_json, resolve_run

# Below this the answer is flagged: the model is as good as guessing between two or more classes.
LOW_CONFIDENCE = 0.6


def predict_files(
    paths: Sequence[str | Path],
    run_dir: Path | None = None,
    invert: bool | None = None,
    backend: str = "auto",
) -> dict:
    """Classify every image found in `paths` with the run's model.

    Returns {"run_dir", "backend", "classes", "results"}; each result is {"file", "digit", "confidence",
    "probabilities", "low_confidence", "pixels"} or {"file", "error"} for a file that could not be read.
    """
    run = resolve_run(run_dir)
    info = read_json(run / METRICS_FILE)
    classes = info.get("classes") or [str(d) for d in range(10)]
    size = int(info.get("input", {}).get("image_size", 28))

    files, problems = find_images(paths)
    results: list[dict] = [{"file": p.split(":", 1)[0], "error": p} for p in problems]
    good: list[tuple[str, np.ndarray]] = []
    for file, digit in zip(files, load_digits(files, image_size=size, invert=invert)):
        if isinstance(digit, MnistcliError):
            results.append({"file": file, "error": str(digit)})
        else:
            good.append((file, digit))
    if not files and not problems:
        raise MnistcliError("no images given")

    backend_used = "none"
    if good:
        classify, backend_used = load_classifier(run, backend)
        probs = classify(np.stack([pixels for _, pixels in good]))
        for (file, pixels), p in zip(good, probs):
            k = int(np.argmax(p))
            results.append(
                {
                    "file": file,
                    "digit": classes[k],
                    "confidence": float(p[k]),
                    "probabilities": [round(float(v), 6) for v in p],
                    "low_confidence": bool(p[k] < LOW_CONFIDENCE),
                    "pixels": pixels,
                }
            )
    order = {f: i for i, f in enumerate(files)}
    results.sort(key=lambda r: order.get(r["file"], -1))
    return {"run_dir": str(run), "backend": backend_used, "classes": classes, "results": results}
