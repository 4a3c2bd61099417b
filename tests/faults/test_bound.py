"""The El Mhamdi et al. bound never falls below the measured error where its assumptions hold."""

from __future__ import annotations

import numpy as np
import pytest
from fault_helpers import signed_net

from neurosim.errors import FaultError
from neurosim.faults.bound import check_assumptions, crash_bound, fail_network, measured_error
from neurosim.sim.conversion import convert_to_spiking


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["neuron_crash", "synapse_stuck_zero"])
def test_measured_error_never_exceeds_the_bound(seed, kind):
    net = signed_net(sizes=(10, 24, 16, 6), seed=seed)
    x = np.random.default_rng(seed).uniform(0, 1, (40, 10))
    for rate in (0.01, 0.05, 0.2, 0.5):
        b = crash_bound(net, x, kind, rate)
        m = measured_error(net, x, kind, rate, trials=8, seed=seed)
        assert m.mean() <= b.bound <= b.paper_bound
        assert sum(b.per_layer.values()) == pytest.approx(b.bound)


def test_bound_is_linear_in_rate_and_grows_with_depth_of_failing_layer():
    net = signed_net(sizes=(10, 24, 16, 6))
    x = np.random.default_rng(0).uniform(0, 1, (20, 10))
    b1, b2 = crash_bound(net, x, "neuron_crash", 0.1), crash_bound(net, x, "neuron_crash", 0.2)
    assert b2.bound == pytest.approx(2 * b1.bound)


def test_fail_network_crashes_the_drawn_neurons_only():
    net = signed_net()
    f = fail_network(net, "neuron_crash", 1.0, 0)
    assert all(pr.weights.nnz == 0 for pr in f.projections)
    assert (
        fail_network(net, "neuron_crash", 0.0, 0).projections[0].weights.nnz
        == net.projections[0].weights.nnz
    )


def test_assumptions_refuse_spiking_networks():
    net = signed_net()
    conv = convert_to_spiking(net, np.random.default_rng(0).uniform(0, 1, (16, 8)))
    with pytest.raises(FaultError, match="expected graded Lipschitz"):
        check_assumptions(conv.network)
