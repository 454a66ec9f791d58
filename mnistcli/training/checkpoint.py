"""Resumable training: the whole training state saved after every epoch (the data order is data/pipeline.py's).

A resumed run must end bit for bit where an uninterrupted one would, so everything that shapes the next
epoch is either saved or recomputed from the config alone:

- weights and optimizer state (Adam's moments, the step counter): the checkpoint's ``.keras`` file;
- the dropout random streams: ``keras.random.SeedGenerator`` states, which ``model.save`` leaves out,
  are stored in ``state.json``;
- early stopping's best score, patience count and best weights: ``state.json`` and an ``.npz``;
- the order of the training examples: a permutation drawn from ``(seed, epoch)``, never from a
  random stream that runs on across epochs, so epoch 7 sees the same order however it was reached.

``checkpoint/state.json`` is written last and names the files it belongs to, so a crash between two
writes leaves the previous epoch's checkpoint intact and in charge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistcli.errors import MnistcliError
from mnistcli.runs.rundir import atomic_write, read_json, write_json
from mnistcli.runtime.keras_import import import_keras

keras = import_keras()  # quietly: this module subclasses Keras's Callback

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
FORMAT = 1


# --- dropout random streams --------------------------------------------------------------------------------


def _seed_generators(model) -> dict[str, keras.random.SeedGenerator]:
    """Every SeedGenerator a layer holds, keyed layer/attribute (model.save stores none of their states)."""
    found = {}
    for layer in model.layers:
        for attr, value in sorted(vars(layer).items()):
            if isinstance(value, keras.random.SeedGenerator):
                found[f"{layer.name}/{attr}"] = value
    return found


def rng_state(model) -> dict[str, list[int]]:
    return {key: [int(v) for v in np.asarray(gen.state.value)] for key, gen in _seed_generators(model).items()}


def restore_rng_state(model, state: dict[str, list[int]]) -> None:
    generators = _seed_generators(model)
    if set(generators) != set(state):
        raise MnistcliError(
            f"checkpoint random-number state is for layers {sorted(state)}, the model has {sorted(generators)}"
        )
    for key, gen in generators.items():
        gen.state.assign(np.asarray(state[key], dtype=gen.state.dtype))


# --- early stopping ----------------------------------------------------------------------------------------


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's EarlyStopping on val_accuracy, keeping the best weights, whose state survives a restart."""

    def __init__(self, patience: int, state: dict | None = None, best_weights: list[np.ndarray] | None = None):
        super().__init__(monitor="val_accuracy", patience=patience, restore_best_weights=True)
        self._resume_state, self._resume_weights = state, best_weights

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # resets everything, as for a fresh fit()
        if self._resume_state:
            s = self._resume_state
            self.wait, self.best, self.best_epoch, self.stopped_epoch = (
                s["wait"], s["best"], s["best_epoch"], s["stopped_epoch"],
            )
            self.best_weights = self._resume_weights

    @property
    def stopped(self) -> bool:
        return self.stopped_epoch > 0

    def state(self) -> dict:
        best = None if self.best is None else float(self.best)
        return {"wait": self.wait, "best": best, "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch}


# --- saving and loading ------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """What a resumed run starts from."""

    model: object
    epochs_done: int
    history: dict[str, list[float]] = field(default_factory=dict)
    early_stopping: dict | None = None
    best_weights: list[np.ndarray] | None = None


def exists(run_dir: Path) -> bool:
    return (Path(run_dir) / CHECKPOINT_DIR / STATE_FILE).is_file()


def epochs_done(run_dir: Path) -> int:
    """Completed epochs the run folder's checkpoint holds (0 when it has none or cannot be read)."""
    try:
        return int(read_json(Path(run_dir) / CHECKPOINT_DIR / STATE_FILE)["epochs_done"])
    except (MnistcliError, KeyError, TypeError, ValueError):
        return 0


def save(model, run_dir: Path, epochs_done: int, history: dict, early_stopping: ResumableEarlyStopping | None) -> None:
    """Write the state after `epochs_done` epochs; the previous checkpoint stays valid until state.json moves on."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    folder.mkdir(exist_ok=True)
    tag = f"epoch-{epochs_done:04d}"
    state = {
        "format": FORMAT,
        "epochs_done": epochs_done,
        "model": f"{tag}.keras",
        "rng": rng_state(model),
        "history": history,
        "early_stopping": early_stopping.state() if early_stopping else None,
        "best_weights": None,
    }
    atomic_write(folder / state["model"], lambda tmp: model.save(tmp))
    if early_stopping is not None and early_stopping.best_weights is not None:
        state["best_weights"] = f"{tag}.best.npz"
        weights = {f"w{i}": np.asarray(w) for i, w in enumerate(early_stopping.best_weights)}
        atomic_write(folder / state["best_weights"], lambda tmp: _savez(tmp, weights))
    write_json(folder / STATE_FILE, state)  # the commit point
    keep = {STATE_FILE, state["model"], state["best_weights"]}
    for path in folder.iterdir():
        if path.name not in keep:
            path.unlink(missing_ok=True)  # earlier epochs, and temporary files of a write that died


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load(run_dir: Path) -> Checkpoint:
    """The checkpoint in run_dir/checkpoint: a compiled model with its optimizer state, and the loop's state."""
    from mnistcli.models.archive import load_model

    folder = Path(run_dir) / CHECKPOINT_DIR
    state = read_json(folder / STATE_FILE)
    try:
        if state.get("format") != FORMAT:
            raise ValueError(f"unknown checkpoint format {state.get('format')!r}")
        done = int(state["epochs_done"])
        history = {str(k): [float(v) for v in vals] for k, vals in state["history"].items()}
        if any(len(vals) != done for vals in history.values()):
            raise ValueError("history length does not match epochs_done")
        names = [state["model"]] + ([state["best_weights"]] if state.get("best_weights") else [])
        if any(Path(n).name != n for n in names):
            raise ValueError("file names must not contain folders")
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MnistcliError(f"{folder / STATE_FILE}: damaged checkpoint ({e})") from None
    model = load_model(folder / state["model"], compile=True)
    restore_rng_state(model, state["rng"])
    best = None
    if state.get("best_weights"):
        try:
            with np.load(folder / state["best_weights"], allow_pickle=False) as npz:
                best = [npz[f"w{i}"] for i in range(len(npz.files))]
        except (OSError, ValueError, KeyError) as e:
            raise MnistcliError(f"{folder / state['best_weights']}: damaged checkpoint ({e})") from None
    return Checkpoint(model, done, history, state.get("early_stopping"), best)


class Checkpointer(keras.callbacks.Callback):
    """Keeps the state of the last completed epoch, and the history of all epochs, resumed ones included.

    Writing a .keras file costs about 0.2 s, more than a whole epoch of the small models, so the state
    goes to disk after the first epoch and then at most every `every_seconds`; in between it is kept in
    memory (a copy of the variables: a few MB for these networks) and `flush()` writes it out when
    training stops early - Ctrl-C, SIGTERM or an error. Only SIGKILL can lose up to `every_seconds`.
    """

    def __init__(self, run_dir: Path, history: dict[str, list[float]], early_stopping=None, every_seconds: float = 30.0):
        super().__init__()
        self.run_dir, self.history, self.early_stopping = Path(run_dir), history, early_stopping
        self.every_seconds = every_seconds
        self._written_at: float | None = None
        self._pending: tuple | None = None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        now = time.monotonic()
        if self._written_at is None or now - self._written_at >= self.every_seconds:
            save(self.model, self.run_dir, epoch + 1, self.history, self.early_stopping)
            self._written_at, self._pending = now, None
        else:
            variables = [v.numpy() for v in self.model.variables]
            slots = [v.numpy() for v in self.model.optimizer.variables]
            self._pending = (epoch + 1, variables, slots, rng_state(self.model))

    def flush(self) -> None:
        """Write the last completed epoch's state if only memory holds it; the model is set back to it."""
        if self._pending is None:
            return
        epochs_done, variables, slots, rng = self._pending
        for var, value in zip(self.model.variables, variables):
            var.assign(value)
        for var, value in zip(self.model.optimizer.variables, slots):
            var.assign(value)
        restore_rng_state(self.model, rng)
        history = {k: v[:epochs_done] for k, v in self.history.items()}
        save(self.model, self.run_dir, epochs_done, history, self.early_stopping)
        self._pending = None
