"""The hyperparameter search space's own keys (`search.*`) and the resolvers that turn them into model keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import OmegaConf

from mnistcli.errors import MnistcliError

# conf/hparams_search/*.yaml sweeps these knobs; model.* stays exactly build_model's arguments and is
# derived from them, so a knob that does not apply (units of a missing layer) changes nothing.
MAX_LAYERS = 2
SEARCH_KEYS = ("layers", "units1", "units2", "dropout")


def hidden_layers(layers: Any, *units: Any) -> list[int]:
    """`${mnistcli.layers:L,u1,u2}` -> the first L widths: [] , [u1] or [u1, u2]."""
    if isinstance(layers, bool) or not isinstance(layers, int) or not 0 <= layers <= len(units):
        raise MnistcliError(f"search.layers must be an integer from 0 to {len(units)}, got {layers!r}")
    return [int(u) for u in units[:layers]]


def layer_dropout(layers: Any, dropout: Any) -> Any:
    """`${mnistcli.dropout:L,p}` -> p, or 0.0 without hidden layers (there is nothing to drop out)."""
    return 0.0 if layers == 0 else dropout


def register() -> None:
    """Make the resolvers known to OmegaConf (idempotent); must run before a config using them is resolved."""
    for name, func in (("mnistcli.layers", hidden_layers), ("mnistcli.dropout", layer_dropout)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, func)


def validate_search(search: Any) -> None:
    """Check the `search` section: only the knobs above, each a sensible value."""
    if not isinstance(search, Mapping):
        raise MnistcliError(f"search must be a mapping of {', '.join(SEARCH_KEYS)}, got {search!r}")
    unknown = sorted(set(search) - set(SEARCH_KEYS))
    if unknown:
        raise MnistcliError(f"unknown key search.{unknown[0]}; valid keys of search: {', '.join(SEARCH_KEYS)}")
    layers = search.get("layers")
    if layers is not None and (isinstance(layers, bool) or layers not in range(MAX_LAYERS + 1)):
        raise MnistcliError(f"search.layers must be an integer from 0 to {MAX_LAYERS}, got {layers!r}")
    for key in ("units1", "units2"):
        value = search.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise MnistcliError(f"search.{key} must be an integer >= 1, got {value!r}")
    dropout = search.get("dropout")
    if dropout is not None and (isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1):
        raise MnistcliError(f"search.dropout must be a number in [0, 1), got {dropout!r}")


register()
