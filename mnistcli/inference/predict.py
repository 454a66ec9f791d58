"""Reading digits with a trained run: an array-in Reader (for a server), and `mnistcli predict`'s files-in wrapper."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.inference.classifier import load_classifier
from mnistcli.runs.record import read_record
from mnistcli.runs.rundir import resolve_run
from mnistcli.vision.decode import grey_from_bytes
from mnistcli.vision.digit import digit_from_grey, load_digits
from mnistcli.vision.files import find_images

# Below this the answer is flagged: the model is as good as guessing between two or more classes.
LOW_CONFIDENCE = 0.6


class Reader:
    """A run's model loaded once, reading digits from arrays: a decoded grey image or prepared model inputs."""

    def __init__(self, run_dir: Path | None = None, backend: str = "auto"):
        self.run = resolve_run(run_dir)
        record = read_record(self.run)
        self.classes = record.classes or [str(d) for d in range(10)]
        self.image_size = int((record.input or {}).get("image_size", 28))
        self.record = record
        self.backend = backend
        self._classify = None

    def classify(self, digits: np.ndarray) -> list[dict]:
        """Prepared inputs (N, s, s) float32 in [0, 1] -> one answer each: digit, confidence, probabilities."""
        if self._classify is None:  # loaded on first use: a batch of unreadable files needs no model
            self._classify, self.backend = load_classifier(self.run, self.backend)
        probs = self._classify(np.asarray(digits, np.float32)) if len(digits) else np.zeros((0, len(self.classes)))
        answers = []
        for p in probs:
            k = int(np.argmax(p))
            answers.append(
                {
                    "digit": self.classes[k],
                    "confidence": float(p[k]),
                    "probabilities": [round(float(v), 6) for v in p],
                    "low_confidence": bool(p[k] < LOW_CONFIDENCE),
                }
            )
        return answers

    def read_grey(self, grey: np.ndarray, name: str = "image", invert: bool | None = None) -> dict:
        """One decoded grey image (2-D, [0, 1]) -> its answer and the input the model saw (`pixels`)."""
        pixels = digit_from_grey(grey, self.image_size, invert, name)
        return {**self.classify(pixels[None])[0], "pixels": pixels}

    def read_bytes(self, data: bytes, name: str = "upload", invert: bool | None = None) -> dict:
        """An image file's bytes (PNG, JPEG...) -> as read_grey; MnistcliError for anything not a readable image."""
        return self.read_grey(grey_from_bytes(data, name), name, invert)


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
    reader = Reader(run_dir, backend)
    files, problems = find_images(paths)
    if not files and not problems:
        raise MnistcliError("no images given")
    results: list[dict] = [{"file": p.split(":", 1)[0], "error": p} for p in problems]
    good: list[tuple[str, np.ndarray]] = []
    for file, digit in zip(files, load_digits(files, image_size=reader.image_size, invert=invert)):
        if isinstance(digit, MnistcliError):
            results.append({"file": file, "error": str(digit)})
        else:
            good.append((file, digit))
    backend_used = "none"
    if good:
        answers = reader.classify(np.stack([pixels for _, pixels in good]))
        backend_used = reader.backend
        results += [{"file": file, **answer, "pixels": pixels} for (file, pixels), answer in zip(good, answers)]
    order = {f: i for i, f in enumerate(files)}
    results.sort(key=lambda r: order.get(r["file"], -1))
    return {"run_dir": str(reader.run), "backend": backend_used, "classes": reader.classes, "results": results}
