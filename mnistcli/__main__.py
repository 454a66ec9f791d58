"""`python -m mnistcli`: the same as the `mnistcli` command."""

from mnistcli.cli import app

app()
