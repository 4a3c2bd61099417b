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


# ------------------------------------------------------------- scipy paths
def _signed(seed: int, dtype) -> tuple[np.ndarray, sp.csr_matrix]:
    rng = np.random.default_rng(seed)
    W = sp.random(150, 70, density=0.15, random_state=seed, format="csr")
    W.data = rng.normal(size=W.nnz)
    Y = rng.normal(size=(9, 150)).astype(dtype)
    Y[rng.random(Y.shape) < 0.5] = 0
    return Y, W


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scipy_path_gives_the_kernels_bits(monkeypatch, dtype) -> None:
    """A process without numba computes small jobs with scipy: the same bits."""
    import numba  # noqa: F401  (the kernels' path first)

    from neurosim.sim import kernels

    Y, W = _signed(3, dtype)
    arrays = csr_arrays(W, dtype)
    bias = np.linspace(-1, 1, 70).astype(dtype)
    cap = np.full(70, 1.5, dtype=dtype)
    ref = propagate(Y, arrays, n_post=70)
    graded = [kernels.graded_layer(Y, arrays, bias, cap, rectify=r) for r in (True, False)]
    monkeypatch.setattr(kernels, "_small", lambda n_rows, nnz: True)
    got = propagate(Y, arrays, n_post=70)
    assert got.dtype == ref.dtype and got.tobytes() == ref.tobytes()
    for r, (out, nz) in zip((True, False), graded, strict=True):
        o2, nz2 = kernels.graded_layer(Y, arrays, bias, cap, rectify=r)
        assert np.ascontiguousarray(o2).tobytes() == np.ascontiguousarray(out).tobytes()
        np.testing.assert_array_equal(nz2, nz)


def test_scipy_saturating_path_only_when_nothing_can_saturate(monkeypatch) -> None:
    from neurosim.sim import kernels

    rng = np.random.default_rng(5)
    W = sp.random(60, 40, density=0.2, random_state=5, format="csr")
    W.data = rng.integers(-100, 100, W.nnz).astype(np.float64)
    Y = rng.integers(-3, 4, (6, 60))
    arrays = csr_arrays(W, np.int64)
    wide = propagate_saturating(Y, arrays, -(2**31), 2**31 - 1, n_post=40)
    narrow = propagate_saturating(Y, arrays, -200, 199, n_post=40)
    assert narrow[1].sum() > 0
    monkeypatch.setattr(kernels, "_small", lambda n_rows, nnz: True)
    for lo, hi, ref in ((-(2**31), 2**31 - 1, wide), (-200, 199, narrow)):
        out, sat = propagate_saturating(Y, arrays, lo, hi, n_post=40)
        np.testing.assert_array_equal(out, ref[0])
        np.testing.assert_array_equal(sat, ref[1])


@pytest.mark.parametrize("backend", ["reference", "chip"])
def test_small_runs_on_the_engine_give_the_kernels_results(monkeypatch, backend) -> None:
    """Without numba a small spiking run goes to the numpy engine: same outputs and counts."""
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.network import Network
    from neurosim.neurons import NeuronModel
    from neurosim.sim import fastrun
    from neurosim.sim.simulate import simulate

    rng = np.random.default_rng(2)
    ws = [
        rng.normal(0.3, 0.4, (20, 30)) * (rng.random((20, 30)) < 0.4),
        rng.normal(0.2, 0.5, (30, 5)),
    ]
    net = Network.from_layers(ws, model=NeuronModel("if", {"threshold": 1.0}, reset="subtract"))
    target = net if backend == "reference" else map_network(net, load_profile("loihi"))
    x = rng.random((7, 20))

    def run(engine: bool):
        monkeypatch.setattr(fastrun, "_engine_is_cheaper", lambda plan, n_b, n_steps: engine)
        return simulate(target, x, backend, n_steps=30, encoding="rate")

    a, b = run(False), run(True)
    assert a.outputs.sum() > 0
    np.testing.assert_array_equal(a.outputs, b.outputs)
    for name, counts in a.spike_counts.items():
        np.testing.assert_array_equal(counts, b.spike_counts[name])


@pytest.mark.parametrize(
    ("sets", "options"),
    [([], None), (["weights.state_bits=10"], {"frac_bits": 8})],
    ids=["loihi2", "saturating-state"],
)
def test_fused_fixed_graded_layers_give_the_engine_integers(monkeypatch, sets, options) -> None:
    """The fused fixed-point graded pass (no accumulator saturation possible) equals the
    engine's accumulate-then-step integers, state saturations included; the scipy path too."""
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.sim import engine, kernels
    from neurosim.sim.simulate import simulate
    from neurosim.topology.graph_challenge import graph_challenge_network

    net = graph_challenge_network(256, 6, seed=1, bias=-0.3).to_network()
    mapped = map_network(net, load_profile("loihi2", sets))
    x = (np.random.default_rng(4).random((150, 256)) < 0.3).astype(np.float64)
    calls = []
    real = engine._fusable_fixed
    monkeypatch.setattr(engine, "_fusable_fixed", lambda *a: calls.append(real(*a)) or calls[-1])
    fused = simulate(mapped, x, "chip", options=options)
    assert any(calls)  # the fused pass ran
    monkeypatch.setattr(kernels, "_small", lambda n_rows, nnz: True)
    small = simulate(mapped, x, "chip", options=options)
    monkeypatch.setattr(engine, "_fusable_fixed", lambda plan, pop, outs: False)
    step = simulate(mapped, x, "chip", options=options)
    assert step.outputs.any()
    for other in (fused, small):
        np.testing.assert_array_equal(other.outputs, step.outputs)
        assert other.saturations == step.saturations
    if sets:
        assert step.saturations > 0
