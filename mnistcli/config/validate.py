"""Checking a composed config before anything heavy runs: one line naming the bad key, the valid values, a likely fix."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from mnistcli.config.schema import LOGGERS, DataSettings, RunConfig, TrainSettings, expected
from mnistcli.errors import MnistcliError
from mnistcli.models import registry


def did_you_mean(word: str, candidates: list[str]) -> str:
    """"; did you mean X?" when a candidate is close to `word` (a typo), else ""."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def check(schema: type[BaseModel], values: Any, prefix: str = "") -> BaseModel:
    """`values` checked against `schema`; the first problem raised as one MnistcliError line."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        raise MnistcliError(_message(schema, values, exc.errors()[0], prefix)) from None


def _message(schema: type[BaseModel], values: Any, error: Mapping, prefix: str) -> str:
    names = _field_path(schema, error["loc"])
    if error["type"] == "extra_forbidden":
        names.append(str(error["loc"][len(names)]))
    key = ".".join([prefix, *names] if prefix else names)
    if error["type"] == "extra_forbidden":
        section, _, name = key.rpartition(".")
        owner = _section(schema, names[:-1])
        valid = list(owner.model_fields) if owner is not None else []
        where = f"valid keys of {section}" if section else "valid top-level keys"
        listed = valid if section else sorted(valid)
        return f"unknown key {key}; {where}: {', '.join(listed)}{did_you_mean(name, valid)}"
    if error["type"] == "missing":
        return f"{key} is missing from the config"
    value = values
    for part in names:
        value = value.get(part) if isinstance(value, Mapping) else None
    words = expected(schema, tuple(names)) if names else None
    if words is None:  # a rule of the model itself (a model_validator): its message says it all
        text = str(error["msg"]).removeprefix("Value error, ")
        return f"{key}: {text}" if key and not text.startswith(key) else text
    return f"{key} must be {words}, got {value!r}"


def _field_path(schema: type[BaseModel], loc: tuple) -> list[str]:
    """The field names at the start of an error's loc (pydantic adds union members and list indices after them)."""
    names: list[str] = []
    current: type[BaseModel] | None = schema
    for part in loc:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            break
        names.append(part)
        annotation = current.model_fields[part].annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return names


def _section(schema: type[BaseModel], path: list[str]) -> type[BaseModel] | None:
    for part in path:
        info = schema.model_fields.get(part)
        if info is None or not (isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)):
            return None
        schema = info.annotation
    return schema


def validate(cfg: Mapping) -> RunConfig:
    """Check a composed config (a plain dict); raise MnistcliError naming the first bad key or value."""
    if not isinstance(cfg, Mapping):
        raise MnistcliError(f"the config must be a mapping, got {type(cfg).__name__}")
    for section in ("model", "data", "train"):
        if not isinstance(cfg.get(section), Mapping):
            known = sorted(RunConfig.model_fields)
            if section not in cfg:
                raise MnistcliError(f"the config has no '{section}' section; valid top-level keys: {', '.join(known)}")
            raise MnistcliError(f"{section} must be a mapping of keys, got {cfg[section]!r}")
    run = check(RunConfig, dict(cfg))
    family = registry.family_of(cfg["model"])
    if run.search is not None:  # first: the model's keys are derived from the knobs
        if family.search is None:
            raise MnistcliError(f"model family '{family.name}' has no search knobs; remove the search section")
        check(family.search, run.search, "search")
    check(family.args, {k: v for k, v in cfg["model"].items() if k != "family"}, "model")
    check_loggers(run.logger)
    return run


def check_loggers(loggers: Mapping | None) -> None:
    """Each chosen logger is known and its settings valid (logger=none leaves an empty section)."""
    for name, settings in (loggers or {}).items():
        if name not in LOGGERS:
            raise MnistcliError(f"unknown logger '{name}'; valid loggers: {', '.join(LOGGERS)}{did_you_mean(str(name), list(LOGGERS))}")
        check(LOGGERS[name], settings if settings is not None else {}, f"logger.{name}")


def all_keys() -> list[str]:
    """Every dotted key a config can hold, for "did you mean" on the command line."""
    keys = ["seed", *(f"train.{k}" for k in TrainSettings.model_fields), *(f"data.{k}" for k in DataSettings.model_fields)]
    keys += [f"logger.{name}.{k}" for name, schema in LOGGERS.items() for k in schema.model_fields]
    for family in registry.FAMILIES.values():
        keys += ["model.family", *(f"model.{k}" for k in family.args.model_fields if f"model.{k}" not in keys)]
        if family.search is not None:
            keys += [f"search.{k}" for k in family.search.model_fields if f"search.{k}" not in keys]
    return list(dict.fromkeys(keys))


def suggest_key(key: str) -> str | None:
    """The config key a user most likely meant by `key` (epochs -> train.epochs, model.hiden_units -> model.hidden_units)."""
    keys = all_keys()
    leaf = key.rpartition(".")[2]
    same_leaf = [k for k in keys if k.rpartition(".")[2] == leaf]
    if len(same_leaf) == 1 and same_leaf[0] != key:
        return same_leaf[0]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.75)
    if close:
        return close[0]
    close = difflib.get_close_matches(leaf, [k.rpartition(".")[2] for k in keys], n=1, cutoff=0.75)
    if close:
        matches = [k for k in keys if k.rpartition(".")[2] == close[0]]
        return matches[0] if len(matches) == 1 else None
    return None
