"""`mnistcli train`'s command line as Hydra will see it: options it does not know, and its errors as one line with a fix."""

from __future__ import annotations

import re
from mnistcli.config.groups import SHIPPED, options
from mnistcli.config.validate import did_you_mean, suggest_key
from mnistcli.errors import MnistcliError

# Hydra's own command-line flags (hydra/_internal/utils.py's parser): anything else starting with '-' is a mistake.
HYDRA_FLAGS = {
    "-h", "--help", "--hydra-help", "--version", "-c", "--cfg", "--resolve", "-p", "--package", "-r", "--run",
    "-m", "--multirun", "-cp", "--config-path", "-cn", "--config-name",
    "-cd", "--config-dir", "--experimental-rerun", "-i", "--info",
}
# Flags whose next word is their value.
WITH_VALUE = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn",
               "--config-name", "-cd", "--config-dir", "--experimental-rerun", "-i", "--info"}


# Hydra's --hydra-help, less its -sc shell completion (which cannot complete a subcommand; Typer's does).
HYDRA_HELP = """Hydra's options for mnistcli train:
  -m, --multirun          a sweep: one job per combination of comma-separated values
  --cfg job|hydra|all     print the composed config instead of training (--resolve resolves it)
  -p, --package PKG       with --cfg: print only this part of the config
  --info [all|config|defaults|defaults-tree|plugins|searchpath]
                          Hydra's view of the config
  -cd, --config-dir DIR   add your own config files: DIR/model/mine.yaml is then model=mine
  -cp DIR, -cn NAME       another primary config folder and name
  --version               Hydra's version
Shell completion of config groups, options and keys: mnistcli --install-completion
Everything else is key=value overrides; mnistcli train --help lists the groups and keys."""


def check_flags(args: list[str]) -> None:
    """One line for a flag Hydra does not know (`--epochs 5`), naming the override that was meant."""
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if not arg.startswith("-") or re.fullmatch(r"-\d.*", arg):
            continue
        flag, eq, value = arg.partition("=")
        if flag in ("-sc", "--shell-completion"):
            # Hydra's script would complete `mnistcli -sc query=...`, which is not a command: it never worked.
            raise MnistcliError("shell completion is installed with `mnistcli --install-completion` (bash, zsh, fish)")
        if flag in HYDRA_FLAGS:
            skip = flag in WITH_VALUE and not eq and flag not in ("-i", "--info")
            continue
        if not eq and i + 1 < len(args) and "=" not in args[i + 1] and not args[i + 1].startswith("-"):
            value = args[i + 1]
        key = flag.lstrip("-").replace("-", "_")
        meant = suggest_key(key) or key
        example = f"{meant}={value}" if value else f"{meant}=VALUE"
        raise MnistcliError(
            f"unknown option {flag}: settings are given as key=value, e.g. mnistcli train {example}"
            " (mnistcli train --help lists them)"
        )


def config_sources(args: list[str]) -> list[dict]:
    """The config sources the command line adds to the shipped ones (-cd DIR, -cp DIR)."""
    sources = list(SHIPPED)
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag in ("-cd", "--config-dir", "-cp", "--config-path"):
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            if value:
                sources.append({"schema": "file", "path": value.removeprefix("file://")})
    return sources


def explain(exc: BaseException, args: list[str]) -> MnistcliError | None:
    """Hydra's composition errors as one line with a likely fix; None for an error this cannot improve."""
    text = str(exc)
    override = re.search(r"Could not override '([^']+)'", text)
    if override:
        key = override.group(1)
        value = next((a.partition("=")[2] for a in args if a.partition("=")[0] == key), "")
        meant = suggest_key(key)
        hint = f"; did you mean {meant}={value}?" if meant else ""
        section, _, name = key.rpartition(".")
        where = f"{section} has no key '{name}'" if section else f"'{key}' is neither a config key nor a config group"
        return MnistcliError(f"unknown key {key}: {where}{hint} (mnistcli train --help lists every key)")
    # A single option (model=foo) is "Could not find"; an option in a list (logger=[csv,foo]) "Could not load".
    missing = re.search(r"Could not (?:find|load) '([^']+)/([^'/]+)'", text)
    if missing:
        group, option = missing.groups()
        available = options(config_sources(args)).get(group)
        if available:
            return MnistcliError(
                f"unknown {group} '{option}'; available: {', '.join(available)}{did_you_mean(option, available)}"
            )
    return None
