"""Where MLflow records runs: the tracking URI (the config's, $MLFLOW_TRACKING_URI, or a SQLite file under
outputs/), the experiment, the client; one line naming the pip command when MLflow is not installed."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from mnistcli.errors import MnistcliError
from mnistcli.runs.rundir import OUTPUTS

INSTALL = 'pip install "mnistcli[mlflow]"'
DEFAULT_DB = "mlflow.db"  # under outputs/, beside the run folders
DEFAULT_ARTIFACTS = "mlruns"
# MLflow's loggers that print WARNING blocks on the terminal while retrying a store (kept to errors).
QUIET_LOGGERS = ("mlflow.store.db.utils", "mlflow.store.tracking.sqlalchemy_store", "mlflow.utils.rest_utils")


def require_mlflow() -> None:
    """Raise one line when logger=mlflow is chosen and MLflow is not installed. Called before MLflow is imported."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise MnistcliError(f"logger=mlflow needs MLflow, which is not installed: {INSTALL}")
    # MLflow's usage telemetry would try the network from every run; a user can turn it on again.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # A tracking server out of reach: MLflow's default 7 retries with backoff took over 2 minutes to say so.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")


def tracking_uri(settings: dict) -> str:
    """logger.mlflow.tracking_uri, else $MLFLOW_TRACKING_URI, else sqlite:///<absolute outputs/mlflow.db>.

    Absolute, so that sweep jobs started elsewhere (Slurm, other processes) write to the same store."""
    uri = settings.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return str(uri)
    return f"sqlite:///{(OUTPUTS / DEFAULT_DB).resolve()}"


def is_default(uri: str) -> bool:
    return uri == f"sqlite:///{(OUTPUTS / DEFAULT_DB).resolve()}"


def client(uri: str):
    """An MlflowClient on `uri` (the store's folder made first), with MLflow's start-up chatter kept off the terminal."""
    require_mlflow()
    from mlflow.tracking import MlflowClient

    # After the import, which sets MLflow's own levels: "Creating initial MLflow database tables..." on a new store.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Its retries of a SQLite file it cannot open print a WARNING block each: the error says it once, at the end.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)

    if is_default(uri):
        OUTPUTS.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri)


def check_sqlite_folder(uri: str) -> None:
    """For a sqlite: store, its folder exists (or is made) and takes a file: else one line now, before MLflow is
    imported. MLflow itself would retry opening it 10 times with backoff, 100 s, before failing."""
    if not uri.startswith("sqlite:///"):
        return
    name = uri.removeprefix("sqlite:///").split("?", 1)[0]
    if not name or name == ":memory:":
        return
    db = Path(name)
    step = f"create the SQLite store's folder {db.parent}"
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        if db.exists():
            step = f"write the SQLite store {db}"
            with open(db, "ab"):
                pass
        else:
            step = f"create files in the SQLite store's folder {db.parent}"
            with tempfile.TemporaryFile(dir=db.parent):
                pass
    except OSError as exc:
        raise MnistcliError(f"MLflow at {uri}: cannot {step}: {exc.strerror or exc}") from None


def experiment_id(mlflow_client, name: str, uri: str) -> str:
    """The experiment's id, created when new (under the default store, with its artifacts in outputs/mlruns/)."""
    from mlflow.exceptions import MlflowException

    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = (OUTPUTS / DEFAULT_ARTIFACTS).resolve().as_uri() if is_default(uri) else None
    try:
        return mlflow_client.create_experiment(name, artifact_location=location)
    except MlflowException:  # another sweep job created it meanwhile
        found = mlflow_client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def failed(exc: BaseException, uri: str) -> MnistcliError:
    """An MLflow error as one line naming the store."""
    from mnistcli.errors import one_line

    text = one_line(exc)
    return MnistcliError(f"MLflow at {uri}: {text[:300]}")

