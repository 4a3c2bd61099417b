"""Training on a fixed a-priori sparse topology (method fixed_topology)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.errors import TrainingError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.topology import generate
from neurosim.train import TRAINING_METHODS, network_accuracy, train_network
from neurosim.train.fixed_topology import train_fixed_topology


@pytest.fixture(scope="module")
def digits():
    from neurosim.io.datasets import load_dataset

    return load_dataset("digits", split="train"), load_dataset("digits", split="test")


def _patterns(net: Network) -> list[np.ndarray]:
    return [(proj.weights.toarray() != 0) for proj, _ in net.layers()]


@pytest.mark.parametrize(
    "topology, params", [("butterfly", {"radix": 8}), ("random", {"fan_in": 8})]
)
def test_keeps_the_exact_sparsity_pattern_and_learns(digits, topology, params):
    tr, te = digits
    init = generate("neurofabric", seed=3, topology=topology, width=64, depth=3, **params)
    before = [(proj.weights.toarray(), proj.weights.toarray() != 0) for proj, _ in init.layers()]
    r = train_network("fixed_topology", tr, seed=0, init=init, epochs=8)
    after = _patterns(r.network)
    assert len(after) == 4  # three topology layers and the dense readout
    for (w0, m0), m1, (proj, _) in zip(before, after, r.network.layers(), strict=False):
        np.testing.assert_array_equal(m1, m0)  # same synapses, no more, no fewer
        assert not np.allclose(proj.weights.toarray(), w0)  # and they were trained
    assert after[-1].shape == (64, 10) and after[-1].all()
    assert r.info["topology_layers"] == 3 and r.info["readout"] == "dense"
    assert r.n_connections == sum(int(m.sum()) for _, m in before) + 640
    assert network_accuracy(r.network, te.x, te.y) > 0.85
    # the input network is not modified
    for (w0, _), (proj, _) in zip(before, init.layers(), strict=True):
        np.testing.assert_array_equal(proj.weights.toarray(), w0)


def test_weight_trained_to_zero_keeps_its_synapse():
    # input 1 is always 0, so the kept weight 1 -> 1 gets no gradient and stays at its
    # float32 value 0 (1e-300 underflows): the synapse must survive as a nonzero weight
    w = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1e-300]]))
    init = Network.from_layers([w], None, NeuronModel("linear"))
    x = np.array([[1.0, 0.0], [2.0, 0.0]] * 8)
    y = np.array([0, 1] * 8)
    r = train_fixed_topology(x, y, init=init, epochs=1, optimizer="sgd", val_fraction=0)
    np.testing.assert_array_equal(_patterns(r.network)[0], [[True, False], [False, True]])
    assert r.info["readout"] == "none"


def test_sgd_and_no_readout_when_outputs_match_classes(digits):
    tr, _ = digits
    w = generate("neurofabric", seed=0, topology="random_fixed", width=64, depth=1, fan_in=4)
    m = list(w.layers())[0][0].weights[:, :10]  # 64 -> 10, fan-in 4
    init = Network.from_layers([m], None, NeuronModel("relu"))
    r = train_fixed_topology(tr.x, tr.y, init=init, optimizer="sgd", lr=0.05, epochs=2)
    assert r.info["readout"] == "none" and r.info["topology_layers"] == 1
    np.testing.assert_array_equal(_patterns(r.network)[0], m.toarray() != 0)
    assert r.info["max_fan_in"] == 4


def test_errors_are_one_line(digits):
    tr, _ = digits
    with pytest.raises(TrainingError, match="needs init") as exc:
        train_network("fixed_topology", tr, seed=0)
    assert "\n" not in str(exc.value)
    init = generate("neurofabric", seed=0, topology="butterfly", width=16, depth=2, radix=4)
    with pytest.raises(
        TrainingError, match="16 inputs; the data has 64 features"
    ) as exc:  # 64 pixels, 16 input neurons
        train_fixed_topology(tr.x, tr.y, init=init, epochs=1)
    assert "\n" not in str(exc.value)
    init64 = generate("neurofabric", seed=0, topology="butterfly", width=64, depth=2, radix=8)
    with pytest.raises(TrainingError, match="readout"):
        train_fixed_topology(tr.x, tr.y, init=init64, readout="none", epochs=1)
    with pytest.raises(TrainingError, match="readout"):
        train_fixed_topology(tr.x, tr.y, init=init64, readout="linear", epochs=1)


def test_registered_and_hidden_is_not_an_option():
    assert "fixed_topology" in TRAINING_METHODS
    from neurosim.train import method_options

    opts = method_options("fixed_topology")
    assert "init" in opts and "readout" in opts and "hidden" not in opts
