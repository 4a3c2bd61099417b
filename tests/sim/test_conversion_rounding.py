"""Threshold balancing with the rounding current (convert_to_spiking with steps and rounding)."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.sim.conversion import convert_to_spiking
from neurosim.sim.simulate import simulate


def _net(seed: int = 0) -> tuple[Network, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.random((6, 4))  # positive weights: a constant positive current per output
    return Network.from_layers([w]), rng.random((40, 6))


def test_rounding_zero_is_plain_threshold_balancing():
    net, x = _net()
    plain = convert_to_spiking(net, x, percentile=99.0).network
    same = convert_to_spiking(net, x, steps=16, percentile=99.0, rounding=0.0).network
    for a, b in zip(plain.populations, same.populations, strict=True):
        np.testing.assert_array_equal(a.bias, b.bias)
    assert same.metadata["conversion"]["steps"] == 16


def test_counts_round_instead_of_floor():
    net, x = _net(1)
    steps = 20
    res = convert_to_spiking(net, x, steps=steps, percentile=100.0, rounding=0.5)
    rate = (x @ net.projections[0].weights.toarray()) / res.scales[net.outputs[0]]  # in [0, 1]
    counts = simulate(res.network, x, "reference", n_steps=steps).outputs
    floor = simulate(convert_to_spiking(net, x, percentile=100.0).network, x, "reference", n_steps=steps)
    exact = rate * steps
    keep = np.abs(exact - np.round(exact) - 0.5) > 1e-6  # away from the .5 ties
    np.testing.assert_array_equal(counts[keep], np.floor(exact + 0.5)[keep])
    assert np.abs(counts - exact).max() <= 0.5 + 1e-9 < np.abs(floor.outputs - exact).max()


@pytest.mark.parametrize(
    ("steps", "rounding", "match"), [(0, 0.5, "steps"), (8, 1.0, "rounding"), (None, 0.5, "needs steps")]
)
def test_bad_settings(steps, rounding, match):
    net, x = _net()
    with pytest.raises(SimulationError, match=match):
        convert_to_spiking(net, x, steps=steps, rounding=rounding)
