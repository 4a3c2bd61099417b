"""The training-method registry and train_network."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.registry import (
    TRAINING_METHODS,
    get_method,
    method_options,
    register_method,
    train_network,
)


def test_every_registered_method_resolves_and_takes_explicit_keywords():
    for name in TRAINING_METHODS:
        fn = get_method(name)
        opts = method_options(name)
        assert {"seed", "epochs"} <= set(opts), name
        assert "kwargs" not in opts and callable(fn)


def test_unknown_method_and_option():
    with pytest.raises(TrainingError, match="unknown training method"):
        get_method("backprop2")
    x = np.random.default_rng(0).random((30, 4))
    y = np.arange(30) % 3
    with pytest.raises(TrainingError, match="temperature"):
        train_network("dense", (x, y), hidden=(4,), temperature=1.0)


def test_register_twice_is_an_error():
    reg = dict(TRAINING_METHODS)
    register_method(reg, "mine", lambda x, y, **k: None)
    with pytest.raises(TrainingError, match="already registered"):
        register_method(reg, "mine", "a:b")
    with pytest.raises(TrainingError, match="already registered"):
        register_method(reg, "dense", "a:b")


def test_train_network_with_dataset_records_metadata():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("iris", split="train")
    r = train_network("dense", tr, hidden=(8,), epochs=2, seed=1)
    assert r.method == "dense"
    meta = r.network.metadata["training"]
    assert meta["data"] == tr.name and meta["seed"] == 1 and meta["n_connections"] == 4 * 8 + 8 * 3
