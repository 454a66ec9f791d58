"""The run record: one typed record with a schema version, written by one function; older run folders still work."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from mnistcli.cli.app import app
from mnistcli.errors import MnistcliError
from mnistcli.runs.record import SCHEMA_VERSION, RunRecord, read_record, write_record


def test_a_record_round_trips_and_leaves_out_what_did_not_happen(tmp_path):
    record = RunRecord(config={"model": {"family": "mlp", "hidden_units": []}}, status="completed", test_accuracy=0.9)
    write_record(tmp_path, record)
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["status"] == "completed"
    assert "error" not in data and "resume_with" not in data and "duplicate_of" not in data
    assert read_record(tmp_path) == record


def test_an_unknown_status_is_never_written(tmp_path):
    with pytest.raises(ValueError):
        write_record(tmp_path, RunRecord(config={}, status="finished"))
    assert not (tmp_path / "metrics.json").exists()


def test_a_file_without_config_is_not_a_run_record(tmp_path):
    (tmp_path / "metrics.json").write_text('{"status": "completed"}')
    with pytest.raises(MnistcliError, match="has no config - not written by this mnistcli"):
        read_record(tmp_path)


def _as_schema_1(run):
    """Rewrite a run folder's metrics.json as mnistcli 0.1 wrote it: no schema_version, model.name, no family."""
    m = json.loads((run / "metrics.json").read_text())
    m.pop("schema_version")
    name = m["model"]["name"]
    model = {k: v for k, v in m["config"]["model"].items() if k != "family"}
    m["config"]["model"] = {"name": name, **model}
    m["model"] = {"name": name, **model}
    (run / "metrics.json").write_text(json.dumps(m))


def test_run_folders_of_the_previous_release_still_evaluate_predict_and_list(finished_run, workdir, tmp_path):
    run = workdir / "outputs" / "old" / finished_run.name
    shutil.copytree(finished_run, run)
    _as_schema_1(run)
    record = read_record(run)
    assert record.schema_version == SCHEMA_VERSION and record.config["model"]["family"] == "mlp"
    runner = CliRunner()
    evaluated = runner.invoke(app, ["evaluate", str(run), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["test_accuracy"] == pytest.approx(record.test_accuracy)
    listed = runner.invoke(app, ["runs", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert row["model"] == "softmax" and row["status"] == "completed"
    from PIL import Image

    Image.new("L", (56, 56), 255).save(tmp_path / "blank.png")  # reading needs only the record and the model
    Image.new("L", (56, 56), 255).save(tmp_path / "one.png")
    img = Image.open(tmp_path / "one.png")
    for y in range(10, 46):
        for x in range(26, 31):
            img.putpixel((x, y), 0)
    img.save(tmp_path / "one.png")
    read = runner.invoke(app, ["predict", str(tmp_path / "one.png"), "--run", str(run), "--json"])
    assert read.exit_code == 0, read.output
    assert json.loads(read.stdout)[0]["digit"] in "0123456789"
