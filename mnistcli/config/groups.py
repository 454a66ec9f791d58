"""Config groups and their options, read from every place Hydra composes from: the shipped conf/ and a user's -cd/-cp dirs."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Mapping
from pathlib import Path

from mnistcli.errors import MnistcliError

SHIPPED = [{"schema": "pkg", "path": "mnistcli.conf"}]


def _root(source: Mapping):
    """The folder a config source reads from (a package's or a plain one), or None for other kinds."""
    schema, path = source.get("schema"), str(source.get("path") or "")
    if schema == "file":
        folder = Path(path)
        return folder if folder.is_dir() else None
    if schema == "pkg":
        try:
            return importlib.resources.files(path)
        except (ModuleNotFoundError, TypeError):
            return None
    return None  # structured configs (Hydra's own ConfigStore): no files


def options(sources: Iterable[Mapping] = SHIPPED) -> dict[str, list[str]]:
    """group path ('model', 'hydra/launcher', ...) -> sorted option names, over every source's YAML files."""
    found: dict[str, set[str]] = {}

    def walk(folder, group: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.name.startswith(("__", ".")):
                walk(entry, f"{group}/{entry.name}" if group else entry.name)
            elif entry.name.endswith((".yaml", ".yml")) and group:
                found.setdefault(group, set()).add(entry.name.rsplit(".", 1)[0])

    for source in sources:
        root = _root(source)
        if root is not None:
            walk(root, "")
    return {group: sorted(names) for group, names in sorted(found.items())}


def check_choices(choices: Mapping[str, str | None], sources: Iterable[Mapping] = SHIPPED) -> None:
    """Raise MnistcliError for a chosen option with no file in any source (Hydra skips a missing optional one)."""
    from mnistcli.config.validate import did_you_mean

    available = options(sources)
    for group, option in choices.items():
        if option is None or group.startswith("hydra/") or group not in available:
            continue
        if option not in available[group]:
            names = available[group]
            raise MnistcliError(f"unknown {group} '{option}'; available: {', '.join(names)}{did_you_mean(option, names)}")
