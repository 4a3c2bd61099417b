"""Neuron-level faults, checked exactly on tiny networks."""

from __future__ import annotations

import numpy as np
import pytest
from fault_helpers import inputs, mapped, positive_net

from neurosim.faults.apply import apply_fault
from neurosim.faults.neurons import crash_neurons, dead_cores_mask
from neurosim.faults.spec import FaultSpec
from neurosim.sim.simulate import simulate


@pytest.mark.parametrize("chip", ["generic", "loihi2", "spinnaker2"])
def test_crashed_neuron_row_is_silent_and_only_it(chip):
    m = mapped(positive_net(), chip)
    x = inputs()
    clean = simulate(m, x, "chip")
    dead = {"layer1": np.zeros(12, bool), "layer2": np.zeros(4, bool)}
    dead["layer1"][[2, 7]] = True
    dead["layer2"][1] = True
    res = simulate(crash_neurons(m, dead), x, "chip")
    assert (res.spike_counts["layer1"][:, [2, 7]] == 0).all()
    assert (res.outputs[:, 1] == 0).all()
    alive = np.setdiff1d(np.arange(12), [2, 7])
    assert (res.spike_counts["layer1"][:, alive] == clean.spike_counts["layer1"][:, alive]).all()
    assert (res.outputs[:, [0, 2, 3]] > 0).all()  # positive weights: the others still fire


def test_crash_never_mutates_and_is_seeded():
    m = mapped(positive_net(), "loihi2")
    before = {k: q.weights.toarray().copy() for k, q in m.quantized.items()}
    a = apply_fault(m, FaultSpec("neuron_crash", 0.3), seed=4)
    b = apply_fault(m, FaultSpec("neuron_crash", 0.3), seed=4)
    c = apply_fault(m, FaultSpec("neuron_crash", 0.3), seed=5)
    for k, q in m.quantized.items():
        assert np.array_equal(q.weights.toarray(), before[k])
        assert np.array_equal(a.quantized[k].weights.toarray(), b.quantized[k].weights.toarray())
    assert a.info["faults"] == b.info["faults"] != c.info["faults"]
    assert "faults" not in m.info


def test_rate_one_crashes_everything_rate_zero_nothing():
    m = mapped(positive_net(), "generic")
    x = inputs()
    assert (simulate(apply_fault(m, FaultSpec("neuron_crash", 1.0)), x, "chip").outputs == 0).all()
    same = simulate(apply_fault(m, FaultSpec("neuron_crash", 0.0)), x, "chip").outputs
    assert np.array_equal(same, simulate(m, x, "chip").outputs)


def test_dead_core_silences_exactly_its_neurons():
    m = mapped(positive_net(n_hid=40), "generic", strategy="spread")
    x = inputs()
    hid_cores = np.unique(m.core_of["layer1"])
    assert hid_cores.size == 4
    core = int(hid_cores[1])
    dead = dead_cores_mask(m, [core])
    res = simulate(crash_neurons(m, dead), x, "chip")
    on = m.core_of["layer1"] == core
    silent = (res.spike_counts["layer1"] == 0).all(axis=0)
    assert np.array_equal(silent, on)
    assert not (res.outputs == 0).all(axis=0).any()  # outputs on other cores still fire


def test_dead_core_takes_partial_sum_neurons_and_the_loss_propagates():
    net = positive_net(n_in=12, n_hid=3, n_out=2)
    m = mapped(net, "generic", overrides={"core.max_fan_in": 4})
    from neurosim.mapping.roles import Role

    partial = sorted(m.with_role(Role.PARTIAL_SUM))
    assert partial, "the fan-in split should add partial-sum neurons"
    x = inputs(n_in=12)
    core = int(np.unique(m.core_of[partial[0]])[0])
    faulty = crash_neurons(m, dead_cores_mask(m, [core]))
    rec = faulty.info["faults"][-1]
    assert partial[0] in rec["crashed"] and rec["crashed_by_role"]["partial_sum"] > 0
    before, after = simulate(m, x, "chip").outputs, simulate(faulty, x, "chip").outputs
    assert (after < before).all()  # positive weights: a lost partial sum lowers every output


def test_byzantine_neuron_emits_its_random_bounded_value():
    m = mapped(positive_net(), "generic")
    x = inputs()
    f = apply_fault(m, FaultSpec("byzantine", 0.5, bound=2.0), seed=3)
    res = simulate(f, x, "chip", spike_counts="all")
    pop = f.hw_network.population("layer1")
    bad = f.info["faults"][-1]["byzantine"]["layer1"]
    assert bad > 0
    byz = np.flatnonzero(
        pop.bias != 0
    )  # the clean network has zero bias: these are the Byzantine ones
    assert byz.size == bad
    assert ((pop.bias[byz] >= 0) & (pop.bias[byz] <= 2.0)).all()
    assert f.quantized["input->layer1"].weights.toarray()[:, byz].sum() == 0  # inputs cut
    assert (res.spike_counts["layer1"][:, byz] == 1).all()  # it emits its value for every input


def test_byzantine_graded_value_is_independent_of_the_input():
    from neurosim.faults.neurons import byzantine

    m = mapped(
        positive_net(n_out=3),
        "generic",
    )
    f = byzantine(m, 1.0, np.random.default_rng(0), bound=1.5)
    out = simulate(f, inputs(), "chip").outputs
    assert np.allclose(out, out[0])  # every neuron Byzantine: outputs are constants
    assert (out >= 0).all() and (out <= 1.5 + 1e-6).all()
