"""The `cnn` family: convolution blocks (conv -> [batch norm] -> activation -> pool), then dense layers, then softmax."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mnistcli.models.family import Family
from mnistcli.models.mlp import ACTIVATIONS

POOLS = ("max", "avg", "none")
PADDINGS = ("same", "valid")

Positive = Annotated[int, Field(ge=1, le=4096)]
Kernel = Annotated[int, Field(ge=1, le=15)]


def _expect(text: str) -> dict:
    return {"expected": text}


class CNN(BaseModel):
    """The keys of a conf/model file of family cnn: exactly build's arguments."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    filters: list[Positive] = Field(
        min_length=1, max_length=6, json_schema_extra=_expect("a list of 1 to 6 positive integers, one per block, e.g. [32,64]")
    )
    kernel_sizes: list[Kernel] = Field(
        min_length=1, max_length=6, json_schema_extra=_expect("a list of kernel widths from 1 to 15, one per block, e.g. [5,3]")
    )
    padding: Literal[PADDINGS] = Field("same", json_schema_extra=_expect("one of " + ", ".join(PADDINGS)))  # type: ignore[valid-type]
    pool: Literal[POOLS] = Field("max", json_schema_extra=_expect("one of " + ", ".join(POOLS)))  # type: ignore[valid-type]
    batch_norm: bool = Field(False, json_schema_extra=_expect("true or false"))
    activation: Literal[ACTIVATIONS] = Field("relu", json_schema_extra=_expect("one of " + ", ".join(ACTIVATIONS)))  # type: ignore[valid-type]
    dense_units: list[Positive] = Field(
        default_factory=list, max_length=3, json_schema_extra=_expect("a list of up to 3 positive integers, e.g. [] or [128]")
    )
    dropout: float = Field(0.0, ge=0, lt=1, json_schema_extra=_expect("a number in [0, 1)"))

    @model_validator(mode="after")
    def _one_kernel_per_block(self) -> "CNN":
        if len(self.kernel_sizes) != len(self.filters):
            raise ValueError(
                f"model.kernel_sizes has {len(self.kernel_sizes)} entries but model.filters has {len(self.filters)}: "
                "give one kernel size per convolution block"
            )
        return self


def feature_size(args: CNN, image_size: int) -> int:
    """The side of the last block's feature maps: the model cannot be built if a block leaves nothing."""
    size = image_size
    for kernel in args.kernel_sizes:
        if args.padding == "valid":
            size -= kernel - 1
        if args.pool != "none":
            size //= 2
    return size


def build(args: CNN, *, image_size: int = 28, num_classes: int = 10):
    """Inputs are (image_size, image_size) float32 in [0, 1], bright ink on dark, as MNIST stores them."""
    from mnistcli.errors import MnistcliError
    from mnistcli.runtime.keras_import import import_keras

    if feature_size(args, image_size) < 1:
        raise MnistcliError(
            f"model: {len(args.filters)} blocks with kernels {args.kernel_sizes}, {args.padding} padding and "
            f"{args.pool} pooling shrink a {image_size}x{image_size} image to nothing; use fewer blocks or padding=same"
        )
    keras = import_keras()  # lazy: TensorFlow costs seconds to import
    layers = [keras.Input(shape=(image_size, image_size), name="pixels"), keras.layers.Reshape((image_size, image_size, 1))]
    for i, (filters, kernel) in enumerate(zip(args.filters, args.kernel_sizes), start=1):
        # Batch norm makes the convolution's bias redundant; the activation follows the normalisation.
        layers.append(keras.layers.Conv2D(filters, kernel, padding=args.padding, use_bias=not args.batch_norm, name=f"conv{i}"))
        if args.batch_norm:
            layers.append(keras.layers.BatchNormalization(name=f"norm{i}"))
        layers.append(keras.layers.Activation(args.activation, name=f"act{i}"))
        if args.pool == "max":
            layers.append(keras.layers.MaxPooling2D(2, name=f"pool{i}"))
        elif args.pool == "avg":
            layers.append(keras.layers.AveragePooling2D(2, name=f"pool{i}"))
    layers.append(keras.layers.Flatten())
    for i, units in enumerate(args.dense_units, start=1):
        if args.dropout:
            layers.append(keras.layers.Dropout(args.dropout, name=f"dropout{i}"))
        layers.append(keras.layers.Dense(units, activation=args.activation, name=f"dense{i}"))
    if args.dropout:
        layers.append(keras.layers.Dropout(args.dropout, name="dropout_out"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="classes"))
    return keras.Sequential(layers, name=run_name(args))


