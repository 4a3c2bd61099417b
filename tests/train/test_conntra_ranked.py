"""Ranked CoNNTrA block steps: ternary codes, exact acceptance, moment reset, learning from random."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.conntra_ranked import RankedState, ranked_block_step, train_conntra_ranked
from neurosim.train.core import forward, softmax_cross_entropy


def _problem(seed=0, n=200, d=8, h=12, k=3):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)).astype(np.float32)
    y = (x[:, 0] * 3).astype(int) % k
    codes = [
        rng.integers(-1, 2, (d, h)).astype(np.float32),
        rng.integers(-1, 2, (h, k)).astype(np.float32),
    ]
    biases = [np.zeros(h, np.float32), np.zeros(k, np.float32)]
    return x, y, codes, [0.6, 0.5], biases


def _loss(codes, scales, biases, x, y):
    w = [np.float32(s) * c for s, c in zip(scales, codes, strict=True)]
    return softmax_cross_entropy(forward(w, biases, x)[-1], y)[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranked_step_keeps_ternary_codes_and_never_raises_the_batch_loss(seed):
    x, y, codes, scales, biases = _problem(seed)
    state = RankedState.zeros(codes, 0.9, 0.999)
    for _ in range(20):
        before_codes = [c.copy() for c in codes]
        start = _loss(codes, scales, biases, x, y)
        before, after, k = ranked_block_step(codes, scales, biases, state, x, y, 0.1)
        assert before == pytest.approx(start, rel=1e-5)
        assert after <= before
        assert after == pytest.approx(_loss(codes, scales, biases, x, y), rel=1e-5)
        moved = [c != b for c, b in zip(codes, before_codes, strict=True)]
        assert sum(int(m.sum()) for m in moved) == k
        # a weight that moved forgets its first moment; unit moves only
        for m, mv, c, b in zip(state.m, moved, codes, before_codes, strict=True):
            assert np.all(m[mv] == 0.0)
            assert np.all(np.abs(c - b) <= 1)
        assert all(set(np.unique(c)) <= {-1.0, 0.0, 1.0} for c in codes)


def test_ranked_training_learns_from_random_codes():
    rng = np.random.default_rng(0)
    x = rng.random((600, 10))
    y = (x[:, 0] + x[:, 1] > 1).astype(int) + 2 * (x[:, 2] > 0.5)
    r = train_conntra_ranked(x, y, hidden=(32,), epochs=15, batch_size=50, block=0.05, seed=0)
    assert r.train_accuracy > 0.7  # chance is about 0.25; measured 0.78
    assert r.info["changed"] > 0 and r.info["weight_values"] == [-1, 0, 1]
    assert r.info["rank"] == "normalised gradient"


def test_ranked_training_rejects_bad_options():
    x, y = np.random.default_rng(0).random((20, 3)), np.arange(20) % 2
    with pytest.raises(TrainingError, match="block"):
        train_conntra_ranked(x, y, block=0.0)
    with pytest.raises(TrainingError, match="beta"):
        train_conntra_ranked(x, y, beta2=1.0)
