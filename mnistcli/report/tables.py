"""The listings: a line per finished sweep job, the sweep's summary table, and `mnistcli runs`."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mnistcli.models import registry
from mnistcli.report.cells import STATUS_STYLE, count, pct, seconds, setting, size, status_cell
from mnistcli.report.console import console, err_console

# Short column titles for the settings sweeps vary most, so a summary fits an 80-column terminal.
SHORT_TITLES = {"learning_rate": "lr", "batch_size": "batch", **registry.SHORT_TITLES}


def _headers(keys: list[str]) -> list[str]:
    """Column titles: the last part of each key (lr for learning_rate), the whole key where that is ambiguous."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return [SHORT_TITLES.get(short, short) if last.count(short) == 1 else key for key, short in zip(keys, last)]


def sweep_job(num: int, m: Mapping) -> None:
    """One line per finished sweep job; the table comes when the sweep ends."""
    status = m.get("status", "?")
    if status == "failed":
        return  # the job has already printed its error
    text = f"= job {m['duplicate_of']} (same settings, not trained again)" if m.get("duplicate_of") else None
    console.print(
        f"job {num}  {status_cell(status, text)}  val {pct(m.get('val_accuracy'))}  "
        f"test {pct(m.get('test_accuracy'))}  {count(m.get('params'))} parameters  "
        f"{seconds(m.get('train_seconds'))}"
    )


def _listing(title: str, caption: str | None = None) -> Table:
    """The borderless table that sweeps and `mnistcli runs` list their rows in."""
    return Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                 collapse_padding=True)


def sweep_summary(s: Mapping) -> None:
    """The end-of-sweep table: one row per job, best first and highlighted."""
    counts = ", ".join(f"{n} {status}" for status, n in s["counts"].items()) or "none found"
    metric = "validation" if s["sorted_by"] == "val_accuracy" else "test (no validation split)"
    table = _listing(
        f"sweep {escape(s['sweep_dir'])}\n{len(s['jobs'])} jobs: {counts}; best {metric} accuracy first",
        caption="also in the sweep folder: summary.csv, summary.json",
    )
    table.add_column("job", justify="right", no_wrap=True)
    for title in _headers(s["columns"]):
        table.add_column(escape(title), no_wrap=True)
    for name in ("val", "test", "params", "time"):
        table.add_column(name, justify="right", no_wrap=True)
    # The title counts the statuses; a column saying "completed" on every row would only cost width.
    with_status = any(row["status"] != "completed" for row in s["jobs"])
    if with_status:
        table.add_column("status", no_wrap=True)
    for row in s["jobs"]:
        text = f"= job {row['duplicate_of']}" if row.get("duplicate_of") else None
        cells = [
            ("★ " if row["job"] == s["best"] else "") + escape(row["job"]),
            *(setting(row["settings"][k]) for k in s["columns"]),
            pct(row["val_accuracy"], 1), pct(row["test_accuracy"], 1), size(row["params"]),
            seconds(row["train_seconds"]),
        ]
        if with_status:
            cells.append(status_cell(row["status"], text))
        table.add_row(*cells, style="bold green" if row["job"] == s["best"] else None)
    console.print(table)
    for row in s["jobs"]:
        if row["status"] in ("failed", "died") and row.get("error"):
            err_console.print(Text(f"job {row['job']} {row['status']}: ", style="red") + Text(row["error"]), soft_wrap=True)


def _when(iso: str | None) -> str:
    """A run's start in local time, to the minute."""
    from datetime import datetime

    if not iso:
        return "[dim]-[/]"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except ValueError:
        return escape(iso)


def runs_table(r: Mapping) -> None:
    """`mnistcli runs`: one row per run or sweep job."""
    if not r["runs"]:
        console.print(f"no runs under {escape(r['root'])}/ - train one with `mnistcli train`")
        return
    shown = f"top {len(r['runs'])} of {r['total']}" if len(r["runs"]) < r["total"] else f"{r['total']}"
    table = _listing(f"{shown} runs under {escape(r['root'])}/, sorted by {r['sort']}")
    table.add_column("when", no_wrap=True)
    # The run folder and the settings wrap in a narrow terminal; the numbers never do.
    table.add_column("run", overflow="fold", ratio=2, min_width=8)
    table.add_column("model", no_wrap=True)
    table.add_column("settings", ratio=3, min_width=12)
    for name in ("val", "test", "time"):
        table.add_column(name, justify="right", no_wrap=True, min_width=5)
    table.add_column("status", no_wrap=True, min_width=max(len(s) for s in STATUS_STYLE))
    for row in r["runs"]:
        table.add_row(
            _when(row["when"]), escape(row["run"]), escape(str(row["model"] or "-")), _run_settings(row),
            pct(row["val_accuracy"], 1), pct(row["test_accuracy"], 1), seconds(row["train_seconds"]),
            status_cell(row["status"]),
        )
    console.print(table)


def _run_settings(row: Mapping) -> str:
    """The settings that tell runs apart, in one cell that may wrap: "hidden layers 128-64 relu, lr 0.001, batch 32, 5 ep"."""
    parts = [escape(row.get("model_settings") or "-")]
    for key, label in (("learning_rate", "lr "), ("batch_size", "batch "), ("epochs", "")):
        if row.get(key) is not None:
            parts.append(f"{label}{setting(row[key])}" + (" ep" if key == "epochs" else ""))
    return ", ".join(parts)
