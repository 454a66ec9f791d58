"""What `mnistcli train --help` lists: each config group's options and the keys, with their values and allowed values.

Composed by Hydra's compose API with the overrides typed before --help (`model=softmax --help` shows softmax's
values), without launching anything or importing TensorFlow: ~0.15 s where Hydra's own help took over a
second, copying its config repository once per group option. The allowed values are the schema's own words
(config/schema.py, each family's arguments), the same a wrong value's error quotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from mnistcli.config import schema
from mnistcli.config.command_line import HYDRA_FLAGS, WITH_VALUE, config_sources
from mnistcli.config.groups import options
from mnistcli.errors import MnistcliError

# Keys most runs never change: named in one line, their values left to `--cfg job`.
RARELY_CHANGED = ("data.name", "data.system_dir", "data.url", "data.sha256", "data.cache_dir", "model.family")
HELP_FLAGS = ("--help", "-h")


def _overrides(args: list[str]) -> tuple[list[str], list[str]]:
    """(key=value overrides, -cd folders) of a command line; Hydra's flags and --help are left out."""
    overrides: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        flag = arg.partition("=")[0]
        if arg in HELP_FLAGS or flag in HYDRA_FLAGS:
            skip = flag in WITH_VALUE and "=" not in arg and flag not in ("-i", "--info")
            continue
        if "=" in arg and not arg.lstrip("+~").startswith("hydra"):
            overrides.append(arg)
    folders = [s["path"] for s in config_sources(args)[1:]]
    return overrides, folders


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and value.startswith("${"):
        return "(derived)"  # an interpolation, e.g. a search knob's model key
    if isinstance(value, list):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    return str(value)


def _keys(section: str, model: type[BaseModel], values: Mapping) -> list[dict]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{section}.{name}" if section else name
        if key in RARELY_CHANGED or name not in values:
            continue
        inner = field.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel) and isinstance(values[name], Mapping):
            rows += _keys(key, inner, values[name])  # a nested section (data.augment): one row per key
            continue
        rows.append({"key": key, "value": _shown(values[name]), "allowed": schema.expected(model, (name,)) or ""})
    return rows


def _chosen(group: str, names: list[str], choices: Mapping, plain: Mapping) -> str | list[str] | None:
    """The option in use; for a group given as a list (logger=[csv,tensorboard]), which Hydra leaves out of its
    choices, the options in use, read from the composed config; None for an optional group left out."""
    if group in choices:
        return choices[group]
    section = plain.get(group)
    if isinstance(section, Mapping):
        return [name for name in names if name in section]
    return None


def train_help(args: list[str]) -> dict:
    """The groups (with the option in use), the keys (value, allowed values) and the help's own text."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from mnistcli.models import registry

    overrides, folders = _overrides(args)
    if folders:
        overrides.append("hydra.searchpath=[" + ",".join(f"file://{f}" for f in folders) + "]")
    try:
        with initialize_config_module(config_module="mnistcli.conf", version_base="1.3"):
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
    except Exception as exc:  # a typo before --help: the same one line a run would give
        from mnistcli.config.command_line import explain

        if type(exc).__module__.startswith(("hydra.", "omegaconf.")):
            raise explain(exc, args) or MnistcliError(str(exc)) from None
        raise
    plain = OmegaConf.to_container(cfg, resolve=False)
    hydra = plain.pop("hydra")
    choices = hydra["runtime"]["choices"]
    groups = [
        {"group": group, "options": names, "chosen": _chosen(group, names, choices, plain)}
        for group, names in options(config_sources(args)).items()
        if not group.startswith("hydra")
    ]
    keys = []
    try:
        family = registry.family_of(plain.get("model") or {})
        keys += _keys("model", family.args, plain["model"])
        if plain.get("search") and family.search is not None:
            keys += _keys("search", family.search, plain["search"])
    except MnistcliError:
        pass  # a model config without a known family: its keys are still in --cfg job
    keys += _keys("train", schema.TrainSettings, plain.get("train") or {})
    keys += _keys("data", schema.DataSettings, plain.get("data") or {})
    for name, values in (plain.get("logger") or {}).items():  # the chosen loggers' settings (csv has none)
        if name in schema.LOGGERS and isinstance(values, Mapping):
            keys += _keys(f"logger.{name}", schema.LOGGERS[name], values)
    keys += _keys("", schema.RunConfig, {"seed": plain.get("seed")})
    return {
        "header": hydra["help"]["header"].strip(),
        "footer": hydra["help"]["footer"].strip(),
        "overrides": overrides,
        "groups": groups,
        "keys": keys,
        "rarely_changed": [k for k in RARELY_CHANGED if k.split(".")[0] in plain],
    }
