"""CoNNTrA: ternary values, loss never increases within a sweep or a block step, accuracy, memory."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.conntra import block_step, exact_sweep, ternary_memory, train_conntra
from neurosim.train.core import forward, network_accuracy, softmax_cross_entropy


def _problem(seed=0, n=60, d=6, h=5, k=3):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = rng.integers(0, k, n)
    codes = [rng.integers(-1, 2, (d, h)).astype(float), rng.integers(-1, 2, (h, k)).astype(float)]
    return x, y, codes, [0.7, 0.5], [rng.normal(size=h) * 0.1, np.zeros(k)]


def _full_loss(codes, scales, biases, x, y):
    return softmax_cross_entropy(
        forward([s * c for s, c in zip(scales, codes, strict=True)], biases, x)[-1], y
    )[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_sweep_loss_never_increases_and_partial_sums_are_exact(seed):
    x, y, codes, scales, biases = _problem(seed)
    start = _full_loss(codes, scales, biases, x, y)
    trace: list[float] = []
    loss, changed = exact_sweep(
        codes, scales, biases, x, y, np.random.default_rng(seed), trace=trace
    )
    assert trace[0] == pytest.approx(start)
    assert all(b <= a for a, b in zip(trace, trace[1:], strict=False))
    assert changed == len(trace) - 1 > 0
    # the incrementally tracked loss equals a fresh forward pass
    assert loss == pytest.approx(_full_loss(codes, scales, biases, x, y), rel=1e-9)
    assert all(set(np.unique(c)) <= {-1.0, 0.0, 1.0} for c in codes)
    # a second sweep starts where the first ended and goes no higher
    trace2: list[float] = []
    exact_sweep(codes, scales, biases, x, y, np.random.default_rng(seed + 10), trace=trace2)
    assert trace2[0] == pytest.approx(loss) and trace2[-1] <= loss


def test_exact_sweep_reaches_a_coordinate_minimum():
    x, y, codes, scales, biases = _problem(4)
    rng = np.random.default_rng(0)
    for _ in range(30):
        _, changed = exact_sweep(codes, scales, biases, x, y, rng)
        if changed == 0:
            break
    assert changed == 0
    base = _full_loss(codes, scales, biases, x, y)
    for layer in range(2):
        for i, j in np.ndindex(codes[layer].shape):
            for v in (-1.0, 0.0, 1.0):
                trial = [c.copy() for c in codes]
                trial[layer][i, j] = v
                assert _full_loss(trial, scales, biases, x, y) >= base - 1e-12


def test_block_step_never_increases_the_minibatch_loss():
    x, y, codes, scales, biases = _problem(5, n=80)
    codes = [c.astype(np.float32) for c in codes]
    biases = [b.astype(np.float32) for b in biases]
    x = x.astype(np.float32)
    ema = [np.zeros_like(c) for c in codes]
    block = 0.05
    accepted = 0
    for _ in range(20):
        before, after, block, k = block_step(codes, scales, biases, ema, x, y, block, max_block=0.2)
        assert after <= before
        accepted += k > 0
        assert all(set(np.unique(c)) <= {-1.0, 0.0, 1.0} for c in codes)
    assert accepted > 0


def test_conntra_on_iris_is_ternary_and_close_to_dense():
    from neurosim.io.datasets import load_dataset
    from neurosim.train.baselines import train_dense

    tr = load_dataset("iris", split="train")
    te = load_dataset("iris", split="test")
    r = train_conntra(tr.x, tr.y, n_classes=3, hidden=(16,), epochs=15, val_fraction=0.0, seed=0)
    assert r.info["mode"] == "exact"
    for proj, scale in zip(r.network.projections, r.info["scales"], strict=True):
        vals = np.unique(np.abs(proj.weights.data))
        np.testing.assert_allclose(vals, [scale])
    d = train_dense(
        tr.x, tr.y, n_classes=3, hidden=(16,), epochs=150, batch_size=16, val_fraction=0.0
    )
    acc_c = network_accuracy(r.network, te.x, te.y)
    acc_d = network_accuracy(d.network, te.x, te.y)
    assert acc_c >= acc_d - 0.06
    assert acc_c > 0.85


def test_memory_is_32x_smaller_than_float64_per_weight():
    m = ternary_memory(266_200, 3)
    assert m["float64_bits"] / (2 * 266_200) == 32
    assert m["saving_vs_float64"] == pytest.approx(64 * 266_200 / (2 * 266_200 + 96))


def test_conntra_rejects_bad_options():
    x = np.random.default_rng(0).random((20, 3))
    y = np.arange(20) % 2
    with pytest.raises(TrainingError, match="mode"):
        train_conntra(x, y, hidden=(4,), mode="greedy")
    with pytest.raises(TrainingError, match="block"):
        train_conntra(x, y, hidden=(4,), block=0.0)


def test_block_mode_trains_on_digits():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("digits", split="train")
    te = load_dataset("digits", split="test")
    r = train_conntra(
        tr.x, tr.y, n_classes=10, hidden=(32,), epochs=4, mode="block", batch_size=64, seed=0
    )
    assert r.info["mode"] == "block" and r.info["changed"] > 0
    assert network_accuracy(r.network, te.x, te.y) > 0.6
