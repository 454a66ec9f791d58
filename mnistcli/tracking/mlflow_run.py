"""The mlflow logger: one training run as an MLflow run - the resolved config as parameters, tags for the
data and versions, per-epoch metrics, the final test metrics, the plots and the model as artifacts."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from mnistcli.runs.record import RunRecord
from mnistcli.tracking import mlflow_store
from mnistcli.tracking.mlflow_sweep import parent_run

# Files of a completed run uploaded as artifacts: the plots and history always, the models with log_model.
PLOTS = ("learning_curves.png", "confusion_matrix.png", "history.csv")
MODELS = ("model.keras", "model.tflite")
# The run's result, logged once at its last epoch; the kept weights' validation accuracy (early stopping may
# keep an earlier epoch's) is final_val_accuracy, apart from the per-epoch val_accuracy.
FINAL = {"test_accuracy": "test_accuracy", "test_loss": "test_loss", "val_accuracy": "final_val_accuracy",
         "train_seconds": "train_seconds", "params": "params"}
MAX_PARAM = 6000  # MLflow's limit on a parameter's value


def flatten(tree: Mapping, prefix: str = "") -> dict[str, str]:
    """{"model.hidden_units": "[128]", "train.epochs": "10", ...}: a nested config as MLflow parameters."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:MAX_PARAM]
    return flat


class MlflowRun:
    """An MLflow run for one training run: opened before training, fed each epoch, closed with its outcome."""

    def __init__(self, settings: Mapping) -> None:
        mlflow_store.require_mlflow()
        self.settings = dict(settings or {})
        # A store that cannot be written fails the run now, before the data is read or anything is shown.
        self.parent = parent_run()  # the sweep's parent run, written before any job starts
        self.uri = (self.parent or {}).get("tracking_uri") or mlflow_store.tracking_uri(self.settings)
        mlflow_store.check_sqlite_folder(self.uri)
        self.run_id: str | None = None
        self.client = None

    def start(self, run_dir: Path, record: RunRecord, *, resumed: bool = False) -> dict:
        """Create the run (or reopen a resumed run's) and log its parameters and tags; returns what the run
        record keeps of it. A store that cannot be reached fails here, before any training."""
        from mlflow.entities import Param

        parent, uri = self.parent, self.uri
        try:
            self.client = mlflow_store.client(uri)
            previous = (record.tracking or {}).get("mlflow") or {}
            if resumed and previous.get("run_id") and previous.get("tracking_uri") == uri:
                self.run_id = previous["run_id"]  # a resumed run goes on in the same MLflow run
                self.client.update_run(self.run_id, status="RUNNING")
                return {"mlflow": previous}
            experiment = (parent or {}).get("experiment_id") or mlflow_store.experiment_id(
                self.client, self.settings.get("experiment", "mnistcli"), uri
            )
            tags = self._tags(run_dir, record, parent)
            name = f"{run_dir.name}_{record.name}" if parent else run_dir.name
            run = self.client.create_run(experiment, run_name=name, tags=tags)
            self.run_id = run.info.run_id
            params = [Param(k, v) for k, v in flatten(record.config).items()]
            for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters per call
                self.client.log_batch(self.run_id, params=params[i : i + 100])
        except Exception as exc:
            if self.run_id:
                self.abort("FAILED")
            raise mlflow_store.failed(exc, uri) from None
        return {"mlflow": {"run_id": self.run_id, "experiment_id": experiment, "tracking_uri": uri}}

    @staticmethod
    def _tags(run_dir: Path, record: RunRecord, parent: dict | None) -> dict[str, str]:
        data = record.data or {}
        tags = {
            "mnistcli.dataset": str(data.get("name") or ""),
            "mnistcli.data_source": str(data.get("source") or "")[:5000],
            "mnistcli.version": str((record.versions or {}).get("mnistcli", "")),
            "mnistcli.model": record.name,
            "mnistcli.run_dir": str(Path(run_dir).resolve()),
        }
        if record.git:
            tags["mlflow.source.git.commit"] = record.git["commit"]
            tags["mnistcli.git_dirty"] = str(record.git.get("dirty", "")).lower()
        if record.duplicate_of:
            tags["mnistcli.duplicate_of"] = record.duplicate_of
        if parent:
            tags["mlflow.parentRunId"] = parent["run_id"]  # MLflow's UI nests the job under its sweep
        return tags

    def callback(self):
        """A Keras callback logging each epoch's logs (loss, accuracy, val_*, learning_rate, seconds) at step = epoch."""
        from mlflow.entities import Metric

        from mnistcli.runtime.keras_import import import_keras

        keras = import_keras()
        client, run_id = self.client, self.run_id

        def on_epoch_end(epoch: int, logs: dict | None) -> None:
            stamp = int(time.time() * 1000)
            metrics = [Metric(k, float(v), stamp, epoch + 1) for k, v in (logs or {}).items() if _number(v)]
            client.log_batch(run_id, metrics=metrics)

        return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)

    def finish(self, run_dir: Path, record: RunRecord) -> None:
        """The final metrics and artifacts of a completed run, and the run closed as FINISHED."""
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        values = record.to_dict()
        step = int(values.get("epochs_run") or 0)
        final = [Metric(name, float(values[k]), stamp, step) for k, name in FINAL.items() if _number(values.get(k))]
        self.client.log_batch(self.run_id, metrics=final)
        names = PLOTS + (MODELS if self.settings.get("log_model", True) else ())
        for name in names:
            if (Path(run_dir) / name).is_file():
                self.client.log_artifact(self.run_id, str(Path(run_dir) / name))
        self.client.log_dict(self.run_id, values, "metrics.json")
        self.client.set_terminated(self.run_id, "FINISHED")

    def abort(self, status: str) -> None:
        """Close the run as FAILED or KILLED (an interrupt); never raises over the error that stopped training."""
        if self.run_id and self.client is not None:
            try:
                self.client.set_terminated(self.run_id, status)
            except Exception:  # noqa: BLE001 - the run's own error is what the user must see
                pass


def end_killed(tracking: Mapping | None) -> bool:
    """Close as KILLED the MLflow run a run record names (its `tracking`), if it is still RUNNING: for a job that
    something outside it (Slurm's time limit, scancel) ended before it could close its own. True if it was closed;
    MnistcliError, in one line, when MLflow is missing or its store cannot be reached."""
    found = (tracking or {}).get("mlflow") or {}
    run_id, uri = found.get("run_id"), found.get("tracking_uri")
    if not run_id or not uri:
        return False
    try:
        client = mlflow_store.client(uri)
        if client.get_run(run_id).info.status != "RUNNING":
            return False  # the run closed it itself (FINISHED, FAILED, KILLED on an interrupt)
        client.set_terminated(run_id, "KILLED")
    except Exception as exc:
        raise mlflow_store.failed(exc, uri) from None
    return True


def _number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)
