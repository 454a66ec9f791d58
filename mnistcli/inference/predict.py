"""Reading numbers with a trained run: an array-in Reader (for a server), and `mnistcli predict`'s files-in wrapper.

``Reader`` is the one place that turns an image into a *reading*: the number, each digit with its confidence,
box and probabilities, the confidence of the whole number, and the run that read it. ``json_row`` is what
``predict --json`` prints for it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.inference.classifier import load_classifier
from mnistcli.runs.record import RunRecord, read_record
from mnistcli.runs.rundir import MODEL_FILE, OUTPUTS, find_runs, resolve_run, shown
from mnistcli.vision.decode import image_from_bytes, read_image
from mnistcli.vision.files import find_images

# Below this a digit is flagged: the model is as good as guessing between two or more classes.
LOW_CONFIDENCE = 0.6

#: The dataset a run must have been trained on to read handwritten digits (unless asked: any_dataset).
DIGITS_DATASET = "mnist"

#: Keys of a reading that hold arrays for the terminal (--show), not part of the JSON row.
PRIVATE_KEYS = ("pixels", "inputs", "thumbnail", "thumb_scale")


def json_row(reading: dict) -> dict:
    """A reading as `predict --json` prints it (and a server would return it): the arrays left out."""
    return {k: v for k, v in reading.items() if k not in PRIVATE_KEYS}


def dataset_of(record: RunRecord) -> str:
    """The dataset a run was trained on (its data config's name)."""
    return str((record.data or {}).get("name") or (record.config.get("data") or {}).get("name") or "?")


def best_run(root: Path = OUTPUTS, dataset: str | None = DIGITS_DATASET) -> Path:
    """The completed run under root with the best validation accuracy (on ``dataset``; None: any)."""
    best, key = None, None
    for run in find_runs(root):
        if not (run / MODEL_FILE).is_file():
            continue
        try:
            record = read_record(run)
        except MnistcliError:
            continue
        if record.status != "completed" or (dataset and dataset_of(record) != dataset):
            continue
        score = (record.val_accuracy is not None, record.val_accuracy or 0.0, record.test_accuracy or 0.0)
        if key is None or score > key:
            best, key = run, score
    if best is None:
        on = f" trained on {dataset}" if dataset else ""
        raise MnistcliError(f"no completed runs{on} under {root}/ - train one with `mnistcli train`")
    return best


def choose_run(run_dir: Path | str | None, any_dataset: bool = False, root: Path = OUTPUTS) -> Path:
    """The run to read with: a folder, "best" (best validation accuracy), or None (the newest).

    Without ``any_dataset`` only runs trained on MNIST are taken: the newest such run by default, and a run
    named explicitly that was trained on another dataset is refused with one line.
    """
    dataset = None if any_dataset else DIGITS_DATASET
    if run_dir is not None and str(run_dir) == "best":
        return best_run(root, dataset)
    if run_dir is None:
        runs = [r for r in find_runs(root) if (r / MODEL_FILE).is_file()]
        if not runs:
            raise MnistcliError(f"no trained runs under {root}/ - train one with `mnistcli train`")
        if dataset is None:
            return runs[-1]
        for run in reversed(runs):
            try:
                if dataset_of(read_record(run)) == dataset:
                    return run
            except MnistcliError:
                continue
        raise MnistcliError(
            f"no run under {root}/ was trained on {dataset} (the newest, {shown(runs[-1])}, reads "
            f"{_dataset_words(runs[-1])}) - train one with `mnistcli train`, or pass --any-dataset"
        )
    run = resolve_run(Path(run_dir))
    if dataset is not None:
        trained_on = dataset_of(read_record(run))
        if trained_on != dataset:
            raise MnistcliError(
                f"{shown(run)} was trained on {trained_on}, not handwritten digits ({dataset}) - "
                "pick another run (--run best), or pass --any-dataset to use it anyway"
            )
    return run


def _dataset_words(run: Path) -> str:
    try:
        return dataset_of(read_record(run))
    except MnistcliError:
        return "an unreadable record"


class Reader:
    """A run's model loaded once, reading numbers from arrays: a decoded grey image or prepared model inputs."""

    def __init__(self, run_dir: Path | str | None = None, backend: str = "auto", any_dataset: bool = False):
        self.run = choose_run(run_dir, any_dataset)
        record = read_record(self.run)
        self.classes = record.classes or [str(d) for d in range(10)]
        self.image_size = int((record.input or {}).get("image_size", 28))
        self.record = record
        self.backend = backend
        self._classify = None
        # Numbers are read only by a model whose classes are the ten digits; any other model reads one thing.
        self.reads_numbers = [str(c) for c in self.classes] == [str(d) for d in range(10)]

    @property
    def run_info(self) -> dict:
        """Which model read it: what the Rich header and each JSON row say about the run."""
        model = self.record.model or {}
        return {
            "dir": shown(self.run),
            "model": model.get("name") or self.record.name,
            "family": model.get("family"),
            "description": model.get("description"),
            "dataset": dataset_of(self.record),
            "test_accuracy": self.record.test_accuracy,
            "val_accuracy": self.record.val_accuracy,
            "backend": self.backend,
        }

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        """Prepared inputs (N, s, s) float32 in [0, 1] -> (N, classes) probabilities (the model loaded on first use)."""
        if self._classify is None:  # loaded on first use: a batch of unreadable files needs no model
            self._classify, self.backend = load_classifier(self.run, self.backend)
        n = len(digits)
        if not n:
            return np.zeros((0, len(self.classes)), np.float32)
        # Batches padded to a power of two: LiteRT re-plans its buffers for every new batch size (a few
        # milliseconds each), and each picture brings a different number of candidate digits.
        size = 1 << (n - 1).bit_length()
        x = np.zeros((size, *np.shape(digits)[1:]), np.float32)
        x[:n] = digits
        return self._classify(x)[:n]

    def classify(self, digits: np.ndarray) -> list[dict]:
        """Prepared inputs (N, s, s) float32 in [0, 1] -> one answer each: digit, confidence, probabilities."""
        return [self._answer(p) for p in self.probabilities(digits)]

    def _answer(self, p: np.ndarray) -> dict:
        k = int(np.argmax(p))
        return {
            "digit": self.classes[k],
            "confidence": float(p[k]),
            "probabilities": [round(float(v), 6) for v in p],
            "low_confidence": bool(p[k] < LOW_CONFIDENCE),
        }

    def lattice(self, grey: np.ndarray, name: str = "image", invert: bool | None = None, single: bool = False):
        """The vision layer's work on one decoded image (what predict's worker processes do)."""
        return lattice(grey, self.image_size, invert, name, single or not self.reads_numbers)

    def read_lattices(self, lines: Sequence, sizes: Sequence[tuple[int, int] | None] | None = None) -> list[dict]:
        """Lattices (``vision.segment.Line``) of many images -> their readings; the model runs once for all."""
        from mnistcli.vision.scoring import best_path

        sizes = sizes or [None] * len(lines)
        starts = np.cumsum([0] + [len(line.candidates) for line in lines])
        probs = self.probabilities(np.concatenate([line.inputs for line in lines])) if lines else None
        readings = []
        for line, size, a, b in zip(lines, sizes, starts[:-1], starts[1:]):
            p = probs[a:b]
            path, _ = best_path(line, p)
            readings.append(self._reading(line, path, p, size))
        return readings

    def _reading(self, line, path: list[int], probs: np.ndarray, size) -> dict:
        h, w = line.shape
        sx, sy = (size[0] / w, size[1] / h) if size else (1.0, 1.0)
        digits = []
        for k in path:
            x0, y0, x1, y1 = line.candidates[k].box
            box = [
                max(0, math.floor(x0 * sx)), max(0, math.floor(y0 * sy)),
                min(round(w * sx), math.ceil(x1 * sx)), min(round(h * sy), math.ceil(y1 * sy)),
            ]
            digits.append({**self._answer(probs[k]), "box": box})
        confidence = float(np.prod([d["confidence"] for d in digits])) if digits else 0.0
        reading = {
            "number": "".join(str(d["digit"]) for d in digits),
            "confidence": confidence,
            "low_confidence": any(d["low_confidence"] for d in digits),
        }
        if len(digits) == 1:  # one digit: the single-digit fields as they always were
            only = digits[0]
            reading.update(digit=only["digit"], confidence=only["confidence"], probabilities=only["probabilities"])
        reading["digits"] = digits
        if line.warning:
            reading["warning"] = line.warning
        reading["run"] = self.run_info
        inputs = line.inputs[path] if path else np.zeros((0, self.image_size, self.image_size), np.float32)
        reading["inputs"] = inputs
        if len(digits) == 1:
            reading["pixels"] = inputs[0]
        reading["thumbnail"] = line.thumbnail
        reading["thumb_scale"] = (line.thumb_scale / sx, line.thumb_scale / sy)  # thumbnail px per original px
        return reading

    def read_grey(
        self, grey: np.ndarray, name: str = "image", invert: bool | None = None, single: bool = False,
        size: tuple[int, int] | None = None,
    ) -> dict:
        """One decoded grey image (2-D, [0, 1]) -> its reading; ``size`` is the original (width, height), for boxes."""
        grey = np.asarray(grey, dtype=np.float32)
        if grey.ndim != 2 or grey.size == 0:
            raise MnistcliError(f"{name}: expected a 2-D grey image, got an array of shape {grey.shape}")
        return self.read_lattices([self.lattice(grey, name, invert, single)], [size])[0]

    def read_bytes(self, data: bytes, name: str = "upload", invert: bool | None = None, single: bool = False) -> dict:
        """An image file's bytes (PNG, JPEG...) -> as read_grey; MnistcliError for anything not a readable image."""
        grey, size = image_from_bytes(data, name)
        return self.read_grey(grey, name, invert, single, size)


def lattice(grey: np.ndarray, image_size: int, invert: bool | None, name: str, single: bool):
    from mnistcli.vision.segment import find_line, single as one_digit

    return (one_digit if single else find_line)(grey, image_size, invert, name)


#: From this many files on, the images are prepared in one process per core.
PARALLEL_FROM = 64


def _prepare(job: tuple[str, int, bool | None, bool]):
    path, image_size, invert, single = job
    try:
        grey, size = read_image(path)
        return lattice(grey, image_size, invert, path, single), size
    except MnistcliError as exc:
        return exc, None


def prepare_files(
    paths: list[str], image_size: int = 28, invert: bool | None = None, single: bool = False, workers: int | None = None
) -> list:
    """Decode and segment many files, in order: each item is (lattice, original size) or (MnistcliError, None).

    About 3 ms per file is numpy, SciPy and Pillow work that holds the GIL, so threads do not help; for large
    batches, processes do. ``workers`` defaults to the usable cores.
    """
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    jobs = [(path, image_size, invert, single) for path in paths]
    if workers < 2 or len(jobs) < PARALLEL_FROM:
        return [_prepare(job) for job in jobs]
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    import mnistcli.vision.segment  # noqa: F401 - imported once here, inherited by forked workers

    # fork starts a worker in milliseconds, but is only safe before TensorFlow or LiteRT has started its
    # thread pools; within a process that has loaded them (tests, notebooks) spawn is the safe choice.
    loaded = any(m in sys.modules for m in ("tensorflow", "ai_edge_litert"))
    method = "spawn" if loaded or "fork" not in multiprocessing.get_all_start_methods() else "fork"
    chunk = max(1, len(jobs) // (workers * 4))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        return list(pool.map(_prepare, jobs, chunksize=chunk))


def predict_files(
    paths: Sequence[str | Path],
    run_dir: Path | str | None = None,
    invert: bool | None = None,
    backend: str = "auto",
    single: bool = False,
    any_dataset: bool = False,
) -> dict:
    """Read the number in every image found in `paths` with the run's model.

    Returns {"run_dir", "run", "backend", "classes", "results"}; each result is {"file", **reading} (see
    Reader) or {"file", "error"} for a file that could not be read.
    """
    reader = Reader(run_dir, backend, any_dataset)
    files, problems = find_images(paths)
    if not files and not problems:
        raise MnistcliError("no images given")
    results: list[dict] = [{"file": p.split(":", 1)[0], "error": p} for p in problems]
    good: list[tuple[str, object, tuple[int, int]]] = []
    prepared = prepare_files(files, reader.image_size, invert, single or not reader.reads_numbers)
    for file, (line, size) in zip(files, prepared):
        if isinstance(line, MnistcliError):
            results.append({"file": file, "error": str(line)})
        else:
            good.append((file, line, size))
    backend_used = "none"
    if good:
        readings = reader.read_lattices([line for _, line, _ in good], [size for _, _, size in good])
        backend_used = reader.backend
        results += [{"file": file, **reading} for (file, _, _), reading in zip(good, readings)]
    order = {f: i for i, f in enumerate(files)}
    results.sort(key=lambda r: order.get(r["file"], -1))
    info = reader.run_info
    return {"run_dir": str(reader.run), "run": info, "backend": backend_used, "classes": reader.classes,
            "results": results}
