"""The pull (post-major) graded layers give the bits of propagate-then-step, on the
compiled kernels and on the scipy path (small jobs in a process without numba)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim import neurons as nm
from neurosim.sim import kernels
from neurosim.sim.kernels import (
    csc_arrays,
    csr_arrays,
    graded_layer,
    graded_layer_fixed,
    propagate,
    propagate_saturating,
    pull_block,
    pull_layer,
    pull_layer_fixed,
)


@pytest.fixture(params=["kernel", "scipy"])
def path(request, monkeypatch) -> str:
    """Run the test on the compiled kernels, then on the scipy path."""
    import numba  # noqa: F401  (loaded: the kernels' path)

    if request.param == "scipy":
        monkeypatch.setattr(kernels, "_small", lambda n_rows, nnz: True)
    return request.param


def _layer(seed: int, n_in: int = 300, n_pre: int = 150, n_post: int = 110):
    rng = np.random.default_rng(seed)
    W = sp.random(n_pre, n_post, density=0.1, random_state=seed, format="csr")
    W.data = rng.normal(size=W.nnz)
    Y = rng.random((n_in, n_pre)) * 3
    Y[Y < 1.2] = 0
    return Y, W


def _float_reference(Y, W, bias, cap, rectify: bool) -> np.ndarray:
    """propagate (increasing pre-neuron order), then the step's operations in order."""
    Z = propagate(Y, csr_arrays(W, Y.dtype), n_post=W.shape[1])
    if rectify:
        return nm.relu_step(Z, bias, cap)
    Z += bias
    return np.minimum(Z, cap)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rectify", [True, False])
def test_pull_layer_equals_propagate_then_step(path: str, dtype, rectify: bool) -> None:
    Y, W = _layer(0)
    Y = Y.astype(dtype)
    W.data[:40] = -W.data[:40]
    bias = np.linspace(-0.5, 0.2, W.shape[1]).astype(dtype)
    cap = np.full(W.shape[1], 1.5 if rectify else np.inf, dtype=dtype)
    ref = _float_reference(Y, W, bias, cap, rectify)
    pull, nz = pull_layer(Y, csc_arrays(W), bias, cap, rectify=rectify)
    assert pull.dtype == dtype
    assert np.ascontiguousarray(pull).tobytes() == np.ascontiguousarray(ref).tobytes()
    np.testing.assert_array_equal(nz, np.count_nonzero(ref, axis=0))
    # the CSR entry point gives the same bits
    csr, nz_csr = graded_layer(Y, csr_arrays(W), bias, cap, rectify=rectify)
    assert np.ascontiguousarray(csr).tobytes() == np.ascontiguousarray(pull).tobytes()
    np.testing.assert_array_equal(nz_csr, nz)
    # outputs chain into the next layer as they are
    again, _ = pull_layer(pull, csc_arrays(W[: W.shape[1]]), bias[:110], cap[:110], rectify=rectify)
    assert again.shape == (Y.shape[0], 110)


def test_trailing_empty_columns_keep_their_neurons(path: str) -> None:
    Y, W = _layer(2, n_post=20)
    W = sp.csr_matrix(sp.hstack([W, sp.csr_matrix((W.shape[0], 3))]))
    bias = np.full(23, 0.25)
    out, nz = graded_layer(Y, csr_arrays(W), bias, np.full(23, np.inf))
    assert out.shape == (Y.shape[0], 23)
    assert np.all(out[:, 20:] == 0.25) and np.all(nz[20:] == Y.shape[0])


def test_pull_order_of_additions() -> None:
    # 1e16 + 1 - 1e16 depends on the order: increasing pre neuron, as propagate,
    # in the four-synapse passes and in the remainder
    import numba  # noqa: F401  (the compiled kernel)

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
    assert len(csc_arrays((W.indptr, W.indices, W.data), n_cols=5)[0]) == 6