def run_name(args: CNN) -> str:
    """A classic's name (lenet5) for exactly its shape; else cnn16x32 for blocks of 16 and 32 filters, then
    -dense128, -bn, -tanh... where they apply."""
    for name, classic in CLASSICS.items():
        if args == classic:
            return name
    name = "cnn" + "x".join(map(str, args.filters))
    if args.dense_units:
        name += "-dense" + "x".join(map(str, args.dense_units))
    if args.batch_norm:
        name += "-bn"
    if args.activation != "relu":
        name += f"-{args.activation}"
    return name


# Networks known by name: a run of exactly this shape is called by it.
CLASSICS = {
    "lenet5": CNN(filters=[6, 16], kernel_sizes=[5, 5], padding="valid", pool="max", batch_norm=False,
                  activation="relu", dense_units=[120, 84], dropout=0.0),
}


def describe(args: CNN) -> str:
    """"conv 16-32 k5-3 max, bn, dense 128 relu, dropout 0.25"."""
    parts = [f"conv {'-'.join(map(str, args.filters))} k{'-'.join(map(str, args.kernel_sizes))}"
             + ("" if args.pool == "none" else f" {args.pool}pool")]
    if args.batch_norm:
        parts.append("bn")
    parts.append(f"dense {'-'.join(map(str, args.dense_units))} {args.activation}" if args.dense_units else args.activation)
    if args.dropout:
        parts.append(f"dropout {args.dropout:g}")
    return ", ".join(parts)


def effective(args: CNN) -> dict:
    return args.model_dump()


# --- the search space's knobs (conf/hparams_search/cnn_optuna.yaml) ---------------------------------------


class Search(BaseModel):
    """`search.*`: the knobs the cnn search derives model and augmentation keys from."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    width: int = Field(16, ge=1, le=512, json_schema_extra=_expect("an integer from 1 to 512"))
    kernel: int = Field(5, ge=1, le=15, json_schema_extra=_expect("an integer from 1 to 15"))
    dense: int = Field(128, ge=0, le=4096, json_schema_extra=_expect("an integer from 0 (no dense layer) to 4096"))
    augment: float = Field(1.0, ge=0, le=2, json_schema_extra=_expect("a number from 0 to 2"))


def doubling(width: Any, blocks: Any = 2) -> list[int]:
    """`${mnistcli.doubling:W,B}` -> [W, 2W, ...]: the usual convolution widths, from one knob."""
    return [int(width) * 2**i for i in range(int(blocks))]


def dense_layer(units: Any) -> list[int]:
    """`${mnistcli.dense:U}` -> [U], or [] for 0: one knob for "a dense layer of U units, or none"."""
    return [int(units)] if int(units) > 0 else []


def scaled(strength: Any, full: Any) -> float:
    """`${mnistcli.scaled:S,FULL}` -> S * FULL: one augmentation strength knob for shift, rotation and zoom."""
    return round(float(strength) * float(full), 6)


FAMILY = Family(
    name="cnn", args=CNN, build=build, run_name=run_name, describe=describe, effective=effective,
    search=Search, resolvers={"mnistcli.doubling": doubling, "mnistcli.dense": dense_layer, "mnistcli.scaled": scaled},
    titles={"filters": "filters", "kernel_sizes": "kernels", "dense_units": "dense", "batch_norm": "bn"},
)
