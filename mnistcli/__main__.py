"""`python -m mnistcli`: the same as the `mnistcli` command."""

from mnistcli.cli.app import app

if __name__ == "__main__":  # a spawned helper process imports this module too, and must not run the CLI
    app()
