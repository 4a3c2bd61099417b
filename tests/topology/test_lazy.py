"""LazyLayeredNetwork: layers on demand, like Network.layers()."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.topology.lazy import LazyLayeredNetwork


def test_layers_are_built_on_demand_and_match_to_network():
    calls = []

    def weight_fn(k):
        calls.append(k)
        return np.eye(4) * k

    lazy = LazyLayeredNetwork(
        (4, 4, 4, 4), weight_fn, lambda k: -0.1 * k, NeuronModel("relu"), name="x"
    )
    assert calls == [] and lazy.n_layers == 3 and lazy.n_neurons == 12
    it = lazy.layers()
    proj, pop = next(it)
    assert calls == [1] and proj.pre == "input" and pop.name == "layer1"
    net = lazy.to_network()
    assert isinstance(net, Network)
    ref = Network.from_layers(
        [np.eye(4) * k for k in (1, 2, 3)], [-0.1, -0.2, -0.3], NeuronModel("relu")
    )
    for (a, pa), (b, pb) in zip(net.layers(), ref.layers(), strict=False):
        assert (a.weights != b.weights).nnz == 0 and np.allclose(pa.bias, pb.bias)
    assert lazy.head(2).n_layers == 2


def test_bad_shapes_and_layers():
    lazy = LazyLayeredNetwork((4, 3), lambda k: np.eye(4), lambda k: 0.0, NeuronModel("relu"))
    with pytest.raises(NetworkError, match="expected \\(4, 3\\)"):
        lazy.weights(1)
    with pytest.raises(NetworkError, match="no layer 2"):
        lazy.weights(2)
    with pytest.raises(NetworkError):
        LazyLayeredNetwork((4,), lambda k: None, lambda k: 0.0, NeuronModel("relu"))
