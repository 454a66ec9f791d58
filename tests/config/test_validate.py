"""config.validate: a bad key or value fails before any data is read, naming it, the valid values and a likely fix."""

from __future__ import annotations

import pytest

from mnistcli.config.validate import validate
from mnistcli.errors import MnistcliError

from test_configs import composed

# The command-line catalogue (tests/cli/test_bad_input.py) covers every other rule end to end; these are the
# cases it does not, checked on the composed config directly.
BAD = [
    (["data.image_size=4"], "data.image_size must be an integer from 8 to 28, got 4"),
    (["data.val_fraction=-0.1"], "data.val_fraction must be a number in [0, 1), got -0.1"),
    (["+data.foo=1"], "unknown key data.foo; valid keys of data: name, dir, system_dir, url, sha256, cache_dir"),
    (["+data.nme=fashion_mnist"], "; did you mean name?"),
    (["data.sha256={a: b}"], "data.sha256 must be 64 hexadecimal digits (a SHA-256), got {'a': 'b'}"),
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
