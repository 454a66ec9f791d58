"""The `mnistcli` command (Typer): parse, call one function per verb, render."""
