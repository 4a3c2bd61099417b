"""The options classes of the training methods (neurosim.train.options)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.baselines import DenseOptions, train_dense
from neurosim.train.options import (
    HiddenOptions,
    Options,
    TrainData,
    TrainOptions,
    cli_fields,
    describe,
    option,
    options_class,
    options_type,
    trainer,
)
from neurosim.train.registry import TRAINING_METHODS, get_method, method_options


def _data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 5)).astype(np.float32), np.arange(n) % 3


def test_keywords_and_an_options_object_are_the_same_call():
    x, y = _data()
    a = train_dense(x, y, hidden=(6,), epochs=2, seed=4)
    b = train_dense(x, y, options=DenseOptions(hidden=(6,), epochs=2, seed=4))
    c = train_dense(x, y, options=DenseOptions(hidden=(6,), epochs=5), epochs=2, seed=4)
    for r in (b, c):
        for pa, pb in zip(a.network.projections, r.network.projections, strict=True):
            assert np.array_equal(pa.weights.toarray(), pb.weights.toarray())
        assert [h["loss"] for h in r.history] == [h["loss"] for h in a.history]
        assert r.epochs_run == 2


def test_unknown_option_and_wrong_options_class_are_errors():
    x, y = _data()
    with pytest.raises(TrainingError, match="unknown option.*temperature"):
        train_dense(x, y, temperature=1.0)
    with pytest.raises(TrainingError, match="expected DenseOptions"):
        train_dense(x, y, options=TrainOptions())


def test_method_options_are_the_fields_of_the_options_class():
    for name in TRAINING_METHODS:
        fn = get_method(name)
        cls = options_type(fn)
        if cls is not None:
            assert method_options(name) == cls.names()
            assert list(inspect.signature(fn).parameters)[:2] == ["x", "y"]
    assert method_options("deep_r").count("epochs") == 1


def test_per_method_defaults_and_one_description():
    from neurosim.train.deep_r import DeepROptions
    from neurosim.train.fixed_topology import FixedTopologyOptions

    assert DeepROptions().batch_size == 32 and DeepROptions().optimizer == "sgd"
    assert FixedTopologyOptions().epochs == 20 and TrainOptions().epochs == 10
    # a default changed in a method's class keeps the shared description
    assert describe(DeepROptions, "batch_size") == describe(TrainOptions, "batch_size") != ""
    assert "batch_size : default 32" in DeepROptions.__doc__


def test_cli_fields_give_each_option_once_with_its_group():
    from neurosim.train.conntra import ConntraOptions
    from neurosim.train.conntra_ranked import ConntraRankedOptions

    rows = list(cli_fields([TrainOptions, ConntraOptions, ConntraRankedOptions]))
    names = [r[1] for r in rows]
    assert len(names) == len(set(names))
    assert "seed" not in names and "hidden" not in names  # the CLI sets these itself
    groups = {r[1]: r[0] for r in rows}
    assert groups["epochs"] == "training options" and groups["beta2"] == "CoNNTrA"


def test_a_new_method_from_a_body_and_its_options():
    @options_class("mine")
    class MineOptions(TrainOptions, HiddenOptions):
        """Options of a test method."""

        scale: float = option(2.0, "a factor", "float")

    seen: list[tuple[TrainData, MineOptions]] = []

    @trainer(MineOptions)
    def train_mine(d: TrainData, o: MineOptions) -> tuple[int, int]:
        """A test method."""
        seen.append((d, o))
        return d.n_features, d.n_classes

    x, y = _data(50)
    assert train_mine(x, y, scale=3.0, val_fraction=0.2) == (5, 3)
    d, o = seen[0]
    assert o.scale == 3.0 and isinstance(o, Options)
    assert d.x.shape == (40, 5) and d.x_val is not None and d.x_val.shape == (10, 5)
    assert options_type(train_mine) is MineOptions and train_mine.__doc__ == "A test method."
    with pytest.raises(TrainingError, match="training data"):
        train_mine(np.zeros((3,)), y)
