"""The model families: a model config's `family` key picks one, and everything that describes a model asks it.

Adding a family is one module (its argument schema, builder, name and description) plus its YAML files in
conf/model/; nothing outside mnistcli/models reads a family's own keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from mnistcli.errors import MnistcliError
from mnistcli.models import cnn, mlp
from mnistcli.models.family import Family


FAMILIES: dict[str, Family] = {f.name: f for f in (mlp.FAMILY, cnn.FAMILY)}
# Short column titles for the families' keys (hidden for hidden_units), so a sweep's table fits 80 columns.
SHORT_TITLES: dict[str, str] = {k: v for f in FAMILIES.values() for k, v in f.titles.items()}


def family_of(model_cfg: Mapping) -> Family:
    """The family a model config names (`family: mlp`); one line listing the families when it names none."""
    name = model_cfg.get("family") if isinstance(model_cfg, Mapping) else None
    if name not in FAMILIES:
        got = "no model.family" if name is None else f"got {name!r}"
        raise MnistcliError(f"model.family must be one of {', '.join(FAMILIES)}, {got}")
    return FAMILIES[name]


def model_args(model_cfg: Mapping) -> tuple[Family, BaseModel]:
    """The family and its checked builder arguments (config.validate has named any problem already)."""
    family = family_of(model_cfg)
    return family, family.args.model_validate({k: v for k, v in model_cfg.items() if k != "family"})


def build_model(model_cfg: Mapping, *, image_size: int = 28, num_classes: int = 10):
    """An uncompiled Keras model from a model config (`family` plus that family's builder arguments)."""
    family, args = model_args(model_cfg)
    return family.build(args, image_size=image_size, num_classes=num_classes)


def run_name(model_cfg: Mapping) -> str:
    family, args = model_args(model_cfg)
    return family.run_name(args)


def describe(model_cfg: Mapping) -> str:
    family, args = model_args(model_cfg)
    return family.describe(args)


def effective(model_cfg: Mapping) -> dict:
    """The model settings that decide the result: equal dicts, equal models."""
    family, args = model_args(model_cfg)
    return {"family": family.name, **family.effective(args)}


def summary(model_cfg: Mapping) -> dict:
    """What a run record keeps of its model: family, name, description and the arguments."""
    family, args = model_args(model_cfg)
    return {"family": family.name, "name": family.run_name(args), "description": family.describe(args), **args.model_dump()}


def upgrade(model_cfg: Mapping) -> dict:
    """A model config written before families existed (schema 1: `name` + MLP keys) as today's."""
    model = dict(model_cfg)
    if "family" not in model:
        model.pop("name", None)
        model["family"] = "mlp"
    return model
