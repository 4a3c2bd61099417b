"""Tests of the compiled propagation kernels against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.sim.kernels import (
    csr_arrays,
    propagate,
    propagate_csr_csr,
    propagate_dense_csr,
    propagate_saturating,
    relu_layer,
    relu_step,
)


def _data(seed: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    W = sp.random(120, 90, density=0.08, random_state=seed, format="csr")
    Y = rng.random((17, 120)).astype(dtype)
    Y[Y < 0.6] = 0
    return Y, W


@pytest.mark.parametrize("seed", [0, 1])
def test_propagate_matches_scipy(seed: int) -> None:
    Y, W = _data(seed)
    expected = propagate_dense_csr(Y, W)
    np.testing.assert_allclose(propagate(Y, W), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        propagate_csr_csr(sp.csr_matrix(Y), W).toarray(), expected, rtol=1e-12, atol=1e-12
    )
    arrays = csr_arrays(W)
    np.testing.assert_allclose(
        propagate(Y, arrays, n_post=W.shape[1]), expected, rtol=1e-12, atol=1e-12
    )


def test_propagate_adds_in_pre_order() -> None:
    # 1e16 + 1 - 1e16 depends on the order of the additions
    W = sp.csr_matrix(np.array([[1e16], [1.0], [-1e16]]))
    Z = propagate(np.ones((1, 3)), W)
    assert Z[0, 0] == (0.0 + 1e16 + 1.0) - 1e16


def test_relu_layer_and_step() -> None:
    Y, W = _data(2)
    expected = np.clip(Y @ W - 0.2, 0, 0.4)
    np.testing.assert_allclose(relu_layer(Y, W, -0.2, 0.4), expected, atol=1e-12)
    Z = Y @ W
    np.testing.assert_allclose(relu_step(Z, -0.2, 0.4), expected, atol=1e-12)
    z32 = relu_layer(Y.astype(np.float32), W, -0.2, 0.4)
    assert z32.dtype == np.float32
    np.testing.assert_allclose(z32, expected, atol=1e-5)


def test_saturating_counts_clips() -> None:
    Y, W = _data(3)
    Wi = sp.csr_matrix(np.round(W.toarray() * 20))
    Yi = np.round(Y * 10).astype(np.int64)
    exact = Yi @ Wi.toarray().astype(np.int64)
    Z, sat = propagate_saturating(Yi, Wi, -(2**31), 2**31 - 1)
    assert sat.sum() == 0 and np.array_equal(Z, exact)
    Z, sat = propagate_saturating(Yi, Wi, -50, 50)
    assert sat.sum() > 0 and Z.max() <= 50 and Z.min() >= -50
