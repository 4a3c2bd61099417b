"""The pull (post-major) graded kernels give the push kernels' bits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.sim.kernels import csr_arrays, graded_layer, graded_layer_fixed
from neurosim.sim.pull import csc_arrays, pull_block, pull_layer, pull_layer_fixed


def _layer(seed: int, n_in: int = 300, n_pre: int = 150, n_post: int = 110):
    rng = np.random.default_rng(seed)
    W = sp.random(n_pre, n_post, density=0.1, random_state=seed, format="csr")
    W.data = rng.normal(size=W.nnz)
    Y = rng.random((n_in, n_pre)) * 3
    Y[Y < 1.2] = 0
    return Y, W


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rectify", [True, False])
def test_pull_layer_equals_push_bits(dtype, rectify: bool) -> None:
    Y, W = _layer(0)
    Y = Y.astype(dtype)
    bias = np.linspace(-0.5, 0.2, W.shape[1]).astype(dtype)
    cap = np.full(W.shape[1], 1.5 if rectify else np.inf, dtype=dtype)
    push, nz_push = graded_layer(Y, csr_arrays(W), bias, cap, rectify=rectify)
    pull, nz_pull = pull_layer(Y, csc_arrays(W), bias, cap, rectify=rectify)
    assert pull.dtype == dtype and pull.flags.f_contiguous
    assert np.array_equal(pull, push)
    assert np.array_equal(nz_pull, nz_push)
    # chained: the F-contiguous output feeds the next layer without a copy
    again, _ = pull_layer(pull, csc_arrays(W[: W.shape[1]]), bias[:110], cap[:110], rectify=rectify)
    assert again.shape == (Y.shape[0], 110)


def test_pull_order_of_additions() -> None:
    # 1e16 + 1 - 1e16 depends on the order: increasing pre neuron, as the push kernel,
    # in the four-synapse passes and in the remainder
    col = np.array([1e16, 1.0, -1e16, 3.0, 1e16, 1.0, -1e16])
    W = sp.csr_matrix(col[:, np.newaxis])
    out, _ = pull_layer(
        np.ones((40, len(col))), csc_arrays(W), np.zeros(1), np.full(1, np.inf), rectify=False
    )
    expected = 0.0
    for v in col:
        expected += v
    assert np.all(out == expected)


def test_csc_arrays_from_csr_triple_and_duplicates() -> None:
    # a duplicate entry (0, 1) stays two entries, in CSR order
    W = sp.csr_matrix(
        (np.array([2.0, 3.0, 5.0]), np.array([1, 1, 0]), np.array([0, 2, 3])), shape=(2, 2)
    )
    colptr, rows, data = csc_arrays((W.indptr, W.indices, W.data))
    assert colptr.tolist() == [0, 1, 3] and rows.tolist() == [1, 0, 0]
    assert sorted(data[1:].tolist()) == [2.0, 3.0]


def test_pull_block_sizes() -> None:
    assert pull_block(1000, 4, n_threads=2) == 512
    assert pull_block(1000, 8, n_threads=2) == 256
    assert pull_block(3000, 4, n_threads=2) == 512
    assert pull_block(100, 4, n_threads=2) == 64
    assert pull_block(1, 4, n_threads=2) == 16


@pytest.mark.parametrize("scale", [1, 2**22])
@pytest.mark.parametrize("linear", [False, True])
def test_pull_fixed_equals_push_bits(scale: int, linear: bool) -> None:
    # scale 1: int32 sums; 2**22: sums that leave int32 (int64 path); both saturate states
    rng = np.random.default_rng(3)
    Y, W = _layer(1)
    Yi = np.round(Y * 50).astype(np.int64) * scale
    Wi = W.copy()
    Wi.data = rng.integers(-7, 8, size=W.nnz).astype(np.int64)
    n_post = W.shape[1]
    mult = rng.integers(1, 2**10, size=n_post).astype(np.int64)
    bias = rng.integers(-300, 300, size=n_post).astype(np.int64) * scale
    cap = None if linear else np.full(n_post, 2000 * scale, dtype=np.int64)
    lo, hi = -(2**10) * scale, 2**10 * scale
    args = (mult, 4, bias, cap, lo, hi)
    push = graded_layer_fixed(Yi, csr_arrays(Wi), *args)
    pull = pull_layer_fixed(Yi, csc_arrays(Wi), *args)
    assert push[2] > 0  # saturations happen
    assert np.array_equal(pull[0], push[0]) and pull[0].dtype == np.int64
    assert np.array_equal(pull[1], push[1]) and pull[2] == push[2]
    narrow = pull_layer_fixed(Yi, csc_arrays(Wi), *args, narrow_out=True)
    assert narrow[0].dtype == (np.int32 if hi < 2**31 else np.int64)
    assert np.array_equal(narrow[0], push[0])
