"""What `train` and `evaluate` show: the run's header, and the results with confusion matrix and per-class scores."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.columns import Columns
from rich.panel import Panel
from rich.table import Table

from mnistcli.report.console import console

def run_header(run_dir: str, record) -> None:
    """The panel a training run opens with: model, data, training settings, run folder."""
    cfg, data, model = record.config, record.data, record.model
    train = cfg["train"]
    size = cfg["data"]["image_size"]
    console.print(
        Panel.fit(
            f"[bold]{model['name']}[/]  {model['description']}  {record.params:,} parameters\n"
            f"data  {data['source']}\n"
            f"      train {data['train_size']:,}  val {data['val_size']:,}  test {data['test_size']:,}  ({size}x{size})\n"
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
