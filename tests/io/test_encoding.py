"""Tests of neurosim.io.encoding: rate, Poisson and threshold spike trains."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import DataError
from neurosim.io.encoding import ENCODINGS, encode, encoding_names, iter_spikes


def _values(seed: int = 0, shape=(7, 5)) -> np.ndarray:
    v = np.random.default_rng(seed).random(shape)
    v[0, :3] = [0.0, 1.0, 0.5]
    return v


def test_registry():
    assert encoding_names() == ("rate", "poisson", "threshold")
    assert set(ENCODINGS) == set(encoding_names())


@pytest.mark.parametrize("name", ["rate", "poisson", "threshold"])
def test_shape_dtype_and_iter_equals_encode(name):
    v = _values()
    s = encode(name, v, 20, seed=3)
    assert s.shape == (20, 7, 5) and s.dtype == bool
    steps = list(iter_spikes(name, v, 20, seed=3))
    assert len(steps) == 20
    np.testing.assert_array_equal(np.stack(steps), s)


def test_rate_counts_and_spacing():
    v = np.array([[0.0, 0.25, 0.5, 1.0, 0.3]])
    s = encode("rate", v, 40)
    np.testing.assert_array_equal(s.sum(axis=0)[0], [0, 10, 20, 40, 12])
    # evenly spaced: v = 0.25 spikes every 4th step
    assert np.flatnonzero(s[:, 0, 1]).tolist() == list(range(3, 40, 4))
    # deterministic: the seed does not matter
    np.testing.assert_array_equal(encode("rate", v, 40, seed=1), s)


def test_poisson_seeded_and_rate_matches():
    v = np.full((50, 40), 0.3)
    a = encode("poisson", v, 100, seed=7)
    np.testing.assert_array_equal(a, encode("poisson", v, 100, seed=7))
    assert not np.array_equal(a, encode("poisson", v, 100, seed=8))
    assert abs(a.mean() - 0.3) < 0.01  # 200,000 draws: std 0.001
    ends = encode("poisson", np.array([[0.0, 1.0]]), 50, seed=0)
    assert not ends[:, 0, 0].any() and ends[:, 0, 1].all()


def test_threshold():
    v = np.array([[0.2, 0.5, 0.51, 1.0]])
    s = encode("threshold", v, 3)
    assert s[:, 0].tolist() == [[False, False, True, True]] * 3
    s2 = encode("threshold", v, 2, threshold=0.1)
    assert s2.all()


def test_callable_encoding():
    def every_other(values, n_steps, *, seed=0):
        for t in range(n_steps):
            yield np.full(values.shape, t % 2 == 0)

    s = encode(every_other, np.zeros((2, 2)), 4)
    assert s[:, 0, 0].tolist() == [True, False, True, False]

    def short(values, n_steps, *, seed=0):
        yield np.zeros(values.shape, bool)

    with pytest.raises(DataError, match="gave 1 steps; expected 3"):
        encode(short, np.zeros((1, 1)), 3)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("rate", [[1.5]], 3), {}, r"\[0, 1\]"),
        (("rate", [[np.nan]], 3), {}, r"\[0, 1\]"),
        (("rate", [0.5, 0.5], 3), {}, "expected \\(n_inputs, n_in\\)"),
        (("rate", [["a"]], 3), {}, "dtype"),
        (("rate", [[0.5]], 0), {}, "n_steps"),
        (("rate", [[0.5]], 2.5), {}, "n_steps"),
        (("morse", [[0.5]], 3), {}, "unknown encoding"),
        (("rate", [[0.5]], 3), {"gain": 2}, "bad parameters"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(DataError, match=match):
        encode(*args, **kwargs)
