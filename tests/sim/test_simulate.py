"""simulate(): input checks, plain networks, registry."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.backends import BACKENDS, get_backend, register_backend
from neurosim.sim.simulate import simulate


def _net() -> Network:
    return Network.from_layers(
        [np.array([[1.0, -1.0], [0.5, 2.0]])], model=NeuronModel("relu", {"cap": 2.0})
    )


def test_plain_network_reference() -> None:
    res = simulate(_net(), np.array([[1.0, 1.0], [0.0, 2.0]]), "reference")
    np.testing.assert_array_equal(res.outputs, [[1.5, 1.0], [1.0, 2.0]])
    assert res.events == {} and res.n_steps == 1


def test_plain_network_needs_reference() -> None:
    with pytest.raises(SimulationError, match="MappedNetwork"):
        simulate(_net(), np.ones((1, 2)), "chip")


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.full((1, 2), np.nan), np.ones((2, 2, 2, 2))])
def test_bad_inputs(bad) -> None:
    with pytest.raises(SimulationError, match="inputs"):
        simulate(_net(), bad, "reference")


def test_unknown_backend_and_double_registration() -> None:
    with pytest.raises(SimulationError, match="expected one of"):
        get_backend("nope")
    with pytest.raises(SimulationError, match="already registered"):
        register_backend("chip", "x:y", dict(BACKENDS))


def test_encoding_and_raster() -> None:
    net = Network.from_layers([np.eye(3)], model=NeuronModel("if", {"threshold": 0.5}))
    res = simulate(
        net, np.array([[1.0, 0.0, 0.5]]), "reference", n_steps=10, encoding="rate", record=1
    )
    assert res.raster["layer1"].shape == (10, 1, 3)
    assert res.outputs[0, 0] == 10 and res.outputs[0, 1] == 0
