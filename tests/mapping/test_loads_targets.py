"""The distinct (neuron, target core) pairs of the load table: numpy and compiled paths agree."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.mapping import loads
from neurosim.mapping.mapped import QuantizedProjection


def _pattern(rng: np.random.Generator, n_pre: int, n_post: int, nnz: int) -> sp.csr_matrix:
    """A CSR pattern with duplicate entries and unsorted column indices in its rows."""
    rows = rng.integers(0, n_pre, nnz)
    cols = rng.integers(0, n_post, nnz)
    w = sp.csr_matrix((np.ones(nnz), (rows, cols)), shape=(n_pre, n_post))
    w = sp.csr_matrix((np.ones(nnz), cols[np.argsort(rows, kind="stable")], w.indptr), shape=w.shape)
    assert not w.has_sorted_indices or not w.has_canonical_format
    return w


def _parts(seed: int, n_parts: int, nc: int) -> loads.Parts:
    rng = np.random.default_rng(seed)
    n_pre = 57
    out = []
    for k in range(n_parts):
        n_post = 30 + 11 * k
        w = _pattern(rng, n_pre, n_post, 400 + 150 * k)
        if k % 2:
            w.indices = w.indices.astype(np.int64)
            w.indptr = w.indptr.astype(np.int64)
        core = rng.integers(-1, nc, n_post).astype(np.int64)  # -1: on no core
        out.append((w.indptr, w.indices, core))
    return out


def _brute(parts: loads.Parts) -> tuple[np.ndarray, np.ndarray]:
    pairs = set()
    for indptr, indices, core in parts:
        for i in range(indptr.size - 1):
            for c in core[indices[indptr[i] : indptr[i + 1]]]:
                if c >= 0:
                    pairs.add((i, int(c)))
    ordered = sorted(pairs)
    return (np.array([p[0] for p in ordered], dtype=np.int64),
            np.array([p[1] for p in ordered], dtype=np.int64))


@pytest.mark.parametrize(("seed", "n_parts", "nc"), [(0, 1, 5), (1, 2, 40), (2, 3, 300), (3, 1, 1)])
def test_compiled_and_numpy_pairs_are_the_same(seed: int, n_parts: int, nc: int) -> None:
    parts = _parts(seed, n_parts, nc)
    ref = _brute(parts)
    by_numpy = loads._distinct([loads._pair_keys(*p, nc) for p in parts], nc)
    by_jit = loads._jit_targets(parts, nc)
    for got in (by_numpy, by_jit):
        assert len(got) == 2
        for a, b in zip(got, ref, strict=True):
            assert a.dtype == np.int64
            np.testing.assert_array_equal(a, b)


def test_a_neuron_reaching_many_cores_is_sorted() -> None:
    # one row reaching 500 cores in decreasing order: the long-row sort, not the insertion sort
    n = 500
    w = sp.csr_matrix((np.ones(n), np.arange(n)[::-1].copy(), np.array([0, n, n])), shape=(2, n))
    core = np.arange(n, dtype=np.int64)
    src, dst = loads._jit_targets([(w.indptr, w.indices, core)], n)
    np.testing.assert_array_equal(src, np.zeros(n, dtype=np.int64))
    np.testing.assert_array_equal(dst, core)


def _quantized(weights: sp.csr_matrix) -> QuantizedProjection:
    return QuantizedProjection("p", weights, np.ones(weights.shape[1]))


def test_stored_pattern_drops_zero_weights_and_keeps_the_rest() -> None:
    w = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, -3.0, 4.0]]))
    zeroed = w.copy()
    zeroed.data[1] = 0.0  # an explicit zero: not stored
    got = loads.stored_pattern(w, _quantized(zeroed))
    assert got.nnz == 3 and got[0, 2] == 0 and zeroed.nnz == 4  # the input is left alone
    same = loads.stored_pattern(w, _quantized(w))
    assert same.nnz == 4
    np.testing.assert_array_equal(same.toarray(), w.toarray())
