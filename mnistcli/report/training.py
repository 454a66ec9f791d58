"""What `train` and `evaluate` show: the run's header as soon as the config is known, the data and model as
they are ready, and the results with confusion matrix and per-class scores.

Every fact shown while a run trains is also logged (logger "mnistcli"): the run folder's mnistcli.log
(runs/runlog.py) keeps the same lines as plain text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from rich import box
from rich.markup import escape
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table

from mnistcli.models import registry
from mnistcli.report.cells import dataset_name, short_path
from mnistcli.report.console import console
from mnistcli.runs.rundir import shown

log = logging.getLogger("mnistcli")

LABEL = 7  # the width of the labels in the header and its lines ("model", "data", "run")


def _facts_grid(facts: list[tuple[str, str]]) -> Table:
    """Label and value pairs, the values wrapping under themselves (at spaces: a path stays whole)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", min_width=LABEL - 1, no_wrap=True)
    grid.add_column()
    for label, value in facts:
        grid.add_row(label, escape(value))
    return grid


def _print_facts(facts: list[tuple[str, str]]) -> None:
    console.print(_facts_grid(facts))
    log.info("%s", "; ".join(f"{label} {value}".strip() for label, value in facts))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def run_header(cfg: Mapping, run_dir: str, resumed_after: int | None = None) -> None:
    """The panel a training run opens with, printed as soon as the config is composed: model, training, data, run."""
    train = cfg["train"]
    try:
        model = f"{registry.run_name(cfg['model'])}: {registry.describe(cfg['model'])}"
    except Exception:  # noqa: BLE001 - validate() has named any problem; the header must never be what fails
        model = str(cfg["model"].get("family", "?"))
    schedule = "" if train["lr_schedule"] == "constant" else f" {train['lr_schedule']}"
    patience = train["early_stopping_patience"]
    data = cfg["data"]
    where = f" from {data['dir']}" if data.get("dir") else ""
    path = shown(run_dir)
    facts = [
        ("model", model),
        ("train", f"{train['optimizer']}, lr {train['learning_rate']}{schedule}, batch {train['batch_size']}, "
                  f"{_plural(train['epochs'], 'epoch')}, seed {cfg['seed']}"),
        ("data", f"{dataset_name(data['name'])}{where}"),
        ("run", short_path(path, max(console.width - 4 - LABEL, 20))),
    ]
    if patience:
        facts.insert(2, ("stop", f"early, after {_plural(patience, 'epoch')} without a better val_acc"))
    title = "mnistcli train" + (f" (resumed after epoch {resumed_after})" if resumed_after else "")
    console.print(Panel.fit(_facts_grid(facts), title=title, border_style="cyan"))
    log.info("%s: %s", title, path)
    for label, value in facts:
        if label != "run":
            log.info("%s %s", label, value)


def data_ready(data: Mapping, image_size: int) -> None:
    """The data found: where from, and the split sizes."""
    _print_facts([
        ("data", str(data["source"])),
        ("", f"train {data['train_size']:,}, val {data['val_size']:,}, test {data['test_size']:,} ({image_size}x{image_size})"),
    ])


def model_ready(params: int, steps: int) -> None:
    """The model built, just before its first epoch."""
    _print_facts([("model", f"{params:,} parameters, {steps:,} steps an epoch")])


def run_finished(m: Mapping) -> None:
    """A completed run's result, for the run's log (the terminal gets metrics_report)."""
    val = f", val accuracy {m['val_accuracy']:.2%}" if m.get("val_accuracy") is not None else ""
    log.info(
        "completed: test accuracy %.2f%% (loss %.4f)%s, %s epochs in %.1f s", 100 * m["test_accuracy"],
        m["test_loss"], val, m.get("epochs_run"), m.get("train_seconds") or 0.0,
    )


def run_failed(message: str) -> None:
    """Why a run stopped (an error, Ctrl-C), for the run's log; the terminal gets it from the CLI."""
    log.error("%s", message)


