"""The `mnistcli` command: parses the command line, calls one function per verb, renders the result."""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

# The interpreter's last garbage collection walks TensorFlow's object graph: 2-5 seconds at every exit, after
# Ctrl-C too, with nothing left to free that matters. atexit runs before it; frozen objects are skipped.
atexit.register(gc.freeze)

app = typer.Typer(
    name="mnistcli",
    help="Train, evaluate and use handwritten-digit (MNIST) classifiers from Hydra configs.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from mnistcli import __version__

        typer.echo(f"mnistcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """Train, evaluate and use handwritten-digit (MNIST) classifiers from Hydra configs."""


def _call(func: Callable[..., Any], *args: Any, busy: str | None = None, **kwargs: Any) -> Any:
    """Run one verb (with a spinner saying `busy` meanwhile, on a terminal); a user's mistake becomes one line
    on stderr and exit 2, never a traceback."""
    from mnistcli import report
    from mnistcli.errors import is_user_error, one_line

    try:
        with report.busy(busy):  # ended before an error is printed
            return func(*args, **kwargs)
    except KeyboardInterrupt as exc:
        # interrupts.Interrupted says where training stopped, and carries 130 (SIGINT) or 143 (SIGTERM).
        report.error(str(exc) or "interrupted")
        raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    except Exception as exc:
        if os.environ.get("MNISTCLI_DEBUG"):
            raise
        if is_user_error(exc):
            report.error(one_line(exc))
            raise typer.Exit(2) from None
        report.error(f"internal error: {type(exc).__name__}: {one_line(exc)} (MNISTCLI_DEBUG=1 shows the traceback)")
        raise typer.Exit(1) from None


def _complete_train(incomplete: str) -> list[str]:
    from mnistcli.config.completion import complete

    return complete(incomplete)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def train(
    ctx: typer.Context,
    overrides: Annotated[
        Optional[list[str]],
        typer.Argument(help="key=value overrides and Hydra's flags.", autocompletion=_complete_train, show_default=False),
    ] = None,
) -> None:
    """Train a model. Takes Hydra's command line: [bold]key=value[/] overrides, [bold]-m[/] to sweep,
    [bold]--cfg job[/] to print the config, [bold]--help[/] for the config groups.

    Examples: mnistcli train model=hidden100x2 | mnistcli train -m model=softmax,hidden128 train.epochs=5,10
    | mnistcli train resume=outputs/DATE/TIME_MODEL (continue an interrupted run)
    """
    args = [*(overrides or []), *ctx.args]
    if "--help" in args or "-h" in args:  # composed without Hydra's launch machinery: a fraction of a second
        from mnistcli.config.help import train_help
        from mnistcli.report.help import train_help as render_help

        render_help(_call(train_help, args))
        return
    from mnistcli.training.hydra_app import run

    _call(run, args)


@app.command()
def evaluate(
    run_dir: Annotated[Optional[Path], typer.Argument(help="Run folder (default: the newest under outputs/).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Test on the IDX/npz files in DIR instead.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (metrics.json's keys) and nothing else.")] = False,
) -> None:
    """Recompute a run's test accuracy, confusion matrix and per-class scores."""
    from mnistcli import report
    from mnistcli.evaluation.evaluate import evaluate_run

    metrics = _call(evaluate_run, run_dir, data_dir, busy=None if as_json else "loading the model and the test set")
    warning = metrics.pop("data_warning", None)
    if warning:
        report.data_warning(warning)
    if as_json:
        sys.stdout.write(json.dumps(metrics) + "\n")
        return
    report.metrics_report(metrics, "evaluate")


@app.command()
def predict(
    images: Annotated[list[Path], typer.Argument(help="PNG/JPEG files and folders of them.", show_default=False)],
    run_dir: Annotated[
        Optional[str],
        typer.Option("--run", help="Run folder, or [bold]best[/] (best validation accuracy on MNIST). Default: the newest MNIST run."),
    ] = None,
    single: Annotated[bool, typer.Option("--single", help="Read each image as one digit (no segmentation).")] = False,
    any_dataset: Annotated[
        bool, typer.Option("--any-dataset", help="Also use a run trained on another dataset (Fashion-MNIST...).")
    ] = False,
    top: Annotated[int, typer.Option("--top", min=1, max=10, help="Show the K most likely classes.")] = 3,
    show: Annotated[bool, typer.Option("--show", help="Also draw the digits' boxes and each 28x28 input the model saw.")] = False,
    invert: Annotated[Optional[bool], typer.Option("--invert/--no-invert", help="Force ink polarity (default: detect).", show_default=False)] = None,
    backend: Annotated[str, typer.Option("--backend", help="auto (LiteRT when exported), litert or keras.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array and nothing else on stdout.")] = False,
) -> None:
    """Read handwritten numbers (one line of digits) or single digits from image files: photographed,
    scanned or drawn, any size or colours."""
    from mnistcli.inference.predict import json_row, predict_files

    if backend not in ("auto", "litert", "keras"):
        _call(_bad, f"--backend must be auto, litert or keras, got {backend!r}")
    result = _call(predict_files, images, run_dir, invert, backend, single, any_dataset)
    from mnistcli import report

    if as_json:
        rows = [json_row(r) for r in result["results"]]
        sys.stdout.write(json.dumps(rows) + "\n")
        for r in result["results"]:
            if "error" in r:
                report.error(r["error"])
    else:
        report.predictions(result, top=top, show=show)
    if any("error" in r for r in result["results"]):
        raise typer.Exit(1)


def _bad(message: str) -> None:
    from mnistcli.errors import MnistcliError

    raise MnistcliError(message)


@app.command()
def runs(
    directory: Annotated[Optional[Path], typer.Argument(help="Folder to search (default: outputs/); a sweep folder lists its jobs.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="val_accuracy, test_accuracy, when, train_seconds, params, model or status.")] = "val_accuracy",
    top: Annotated[Optional[int], typer.Option("--top", help="Show only the first N.")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Only runs on mnist, fashion_mnist or mnist_5k (the offline sample).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list of runs and nothing else.")] = False,
) -> None:
    """List single runs and sweep jobs with their dataset, settings, accuracies, time and status, best first."""
    from mnistcli.runs.listing import list_runs

    result = _call(list_runs, directory, sort=sort, top=top, dataset=dataset)
    if as_json:
        sys.stdout.write(json.dumps(result["runs"]) + "\n")
        return
    from mnistcli import report

    report.runs_table(result)


@app.command()
def tensorboard(
    folder: Annotated[Optional[Path], typer.Argument(help="A run or sweep folder (default: outputs/, every run).")] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 6006,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Open TensorBoard on the runs trained with logger=tensorboard (a run's curves, graph, confusion matrix)."""
    from mnistcli.tracking.board import open_board

    code = _call(open_board, folder, port, host)
    if code:
        raise typer.Exit(code)


@app.command()
def serve(
    run: Annotated[Optional[str], typer.Option("--run", help="Run folder, or 'best' (best validation accuracy on MNIST); default: the newest MNIST run.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 opens it to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free one).")] = 8000,
    any_dataset: Annotated[
        bool, typer.Option("--any-dataset", help="Also use a run trained on another dataset (Fashion-MNIST...).")
    ] = False,
) -> None:
    """Draw digits and numbers in the browser, read live by a trained run (a web page and a JSON API)."""
    from mnistcli.serve.server import Server

    server = _call(Server, run, host, port, any_dataset=any_dataset)
    from mnistcli import report

    report.serving(server.info)
    report.stopped(_call(server.run))


def main() -> None:
    app()
