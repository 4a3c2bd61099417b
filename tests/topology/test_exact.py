"""Exact-solution networks reproduce their closed form bit for bit in float64,
float32, and 8- and 16-bit fixed point (plain numpy integer inference)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.io.graph_challenge import challenge_inference, challenge_inference_scipy
from neurosim.topology.exact import ClampAffine, FixedPointFormat, exact_solution

SIZES = [
    # n_neurons, n_layers, n_categories, fan_in
    (16, 1, 2, 2),
    (37, 3, 3, 8),
    (64, 6, 4, 4),
    (200, 20, 5, 8),
    (128, 64, 4, 2),
]


def fixed_point_inference(
    network, inputs: np.ndarray, q: FixedPointFormat
) -> tuple[np.ndarray, bool]:
    """Integer inference: int8/int16 weights and activations, int64 accumulator.

    Returns the integer output codes and whether every accumulator value was an
    exact multiple of 2^frac_bits (no rounding in the shift back).
    """
    y = q.to_int(inputs)
    assert y.dtype == q.dtype
    exact = True
    for proj, pop in network.layers():
        w = proj.weights.tocoo()
        w_int = np.zeros(w.shape, dtype=np.int64)
        w_int[w.row, w.col] = q.to_int(w.data)
        acc = y.astype(np.int64) @ w_int  # products carry 2 * frac_bits fractional bits
        exact &= bool(np.all(acc % q.scale == 0))
        z = acc >> q.frac_bits
        bias = q.to_int(pop.bias).astype(np.int64)
        cap = int(q.to_int(pop.model.param("cap")))
        y = np.clip(z + bias, 0, cap).astype(q.dtype)
    return y, exact


def float32_inference(network, inputs: np.ndarray) -> np.ndarray:
    y = inputs.astype(np.float32)
    for proj, pop in network.layers():
        z = np.asarray(y @ proj.weights.astype(np.float32), dtype=np.float32)
        z += pop.bias.astype(np.float32)
        y = np.clip(z, np.float32(0), np.float32(pop.model.param("cap")))
        assert y.dtype == np.float32
    return y


@pytest.mark.parametrize("n, depth, n_cat, fan_in", SIZES)
def test_closed_form_reproduced_in_every_format(n, depth, n_cat, fan_in):
    sol = exact_solution(n, depth, n_categories=n_cat, fan_in=fan_in, n_inputs=12, seed=n + depth)
    net, x, expected = sol.network, sol.inputs, sol.expected_outputs
    cap = float(sol.cap)
    # float64: the fast kernel path and the scipy CSR x CSR reference
    assert np.array_equal(challenge_inference(net, x, cap=cap).outputs, expected)
    assert np.array_equal(challenge_inference_scipy(net, x, cap=cap).outputs, expected)
    # float32
    y32 = float32_inference(net, x)
    assert np.array_equal(y32.astype(np.float64), expected)
    assert np.array_equal(challenge_inference(net, x, cap=cap, dtype=np.float32).outputs, y32)
    # 8- and 16-bit fixed point
    for bits in (8, 16):
        q = sol.fixed_point[bits]
        codes, exact = fixed_point_inference(net, x, q)
        assert exact, f"{bits}-bit accumulator needed rounding"
        assert np.array_equal(codes, q.to_int(expected))
    # categories follow the challenge convention
    assert np.array_equal(sol.categories, np.flatnonzero(expected.any(axis=1)) + 1)


def test_closed_form_is_a_clamped_affine_map():
    sol = exact_solution(64, 8, seed=5)
    f = sol.closed_form
    for v in np.unique(sol.category_values):
        x = Fraction(v)
        for g, b in zip(sol.gains, sol.betas, strict=False):
            x = min(sol.cap, max(Fraction(0), g * x - b))
        assert f(v) == x
    assert np.array_equal(sol.predict(sol.category_values), sol.expected_outputs)


def test_outputs_mix_surviving_and_dying_categories():
    sol = exact_solution(64, 4, n_inputs=32, seed=0)
    alive = sol.output_values[sol.category_values > 0] > 0
    assert alive.any() and not alive.all()
    assert 0 < sol.categories.size


def test_every_value_is_representable():
    sol = exact_solution(96, 10, n_categories=3, fan_in=8, seed=2)
    for bits, q in sol.fixed_point.items():
        assert q.representable(sol.inputs) and q.representable(sol.expected_outputs)
        for proj, pop in sol.network.layers():
            assert q.representable(proj.weights.data), bits
            assert q.representable(pop.bias), bits
    stats = sol.network.stats()
    assert stats.fan_in_min == stats.fan_in_max == 8


@pytest.mark.parametrize("kind", ["subthreshold_noise", "drop_category"])
def test_perturbations_follow_the_closed_form(kind):
    sol = exact_solution(64, 5, n_inputs=16, seed=11)
    p = sol.perturbed(kind, seed=3)
    assert p.perturbation == kind
    assert not np.array_equal(p.inputs, sol.inputs)
    if kind == "subthreshold_noise":
        assert np.array_equal(p.expected_outputs, sol.expected_outputs)  # the noise must vanish
    else:
        assert p.categories.size <= sol.categories.size
    cap = float(p.cap)
    assert np.array_equal(
        challenge_inference(p.network, p.inputs, cap=cap).outputs, p.expected_outputs
    )
    assert np.array_equal(
        float32_inference(p.network, p.inputs).astype(np.float64), p.expected_outputs
    )
    for bits in (8, 16):
        q = p.fixed_point[bits]
        codes, _ = fixed_point_inference(p.network, p.inputs, q)
        assert np.array_equal(codes, q.to_int(p.expected_outputs))


def test_noise_above_threshold_does_not_vanish():
    """The sub-threshold bound is tight: noise just above it leaks through layer 1."""
    sol = exact_solution(32, 1, n_categories=2, fan_in=2, n_inputs=4, seed=0)
    x = sol.inputs.copy()
    inactive = sol.category_values[:, sol.groups[0]] == 0
    x[inactive] = float(sol.betas[0] / sol.gains[0]) + 1 / 8
    if inactive.any():
        y = challenge_inference(sol.network, x, cap=float(sol.cap)).outputs
        assert not np.array_equal(y, sol.expected_outputs)


def test_same_seed_same_solution_and_bad_parameters():
    a, b = exact_solution(48, 3, seed=7), exact_solution(48, 3, seed=7)
    assert np.array_equal(a.inputs, b.inputs)
    assert all(
        (pa.weights != pb.weights).nnz == 0
        for pa, pb in zip(a.network.projections, b.network.projections, strict=False)
    )
    with pytest.raises(NetworkError, match="power of two"):
        exact_solution(64, 2, fan_in=3)
    with pytest.raises(NetworkError, match="fewer than fan_in"):
        exact_solution(8, 2, n_categories=4, fan_in=4)
    with pytest.raises(NetworkError, match="cap"):
        exact_solution(64, 2, cap=10.0)
    with pytest.raises(NetworkError, match="perturbation"):
        a.perturbed("bogus")


def test_fixed_point_format():
    q = FixedPointFormat(8, 3)
    assert (q.min_int, q.max_int, q.scale, q.dtype) == (-128, 127, 8, np.dtype("int8"))
    assert FixedPointFormat(16, 8).dtype == np.dtype("int16")
    assert q.representable([0.125, -16.0, 15.875])
    assert not q.representable([0.0625]) and not q.representable([16.0])
    with pytest.raises(NetworkError):
        q.to_int([0.01])
    assert ClampAffine()(Fraction(3, 2)) == Fraction(3, 2)
