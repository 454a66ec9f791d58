"""What mnistcli needs to know of a model family, as one record per family (mnistcli/models/registry.py lists them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Family:
    """What mnistcli needs to know of a model family; `args` lists its builder's arguments (the YAML keys)."""

    name: str
    args: type[BaseModel]
    build: Callable[..., Any]  # build(args, *, image_size, num_classes) -> an uncompiled keras.Model
    run_name: Callable[[Any], str]  # the short name runs are called by: hidden128, softmax, cnn32x64...
    describe: Callable[[Any], str]  # one line for a header or a table cell
    effective: Callable[[Any], dict]  # the arguments that change the model (e.g. no activation without layers)
    search: type[BaseModel] | None = None  # the knobs of its hyperparameter search (conf/hparams_search)
    resolvers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)  # OmegaConf resolvers its search uses
    titles: Mapping[str, str] = field(default_factory=dict)  # short column titles for its keys in a sweep's table
