"""Everything mnistcli shows a person, rendered with Rich; the other modules return plain data."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

console = Console()
err_console = Console(stderr=True)


def error(message: str) -> None:
    """One line on stderr, no traceback."""
    err_console.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def warning(message: str) -> None:
    err_console.print(Text("warning: ", style="bold yellow") + Text(message), soft_wrap=True)


def run_header(run_dir: str, cfg: Mapping, data: Mapping, params: int) -> None:
    model = cfg["model"]
    train = cfg["train"]
    layers = "-".join(str(u) for u in model["hidden_units"]) or "none"
    console.print(
        Panel.fit(
            f"[bold]{model['name']}[/]  hidden layers {layers}  {model['activation']}  "
            f"{params:,} parameters\n"
            f"data  {data['source']}\n"
            f"      train {data['train_size']:,}  val {data['val_size']:,}  test {data['test_size']:,}"
            f"  ({cfg['data']['image_size']}x{cfg['data']['image_size']})\n"
            f"train {train['optimizer']} lr {train['learning_rate']}  batch {train['batch_size']}  "
            f"epochs {train['epochs']}  seed {cfg['seed']}\n"
            f"run   {run_dir}",
            title="mnistcli train",
            border_style="cyan",
        )
    )


def _summary(m: Mapping) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    status = m.get("status", "completed")
    color = {"completed": "green", "interrupted": "yellow"}.get(status, "red")
    table.add_row("status", f"[{color}]{status}[/]")
    table.add_row("test accuracy", f"[bold green]{m['test_accuracy']:.2%}[/]")
    table.add_row("test loss", f"{m['test_loss']:.4f}")
    if m.get("val_accuracy") is not None:
        table.add_row("val accuracy", f"{m['val_accuracy']:.2%}")
    if m.get("epochs_run") is not None:
        table.add_row("epochs", str(m["epochs_run"]))
    if m.get("train_seconds") is not None:
        table.add_row("train time", f"{m['train_seconds']:.1f} s")
    if m.get("params") is not None:
        table.add_row("parameters", f"{m['params']:,}")
    data = m.get("data") or {}
    if data:
        table.add_row("data", f"{data.get('source')}  (test {data.get('test_size', 0):,})")
    return table


def _confusion(m: Mapping, classes: list[str]) -> Table:
    cm = m["confusion_matrix"]
    table = Table(title="confusion matrix (rows true, columns predicted)", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("true", justify="right", style="bold")
    for name in classes:
        table.add_column(name[:5], justify="right")
    for i, row in enumerate(cm):
        cells = []
        for j, n in enumerate(row):
            if i == j:
                cells.append(f"[bold green]{n}[/]")
            elif n:
                cells.append(f"[red]{n}[/]" if n >= max(3, 0.02 * sum(row)) else str(n))
            else:
                cells.append("[dim]·[/]")
        table.add_row(classes[i][:5], *cells)
    return table


def _per_class(m: Mapping) -> Table:
    table = Table(title="per class", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("class", "precision", "recall", "f1", "support"):
        table.add_column(col, justify="right")
    for row in m["per_class"]:
        table.add_row(
            str(row["class"]), f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
            str(row["support"]),
        )
    return table


def _confusions(m: Mapping) -> Table:
    table = Table(title="most frequent confusions", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("true", justify="right")
    table.add_column("read as", justify="right")
    table.add_column("count", justify="right")
    for c in m.get("top_confusions", []):
        table.add_row(str(c["true"]), str(c["predicted"]), str(c["count"]))
    return table


def metrics_report(m: Mapping, title: str = "results") -> None:
    """The end-of-training and `evaluate` report: summary, confusion matrix, per-class scores, confusions."""
    classes = [row["class"] for row in m["per_class"]]
    console.print(Panel(_summary(m), title=title, border_style="green", expand=False))
    console.print(_confusion(m, classes))
    console.print(Columns([_per_class(m), _confusions(m)], padding=(0, 4)))


def _digit_drawing(pixels) -> Text:
    """The model's input as shaded blocks, two characters a pixel: readable with or without colour."""
    shades = " ░▒▓█"
    text = Text()
    for row in pixels:
        line = "".join(shades[min(int(float(v) * len(shades)), len(shades) - 1)] * 2 for v in row)
        text.append(line.rstrip() + "\n", style="bright_white")
    return text


