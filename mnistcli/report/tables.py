"""The listings: a line per finished sweep job, the sweep's summary table, and `mnistcli runs`."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mnistcli.config.schema import DATASET_NAMES
from mnistcli.models import registry
from mnistcli.report.cells import count, pct, seconds, setting, short_path, size, status_cell
from mnistcli.report.console import console, err_console, next_steps
from mnistcli.runs.rundir import shown

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


def _listing() -> Table:
    """The borderless table that sweeps and `mnistcli runs` list their rows in."""
    return Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)


def _path(path: str, reserved: int = 0) -> str:
    """A folder as the user would type it, shortened to "…/<name>" only where the terminal is too narrow."""
    return escape(short_path(shown(path), max(console.width - reserved, 20)))


def sweep_summary(s: Mapping) -> None:
    """The end-of-sweep table: one row per job, best first and highlighted.

    Its title and footnote are lines of their own, never a table title squeezed to the table's width.
    """
    counts = ", ".join(f"{n} {status}" for status, n in s["counts"].items()) or "none found"
    metric = "validation" if s["sorted_by"] == "val_accuracy" else "test (no validation split)"
    console.print(f"[bold]sweep[/] {_path(s['sweep_dir'], 6)}", soft_wrap=True)
    jobs = f"{len(s['jobs'])} job" + ("" if len(s["jobs"]) == 1 else "s")
    console.print(f"{jobs}: {counts}; best {metric} accuracy first")
    table = _listing()
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
    console.print("also in the sweep folder: summary.csv, summary.json", style="dim")
    for row in s["jobs"]:
        if row["status"] in ("failed", "died", "interrupted") and row.get("error"):
            err_console.print(Text(f"job {row['job']} {row['status']}: ", style="red") + Text(row["error"]), soft_wrap=True)
    best = next((row for row in s["jobs"] if row["job"] == s["best"]), None)
    if best is not None:
        next_steps(best["run_dir"])


def _when(iso: str | None) -> str:
    """A run's start in local time, to the minute."""
    from datetime import datetime

    if not iso:
        return "[dim]-[/]"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except ValueError:
        return escape(iso)


def _dataset(row: Mapping) -> str:
    if row.get("offline_sample"):
        return "[yellow]MNIST 5k[/]"  # the offline sample: accuracies not comparable with the full MNIST's
    name = row.get("dataset")
    return escape(DATASET_NAMES.get(name, str(name))) if name else "[dim]-[/]"


# `mnistcli runs` columns after the run folder: title, justify, and the row's cell.
_RUN_COLUMNS = (
    ("model", "left", lambda row: escape(str(row["model"] or "-"))),
    ("data", "left", _dataset),
    ("settings", "left", lambda row: _run_settings(row)),
    ("val", "right", lambda row: pct(row["val_accuracy"], 1)),
    ("test", "right", lambda row: pct(row["test_accuracy"], 1)),
    ("time", "right", lambda row: seconds(row["train_seconds"])),
    ("status", "left", lambda row: status_cell(row["status"])),
)


def runs_table(r: Mapping) -> None:
    """`mnistcli runs`: one row per run or sweep job, best first.

    Where the terminal is wide enough every run is one line, its folder in the first column. Where it is not
    (80 columns), each run takes two: its numbers, then its dataset and folder on a line of their own, so that
    no path is ever wrapped or cut and the numbers stay in aligned columns.
    """
    if not r["runs"]:
        if r.get("dataset"):
            console.print(f"no runs trained on {escape(r.get('dataset_name') or r['dataset'])} under {escape(r['root'])}/")
            return
        console.print(f"no runs under {escape(r['root'])}/ - train one with `mnistcli train`")
        return
    shown_count = f"top {len(r['runs'])} of {r['total']}" if len(r["runs"]) < r["total"] else f"{r['total']}"
    trained_on = f" trained on {escape(r.get('dataset_name') or r['dataset'])}" if r.get("dataset") else ""
    runs_word = "run" if r["total"] == 1 else "runs"
    console.print(f"{shown_count} {runs_word}{trained_on} under {escape(r['root'])}/, sorted by {r['sort']}", soft_wrap=True)
    paths = [escape(shown(row["run_dir"])) for row in r["runs"]]
    cells = [[fill(row) for _, _, fill in _RUN_COLUMNS] for row in r["runs"]]
    table = _listing()
    table.add_column("when", no_wrap=True)
    table.add_column("run", no_wrap=True)
    for title, justify, _ in _RUN_COLUMNS:
        table.add_column(title, justify=justify, no_wrap=title != "settings")
    for row, path, row_cells in zip(r["runs"], paths, cells):
        table.add_row(_when(row["when"]), path, *row_cells)
    if Measurement.get(console, console.options.update(width=10_000), table).maximum <= console.width:
        console.print(table)
        return
    _two_line_runs(paths, cells)


