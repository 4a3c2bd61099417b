"""Baselines: dense backprop, magnitude pruning with fine-tuning, TWN ternary quantization."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.baselines import (
    magnitude_masks,
    train_dense,
    train_pruned,
    train_ternary,
    twn_quantize,
)
from neurosim.train.core import network_accuracy


@pytest.fixture(scope="module")
def digits():
    from neurosim.io.datasets import load_dataset

    return load_dataset("digits", split="train"), load_dataset("digits", split="test")


@pytest.fixture(scope="module")
def dense(digits):
    tr, _ = digits
    return train_dense(tr.x, tr.y, n_classes=10, hidden=(32,), epochs=15, seed=0)


def test_twn_rule():
    w = np.array([[0.05, -1.0, 0.3], [2.0, 0.0, -0.6]])
    codes, scale, delta = twn_quantize(w)
    assert delta == pytest.approx(0.7 * np.abs(w).mean())
    keep = np.abs(w) > delta
    np.testing.assert_array_equal(codes, np.sign(w) * keep)
    assert scale == pytest.approx(np.abs(w)[keep].mean())
    with pytest.raises(TrainingError):
        twn_quantize(w, -1)


def test_magnitude_masks_keep_largest_under_cap():
    w = np.array([[5.0, 1.0], [4.0, 2.0], [3.0, 0.5]])
    (m,) = magnitude_masks([w], [3])
    np.testing.assert_array_equal(m, [[1, 0], [1, 0], [1, 0]])
    (m,) = magnitude_masks([w], [3], fan_in_cap=2)
    np.testing.assert_array_equal(m, [[1, 0], [1, 1], [0, 0]])


def test_dense_learns_digits(dense, digits):
    _, te = digits
    assert dense.n_connections == 64 * 32 + 32 * 10
    assert network_accuracy(dense.network, te.x, te.y) > 0.85


def test_pruned_from_init_has_budget_and_cap(dense, digits):
    tr, te = digits
    r = train_pruned(
        tr.x,
        tr.y,
        n_classes=10,
        init=dense.network,
        n_connections=(300, 100),
        fan_in_cap=10,
        finetune_epochs=5,
    )
    assert r.info["layer_connections"] == [300, 100]
    assert max(int(p.fan_in().max()) for p in r.network.projections) <= 10
    assert network_accuracy(r.network, te.x, te.y) > 0.7


def test_ternary_quantization_is_ternary_per_layer(dense, digits):
    tr, te = digits
    r = train_ternary(tr.x, tr.y, n_classes=10, init=dense.network)
    for proj, scale in zip(r.network.projections, r.info["scales"], strict=True):
        np.testing.assert_allclose(np.unique(np.abs(proj.weights.data)), [scale], rtol=1e-6)
    assert network_accuracy(r.network, te.x, te.y) > 0.6


def test_init_must_match_the_data(dense):
    x = np.random.default_rng(0).random((20, 5))
    y = np.arange(20) % 10
    with pytest.raises(TrainingError, match="features"):
        train_ternary(x, y, init=dense.network)
