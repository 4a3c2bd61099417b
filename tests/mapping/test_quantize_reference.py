"""The ``int`` quantizer against an independent plain-numpy reference, widths 1-16.

The reference is written from the documented semantics only: levels
``-qmax..qmax`` with ``qmax = 2^(b-1) - 1`` (1 for ``b = 1``), scale
``max|w| / qmax`` per scale group (a power of two at least that for
``exponent``, 1 for ``none``), rounding half away from zero, clipping to the
range. Properties: zero stays representable, the error bound and the error
never grow with the width, and neither does the number of zeroed weights
(so the stored-synapse memory grows with the width).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.hardware.profile import load_profile
from neurosim.mapping.quantize import quantize_projection, quantize_weights

MODES = ("none", "per_layer", "per_core", "exponent")
WIDTHS = range(1, 17)


def _reference(w: np.ndarray, cores: np.ndarray, bits: int, mode: str) -> np.ndarray:
    """Effective weights ``q * scale`` of a dense (n_pre, n_post) matrix, column by column."""
    qmax = 1 if bits == 1 else 2 ** (bits - 1) - 1
    out = np.zeros_like(w)
    for j in range(w.shape[1]):
        if mode == "none":
            s = 1.0
        else:
            cols = np.arange(w.shape[1]) if mode == "per_layer" else np.flatnonzero(cores == cores[j])
            m = max(abs(float(v)) for v in w[:, cols].ravel())
            s = m / qmax if m > 0 else 1.0
            if mode == "exponent" and m > 0:
                s = 2.0 ** math.ceil(math.log2(s))
        for i in range(w.shape[0]):
            x = w[i, j] / s
            r = math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)
            out[i, j] = min(max(r, -qmax), qmax) * s
    return out


def _profile(bits: int, mode: str):
    return load_profile("generic", {"weights.kind": "int", "weights.bits": bits, "weights.scale": mode})


def _layer(seed: int, n_pre: int = 12, n_post: int = 6, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.normal(scale=scale, size=(n_pre, n_post))
    w[rng.random(w.shape) < 0.3] = 0.0
    w[0, 0] = 0.5 * scale  # exact halves exercise the rounding rule
    return w


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bits", WIDTHS)
def test_int_matches_the_reference(bits: int, mode: str) -> None:
    cores = np.array([0, 0, 1, 1, 1, 2])
    for seed, scale in ((0, 1.0), (1, 40.0), (2, 0.01)):
        w = _layer(seed, scale=scale)
        q = quantize_projection("p", sp.csr_matrix(w), _profile(bits, mode), post_core=cores)
        np.testing.assert_allclose(q.effective().toarray(), _reference(w, cores, bits, mode), rtol=1e-12, atol=0)
        qmax = 1 if bits == 1 else 2 ** (bits - 1) - 1
        assert np.abs(q.weights.data).max(initial=0) <= qmax
        assert np.array_equal(q.weights.data, np.round(q.weights.data))


def test_round_half_away_from_zero() -> None:
    levels, scale, _ = quantize_weights(np.array([2.5, -2.5, 0.5, -0.5, 1.5, 7.0]), 4, "none")
    np.testing.assert_array_equal(levels, [3, -3, 1, -1, 2, 7])
    assert (scale == 1).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=40),
    st.sampled_from(["per_layer", "exponent"]),
)
def test_properties_in_bits(values: list[float], mode: str) -> None:
    w = np.array(values)
    prev_bound, prev_zeroed, prev_kept_bits = np.inf, w.size + 1, -1
    for bits in WIDTHS:
        levels, scale, clipped = quantize_weights(w, bits, mode)
        eff = levels * scale
        assert clipped == 0
        assert (eff[w == 0] == 0).all()  # zero is representable and kept
        err = np.abs(eff - w)
        bound = float(scale.max()) / 2
        assert (err <= bound * (1 + 1e-9) + 1e-300).all()
        assert bound <= prev_bound  # the error bound never grows
        zeroed = int(((levels == 0) & (w != 0)).sum())
        assert zeroed <= prev_zeroed  # finer widths drop no more weights
        kept_bits = int((levels != 0).sum()) * bits  # stored-synapse memory
        assert kept_bits >= prev_kept_bits
        prev_bound, prev_zeroed, prev_kept_bits = bound, zeroed, kept_bits


@pytest.mark.parametrize("mode", ["per_layer", "per_core", "exponent"])
def test_error_is_monotone_in_bits_on_random_layers(mode: str) -> None:
    cores = np.repeat(np.arange(4), 8)
    for seed in range(3):
        w = sp.random(64, 32, density=0.3, random_state=seed, data_rvs=np.random.default_rng(seed).standard_normal)
        errs = [
            quantize_projection("p", w, _profile(b, mode), post_core=cores).diagnostics["rel_error_fro"]
            for b in WIDTHS
        ]
        assert all(b <= a + 1e-12 for a, b in zip(errs, errs[1:], strict=False)), errs
        assert errs[-1] < 1e-3


def test_nested_widths_are_exactly_monotone() -> None:
    # the grid of b bits is contained in that of b' when (b - 1) divides (b' - 1)
    rng = np.random.default_rng(3)
    w = rng.standard_t(2, size=500)
    for b, b2 in ((2, 3), (3, 5), (2, 5), (5, 9), (1, 2)):
        e1 = np.abs(np.prod(quantize_weights(w, b, "per_layer")[:2], axis=0) - w)
        e2 = np.abs(np.prod(quantize_weights(w, b2, "per_layer")[:2], axis=0) - w)
        assert (e2 <= e1 + 1e-12).all()
