"""`mnistcli serve`'s terminal lines: where the page is, which run reads, and a warning when others can reach it."""

from __future__ import annotations

from rich.text import Text

from mnistcli.report.console import console, warning


def serving(info: dict) -> None:
    """The server is up: its URL, the docs, the run reading (model, dataset, test accuracy), how to stop it."""
    run = info["run"]
    if info["every_interface"]:
        warning(
            f"listening on every network interface ({info['host']}): anyone who can reach this machine on port "
            f"{info['port']} can use the server - use --host 127.0.0.1 to keep it to this machine"
        )
    elif info["public"]:
        warning(f"listening on {info['host']}: other machines on that network can use the server")
    accuracy = f"test accuracy {run['test_accuracy']:.2%}" if run.get("test_accuracy") is not None else "no test score"
    line = Text("mnistcli serve ", style="bold") + Text(info["url"], style="bold cyan underline")
    console.print(line, soft_wrap=True)
    console.print(
        Text(f"  reading with {run['model']} ({run.get('model_settings') or '?'}), trained on {run.get('dataset') or '?'}, "
             f"{accuracy}, {run['backend']}: {info['run_dir']}"),
        soft_wrap=True,
    )
    console.print(Text(f"  API docs {info['docs']}  ·  Ctrl-C stops", style="dim"), soft_wrap=True)


def stopped(how: str) -> None:
    console.print(Text(f"mnistcli serve: {how}", style="dim"))