def _summary(m: Mapping) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    status = m.get("status", "completed")
    color = {"completed": "green", "interrupted": "yellow"}.get(status, "red")
    table.add_row("status", f"[{color}]{status}[/]")
    data = m.get("data") or {}
    images = f"  ({data['test_size']:,} images)" if data.get("test_size") else ""
    table.add_row("test accuracy", f"[bold green]{m['test_accuracy']:.2%}[/]{images}")
    table.add_row("test loss", f"{m['test_loss']:.4f}")
    if m.get("val_accuracy") is not None:
        table.add_row("val accuracy", f"{m['val_accuracy']:.2%}")
    if m.get("epochs_run") is not None:
        table.add_row("epochs", str(m["epochs_run"]))
    if m.get("train_seconds") is not None:
        table.add_row("train time", f"{m['train_seconds']:.1f} s")
    if m.get("params") is not None:
        table.add_row("parameters", f"{m['params']:,}")
    if data.get("source"):
        table.add_row("data", escape(str(data["source"])))
    if m.get("run_dir"):
        # 4 for the panel's border and padding, 15 for the labels and the gap
        table.add_row("run", escape(short_path(shown(m["run_dir"]), max(console.width - 19, 20))))
    tracked = (m.get("tracking") or {}).get("mlflow")
    if tracked:
        table.add_row("mlflow", escape(f"run {tracked['run_id']}"))
        table.add_row("", escape(_store(str(tracked.get("tracking_uri", "")), max(console.width - 19, 20))))
    return table


def _store(uri: str, width: int) -> str:
    """An MLflow store as a user would type it: a SQLite file's path relative to the current folder."""
    if uri.startswith("sqlite:///"):
        return "sqlite:///" + short_path(shown(Path(uri.removeprefix("sqlite:///"))), width - len("sqlite:///"))
    return uri


def _short_names(classes: list[str]) -> bool:
    return max(map(len, classes)) <= 5


def _confusion(m: Mapping, classes: list[str]) -> Table:
    """Rows true, columns predicted. Long class names (Fashion-MNIST) head the rows whole, numbered, and the
    columns by number: never cut to "T-shi"."""
    cm = m["confusion_matrix"]
    short = _short_names(classes)
    table = Table(title="confusion matrix (rows true, columns predicted)", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("true", justify="right" if short else "left", style="bold", no_wrap=True)
    for k, name in enumerate(classes):
        table.add_column(escape(name) if short else str(k), justify="right", no_wrap=True)
    for i, row in enumerate(cm):
        cells = []
        for j, n in enumerate(row):
            if i == j:
                cells.append(f"[bold green]{n}[/]")
            elif n:
                cells.append(f"[red]{n}[/]" if n >= max(3, 0.02 * sum(row)) else str(n))
            else:
                cells.append("[dim]·[/]")
        table.add_row(escape(classes[i]) if short else f"{i} {escape(classes[i])}", *cells)
    return table


def _per_class(m: Mapping) -> Table:
    table = Table(title="per class", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("class", justify="right", no_wrap=True)
    for col in ("precision", "recall", "f1", "support"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in m["per_class"]:
        table.add_row(
            escape(str(row["class"])), f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
            str(row["support"]),
        )
    return table


def _confusions(m: Mapping) -> Table:
    table = Table(title="most frequent confusions", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("true", justify="right", no_wrap=True)
    table.add_column("read as", justify="right", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    for c in m.get("top_confusions", []):
        table.add_row(escape(str(c["true"])), escape(str(c["predicted"])), str(c["count"]))
    return table


def _side_by_side(*tables: Table, gap: int = 4) -> None:
    """Tables next to each other where they fit at their natural width, else one under the other."""
    wide = console.options.update(width=10_000)
    needed = sum(Measurement.get(console, wide, t).maximum for t in tables) + gap * (len(tables) - 1)
    if needed <= console.width:
        grid = Table.grid(padding=(0, gap, 0, 0))
        for _ in tables:
            grid.add_column(no_wrap=True)
        grid.add_row(*tables)
        console.print(grid)
    else:
        for t in tables:
            console.print(t)


def metrics_report(m: Mapping, heading: str = "") -> None:
    """The end-of-training and `evaluate` report: summary, confusion matrix, per-class scores, confusions.

    The panel's title is the heading and the model's name; the run folder is a row of the summary (shortened
    to "…/<run name>" only where the terminal is too narrow), since in the title it would be cut.
    """
    classes = [str(row["class"]) for row in m["per_class"]]
    title = " ".join(filter(None, [heading, str((m.get("model") or {}).get("name") or "")])) or "results"
    console.print(Panel(_summary(m), title=escape(title), border_style="green", expand=False))
    console.print(_confusion(m, classes))
    _side_by_side(_per_class(m), _confusions(m))
