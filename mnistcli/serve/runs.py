"""The runs a server reads with: chosen by an id from the listing (never by a path from a request), loaded once each."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.inference.predict import DIGITS_DATASET as DIGITS, Reader, choose_run
from mnistcli.runs.listing import list_runs
from mnistcli.runs.rundir import OUTPUTS, shown

#: Keys of a listing row that the API shows; run_dir (a local path) is not among them.
PUBLIC_KEYS = ("model", "model_settings", "dataset", "test_accuracy", "val_accuracy", "params", "when", "status")


class UnknownRun(MnistcliError):
    """A run id that is not in the listing (an API client's mistake: 404)."""


class Served:
    """One loaded run: its Reader, and the one thread that reads with it.

    A LiteRT interpreter (and a Keras model) serves one call at a time, so requests take turns anyway; doing
    every reading on the same thread also keeps memory flat. Spread over a pool of threads, the decoding's
    buffers were allocated from glibc arenas of as many threads, and the server grew ~10 MiB per 1,000
    readings for several thousand (bench/serve_load.py); on one thread it stays flat.
    """

    def __init__(self, run_id: str, run_dir: Path, backend: str):
        self.id = run_id
        self.reader = Reader(run_dir, backend, any_dataset=True)  # the catalog has chosen it already
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="mnistcli-read")
        size = self.reader.image_size
        self.reader.classify(np.zeros((1, size, size), np.float32))  # load the model now, not on a request

    def read(self, data: bytes, name: str, invert: bool | None) -> dict:
        """An image's bytes -> the Reader's reading (MnistcliError for anything that is not a readable image)."""
        return self.reader.read_bytes(data, name, invert)

    async def read_async(self, data: bytes, name: str, invert: bool | None) -> dict:
        """`read` on this run's own thread, while the server's event loop goes on serving."""
        return await asyncio.get_running_loop().run_in_executor(self.worker, self.read, data, name, invert)

    def close(self) -> None:
        self.worker.shutdown(wait=False)


class Catalog:
    """The runs under root (outputs/) by id, the default run (loaded at once), and the few other runs loaded so far."""

    def __init__(
        self, run: str | Path | None = None, root: Path = OUTPUTS, backend: str = "auto", keep: int = 4,
        any_dataset: bool = False,
    ):
        self.root = Path(root)
        self.backend = backend
        self.keep = keep
        self._lock = threading.Lock()
        self._loaded: OrderedDict[str, Served] = OrderedDict()
        chosen = choose_run(run, any_dataset, self.root)
        default_dir = chosen.resolve()
        _, self._ids = self._listing(default_dir)
        default_id = next((i for i, d in self._ids.items() if d == default_dir), None)
        # A run outside root (`--run elsewhere/run`) is named by its folder as typed; it is listed first.
        self._outside = {} if default_id is not None else {shown(chosen): default_dir}
        self._ids.update(self._outside)
        self.default = Served(default_id or shown(chosen), default_dir, backend)

    def _listing(self, default_dir: Path) -> tuple[list[dict], dict[str, Path]]:
        """The completed runs trained on MNIST under root (and the default run whatever its data), best first."""
        rows, ids = [], {}
        for row in list_runs(self.root)["runs"] if self.root.is_dir() else []:
            run_dir = Path(row["run_dir"]).resolve()
            if row["status"] == "completed" and (row["dataset"] == DIGITS or run_dir == default_dir):
                ids[row["run"]] = run_dir
                rows.append({"id": row["run"], **{k: row.get(k) for k in PUBLIC_KEYS}})
        return rows, ids

    def rows(self) -> list[dict]:
        """The runs a client may pick, as the API shows them (read afresh: runs trained meanwhile appear)."""
        rows, ids = self._listing(self.default.reader.run.resolve())
        with self._lock:
            self._ids = {**ids, **self._outside}
        if self._outside:
            rows.insert(0, describe(self.default))
        return rows

    def served(self, run_id: str | None = None) -> Served:
        """The loaded run with this id (the default run for None), loading it on first use; UnknownRun if not listed."""
        if run_id is None or run_id == self.default.id:
            return self.default
        with self._lock:
            if run_id in self._loaded:
                self._loaded.move_to_end(run_id)
                return self._loaded[run_id]
            run_dir = self._ids.get(run_id)
        if run_dir is None:
            self.rows()  # trained since the last listing?
            run_dir = self._ids.get(run_id)
        if run_dir is None:
            raise UnknownRun(f"no completed run with id {run_id!r}; GET /api/runs lists them")
        served = Served(run_id, run_dir, self.backend)
        with self._lock:
            kept = self._loaded.setdefault(run_id, served)  # two first requests at once: one copy kept
            while len(self._loaded) > self.keep:
                self._loaded.popitem(last=False)[1].close()
        if kept is not served:
            served.close()
        return kept


def describe(served: Served) -> dict:
    """A loaded run as the API shows it: id, model, dataset, accuracies, backend (never its folder)."""
    record = served.reader.record
    model = record.model or {}
    return {
        "id": served.id,
        "model": model.get("name") or record.name,
        "model_settings": model.get("description"),
        "dataset": (record.data or {}).get("name") or (record.config.get("data") or {}).get("name"),
        "test_accuracy": record.test_accuracy,
        "val_accuracy": record.val_accuracy,
        "params": record.params,
        "when": record.started_at,
        "status": record.status,
        "backend": served.reader.backend,
    }