def test_pull_block_sizes() -> None:
    assert pull_block(1000, 4, n_threads=2) == 512
    assert pull_block(1000, 8, n_threads=2) == 256
    assert pull_block(3000, 4, n_threads=2) == 512
    assert pull_block(100, 4, n_threads=2) == 64
    assert pull_block(1, 4, n_threads=2) == 16


def _fixed_reference(Y, W, mult, shift, bias, cap, lo, hi):
    """Exact integer sums, then the engine's rounding, ReLU/cap and saturation, counted."""
    acc, _ = propagate_saturating(Y, csr_arrays(W, np.int64), -(2**62), 2**62, n_post=W.shape[1])
    z = nm.round_shift(acc * mult, shift) + bias
    if cap is not None:
        z = np.minimum(np.maximum(z, 0), cap)
    n_sat = int(np.count_nonzero((z > hi) | (z < lo)))
    return np.clip(z, lo, hi), n_sat


@pytest.mark.parametrize("scale", [1, 2**22])
@pytest.mark.parametrize("linear", [False, True])
def test_pull_fixed_equals_exact_integers(path: str, scale: int, linear: bool) -> None:
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
    ref, n_sat = _fixed_reference(Yi, Wi, *args)
    pull = pull_layer_fixed(Yi, csc_arrays(Wi), *args)
    assert n_sat > 0  # saturations happen
    assert np.array_equal(pull[0], ref) and pull[0].dtype == np.int64
    assert np.array_equal(pull[1], np.count_nonzero(ref, axis=0)) and pull[2] == n_sat
    narrow = pull_layer_fixed(Yi, csc_arrays(Wi), *args, narrow_out=True)
    assert narrow[0].dtype == (np.int32 if hi < 2**31 else np.int64)
    assert np.array_equal(narrow[0], ref)
    csr = graded_layer_fixed(Yi, csr_arrays(Wi), *args)
    assert np.array_equal(csr[0], ref) and csr[2] == n_sat


def test_int32_sums_only_when_no_column_can_leave_int32() -> None:
    # one column whose sum of |w| times max|y| passes 2**31 (its rows are short)
    W = sp.csr_matrix(np.array([[2**20, 1], [2**20, 1], [0, 1]], dtype=np.int64))
    Y = np.full((4, 3), 2**10, dtype=np.int64)
    assert not kernels._fits_int32(Y, csc_arrays(W)[2], csc_arrays(W)[0])
    assert kernels._fits_int32(Y // 2, csc_arrays(W)[2], csc_arrays(W)[0])


@pytest.mark.parametrize("sets", [["weights.kind=float", "weights.bits=32"], []])
def test_engine_keeps_the_csc_arrays_of_a_mapped_network(monkeypatch, sets) -> None:
    """The chip backend's graded path runs the pull kernels on CSC arrays built once per
    projection of a mapped network (float32 and loihi2 fixed point)."""
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.sim import engine
    from neurosim.sim.simulate import simulate
    from neurosim.topology.graph_challenge import graph_challenge_network

    mapped = map_network(
        graph_challenge_network(256, 3, seed=2, bias=-0.3).to_network(),
        load_profile("generic" if sets else "loihi2", sets),
    )
    built, calls = [], []
    real_csc, real_pull = engine.csc_arrays, (engine.pull_layer, engine.pull_layer_fixed)
    monkeypatch.setattr(engine, "csc_arrays", lambda *a, **k: built.append(1) or real_csc(*a, **k))
    for i, name in enumerate(("pull_layer", "pull_layer_fixed")):
        fn = real_pull[i]
        monkeypatch.setattr(engine, name, lambda *a, _f=fn, **k: calls.append(1) or _f(*a, **k))
    x = (np.random.default_rng(5).random((40, 256)) < 0.3).astype(np.float64)
    first = simulate(mapped, x, "chip")
    n_built, n_calls = len(built), len(calls)
    second = simulate(mapped, x, "chip")
    assert n_built == 3 and len(built) == 3  # one per layer, kept for the second run
    assert n_calls == 3 and len(calls) == 6
    np.testing.assert_array_equal(first.outputs, second.outputs)
