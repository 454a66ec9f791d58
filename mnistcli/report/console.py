"""The terminal: one Rich console for results (stdout), one for errors and warnings (stderr)."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

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
