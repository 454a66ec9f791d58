"""Checks a composed config before anything heavy runs, so a typo fails at once and names the valid values."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from mnistcli.errors import MnistcliError
from mnistcli.model import ACTIVATIONS, build_model
from mnistcli.search import validate_search  # importing it registers the search resolvers

OPTIMIZERS = ("adam", "adamw", "nadam", "rmsprop", "sgd")
LR_SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainSettings:
    """The keys of conf/train/*.yaml: how a built model is compiled and fitted."""

    optimizer: str = "adam"
    learning_rate: float = 8e-3
    lr_schedule: str = "cosine"
    batch_size: int = 128
    epochs: int = 10
    early_stopping_patience: int = 0
    steps_per_execution: int = 32
    jit_compile: bool = False
    progress: bool = True


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Training steps in one epoch: whole batches only, at least one."""
    # A smaller last batch would make TensorFlow trace the step a second time.
    return max(1, train_size // batch_size)


def _int(value: Any, minimum: int, maximum: int | None = None) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= minimum
        and (maximum is None or value <= maximum)
    )


def _number(value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    return above and below


def _units(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(_int(u, 1, 100_000) for u in value)


# key -> (is the value valid?, what a valid value looks like)
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (lambda v: _int(v, 0, 2**32 - 1), "an integer from 0 to 4294967295"),
    "model.name": (lambda v: isinstance(v, str) and v != "", "a non-empty name"),
    "model.hidden_units": (_units, "a list of positive integers, e.g. [] or [128] or [100,100]"),
    "model.activation": (lambda v: v in ACTIVATIONS, "one of " + ", ".join(ACTIVATIONS)),
    "model.dropout": (lambda v: _number(v, 0, 1, high_open=True), "a number in [0, 1)"),
    "train.optimizer": (lambda v: v in OPTIMIZERS, "one of " + ", ".join(OPTIMIZERS)),
    "train.learning_rate": (lambda v: _number(v, 0, 10, low_open=True), "a number > 0 and <= 10"),
    "train.lr_schedule": (lambda v: v in LR_SCHEDULES, "one of " + ", ".join(LR_SCHEDULES)),
    "train.batch_size": (lambda v: _int(v, 1, 1_000_000), "an integer >= 1"),
    "train.steps_per_execution": (lambda v: _int(v, 1, 10_000), "an integer >= 1"),
    "train.jit_compile": (lambda v: isinstance(v, bool), "true or false"),
    "train.epochs": (lambda v: _int(v, 1, 100_000), "an integer >= 1"),
    "train.early_stopping_patience": (lambda v: _int(v, 0), "an integer >= 0 (0 turns it off)"),
    "train.progress": (lambda v: isinstance(v, bool), "true or false"),
    "data.image_size": (lambda v: _int(v, 8, 28), "an integer from 8 to 28"),
    "data.val_fraction": (lambda v: _number(v, 0, 1, high_open=True), "a number in [0, 1)"),
    "data.train_limit": (lambda v: v is None or _int(v, 1), "null or an integer >= 1"),
}


def _parameters(func: Callable, drop: tuple[str, ...] = ()) -> list[str]:
    params = inspect.signature(func).parameters.values()
    return [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in drop]


def _check_keys(section: str, given: Mapping, valid: list[str]) -> None:
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise MnistcliError(
            f"unknown key {section}.{unknown[0]}; valid keys of {section}: {', '.join(valid)}"
        )
    missing = [k for k in valid if k not in given]
    if missing:
        raise MnistcliError(f"{section}.{missing[0]} is missing from the config")


def _conf_files():
    """Every YAML file of the shipped config (mnistcli.conf), as (group path, file) pairs."""
    import importlib.resources

    def walk(folder, group):
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.name.startswith("__"):
                yield from walk(entry, f"{group}/{entry.name}" if group else entry.name)
            elif entry.name.endswith(".yaml"):
                yield group, entry

    return list(walk(importlib.resources.files("mnistcli.conf"), ""))


@functools.lru_cache(maxsize=1)
def top_level_keys() -> frozenset[str]:
    """The top-level keys some shipped config file declares: config.yaml's, and those of `@package _global_` files.

    Read from the files rather than listed here, so a config group that brings its own section (a search
    space, say) needs no change to this module.
    """
    import yaml

    keys = set()
    for group, entry in _conf_files():
        if group.startswith("hydra"):
            continue
        text = entry.read_text(encoding="utf-8")
        if group and "@package _global_" not in text:
            keys.add(group.split("/")[0])
            continue
        data = yaml.safe_load(text) or {}
        keys.update(k for k in data if k not in ("defaults", "hydra"))
    return frozenset(keys)


def check_choices(choices: Mapping[str, str | None]) -> None:
    """Raise MnistcliError for a config group option that has no file (Hydra skips a missing optional one)."""
    available: dict[str, list[str]] = {}
    for group, entry in _conf_files():
        available.setdefault(group, []).append(entry.name.removesuffix(".yaml"))
    for group, option in choices.items():
        if option is None or group.startswith("hydra/") or group not in available:
            continue
        if option not in available[group]:
            raise MnistcliError(f"unknown {group} '{option}'; available: {', '.join(sorted(available[group]))}")


def validate(cfg: Mapping) -> None:
    """Raise MnistcliError naming the first bad key or value of a composed config (a plain dict)."""
    from mnistcli.data import load_dataset  # the data loader's keyword arguments are data's keys

    unknown = sorted(set(cfg) - top_level_keys())
    if unknown:
        raise MnistcliError(f"unknown key {unknown[0]}; valid top-level keys: {', '.join(sorted(top_level_keys()))}")
    for section in ("model", "data", "train"):
        if not isinstance(cfg.get(section), Mapping):
            raise MnistcliError(f"the config has no '{section}' section")
    if "search" in cfg:  # the hyperparameter search's knobs (conf/hparams_search), the one other top-level section
        validate_search(cfg["search"])
    _check_keys("model", cfg["model"], _parameters(build_model))
    _check_keys("train", cfg["train"], [f.name for f in fields(TrainSettings)])
    _check_keys("data", cfg["data"], _parameters(load_dataset, drop=("seed", "test_only")))

    for key, (ok, expected) in RULES.items():
        section, _, name = key.rpartition(".")
        value = cfg[section][name] if section else cfg.get(name)
        if not ok(value):
            raise MnistcliError(f"{key} must be {expected}, got {value!r}")

    model = cfg["model"]
    if not model["hidden_units"] and str(model["name"]).startswith("hidden"):
        raise MnistcliError(
            f"model.hidden_units is empty, but model '{model['name']}' needs hidden layers "
            "(use model=softmax for none)"
        )
    if not model["hidden_units"] and model["dropout"]:
        raise MnistcliError("model.dropout needs at least one hidden layer (model.hidden_units is empty)")
