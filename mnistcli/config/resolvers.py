"""The OmegaConf resolvers mnistcli's configs use: a run's name from its model, and each model family's search knobs."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnistcli.models import registry


def run_name(model: Any) -> str:
    """`${mnistcli.run_name:${model}}`: the effective model's short name, e.g. hidden256x64 after an override."""
    cfg = OmegaConf.to_container(model, resolve=True) if isinstance(model, DictConfig) else model
    try:
        return registry.run_name(cfg)
    except Exception:  # noqa: BLE001 - a bad model config fails validation with a proper message; the folder still needs a name
        family = cfg.get("family") if isinstance(cfg, dict) else None
        return str(family or "model")


def register() -> None:
    """Make the resolvers known to OmegaConf (idempotent); must run before a config using them is composed."""
    found = {"mnistcli.run_name": run_name}
    for family in registry.FAMILIES.values():
        found.update(family.resolvers)
    for name, func in found.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, func)