def predictions(result: Mapping, top: int = 3, show: bool = False) -> None:
    """Per file: the digit, its confidence, the top-k probabilities as bars, and optionally the input."""
    classes = result["classes"]
    for r in result["results"]:
        if "error" in r:
            error(r["error"])
            continue
        console.print(_prediction(r, classes, top), soft_wrap=True)
        if show:
            console.print(_digit_drawing(r["pixels"]))


def _prediction(r: Mapping, classes: list, top: int) -> Text:
    """One file's answer, built as Text rather than markup and grids: 1,000 files render in ~0.1 s, not 3 s."""
    text = Text.assemble((r["file"], "bold"), ": ", (str(r["digit"]), "bold cyan"), f" ({r['confidence']:.1%})")
    if r["low_confidence"]:
        text.append("  low confidence", "bold yellow")
    order = sorted(range(len(classes)), key=lambda k: -r["probabilities"][k])[:top]
    for k in order:
        p = r["probabilities"][k]
        text.append(f"\n  {classes[k]:>3} ")
        text.append(f"{'█' * round(p * 30):<30}", "cyan")
        text.append(f" {p:6.1%}")
    return text


# ------------------------------------------------------------------------------------ sweeps and runs

STATUS_STYLE = {
    "completed": "green", "duplicate": "green", "running": "cyan", "interrupted": "yellow",
    "failed": "red", "died": "red",
}


def _pct(value, digits: int = 2) -> str:
    return "[dim]-[/]" if value is None else f"{value:.{digits}%}"


def _seconds(value) -> str:
    return "[dim]-[/]" if value is None else f"{value:.1f} s"


def _count(value) -> str:
    return "[dim]-[/]" if value is None else f"{value:,}"


def _size(value) -> str:
    """A parameter count in a narrow column: 7,850 -> 7.8k, 203,530 -> 204k, 1,234,567 -> 1.2M."""
    if value is None:
        return "[dim]-[/]"
    for limit, unit in ((1e6, "M"), (1e3, "k")):
        if value >= limit:
            n = value / limit
            return f"{n:.1f}{unit}" if n < 10 else f"{n:.0f}{unit}"
    return str(value)


def _status(status: str, text: str | None = None) -> str:
    """The status word (or `text`) in the status's colour."""
    return f"[{STATUS_STYLE.get(status, 'yellow')}]{escape(text or status)}[/]"


def _setting(value) -> str:
    """A setting as a short cell: [128, 64] -> 128-64, 0.00065362640 -> 0.000654."""
    if value is None:
        return "[dim]-[/]"
    if isinstance(value, (list, tuple)):
        return "-".join(str(v) for v in value) or "none"
    if isinstance(value, str) and any(c in value for c in ".eE"):
        try:
            value = float(value)  # override values arrive as text; Optuna's floats have 17 digits
        except ValueError:
            pass
    if isinstance(value, float):
        return f"{value:.3g}"
    return escape(str(value))


# Short column titles for the settings sweeps vary most, so a summary fits an 80-column terminal.
SHORT_TITLES = {"learning_rate": "lr", "batch_size": "batch", "hidden_units": "hidden", "activation": "act"}


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
        f"job {num}  {_status(status, text)}  val {_pct(m.get('val_accuracy'))}  "
        f"test {_pct(m.get('test_accuracy'))}  {_count(m.get('params'))} parameters  "
        f"{_seconds(m.get('train_seconds'))}"
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
            *(_setting(row["settings"][k]) for k in s["columns"]),
            _pct(row["val_accuracy"], 1), _pct(row["test_accuracy"], 1), _size(row["params"]),
            _seconds(row["train_seconds"]),
        ]
        if with_status:
            cells.append(_status(row["status"], text))
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


def _run_settings(row: Mapping) -> str:
    """The settings that tell runs apart, in one cell that may wrap: "128-64 relu drop 0.2, lr 0.001, batch 32, 5 ep"."""
    units = row["hidden_units"]
    if units is None:
        layers = "-"
    elif not units:
        layers = "no hidden layer"
    else:
        layers = f"{_setting(units)} {escape(str(row['activation']))}"
        layers += f" drop {_setting(row['dropout'])}" if row.get("dropout") else ""
    parts = [layers]
    for key, label in (("learning_rate", "lr "), ("batch_size", "batch "), ("epochs", "")):
        if row.get(key) is not None:
            parts.append(f"{label}{_setting(row[key])}" + (" ep" if key == "epochs" else ""))
    return ", ".join(parts)


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
            _pct(row["val_accuracy"], 1), _pct(row["test_accuracy"], 1), _seconds(row["train_seconds"]),
            _status(row["status"]),
        )
    console.print(table)
