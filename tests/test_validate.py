"""A bad key or value fails before any data is read, and the message names it and the valid values."""

from __future__ import annotations

import pytest

from mnistcli.config import validate
from mnistcli.errors import MnistcliError

from test_configs import composed

BAD = [
    (["train.epochs=-1"], "train.epochs must be an integer >= 1, got -1"),
    (["train.epochs=0"], "train.epochs must be"),
    (["train.epochs=ten"], "train.epochs must be an integer >= 1, got 'ten'"),
    (["train.batch_size=0"], "train.batch_size"),
    (["train.learning_rate=0"], "train.learning_rate"),
    (["train.learning_rate=-0.1"], "train.learning_rate"),
    (["train.optimizer=adamm"], "one of adam, adamw, nadam, rmsprop, sgd"),
    (["train.early_stopping_patience=-2"], "early_stopping_patience"),
    (["train.progress=maybe"], "train.progress must be true or false"),
    (["model.activation=foo"], "model.activation must be one of relu, tanh"),
    (["model.hidden_units=[0]"], "model.hidden_units must be a list of positive integers"),
    (["model.hidden_units=[-5,10]"], "model.hidden_units"),
    (["model.hidden_units=128"], "model.hidden_units"),
    (["model.hidden_units=[]"], "model.hidden_units is empty, but model 'hidden128' needs hidden layers"),
    (["model=softmax", "model.dropout=0.5"], "model.dropout needs at least one hidden layer"),
    (["model.dropout=1.0"], "model.dropout must be a number in [0, 1)"),
    (["model.name=''"], "model.name"),
    (["data.image_size=40"], "data.image_size must be an integer from 8 to 28"),
    (["data.image_size=4"], "data.image_size"),
    (["data.val_fraction=1.0"], "data.val_fraction"),
    (["data.val_fraction=-0.1"], "data.val_fraction"),
    (["data.train_limit=0"], "data.train_limit must be null or an integer >= 1"),
    (["seed=-1"], "seed must be an integer"),
    (["seed=abc"], "seed must be an integer"),
    (["+model.depth=3"], "unknown key model.depth; valid keys of model: name, hidden_units, activation, dropout"),
    (["+train.momentum=0.9"], "unknown key train.momentum; valid keys of train:"),
    (["+data.foo=1"], "unknown key data.foo; valid keys of data:"),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_value_is_named(overrides, message):
    with pytest.raises(MnistcliError) as err:
        validate(composed(*overrides))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_good_overrides_pass():
    validate(composed("model=hidden128", "model.activation=tanh", "train.batch_size=64", "seed=7"))
    validate(composed("model.hidden_units=[256,64]", "model.dropout=0.2", "train.optimizer=sgd"))
