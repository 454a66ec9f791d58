"""The loggers a config chose (logger=csv, tensorboard, mlflow, several or none), as the training pipeline sees
them: Keras callbacks for the epochs, and hooks for the run's start, its completion and its abandonment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mnistcli.config.schema import DEFAULT_LOGGERS
from mnistcli.runs.record import RunRecord


class Loggers:
    """What the chosen loggers do around one run. Built from the config before anything heavy (a missing
    MLflow is one line then), started once the run's record exists, finished before metrics.json says completed."""

    def __init__(self, cfg: Mapping) -> None:
        chosen = cfg.get("logger")
        self.chosen: dict = dict(DEFAULT_LOGGERS if chosen is None else chosen)
        self.run_dir: Path | None = None
        self.mlflow = None
        if "mlflow" in self.chosen:
            from mnistcli.tracking.mlflow_run import MlflowRun

            self.mlflow = MlflowRun(self.chosen["mlflow"] or {})

    def start(self, run_dir: Path, record: RunRecord, *, resumed: bool = False) -> RunRecord:
        """Open what needs opening (the MLflow run; a resumed run's own again); the record returned says where
        the run is tracked."""
        self.run_dir = Path(run_dir)
        if self.mlflow is None:
            return record
        tracked = self.mlflow.start(self.run_dir, record, resumed=resumed)
        return record.replace(tracking={**(record.tracking or {}), **tracked})

    def record_twin(self, run_dir: Path, record: RunRecord) -> RunRecord:
        """A sweep job that reused a finished twin's result (sweeps/jobs.py): its MLflow run holds its own
        config and the twin's numbers, tagged mnistcli.duplicate_of; nothing else was trained or written."""
        record = self.start(run_dir, record)
        if self.mlflow is not None:
            self.mlflow.finish(self.run_dir, record)
        return record

    def callbacks(self) -> list:
        """Keras callbacks, to run after the callback that adds the validation scores to each epoch's logs."""
        found = []
        if "tensorboard" in self.chosen:
            from mnistcli.tracking import tensorboard

            found += tensorboard.callbacks(self.run_dir, self.chosen["tensorboard"] or {})
        if self.mlflow is not None:
            found.append(self.mlflow.callback())
        return found

    def finish(self, record: RunRecord, history: dict[str, list[float]]) -> list[str]:
        """A completed run's last words: history.csv, the confusion matrix for TensorBoard, MLflow's artifacts.
        Called once every other artifact is written and before metrics.json says completed. Returns warnings:
        a tracking server failing at the end does not undo a trained run whose folder is complete."""
        from mnistcli.errors import one_line

        warnings = []
        if "csv" in self.chosen:
            from mnistcli.tracking.history_csv import write_history

            write_history(self.run_dir, history)
        if "tensorboard" in self.chosen:
            warnings += self._board_confusion_matrix(len(history["loss"]))
        if self.mlflow is not None:
            try:
                self.mlflow.finish(self.run_dir, record)
            except Exception as exc:  # noqa: BLE001 - the run folder is complete; say what MLflow lacks
                self.mlflow.abort("FAILED")
                warnings.append(f"MLflow did not get this run's final metrics and artifacts: {one_line(exc)[:300]}")
        return warnings

    def _board_confusion_matrix(self, step: int) -> list[str]:
        """TensorBoard's confusion-matrix image; a warning, like MLflow's uploads, when the plot is missing or
        cannot be written: the model and every number are saved, and the run is complete without it."""
        from mnistcli.errors import one_line
        from mnistcli.tracking import tensorboard

        png = self.run_dir / "confusion_matrix.png"
        if not png.is_file():
            return [f"TensorBoard has no confusion matrix for this run: {png.name} is missing"]
        try:
            tensorboard.log_confusion_matrix(self.run_dir, png, step)
        except Exception as exc:  # noqa: BLE001 - a damaged plot or a full disk: the run's own files are written
            return [f"TensorBoard has no confusion matrix for this run: {one_line(exc)[:300]}"]
        return []

    def abort(self, interrupted: bool) -> None:
        """The run stopped without completing: its MLflow run is closed as KILLED (an interrupt) or FAILED."""
        if self.mlflow is not None:
            self.mlflow.abort("KILLED" if interrupted else "FAILED")
