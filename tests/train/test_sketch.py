"""Tensor sketching: W_hat formula, gradients, parameter counts, conversion to a Network."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.core import network_accuracy
from neurosim.train.sketch import sketch_layer, train_sketch


def test_sketch_layer_formula_and_gradients():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(12, 7)).astype(np.float32)
    lay = sketch_layer(w, sketch_size=3, n_sketches=2, rng=rng)
    assert lay.s1.shape == (6, 7) and lay.s2.shape == (12, 6)
    assert lay.n_parameters == 2 * 3 * (12 + 7)
    expected = (
        sum(
            lay.u1[3 * i : 3 * i + 3].T @ lay.s1[3 * i : 3 * i + 3]
            + lay.s2[:, 3 * i : 3 * i + 3] @ lay.u2[3 * i : 3 * i + 3]
            for i in range(2)
        )
        / 4
    )
    np.testing.assert_allclose(lay.weight(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.abs(lay.u1), 1 / np.sqrt(3), rtol=1e-6)
    # d<W_hat, G>/dS equals the sketch gradients
    g = rng.normal(size=w.shape).astype(np.float32)
    g1, g2 = lay.grads(g)
    h = 1e-2
    lay.s1[1, 2] += h
    up = float((lay.weight() * g).sum())
    lay.s1[1, 2] -= 2 * h
    down = float((lay.weight() * g).sum())
    lay.s1[1, 2] += h
    assert g1[1, 2] == pytest.approx((up - down) / (2 * h), rel=1e-3)
    lay.s2[4, 5] += h
    up = float((lay.weight() * g).sum())
    lay.s2[4, 5] -= 2 * h
    down = float((lay.weight() * g).sum())
    assert g2[4, 5] == pytest.approx((up - down) / (2 * h), rel=1e-3)


def test_train_sketch_on_digits_reports_reduction_and_product_network():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("digits", split="train")
    te = load_dataset("digits", split="test")
    r = train_sketch(tr.x, tr.y, n_classes=10, hidden=(64,), epochs=15, sketch_size=12, seed=0)
    assert r.info["sketched_layers"] == [0]  # 64x10 output would not shrink at k=12
    assert r.n_parameters == 12 * (64 + 64) + 64 * 10
    assert r.info["parameter_reduction"] == pytest.approx((64 * 64 + 640) / r.n_parameters)
    assert r.network.projections[0].weights.shape == (64, 64)
    assert network_accuracy(r.network, te.x, te.y) > 0.8


def test_sketch_options_are_checked():
    x = np.random.default_rng(0).random((20, 5))
    y = np.arange(20) % 2
    with pytest.raises(TrainingError, match="sketch_layers"):
        train_sketch(x, y, hidden=(4,), sketch_layers=[5])
    with pytest.raises(TrainingError, match="sketch_size"):
        train_sketch(x, y, hidden=(4,), sketch_size=(2, 2, 2))
    r = train_sketch(
        x, y, hidden=(4,), sketch_layers="all", sketch_size=1, epochs=1, val_fraction=0
    )
    assert r.info["sketched_layers"] == [0, 1]
