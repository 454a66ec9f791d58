"""The `mlp` family: Flatten -> [Dense -> Dropout] per hidden layer -> softmax; no hidden layer is softmax regression."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mnistcli.errors import MnistcliError
from mnistcli.models.family import Family

# Keras activation names a hidden layer may use; the config check lists them on a typo.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "leaky_relu", "linear")
MAX_LAYERS = 2  # of the search space (conf/hparams_search/mlp_optuna.yaml)

Units = Annotated[int, Field(ge=1, le=100_000)]


class MLP(BaseModel):
    """The keys of a conf/model file of family mlp: exactly build's arguments."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    hidden_units: list[Units] = Field(
        json_schema_extra={"expected": "a list of positive integers, e.g. [] or [128] or [100,100]"}
    )
    activation: Literal[ACTIVATIONS] = Field(  # type: ignore[valid-type]
        "relu", json_schema_extra={"expected": "one of " + ", ".join(ACTIVATIONS)}
    )
    dropout: float = Field(0.0, ge=0, lt=1, json_schema_extra={"expected": "a number in [0, 1)"})

    @model_validator(mode="after")
    def _dropout_needs_a_layer(self) -> "MLP":
        if not self.hidden_units and self.dropout:
            raise ValueError("model.dropout needs at least one hidden layer (model.hidden_units is empty)")
        return self


def build(args: MLP, *, image_size: int = 28, num_classes: int = 10):
    """Inputs are (image_size, image_size) float32 in [0, 1], bright ink on dark, as MNIST stores them."""
    from mnistcli.runtime.keras_import import import_keras

    keras = import_keras()  # lazy: TensorFlow costs seconds to import
    layers = [keras.Input(shape=(image_size, image_size), name="pixels"), keras.layers.Flatten()]
    for i, units in enumerate(args.hidden_units, start=1):
        layers.append(keras.layers.Dense(int(units), activation=args.activation, name=f"hidden{i}"))
        if args.dropout:
            layers.append(keras.layers.Dropout(float(args.dropout), name=f"dropout{i}"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="classes"))
    return keras.Sequential(layers, name=run_name(args))


def run_name(args: MLP) -> str:
    """softmax, hidden128, hidden100x2, hidden128x64, then -tanh or -drop0.2 where they differ from the default."""
    units = args.hidden_units
    if not units:
        return "softmax"
    if len(units) > 1 and len(set(units)) == 1:
        name = f"hidden{units[0]}x{len(units)}"
    else:
        name = "hidden" + "x".join(str(u) for u in units)
    if args.activation != "relu":
        name += f"-{args.activation}"
    if args.dropout:
        name += f"-drop{args.dropout:g}"
    return name


def describe(args: MLP) -> str:
    """The layers in a few words: "128-64 relu", "100-100 tanh dropout 0.2", "no hidden layer"."""
    if not args.hidden_units:
        return "no hidden layer"
    text = f"{'-'.join(map(str, args.hidden_units))} {args.activation}"
    return text + (f" dropout {args.dropout:g}" if args.dropout else "")


def effective(args: MLP) -> dict:
    """Without a hidden layer there is nothing to activate or drop out: those settings change nothing."""
    if not args.hidden_units:
        return {"hidden_units": []}
    return args.model_dump()


# --- the search space's knobs (conf/hparams_search/mlp_optuna.yaml) ---------------------------------------


class Search(BaseModel):
    """`search.*`: the knobs model.hidden_units and model.dropout are derived from, so unused ones change nothing."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    layers: int = Field(1, ge=0, le=MAX_LAYERS, json_schema_extra={"expected": f"an integer from 0 to {MAX_LAYERS}"})
    units1: int = Field(128, ge=1, json_schema_extra={"expected": "an integer >= 1"})
    units2: int = Field(64, ge=1, json_schema_extra={"expected": "an integer >= 1"})
    dropout: float = Field(0.0, ge=0, lt=1, json_schema_extra={"expected": "a number in [0, 1)"})


def hidden_layers(layers: Any, *units: Any) -> list[int]:
    """`${mnistcli.layers:L,u1,u2}` -> the first L widths: [] , [u1] or [u1, u2]."""
    if isinstance(layers, bool) or not isinstance(layers, int) or not 0 <= layers <= len(units):
        raise MnistcliError(f"search.layers must be an integer from 0 to {len(units)}, got {layers!r}")
    return [int(u) for u in units[:layers]]


def layer_dropout(layers: Any, dropout: Any) -> Any:
    """`${mnistcli.dropout:L,p}` -> p, or 0.0 without hidden layers (there is nothing to drop out)."""
    return 0.0 if layers == 0 else dropout


FAMILY = Family(
    name="mlp", args=MLP, build=build, run_name=run_name, describe=describe, effective=effective,
    search=Search, resolvers={"mnistcli.layers": hidden_layers, "mnistcli.dropout": layer_dropout},
    titles={"hidden_units": "hidden", "activation": "act"},
)
