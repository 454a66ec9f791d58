"""The config's schema: every key of train, data, seed and the search knobs, with its type, bounds and choices.

pydantic checks them (strict types: 1.5 is no batch size, "yes" no boolean); each field carries the words a
user reads when a value is wrong ("an integer >= 1"), so every rule is written here once. A model's keys are
its family's builder arguments and live with the family (mnistcli/models/).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

OPTIMIZERS = ("adam", "adamw", "nadam", "rmsprop", "sgd")
LR_SCHEDULES = ("cosine", "onecycle", "constant")
# data.name's choices and the names people write for them: every listing and report takes them from here.
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
DATASETS = tuple(DATASET_NAMES)
MAX_SEED = 2**32 - 1


def expect(expected: str, default: Any = ..., **constraints: Any) -> Any:
    """A field whose error message reads "<key> must be <expected>, got <value>"."""
    return Field(default, json_schema_extra={"expected": expected}, **constraints)


class Section(BaseModel):
    """One section of the config: strict types, no unknown keys, read-only once checked."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def one_of(choices: tuple[str, ...]) -> str:
    return "one of " + ", ".join(choices)


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, json_schema_extra={"expected": f"an integer from 0 to {MAX_SEED}"})]


class TrainSettings(Section):
    """conf/train/*.yaml: how a built model is compiled and fitted."""

    optimizer: Literal[OPTIMIZERS] = expect(one_of(OPTIMIZERS), "adam")  # type: ignore[valid-type]
    learning_rate: float = expect("a number > 0 and <= 10", 8e-3, gt=0, le=10)
    lr_schedule: Literal[LR_SCHEDULES] = expect(one_of(LR_SCHEDULES), "cosine")  # type: ignore[valid-type]
    batch_size: int = expect("an integer >= 1", 128, ge=1, le=1_000_000)
    epochs: int = expect("an integer >= 1", 10, ge=1, le=100_000)
    early_stopping_patience: int = expect("an integer >= 0 (0 turns it off)", 0, ge=0)
    steps_per_execution: int = expect("an integer >= 1", 32, ge=1, le=10_000)
    jit_compile: bool = expect("true or false", False)
    progress: bool = expect("true or false", True)


class AugmentSettings(Section):
    """data.augment: random affine changes to each training image, drawn from (seed, step); none for val and test."""

    rotation: float = expect("a number of degrees from 0 to 45", 0.0, ge=0, le=45)
    shift: float = expect("a number of pixels from 0 to 8", 0.0, ge=0, le=8)
    zoom: float = expect("a number from 0 to 0.5 (0.1: 90% to 110%)", 0.0, ge=0, le=0.5)


class DataSettings(Section):
    """conf/data/*.yaml: where the data comes from and how it is split; exactly data.load_dataset's arguments."""

    name: Literal[DATASETS] = expect(one_of(DATASETS), "mnist")  # type: ignore[valid-type]
    dir: Optional[str] = expect("a folder (or null)", None)
    system_dir: Optional[str] = expect("a folder (or null)", None)
    url: Optional[str] = expect("a URL (or null)", None)
    sha256: Union[None, Sha256, dict[str, Optional[Sha256]]] = expect("64 hexadecimal digits (a SHA-256)", None)
    cache_dir: str = expect("a folder", "~/.keras")
    image_size: int = expect("an integer from 8 to 28", 28, ge=8, le=28)
    val_fraction: float = expect("a number in [0, 1)", 0.1, ge=0, lt=1)
    train_limit: Optional[int] = expect("null or an integer >= 1", None, ge=1)
    augment: AugmentSettings = AugmentSettings()


class SeedOnly(Section):
    """The seed alone, for functions that take it without a whole config (data.load_dataset)."""

    seed: Seed


class CsvLogger(Section):
    """logger.csv: history.csv in the run folder (no settings)."""


class TensorBoardLogger(Section):
    """logger.tensorboard: TensorBoard event files in the run folder's tensorboard/."""

    write_graph: bool = expect("true or false", True)
    histogram_freq: int = expect("an integer >= 0 (0: no weight histograms)", 0, ge=0, le=100_000)


class MlflowLogger(Section):
    """logger.mlflow: an MLflow run per training run, a parent run per sweep."""

    tracking_uri: Optional[str] = expect("a tracking URI (or null)", None)
    experiment: str = expect("an experiment name", "mnistcli", min_length=1)
    log_model: bool = expect("true or false", True)


# logger=NAME (conf/logger/NAME.yaml puts its settings under logger.NAME) -> the settings' schema.
LOGGERS: dict[str, type[Section]] = {"csv": CsvLogger, "tensorboard": TensorBoardLogger, "mlflow": MlflowLogger}
# A config without a logger section (a run folder from before loggers) wrote history.csv: the csv logger.
DEFAULT_LOGGERS = {"csv": {}}


class RunConfig(Section):
    """The whole composed config. `model` and `search` belong to the model's family and are checked there."""

    seed: Seed = 42
    model: dict
    data: DataSettings
    train: TrainSettings
    search: Optional[dict] = None
    logger: Optional[dict] = None  # checked against LOGGERS by config/validate.py


def expected(schema: type[BaseModel], loc: tuple) -> str | None:
    """The words a field's error message uses, following loc (('train', 'epochs'), ...) through the sections."""
    for i, part in enumerate(loc):
        info = schema.model_fields.get(part) if isinstance(part, str) else None
        if info is None:
            return None
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, Mapping) else {}
        for meta in info.metadata:  # Annotated[int, Field(...)] keeps its own extra
            extra = getattr(meta, "json_schema_extra", None) or extra
        inner = info.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel) and i + 1 < len(loc):
            schema = inner
            continue
        return extra.get("expected") if isinstance(extra, Mapping) else None
    return None
