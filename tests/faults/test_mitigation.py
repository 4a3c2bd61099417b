"""Mitigation: the spread partition and redundant hidden copies."""

from __future__ import annotations

import numpy as np
from fault_helpers import inputs, mapped, positive_net, signed_net

from neurosim.faults.mitigate import replicate_hidden
from neurosim.faults.neurons import crash_neurons, dead_cores_mask
from neurosim.mapping.partition import SPREAD_FACTOR
from neurosim.sim.simulate import simulate


def test_spread_uses_factor_times_the_lower_bound():
    m = mapped(positive_net(n_hid=40, n_out=10), "loihi2", strategy="spread")
    seq = mapped(positive_net(n_hid=40, n_out=10), "loihi2")
    for pop in ("layer1", "layer2"):
        assert np.unique(seq.core_of[pop]).size == 1
        counts = np.unique(m.core_of[pop], return_counts=True)[1]
        n = counts.sum()
        assert counts.size == SPREAD_FACTOR and counts.max() == -(-n // SPREAD_FACTOR)
    assert m.fits


def test_replicated_network_computes_the_same_function():
    net = signed_net(sizes=(8, 16, 12, 5))
    x = np.random.default_rng(0).uniform(0, 1, (10, 8))
    rep = replicate_hidden(net, 3)
    assert [p.size for p in rep.populations] == [8, 48, 36, 5]
    assert np.allclose(simulate(rep, x, "reference").outputs, simulate(net, x, "reference").outputs)


def test_copies_sit_on_other_cores_so_a_dead_core_leaves_every_neuron_a_copy():
    net = positive_net(n_hid=40)
    x = inputs()
    rep = mapped(replicate_hidden(net, 2), "generic", strategy="spread")
    cores = rep.core_of["layer1"]
    assert (cores[:40] != cores[40:]).all()
    core = int(cores[0])
    faulty = crash_neurons(rep, dead_cores_mask(rep, [core]))
    res = simulate(faulty, x, "chip")
    silent = (res.spike_counts["layer1"] == 0).all(axis=0)
    assert silent.any() and not (silent[:40] & silent[40:]).any()
