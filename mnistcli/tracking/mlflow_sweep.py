"""A sweep as one MLflow parent run: created when the sweep starts, found by each job (in any process or on
any node) through the sweep folder's mlflow_parent.json, ended when the sweep ends."""

from __future__ import annotations

from pathlib import Path

from mnistcli.runs.rundir import read_json, write_json
from mnistcli.tracking import mlflow_store

PARENT_FILE = "mlflow_parent.json"


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
    return parent


def end_parent(sweep_dir: Path, summary: dict | None) -> None:
    """Close the parent run: FINISHED, with the best job's validation and test accuracy when there is one."""
    path = Path(sweep_dir) / PARENT_FILE
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
