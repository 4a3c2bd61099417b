"""graded_equivalent: the graded (capped ReLU) network whose activations are the rates of an IF network."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.conv import ConvSpec, PoolSpec
from neurosim.errors import NetworkError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.sim.compile import float_plan
from neurosim.sim.conversion import graded_equivalent, rate_inputs
from neurosim.sim.engine import run_plan
from neurosim.sim.inputs import prepare_inputs
from neurosim.sim.simulate import simulate

T = 200  # time steps of the IF run: every count is a rate up to a multiple of 1 / T


def _activations(net: Network, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every population's graded activation (reference float plan, one step)."""
    prepared = prepare_inputs(net, x, n_steps=1)
    out = run_plan(float_plan(net), lambda t: prepared.split(t, np.ascontiguousarray), prepared.n_inputs, 1)
    return dict(out.final)


def _if_net(reset: str = "subtract") -> Network:
    """8 -> 12 (IF, threshold 2, r 1.5) -> 5 (IF, per-neuron thresholds), non-negative weights and biases.

    Weights and biases are >= 0, so every membrane's charge only grows and an IF
    count after T steps is floor(charge / threshold) (one spike a step at most).
    """
    rng = np.random.default_rng(0)
    w1 = rng.uniform(0.0, 0.3, size=(8, 12))
    w2 = rng.uniform(0.0, 0.3, size=(12, 5))
    pops = (
        Population("x", 8, NeuronModel("input")),
        Population("h", 12, NeuronModel("if", {"threshold": 2.0, "r": 1.5}, reset), rng.uniform(0, 0.1, 12)),
        Population("y", 5, NeuronModel("if", {"threshold": np.array([1.0, 1.5, 2.0, 2.5, 3.0])}, reset),
                   np.full(5, 0.02)),
    )
    return Network(pops, (Projection("x", "h", w1), Projection("h", "y", w2)), name="ifnet")


def test_graded_rates_match_if_spike_counts_within_the_rate_coding_error():
    net = _if_net()
    x = np.random.default_rng(1).uniform(0, 1, size=(30, 8))
    res = simulate(net, x, "reference", n_steps=T)
    graded = graded_equivalent(net)
    assert [p.model.kind for p in graded.network.populations] == ["input", "relu", "relu"]
    np.testing.assert_allclose(graded.gains["h"], 1.5 / 2.0)
    act = _activations(graded.network, x)
    # layer 1 is fed constant currents: its count is floor(T * rate), so within 1 / T
    err_h = np.abs(res.spike_counts["h"] / T - act["h"])
    assert err_h.max() <= 1 / T + 1e-12
    # layer 2 adds its own floor to layer 1's error carried by each weight:
    # within (1 + g_j * sum_i w_ij) / T per neuron j
    g = graded.gains["y"]
    bound = (1 + g * net.projection("h->y").weights.toarray().sum(axis=0)) / T
    err_y = np.abs(res.spike_counts["y"] / T - act["y"])
    assert (err_y <= bound + 1e-12).all(), (err_y.max(), bound.min())
    assert 0.05 < act["y"].mean() < 0.95 and act["y"].max() <= 1.0  # rates, neither silent nor saturated
    # the graded network without the 1/T floors fires more, never less (counts floor)
    assert (act["h"] >= res.spike_counts["h"] / T - 1e-12).all()


def test_reset_zero_is_accepted_and_its_graded_rate_is_an_upper_bound():
    net = _if_net("zero")
    x = np.random.default_rng(2).uniform(0, 1, size=(30, 8))
    res = simulate(net, x, "reference", n_steps=T)
    graded = graded_equivalent(net)
    assert graded.reset_zero == ("h", "y")
    assert graded.network.metadata["graded_equivalent"]["reset_zero"] == ["h", "y"]
    act = _activations(graded.network, x)
    # the charge above the threshold at a spike is lost: the IF neuron fires less
    assert (res.spike_counts["h"] / T <= act["h"] + 1 / T).all()
    assert (res.spike_counts["h"] / T < act["h"] - 2 / T).any()  # and the loss shows
    # fed a constant current, it fires once every ceil(1 / rate) steps (rate: the graded value)
    every = np.ceil(1 / act["h"] - 1e-9)
    assert (np.abs(res.spike_counts["h"] - np.floor(T / every)) <= 1).all()


