"""ReLU -> spiking conversion by threshold balancing."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.conversion import accuracy_vs_steps, convert_to_spiking
from neurosim.sim.simulate import simulate


@pytest.fixture(scope="module")
def trained():
    d = load_digits()
    x = d.data / 16.0
    y = d.target
    clf = MLPClassifier((64,), max_iter=300, random_state=0).fit(x[:1200], y[:1200])
    net = Network.from_layers(
        clf.coefs_, clf.intercepts_, [NeuronModel("relu"), NeuronModel("linear")], name="digits-mlp"
    )
    return net, x[1200:1500], y[1200:1500], x[:300]


def test_conversion_accuracy_improves_with_steps(trained) -> None:
    net, x, y, calib = trained
    ann_acc = float(np.mean(np.argmax(simulate(net, x, "reference").outputs, axis=1) == y))
    conv = convert_to_spiking(net, calib, percentile=99.9)
    assert all(p.model.kind in ("input", "if") for p in conv.network.populations)
    acc = accuracy_vs_steps(conv.network, x, y, [4, 64])
    assert acc[64] >= acc[4]
    assert acc[64] >= ann_acc - 0.05, (acc, ann_acc)


def test_conversion_rejects_spiking_networks() -> None:
    net = Network.from_layers([np.eye(2)], model=NeuronModel("lif"))
    with pytest.raises(SimulationError, match="not relu/linear"):
        convert_to_spiking(net, np.ones((2, 2)))
