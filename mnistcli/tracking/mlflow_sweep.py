"""A sweep as one MLflow parent run: created when the sweep starts, found by each job (in any process or on
any node) through the sweep folder's mlflow_parent.json, ended when the sweep ends - or when it stops early."""

from __future__ import annotations

from pathlib import Path

from mnistcli.runs.rundir import read_json, write_json
from mnistcli.tracking import mlflow_store

PARENT_FILE = "mlflow_parent.json"
# Sweep folders whose parent run this process opened and has not closed yet: a sweep that stops before
# Hydra's on_multirun_end (a launcher refusing it, Ctrl-C) has them closed by abort_open_parents.
_open: list[Path] = []


def start_parent(sweep_dir: Path, settings: dict, overrides: list[str]) -> dict:
    """Create the sweep's parent run and write its id into the sweep folder, for the jobs to find."""
    mlflow_store.require_mlflow()
    import mnistcli
    from mnistcli.runs.gitinfo import git_state

    uri = mlflow_store.tracking_uri(settings)
    mlflow_store.check_sqlite_folder(uri)
    try:
        client = mlflow_store.client(uri)
        experiment = mlflow_store.experiment_id(client, settings.get("experiment", "mnistcli"), uri)
        tags = {"mnistcli.sweep_dir": str(Path(sweep_dir).resolve()), "mnistcli.version": mnistcli.__version__,
                "mnistcli.overrides": " ".join(overrides)[:5000]}
        git = git_state()
        if git:
            tags["mlflow.source.git.commit"] = git["commit"]
        run = client.create_run(experiment, run_name=f"sweep {Path(sweep_dir).name}", tags=tags)
    except Exception as exc:
        raise mlflow_store.failed(exc, uri) from None
    parent = {"run_id": run.info.run_id, "experiment_id": experiment, "tracking_uri": uri}
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    write_json(Path(sweep_dir) / PARENT_FILE, parent)
    _open.append(Path(sweep_dir))
    return parent


def end_parent(sweep_dir: Path, summary: dict | None) -> None:
    """Close the parent run: FINISHED, with the best job's validation and test accuracy when there is one."""
    path = Path(sweep_dir) / PARENT_FILE
    if Path(sweep_dir) in _open:
        _open.remove(Path(sweep_dir))
    if not path.is_file():
        return
    parent = read_json(path)
    client = mlflow_store.client(parent["tracking_uri"])
    best = next((j for j in (summary or {}).get("jobs", []) if j["job"] == (summary or {}).get("best")), None)
    if best is not None:
        client.set_tag(parent["run_id"], "mnistcli.best_job", best["job"])
        for key in ("val_accuracy", "test_accuracy"):
            if best.get(key) is not None:
                client.log_metric(parent["run_id"], f"best_{key}", float(best[key]))
    client.set_terminated(parent["run_id"], "FINISHED")


def abort_open_parents(interrupted: bool) -> None:
    """Close the parent runs of sweeps that stopped before their end (the launch failed, or Ctrl-C) as KILLED
    (an interrupt) or FAILED. Never raises over the error that stopped the sweep."""
    while _open:
        path = _open.pop() / PARENT_FILE
        try:
            parent = read_json(path)
            mlflow_store.client(parent["tracking_uri"]).set_terminated(
                parent["run_id"], "KILLED" if interrupted else "FAILED"
            )
        except Exception:  # noqa: BLE001 - the sweep's own error is what the user must see
            pass


def parent_run() -> dict | None:
    """The parent run of the sweep this process's job belongs to, or None outside a sweep (or without one)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        return None
    path = Path(hc.sweep.dir) / PARENT_FILE
    return read_json(path) if path.is_file() else None