def test_conv_kernels_are_scaled_per_output_channel_and_pooling_kept():
    rng = np.random.default_rng(3)
    conv = ConvSpec(rng.normal(size=(3, 1, 3, 3)), in_shape=(1, 6, 6), padding=1)
    pool = PoolSpec("avg", 2, in_shape=(3, 6, 6))
    thr = np.repeat([1.0, 2.0, 4.0], 36)  # one threshold per channel
    pops = (
        Population("x", 36, NeuronModel("input"), shape=(1, 6, 6)),
        Population("c", 108, NeuronModel("if", {"threshold": thr}), np.repeat([0.1, 0.2, 0.3], 36), shape=(3, 6, 6)),
        Population("p", 27, NeuronModel("if", {"threshold": 0.5}), shape=(3, 3, 3)),
    )
    net = Network(pops, (Projection("x", "c", spec=conv, name="conv"), Projection("c", "p", spec=pool, name="pool")))
    g = graded_equivalent(net).network
    assert [pr.kind for pr in g.projections] == ["conv", "pool"]
    np.testing.assert_allclose(g.projection("conv").spec.kernel, conv.kernel * np.array([1.0, 0.5, 0.25])[:, None, None, None])
    np.testing.assert_allclose(g.population("c").bias, np.repeat([0.1, 0.1, 0.075], 36))
    assert g.projection("pool").spec.gain == pytest.approx(2.0)
    assert g.projection("conv").n_params == 27  # still the compact kernel


def test_threshold_varying_within_a_channel_is_one_line():
    conv = ConvSpec(np.ones((2, 1, 3, 3)), in_shape=(1, 4, 4), padding=1)
    thr = np.linspace(1.0, 2.0, 32)
    pops = (
        Population("x", 16, NeuronModel("input"), shape=(1, 4, 4)),
        Population("c", 32, NeuronModel("if", {"threshold": thr}), shape=(2, 4, 4)),
    )
    net = Network(pops, (Projection("x", "c", spec=conv, name="conv"),))
    with pytest.raises(NetworkError, match=r"population 'c' has r / threshold varying within a channel") as info:
        graded_equivalent(net)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "model, kind",
    [
        (NeuronModel("lif", {"tau_mem_s": 0.01}), "lif"),
        (NeuronModel("cuba_lif"), "cuba_lif"),
        (NeuronModel("threshold", {"threshold": 0.5}), "threshold"),
    ],
)
def test_leaky_and_stateless_neurons_are_refused_in_one_line(model, kind):
    net = _if_net()
    bad = net.replace(populations=tuple(
        Population(p.name, p.size, model, p.bias) if p.name == "h" else p for p in net.populations
    ))
    with pytest.raises(NetworkError, match=rf"population 'h' is {kind} .*expected if \(reset subtract or zero\), relu or linear") as info:
        graded_equivalent(bad)
    assert "\n" not in str(info.value)


def test_relu_and_linear_populations_are_kept():
    net = Network.from_layers([np.ones((3, 4)), np.ones((4, 2))], [np.zeros(4), np.zeros(2)],
                              [NeuronModel("relu"), NeuronModel("linear")])
    g = graded_equivalent(net)
    assert g.gains == {} and [p.model for p in g.network.populations] == [p.model for p in net.populations]


def test_rate_inputs_average_spike_trains():
    net = _if_net()
    x = np.random.default_rng(4).uniform(0, 1, size=(50, 8))
    np.testing.assert_array_equal(rate_inputs(net, x), x)  # constant currents: their own rate
    rates = rate_inputs(net, x, n_steps=400, encoding="poisson", seed=0)
    assert rates.shape == x.shape and np.abs(rates - x).mean() < 0.05
    trains = (np.random.default_rng(5).random((10, 50, 8)) < 0.3).astype(float)
    np.testing.assert_allclose(rate_inputs(net, trains), trains.mean(axis=0))
