"""The `mnistcli` command: parses the command line, calls one function per verb, renders the result."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

app = typer.Typer(
    name="mnistcli",
    help="Train, evaluate and use handwritten-digit (MNIST) classifiers from Hydra configs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one verb; a user's mistake becomes one line on stderr and exit 2, never a traceback."""
    from mnistcli import report
    from mnistcli.errors import is_user_error, one_line

    try:
        return func(*args, **kwargs)
    except KeyboardInterrupt:
        report.error("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        if os.environ.get("MNISTCLI_DEBUG"):
            raise
        if is_user_error(exc):
            report.error(one_line(exc))
            raise typer.Exit(2) from None
        report.error(f"internal error: {type(exc).__name__}: {one_line(exc)} (MNISTCLI_DEBUG=1 shows the traceback)")
        raise typer.Exit(1) from None


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def train(ctx: typer.Context) -> None:
    """Train a model. Takes Hydra's command line: [bold]key=value[/] overrides, [bold]-m[/] to sweep,
    [bold]--cfg job[/] to print the config, [bold]--help[/] for the config groups.

    Examples: mnistcli train model=hidden100x2 | mnistcli train -m model=softmax,hidden128 train.epochs=5,10
    """
    from mnistcli.train import run

    _call(run, list(ctx.args))


@app.command()
def evaluate(
    run_dir: Annotated[Optional[Path], typer.Argument(help="Run folder (default: the newest under outputs/).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Test on the IDX/npz files in DIR instead.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (metrics.json's keys) and nothing else.")] = False,
) -> None:
    """Recompute a run's test accuracy, confusion matrix and per-class scores."""
    from mnistcli.evaluate import evaluate_run

    metrics = _call(evaluate_run, run_dir, data_dir)
    if as_json:
        sys.stdout.write(json.dumps(metrics) + "\n")
        return
    from mnistcli import report

    report.metrics_report(metrics, title=f"evaluate {metrics['run_dir']}")


@app.command()
def runs(
    directory: Annotated[Optional[Path], typer.Argument(help="Folder to search (default: outputs/); a sweep folder lists its jobs.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="val_accuracy, test_accuracy, when, train_seconds, params, model or status.")] = "val_accuracy",
    top: Annotated[Optional[int], typer.Option("--top", help="Show only the first N.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list of runs and nothing else.")] = False,
) -> None:
    """List single runs and sweep jobs with their settings, accuracies, time and status, best first."""
    from mnistcli.runs import list_runs

    result = _call(list_runs, directory, sort=sort, top=top)
    if as_json:
        sys.stdout.write(json.dumps(result["runs"]) + "\n")
        return
    from mnistcli import report

    report.runs_table(result)


def main() -> None:
    app()
