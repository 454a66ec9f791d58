"""`mnistcli evaluate`'s work: a run's test figures recomputed from its run folder alone (or on other test files)."""

from __future__ import annotations

from pathlib import Path

from mnistcli.runs.record import read_record
from mnistcli.runs.rundir import MODEL_FILE, resolve_run


def evaluate_run(run_dir: Path | None = None, data_dir: Path | None = None) -> dict:
    """The run's record with every test figure recomputed on its test set (or data_dir's), and where the run is."""
    from mnistcli.data.dataset import load_dataset
    from mnistcli.evaluation.scoring import score_model
    from mnistcli.models.archive import load_model
    from mnistcli.runtime.keras_import import import_keras

    run = resolve_run(run_dir)
    stored = read_record(run)
    cfg = stored.config
    data_cfg = dict(cfg["data"], **({"dir": str(data_dir)} if data_dir else {}))
    ds = load_dataset(**data_cfg, seed=cfg["seed"], test_only=True)
    import_keras()
    model = load_model(run / MODEL_FILE)
    scores = score_model(model, ds.x_test, ds.y_test, ds.classes)
    data = dict(stored.data, source=ds.source, test_size=int(len(ds.y_test)))
    return {**stored.to_dict(), **scores, "data": data, "run_dir": str(run), "data_warning": ds.warning}
