"""The terminal: one Rich console for results (stdout), one for errors and warnings (stderr)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.spinner import Spinner
from rich.text import Text

from mnistcli.runs.rundir import shown

console = Console()


err_console = Console(stderr=True)


def error(message: str) -> None:
    """One line on stderr, no traceback."""
    err_console.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def warning(message: str) -> None:
    err_console.print(Text("warning: ", style="bold yellow") + Text(message), soft_wrap=True)


def data_warning(message: str) -> None:
    """A loud panel about the data (the offline fallback): the first line bold, the rest as written."""
    first, _, rest = message.partition("\n")
    text = Text(first, style="bold")
    if rest:
        text.append("\n" + rest)
    text.highlight_words(["LOWER"], style="bold red")
    err_console.print(Panel(text, title="WARNING: offline fallback - not the real MNIST", border_style="bold yellow"))


@contextmanager
def busy(message: str | None) -> Iterator[None]:
    """A spinner and `message` while something slow runs (loading TensorFlow), gone when it ends.

    Only on a terminal: in a pipe or a log it would be nothing but control characters. sys.stdout and
    sys.stderr are left alone (Rich's status would swap in proxies), since TensorFlow's import keeps the
    sys.stderr it finds for its logger: a proxy would send its later warnings through this console.
    """
    if not message or not console.is_terminal:
        yield
        return
    # 5 redraws a second, not Rich's 12.5: the spinner's thread takes the GIL from the work it waits for.
    spinner = Spinner("dots", escape(message), style="status.spinner")
    with Live(spinner, console=console, refresh_per_second=5, transient=True, redirect_stdout=False,
              redirect_stderr=False):
        yield


def next_steps(run_dir: str, loggers=()) -> None:
    """What to do with a finished run, as commands to copy; only on a terminal (not in a pipe or a log).
    `loggers`: the run's chosen loggers (logger=), for TensorBoard's command when it wrote event files."""
    if not console.is_terminal:
        return
    run = shown(run_dir)
    commands = [f"mnistcli evaluate {run}", f"mnistcli predict x.png --run {run}"]
    if "tensorboard" in (loggers or ()):
        commands.append(f"mnistcli tensorboard {run}")
    # Indented where that still fits: a command broken over two lines is harder to copy.
    indent = "  " if max(map(len, commands)) + 2 <= console.width else ""
    console.print("[dim]next:[/]")
    for command in commands:
        # soft_wrap: a command longer than the terminal stays one line to copy, never broken by Rich.
        console.print(indent + escape(command), soft_wrap=True, highlight=False)
