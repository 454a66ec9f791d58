"""`mnistcli train --help`: the config groups with their options, the keys with their values and allowed values."""

from __future__ import annotations

from collections.abc import Mapping

from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from mnistcli.report.console import console


def train_help(h: Mapping) -> None:
    """Rendered for the terminal's width: the allowed values wrap under themselves, names and values never."""
    console.print(escape(h["header"]), highlight=False)
    console.print()
    console.print("[bold]Usage:[/] mnistcli train [-m] [GROUP=OPTION ...] [KEY=VALUE ...]", highlight=False)
    console.print()
    groups = Table.grid(padding=(0, 2), pad_edge=False)
    groups.add_column(no_wrap=True, style="bold")
    groups.add_column()
    for g in h["groups"]:
        chosen = g["chosen"] if isinstance(g["chosen"], list) else [g["chosen"]]  # a list: logger=[csv,mlflow]
        names = ", ".join(f"[bold green]{escape(n)}*[/]" if n in chosen else escape(n) for n in g["options"])
        groups.add_row(escape(g["group"]), names + ("  [dim](optional)[/]" if g["chosen"] is None else ""))
    console.print("[bold]Config groups[/] (GROUP=OPTION; * the one in use)")
    console.print(Padding(groups, (0, 0, 0, 2)))
    console.print()
    keys = Table.grid(padding=(0, 2), pad_edge=False)
    keys.add_column(no_wrap=True, style="bold")
    keys.add_column(no_wrap=True, style="cyan")
    keys.add_column()
    for k in h["keys"]:
        keys.add_row(escape(k["key"]), escape(k["value"]), escape(k["allowed"]))
    console.print("[bold]Keys[/] (KEY=VALUE): the value a run would use, the values allowed")
    if h["overrides"]:
        console.print(f"  with {escape(' '.join(h['overrides']))}", style="dim")
    console.print(Padding(keys, (0, 0, 0, 2)))
    if h["rarely_changed"]:
        console.print(f"Also: {', '.join(h['rarely_changed'])} (mnistcli train --cfg job prints every key)")
    console.print()
    console.print(escape(h["footer"]), highlight=False)
