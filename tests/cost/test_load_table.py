"""One load table: the rules, the memory and energy models and the plot agree on every core.

Every shipped profile maps a network that needs partial sums and relays; the
per-core counts the design rules checked (``MappedNetwork.cores``), the memory
report, the energy and latency models and the mapping plot must all be those of
:func:`neurosim.mapping.loads.core_loads`, core by core, empty cores included.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.cost.energy import ENERGY_FIGURES, energy_model
from neurosim.cost.energy import OPTIONAL as ENERGY_OPTIONAL
from neurosim.cost.latency import LATENCY_FIGURES, latency_model
from neurosim.cost.latency import OPTIONAL as LATENCY_OPTIONAL
from neurosim.cost.memory import memory_model
from neurosim.errors import ProfileError, SimulationError
from neurosim.hardware.profile import load_profile, profile_names
from neurosim.mapping.loads import core_loads, with_events
from neurosim.mapping.mapper import map_network
from neurosim.mapping.usage import used_resources
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.plots.mapping import core_utilization
from neurosim.sim.simulate import simulate

#: small cores so that the network needs fan-in splits and relays
SMALL = {
    "core.max_neurons": 8,
    "core.max_axons": 24,
    "core.max_fan_in": 16,
    "core.split_fan_in": True,
    "core.relay_fan_out": True,
    "core.max_target_cores": 2,
}


def _network() -> Network:
    rng = np.random.default_rng(5)
    w1 = rng.normal(size=(40, 24)) * (rng.random((40, 24)) < 0.6)
    w2 = rng.normal(size=(24, 10)) * (rng.random((24, 10)) < 0.8)
    return Network.from_layers([w1, w2], model=NeuronModel("relu"), name="loads")


def _mapped(chip: str):
    profile = load_profile(chip)
    overrides = dict(SMALL)
    if profile.get("core.fan_out") == "one_axon":
        overrides.pop("core.max_target_cores")
    try:
        profile = load_profile(chip, overrides)
    except ProfileError:  # a chip that cannot take these overrides maps as shipped
        pass
    return map_network(_network(), profile, placement="row_major")


@pytest.mark.parametrize("chip", profile_names())
def test_rules_memory_energy_and_plot_read_one_load_table(chip):
    mapped = _mapped(chip)
    load = core_loads(mapped)
    assert load.n_cores == mapped.n_cores_used
    used = used_resources(load, mapped.profile)
    # rules: every resource the mapper checked is the load table's count
    for core in mapped.cores:
        for name, (value, _cap) in core.resources.items():
            if name in used:
                assert value == used[name][core.core], (chip, core.core, name)
    # memory report
    mem = memory_model(mapped, load).to_dict()["per_core"]
    assert [r["neurons"] for r in mem] == load.neurons.tolist()
    assert [r["axons"] for r in mem] == load.axons.tolist()
    assert [r["synapses"] for r in mem] == load.synapses.tolist()
    assert [r["state_bits"] for r in mem] == load.state_bits.tolist()
    assert [r["table_bits"] for r in mem] == load.table_bits.tolist()
    # plot: utilization drawn from the same counts
    for name, (values, _cap) in core_utilization(mapped).items():
        assert values.tolist() == used[name].astype(float).tolist(), (chip, name)
    # energy: per-core energy is the load table's events times the profile's figures
    result = simulate(mapped, np.random.default_rng(0).random((2, 40)), "chip")
    energy = energy_model(mapped, result, load=load)
    events = with_events(load, result).events
    expect = np.zeros(load.n_cores)
    for kind, field in ENERGY_FIGURES.items():
        if kind == "host_packet":  # input spikes from the host are charged to no core
            continue
        figure = mapped.profile.get(field)
        counts = energy.counts[kind]
        if kind in events:  # the event kinds are the load table's (packets: plus own-core messages)
            assert (counts >= events[kind]).all() and (
                kind == "packet" or (counts == events[kind]).all()
            )
        unset = 0.0 if field in ENERGY_OPTIONAL else np.nan
        expect = expect + (
            counts * figure if figure is not None else np.where(counts > 0, unset, 0)
        )
    np.testing.assert_allclose(energy.per_core_pj, expect, equal_nan=True)
    # latency: each core's busy time per step (sending + receiving) is its events times the figures
    latency = latency_model(mapped, result, load=load)
    busy = np.zeros(load.n_cores)
    for kind, field in LATENCY_FIGURES.items():
        figure = mapped.profile.get(field)
        counts = latency.counts[kind]
        if kind in events and kind != "packet":
            np.testing.assert_array_equal(counts, events[kind])
        unset = 0.0 if field in LATENCY_OPTIONAL else np.nan
        busy = busy + (
            counts * figure * 1e-9 if figure is not None else np.where(counts > 0, unset, 0)
        )
    per_step = busy / (result.n_inputs * result.n_steps)
    np.testing.assert_allclose(latency.per_core_step_s, per_step, equal_nan=True)
    # every core's events are attributed to the groups of the load table in full
    if load.single_group_cores():
        assert energy.attribution == "exact"


def test_empty_cores_count_zero_everywhere():
    mapped = _mapped("generic")
    load = core_loads(mapped)
    assert (load.neurons > 0).all()  # the mapper numbers only used cores
    # a table over more cores than used: the extra cores are zero in every column
    from neurosim.mapping.loads import count_loads

    wide = count_loads(
        mapped.hw_network, mapped.core_of, load.n_cores + 3, mapped.profile, mapped.quantized
    )
    for name in ("neurons", "axons", "synapses", "synapse_bits", "state_bits", "fan_out_max"):
        column = getattr(wide, name)
        assert column.shape == (load.n_cores + 3,)
        assert column[: load.n_cores].tolist() == getattr(load, name).tolist()
        assert not column[load.n_cores :].any()


def test_events_must_be_one_count_per_core():
    mapped = _mapped("generic")
    result = simulate(mapped, np.zeros((1, 40)), "chip")
    bad = type(result)(**{**result.__dict__, "events": {"synop": np.zeros(1)}})
    with pytest.raises(SimulationError, match="one count per core"):
        with_events(core_loads(mapped), bad)
