import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.io.formats import load_network, save_network
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel


def _net(seed=0):
    rng = np.random.default_rng(seed)
    w1 = sp.random(20, 30, density=0.2, random_state=seed, format="csr")
    w2 = sp.random(30, 10, density=0.3, random_state=seed + 1, format="csr")
    return Network.from_layers(
        [w1, w2],
        biases=[rng.normal(size=30), rng.normal(size=10)],
        model=[NeuronModel("relu", {"cap": 32.0}), NeuronModel("lif", {"tau_mem_s": rng.uniform(0.01, 0.1, 10)})],
        name="two-layer",
        metadata={"seed": seed},
    )


def test_from_layers_defaults():
    net = _net()
    assert net.inputs == ("input",)
    assert net.outputs == ("layer2",)
    assert [pr.name for pr, _ in net.layers()] == ["input->layer1", "layer1->layer2"]
    assert net.is_feedforward


def test_stats():
    w = np.array([[1.0, 0, -1], [0, 1, 1]])
    net = Network.from_layers([w])
    s = net.stats()
    assert (s.n_neurons, s.n_synapses) == (3, 4)
    assert s.density == pytest.approx(4 / 6)
    assert s.fan_in_max == 2 and s.fan_in_min == 1
    assert s.fan_out_max == 2
    assert s.is_ternary and s.n_distinct_weights == 2


def test_recurrent_network_is_representable():
    pops = (Population("in", 4, NeuronModel("input")), Population("exc", 5, NeuronModel("lif")))
    projs = (Projection("in", "exc", np.ones((4, 5))), Projection("exc", "exc", np.eye(5) * 0.5))
    net = Network(pops, projs)
    assert not net.is_feedforward
    assert net.order() == ("in", "exc")


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Network.from_layers([np.ones((3, 2)), np.ones((3, 2))]), "expected 2"),
        (lambda: Network.from_layers([np.array([[np.nan]])]), "NaN"),
        (lambda: NeuronModel("izhikevich"), "unknown kind"),
        (lambda: NeuronModel("lif", {"tau_mem_s": 0.0}), "tau_mem_s"),
        (lambda: Population("p", 3, NeuronModel("relu"), bias=np.ones(4)), "bias"),
        (lambda: Network((Population("a", 2, NeuronModel("input")),), (Projection("a", "b", np.ones((2, 2))),)), "unknown population"),
    ],
)
def test_validation_errors(build, message):
    with pytest.raises(NetworkError, match=message):
        build()


def test_npz_round_trip_is_lossless(tmp_path):
    net = _net(3)
    path = save_network(net, tmp_path / "net.npz")
    back = load_network(path)
    assert back.name == net.name and back.metadata == net.metadata
    assert back.inputs == net.inputs and back.outputs == net.outputs
    for a, b in zip(net.populations, back.populations, strict=True):
        assert a.name == b.name and a.size == b.size and a.model == b.model
        assert np.array_equal(a.bias, b.bias)
    for a, b in zip(net.projections, back.projections, strict=True):
        assert a.name == b.name and (a.weights != b.weights).nnz == 0
        assert np.array_equal(a.weights.data, b.weights.data)


def test_npz_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(NetworkError, match="bad.npz"):
        load_network(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones(3))
    with pytest.raises(NetworkError, match="not a neurosim network"):
        load_network(other)
    with pytest.raises(NetworkError, match="not found"):
        load_network(tmp_path / "missing.npz")