def _two_line_runs(paths: list[str], cells: list[list[str]]) -> None:
    """The runs as two lines each, in fixed-width columns: the settings wrap between their parts, nothing else.
    The dataset starts the second line, before the folder: as a column it would wrap the settings of an
    80-column row onto a third line."""
    every = [title for title, _, _ in _RUN_COLUMNS]
    on_top = [i for i, title in enumerate(every) if title != "data"]
    columns = [_RUN_COLUMNS[i] for i in on_top]
    data = [row[every.index("data")] for row in cells]
    cells = [[row[i] for i in on_top] for row in cells]
    titles = [title for title, _, _ in columns]
    flex = titles.index("settings")
    widths = [max(Text.from_markup(c).cell_len for c in [title, *(row[i] for row in cells)]) for i, title in enumerate(titles)]
    gap = 2
    rest = sum(w for i, w in enumerate(widths) if i != flex) + gap * (len(widths) - 1)
    widths[flex] = max(12, min(widths[flex], console.width - rest))
    data_width = max(Text.from_markup(d).cell_len for d in data)

    def grid() -> Table:
        t = Table.grid(padding=(0, 0, 0, gap), pad_edge=False)
        for i, (_, justify, _) in enumerate(columns):
            # A column's width includes its left padding (the gap), except the first's (pad_edge=False).
            t.add_column(width=widths[i] + (gap if i else 0), justify=justify, no_wrap=i != flex)
        return t

    header = grid()
    header.add_row(*(f"[bold]{t}[/]" for t in titles))
    console.print(header)
    console.print("─" * min(console.width, sum(widths) + gap * (len(widths) - 1)), style="dim")
    for path, data_cell, row_cells in zip(paths, data, cells):
        line = grid()
        row_cells = list(row_cells)
        row_cells[flex] = _wrapped(row_cells[flex], widths[flex])
        line.add_row(*row_cells)
        console.print(line)
        padding = " " * (data_width - Text.from_markup(data_cell).cell_len)
        console.print(f"  {data_cell}{padding}  [dim]{path}[/]", no_wrap=True, overflow="ignore", crop=False)


def _wrapped(parts_text: str, width: int) -> str:
    """Comma-separated settings broken into lines between parts (never inside "lr 0.001") to fit `width`."""
    lines: list[str] = []
    for part in parts_text.split(", "):
        candidate = f"{lines[-1]}, {part}" if lines else part
        if lines and Text.from_markup(candidate).cell_len <= width:
            lines[-1] = candidate
        else:
            if lines:
                lines[-1] += ","
            lines.append(part)
    return "\n".join(lines)


def _run_settings(row: Mapping) -> str:
    """The settings that tell runs apart, in one cell: "128-64 relu, lr 0.001, batch 32, 5 ep"."""
    parts = [escape(row.get("model_settings") or "-")]
    for key, label in (("learning_rate", "lr "), ("batch_size", "batch "), ("epochs", "")):
        if row.get(key) is not None:
            parts.append(f"{label}{setting(row[key])}" + (" ep" if key == "epochs" else ""))
    return ", ".join(parts)
