"""Energy model against hand-computed values on tiny mappings.

Generic profile figures: synop 25 pJ, neuron update 50 pJ, spike out 2 pJ,
hop 3.5 pJ, chip hop 100 pJ, static 0 W (all but static are 'estimated').
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.cost.energy import energy_model
from neurosim.errors import SimulationError
from neurosim.hardware.profile import load_profile

EVENTS = {
    "synop": [10, 6],
    "neuron_update": [4, 4],
    "spike_out": [3, 2],
    "packet": [3, 0],
    "hop": [3, 0],
    "chip_hop": [0, 0],
}


def test_dynamic_energy_per_event_core_and_inference(tiny, hw):
    e = energy_model(tiny(load_profile("generic")), hw.sim_result(EVENTS))
    # 16 x 25 + 8 x 50 + 5 x 2 + 3 x 3.5 = 400 + 400 + 10 + 10.5
    assert e.by_event["synop"].energy_pj == pytest.approx(400.0)
    assert e.by_event["neuron_update"].energy_pj == pytest.approx(400.0)
    assert e.by_event["spike_out"].energy_pj == pytest.approx(10.0)
    assert e.by_event["hop"].energy_pj == pytest.approx(10.5)
    assert e.by_event["chip_hop"].energy_pj == 0.0
    assert e.total_pj == pytest.approx(820.5)
    assert e.per_inference_pj == pytest.approx(820.5 / 2)
    # core 0: 250 + 200 + 6 + 10.5; core 1: 150 + 200 + 4
    assert e.per_core_pj.tolist() == pytest.approx([466.5, 354.0])
    assert e.static_pj == 0.0


def test_provenance_of_estimated_figures(tiny, hw):
    e = energy_model(tiny(load_profile("generic")), hw.sim_result(EVENTS))
    assert e.by_event["synop"].provenance == "estimated"
    assert e.by_event["synop"].source == "loihi_micro2018"
    # chip_hop has no events: its estimated figure did not contribute
    assert set(e.estimated) == {
        "energy.synop_pj",
        "energy.neuron_update_pj",
        "energy.spike_out_pj",
        "energy.hop_pj",
    }
    d = e.to_dict()
    assert d["by_event"]["synop"]["provenance"] == "estimated"


def test_unknown_figure_is_unknown_not_zero(tiny, hw):
    p = load_profile("generic", {"energy.hop_pj": None})
    e = energy_model(tiny(p), hw.sim_result(EVENTS))
    assert e.by_event["hop"].energy_pj is None
    assert e.unknown == ("energy.hop_pj",)
    assert e.total_pj is None and e.per_inference_pj is None
    assert e.known_pj == pytest.approx(810.0)
    assert np.isnan(e.per_core_pj[0]) and e.per_core_pj[1] == pytest.approx(354.0)
    assert e.to_dict()["total_pj"] is None


def test_unknown_figure_without_events_is_zero(tiny, hw):
    p = load_profile("generic", {"energy.chip_hop_pj": None})
    e = energy_model(tiny(p), hw.sim_result(EVENTS))
    assert e.by_event["chip_hop"].energy_pj == 0.0
    assert e.total_pj == pytest.approx(820.5)


def test_static_power_times_run_time_times_chips(tiny, hw):
    p = load_profile("generic", {"energy.static_power_w": 0.5})
    # 2 inputs x 1 ms on 1 chip at 0.5 W = 1 mJ = 1e9 pJ
    e = energy_model(tiny(p), hw.sim_result(EVENTS), run_time_s=2e-3)
    assert e.static_pj == pytest.approx(1e9)
    assert e.total_pj == pytest.approx(1e9 + 820.5)
    assert e.by_event["static"].provenance == "override"
    # two chips draw twice the static power
    e2 = energy_model(tiny(p, chips=[0, 1]), hw.sim_result(EVENTS), run_time_s=2e-3)
    assert e2.n_chips == 2 and e2.static_pj == pytest.approx(2e9)
    # no run time: static energy is unknown, and so is the total
    e3 = energy_model(tiny(p), hw.sim_result(EVENTS))
    assert e3.static_pj is None and e3.total_pj is None
    assert "energy.static_power_w" in e3.unknown


def test_split_overhead_and_layers(hw):
    source, hwnet = hw.split_network()
    p = load_profile("generic", {"energy.synop_pj": 10.0, "energy.neuron_update_pj": 1.0})
    mapped = hw.build_mapped(
        p,
        hwnet,
        {"input": [-1] * 3, "layer1.partial0": [0], "layer1.partial1": [1], "layer1": [2]},
        [(0, 0), (1, 0), (2, 0)],
        source=source,
        served=hw.split_served,
        roles=hw.split_roles,
    )
    events = {"synop": [2, 1, 2], "neuron_update": [1, 1, 1]}
    e = energy_model(mapped, hw.sim_result(events, n_inputs=1))
    # partial sums: (2 + 1) x 10 + 2 x 1 = 32 pJ; layer1 itself: 2 x 10 + 1 = 21 pJ
    assert e.split_pj == pytest.approx(32.0)
    assert e.relay_pj == 0.0
    assert e.attribution == "exact"
    (row,) = e.by_layer
    assert row == {
        "layer": "layer1",
        "neuron_pj": 21.0,
        "split_pj": 32.0,
        "relay_pj": 0.0,
        "total_pj": 53.0,
    }


def test_shared_core_is_apportioned(hw):
    source, hwnet = hw.split_network()
    p = load_profile("generic", {"energy.synop_pj": 10.0, "energy.neuron_update_pj": 1.0})
    # both partial sums and layer1 on one core: 4 synapses (3 split, 1 ... ) share it
    mapped = hw.build_mapped(
        p,
        hwnet,
        {"input": [-1] * 3, "layer1.partial0": [0], "layer1.partial1": [0], "layer1": [0]},
        [(0, 0)],
        source=source,
        served=hw.split_served,
        roles=hw.split_roles,
    )
    e = energy_model(mapped, hw.sim_result({"synop": [5], "neuron_update": [3]}, n_inputs=1))
    assert e.attribution == "apportioned"
    # synapses on the core: 3 into partial sums, 2 into layer1 -> synops 3/5 and 2/5;
    # neurons: 2 partial of 3 -> updates 2/3 and 1/3
    assert e.split_pj == pytest.approx(50 * 3 / 5 + 3 * 2 / 3)
    assert e.by_layer[0]["neuron_pj"] == pytest.approx(50 * 2 / 5 + 3 * 1 / 3)
    assert e.total_pj == pytest.approx(53.0)


def test_sparse_crossbar_slots_profiles_same_events(tiny, hw):
    """Energy depends on the events and figures, not on the synapse encoding."""
    for enc in ("crossbar", "per_neuron_slots", "sparse"):
        p = load_profile("generic", {"core.synapse_encoding": enc, "energy.synop_pj": 1.0})
        e = energy_model(tiny(p), hw.sim_result(EVENTS))
        assert e.by_event["synop"].energy_pj == 16.0


def test_result_without_events_is_refused(tiny, hw):
    with pytest.raises(SimulationError, match="no event counts"):
        energy_model(tiny(load_profile("generic")), hw.sim_result({}))
    with pytest.raises(SimulationError, match="expected \\(2,\\)"):
        energy_model(tiny(load_profile("generic")), hw.sim_result({"synop": [1, 2, 3]}))


# ------------------------------------------------- shipped profiles, by hand
# EVENTS: 16 synops, 8 neuron updates, 5 spikes out, 3 hops, no chip crossing
@pytest.mark.parametrize(
    ("chip", "dynamic_pj", "synop_provenance"),
    [
        (
            "truenorth",
            16 * 26.0,
            "measured",
        ),  # 26 pJ per synaptic event; other events 0 pJ (folded in)
        # SANA-FE's figures: synop, access + active update per neuron, spike, packet, hop
        ("loihi", 16 * 33.6 + 8 * (51.2 + 21.6) + 5 * 69.3 + 3 * 111.0 + 3 * 1.8, "simulated"),
        ("dynapse2", 16 * 30.0 + 5 * 900.0 + 3 * 400.0, "estimated"),
        ("tianjic", 16 * 3.0 + 8 * 5.0 + 5 * 3.0 + 3 * 4.0, "estimated"),
    ],
)
def test_shipped_profiles(tiny, hw, chip, dynamic_pj, synop_provenance):
    e = energy_model(tiny(load_profile(chip)), hw.sim_result(EVENTS), run_time_s=2e-6)
    assert e.dynamic_pj == pytest.approx(dynamic_pj)
    assert e.by_event["synop"].provenance == synop_provenance
    static_w = load_profile(chip).get("energy.static_power_w")
    # static: power x 1 chip x 2 us, in pJ
    assert e.static_pj == pytest.approx(static_w * 2e-6 * 1e12)
    assert e.total_pj == pytest.approx(dynamic_pj + static_w * 2e-6 * 1e12)


# ------------------------------------------------------------------ properties
_counts = st.lists(st.integers(0, 10**6), min_size=2, max_size=2)


# ``tiny`` and ``hw`` are stateless factories, safe to share between examples
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(synop=_counts, upd=_counts, spk=_counts, hop=_counts, k=st.integers(1, 7))
def test_energy_is_linear_in_the_counts(tiny, hw, synop, upd, spk, hop, k):
    profile = load_profile("loihi")
    mapped = tiny(profile)
    events = {"synop": synop, "neuron_update": upd, "spike_out": spk, "hop": hop}
    e = energy_model(mapped, hw.sim_result(events))
    expected = sum(sum(v) * profile.get(f"energy.{kind}_pj") for kind, v in events.items())
    expected += sum(upd) * profile.get("energy.neuron_active_pj")  # every neuron taken as active
    assert e.dynamic_pj == pytest.approx(expected)
    assert float(np.sum(e.per_core_pj)) == pytest.approx(expected)
    scaled = energy_model(
        mapped, hw.sim_result({kind: [k * c for c in v] for kind, v in events.items()})
    )
    assert scaled.dynamic_pj == pytest.approx(k * expected)


# ------------------------------------------- messages, host inputs, unmodelled costs
def _with_spikes(hw, events, spikes, host=0):
    res = hw.sim_result(events)
    counts = {k: np.asarray(v, dtype=np.int64)[None, :] for k, v in spikes.items()}
    return type(res)(**{**res.__dict__, "spike_counts": counts, "info": {"host_packets": host}})


def test_packets_local_messages_and_host_inputs_from_spikes(hw):
    """A recurrent layer on one core: its spikes to its own core are messages too."""
    import scipy.sparse as sp

    from neurosim.network import Network, Population, Projection
    from neurosim.neurons import NeuronModel

    lif = NeuronModel("if")
    net = Network(
        [
            Population("input", 2, NeuronModel("input")),
            Population("a", 2, lif),
            Population("b", 1, lif),
        ],
        [
            Projection("input", "a", sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 1.0]])), name="ia"),
            Projection("a", "a", sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]])), name="aa"),
            Projection("a", "b", sp.csr_matrix(np.array([[1.0], [1.0]])), name="ab"),
        ],
        ("input",),
        ("b",),
    )
    p = load_profile("generic", {"energy.packet_pj": 10.0, "energy.host_packet_pj": 7.0})
    mapped = hw.build_mapped(p, net, {"input": [-1, -1], "a": [0, 0], "b": [1]}, [(0, 0), (1, 0)])
    # spikes: input 3 and 4, a 5 and 2, b 1
    # messages: a0 -> core 0 (own, via aa) and core 1: 5 + 5; a1 -> core 1: 2; b: none
    # host: input0 -> core 0 (3), input1 -> core 0 (4) = 7 messages
    events = {"synop": [0, 0], "neuron_update": [0, 0], "spike_out": [7, 1], "packet": [7, 0]}
    res = _with_spikes(hw, events, {"input": [3, 4], "a": [5, 2], "b": [1]}, host=7)
    e = energy_model(mapped, res)
    assert e.counts["packet"].tolist() == [12, 0]  # 7 to other cores + 5 to its own
    assert e.by_event["packet"].energy_pj == pytest.approx(12 * 10.0)
    assert e.counts["host_packet"].tolist() == [7, 0]
    assert e.by_event["host_packet"].energy_pj == pytest.approx(7 * 7.0)
    # host inputs enter from outside the mesh: on no core
    assert float(np.sum(e.per_core_pj)) == pytest.approx(e.dynamic_pj - 49.0)


def test_every_unmodelled_cost_gets_a_report_line(tiny, hw):
    e = energy_model(tiny(load_profile("generic")), hw.sim_result(EVENTS))
    # generic states no figure for an active neuron (8 updates) nor for a packet (3)
    assert e.unmodelled == ("energy.neuron_active_pj", "energy.packet_pj")
    assert any("packet (energy.packet_pj), 3 events" in n for n in e.notes)
    assert e.by_event["packet"].energy_pj == 0.0 and e.total_pj is not None
    assert "energy.packet_pj" in e.to_dict()["unmodelled"]
    # with the figure stated, no line
    stated = load_profile("generic", {"energy.packet_pj": 5.0})
    e2 = energy_model(tiny(stated), hw.sim_result(EVENTS))
    assert e2.unmodelled == ("energy.neuron_active_pj",)
    assert e2.by_event["packet"].energy_pj == pytest.approx(15.0)


def test_backend_count_of_active_neurons_is_used(tiny, hw):
    p = load_profile("generic", {"energy.neuron_active_pj": 10.0})
    all_active = energy_model(tiny(p), hw.sim_result(EVENTS))
    assert all_active.by_event["neuron_active"].count == 8  # every update counted active
    some = energy_model(tiny(p), hw.sim_result({**EVENTS, "neuron_active": [1, 2]}))
    assert some.by_event["neuron_active"].energy_pj == pytest.approx(30.0)
