"""Tiny networks and mappings shared by the fault tests."""

from __future__ import annotations

import numpy as np

from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel


def positive_net(n_in: int = 6, n_hid: int = 12, n_out: int = 4, seed: int = 0) -> Network:
    """A ReLU net with positive weights: every neuron is active on positive inputs."""
    rng = np.random.default_rng(seed)
    return Network.from_layers(
        [rng.uniform(0.1, 1.0, (n_in, n_hid)), rng.uniform(0.1, 1.0, (n_hid, n_out))],
        name="positive",
    )


def signed_net(sizes=(8, 16, 12, 5), seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, 1 / np.sqrt(a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(0, 0.1, b) for b in sizes[1:]]
    return Network.from_layers(ws, bs, model=NeuronModel("relu"), name="signed")


def mapped(net: Network, chip: str, **kw):
    kw.setdefault("placement", "row_major")
    return map_network(net, chip, **kw)


def inputs(n_in: int = 6, n: int = 10, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 1.0, (n, n_in))
