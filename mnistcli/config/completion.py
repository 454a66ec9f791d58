"""Shell completion for `mnistcli train`: config groups and their options, keys, and the choices a key allows."""

from __future__ import annotations

import typing

from mnistcli.config.groups import options
from mnistcli.config.schema import DataSettings, TrainSettings
from mnistcli.config.validate import all_keys
from mnistcli.models import registry


def _choices(key: str) -> list[str]:
    """The values a key allows when they are a fixed list (train.optimizer's names, booleans)."""
    section, _, name = key.rpartition(".")
    schemas = {"train": [TrainSettings], "data": [DataSettings], "model": [f.args for f in registry.FAMILIES.values()]}
    if key == "model.family":
        return list(registry.FAMILIES)
    for schema in schemas.get(section, []):
        field = schema.model_fields.get(name)
        if field is None:
            continue
        if field.annotation is bool:
            return ["true", "false"]
        if typing.get_origin(field.annotation) is typing.Literal:
            return [str(v) for v in typing.get_args(field.annotation)]
    return []


def complete(incomplete: str) -> list[str]:
    """What may follow: `model=` -> `model=hidden128`..., `train.opt` -> `train.optimizer=`, `train.optimizer=` -> its names."""
    groups = {g: o for g, o in options().items() if not g.startswith("hydra/") or g == "hydra/launcher"}
    if "=" in incomplete:
        key, _, value = incomplete.partition("=")
        values = groups.get(key) or _choices(key)
        return [f"{key}={v}" for v in values if v.startswith(value)]
    words = [f"{g}=" for g in groups] + [f"{k}=" for k in all_keys()] + ["-m", "--cfg", "--help", "-cd"]
    return [w for w in words if w.startswith(incomplete)]
