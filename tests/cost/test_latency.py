"""Latency model against hand-computed values on tiny mappings.

Generic profile latencies: synop 1 ns, neuron update 2 ns, spike out 1 ns,
hop 5 ns, chip hop 100 ns; fixed time step 1 ms; no packet, message-in,
active-neuron or barrier figure (those stages are not modelled).

The tiny mapping: host -> layer1 on core 0 at (0, 0) -> layer2 on core 1 at
(1, 0). Per step, core ``c`` sends for ``G[c]`` (neurons, spikes, packets) and
receives for ``R[c]`` (messages in, synaptic events); core 1 finishes at
``max(first + R1, last + R1 / messages)`` where ``last = G0 + route`` and
``first = G0 / packets0 + route`` (docs/energy.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.cost.latency import energy_delay_product, latency_model
from neurosim.hardware.profile import load_profile

EVENTS = {
    "synop": [10, 6],
    "neuron_update": [4, 4],
    "spike_out": [3, 2],
    "packet": [3, 0],
    "hop": [3, 0],
}
ASYNC = {"chip.timestep_s": None}


def test_busiest_core_and_route_bound_the_step(tiny, hw):
    lat = latency_model(tiny(load_profile("generic", ASYNC)), hw.sim_result(EVENTS))
    # per input (2 inputs, 1 step): core 0 = (10 x 1 + 4 x 2 + 3 x 1) / 2 = 10.5 ns; core 1 = (6 + 8 + 2) / 2 = 8 ns
    assert lat.per_core_step_s.tolist() == pytest.approx([10.5e-9, 8e-9])
    assert lat.busiest_core == 0
    # one hop from core 0 at (0, 0) to core 1 at (1, 0): 5 ns
    assert lat.max_hops == 1 and lat.route_s == pytest.approx(5e-9)
    # sending: G0 = (4 x 2 + 3 x 1) / 2 = 5.5 ns, G1 = 5 ns; receiving: R0 = 5, R1 = 3 ns.
    # core 1's last message arrives at G0 + 5 = 10.5 ns; message count unknown (no
    # spike counts), so all of R1 follows it: 13.5 ns (first arrival 5.5 / 1.5 + 5 + 3 = 11.7)
    assert lat.step_s == pytest.approx(13.5e-9)
    assert lat.time_per_inference_s == pytest.approx(13.5e-9)
    assert lat.inferences_per_s == pytest.approx(1 / 13.5e-9)
    assert lat.bound == "compute"
    assert lat.unmodelled == (
        "latency.neuron_active_ns",
        "latency.packet_ns",
        "latency.barrier_ns",
    )
    assert set(lat.estimated) == {
        "latency.synop_ns",
        "latency.neuron_update_ns",
        "latency.spike_out_ns",
        "latency.hop_ns",
    }


def test_fixed_timestep_is_a_floor(tiny, hw):
    lat = latency_model(tiny(load_profile("generic")), hw.sim_result(EVENTS, n_steps=4))
    # 15.5 ns of work per step (averaged over 4 steps: 10.5 / 4 + 5 ns) is far below the 1 ms tick
    assert lat.bound == "timestep"
    assert lat.time_per_inference_s == pytest.approx(4e-3)
    assert lat.inferences_per_s == pytest.approx(250.0)
    # a slow core beats the tick: 1e6 + 5 synops per input at 1 ns on host-fed core 0
    slow = {"synop": [2_000_010, 0], "neuron_update": [0, 0]}
    lat2 = latency_model(tiny(load_profile("generic")), hw.sim_result(slow))
    assert lat2.bound == "compute"
    assert lat2.time_per_inference_s == pytest.approx(1e-3 + 5e-9)


def test_per_step_counts_bound_each_step(tiny, hw):
    p = load_profile("generic", ASYNC)
    # 2 steps, 1 input: step 0 only core 0 works (20 synops), step 1 only core 1 (40 synops)
    per_step = {"synop": [[20, 0], [0, 40]]}
    res = hw.sim_result({"synop": [20, 40]}, n_inputs=1, n_steps=2, per_step=per_step)
    lat = latency_model(tiny(p), res)
    # step 0: core 0 (host-fed) 20 ns; step 1: core 1 after the 5 ns route, 40 ns: 20 + 45
    assert lat.per_step_counts
    assert lat.time_per_inference_s == pytest.approx(65e-9)
    # averaged: core 0 10 ns, core 1 5 + 20 ns: 2 x 25 ns
    without = latency_model(tiny(p), hw.sim_result({"synop": [20, 40]}, n_inputs=1, n_steps=2))
    assert without.time_per_inference_s == pytest.approx(2 * 25e-9)


def test_chip_crossing_adds_chip_hop(tiny, hw):
    p = load_profile("generic", ASYNC)
    lat = latency_model(tiny(p, chips=[0, 1]), hw.sim_result(EVENTS))
    assert lat.crosses_chips
    assert lat.route_s == pytest.approx(5e-9 + 100e-9)
    assert lat.step_s == pytest.approx(5.5e-9 + 105e-9 + 3e-9)


def test_unknown_latency_is_unknown(tiny, hw):
    p = load_profile("generic", {**ASYNC, "latency.synop_ns": None})
    lat = latency_model(tiny(p), hw.sim_result(EVENTS))
    assert lat.time_per_inference_s is None and lat.inferences_per_s is None
    assert lat.unknown == ("latency.synop_ns",)
    assert lat.bound == "unknown"
    assert all(np.isnan(lat.per_core_step_s))
    # unknown hop latency only matters when cores exchange spikes
    q = load_profile("generic", {**ASYNC, "latency.hop_ns": None})
    lat2 = latency_model(tiny(q), hw.sim_result(EVENTS))
    assert lat2.time_per_inference_s is None and lat2.unknown == ("latency.hop_ns",)


def test_profiles_of_three_encodings_time_the_same_events(tiny, hw):
    """Latency depends on events and figures, not on how synapses are stored."""
    for enc in ("crossbar", "sparse", "per_neuron_slots"):
        p = load_profile(
            "generic", {**ASYNC, "core.synapse_encoding": enc, "latency.synop_ns": 2.0}
        )
        lat = latency_model(tiny(p), hw.sim_result(EVENTS))
        # core 1: G0 = 5.5 ns + 5 ns route + R1 = 6 x 2 / 2 = 6 ns
        assert lat.time_per_inference_s == pytest.approx(16.5e-9)


def test_energy_delay_product():
    assert energy_delay_product(820.5, 15.5e-9) == pytest.approx(820.5e-12 * 15.5e-9)
    assert energy_delay_product(None, 1.0) is None


# ------------------------------------------------- shipped profiles, by hand
# EVENTS per input (2 inputs, 1 step): core 0 = 5 synops, 2 updates, 1.5 spikes; core 1 = 3, 2, 1; 1 hop
@pytest.mark.parametrize(
    ("chip", "time_s", "bound"),
    [
        # asynchronous: G0 = (4 x (6.0 + 3.7) + 3 x (30.0 + 5.1)) / 2 ns, one hop of 2.65 ns,
        # R1 = 6 x 4.7 / 2 ns, barrier 600 ns (2 cores)
        ("loihi", ((4 * 9.7 + 3 * 35.1) / 2 + 2.65 + 6 * 4.7 / 2 + 600) * 1e-9, "compute"),
        ("dynapse2", (3 * 20.0 / 2 + 20.0 + 6 * 20.0 / 2) * 1e-9, "compute"),  # asynchronous
        (
            "truenorth",
            1e-3,
            "timestep",
        ),  # (10 x 4 + 4 x 10 + 3 x 5) / 2 + 5 ns, far below the 1 ms tick
        ("tianjic", 16.8e-6, "timestep"),
    ],
)
def test_shipped_profiles(tiny, hw, chip, time_s, bound):
    lat = latency_model(tiny(load_profile(chip)), hw.sim_result(EVENTS))
    assert lat.time_per_inference_s == pytest.approx(time_s)
    assert lat.bound == bound


# ------------------------------------------------------------------ properties
_counts = st.lists(st.integers(0, 10**7), min_size=2, max_size=2)


# ``tiny`` and ``hw`` are stateless factories, safe to share between examples
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    synop=_counts,
    more=_counts,
    steps=st.integers(1, 5),
    chip=st.sampled_from(["loihi", "truenorth", "tianjic"]),
)
def test_more_events_never_take_less_time(tiny, hw, synop, more, steps, chip):
    p = load_profile(chip)
    mapped = tiny(p)
    base = latency_model(mapped, hw.sim_result({"synop": synop}, n_steps=steps))
    bigger = latency_model(
        mapped,
        hw.sim_result({"synop": [a + b for a, b in zip(synop, more, strict=True)]}, n_steps=steps),
    )
    assert bigger.time_per_inference_s >= base.time_per_inference_s * (1 - 1e-12)
    floor = p.get("chip.timestep_s") or 0.0
    assert base.time_per_inference_s >= steps * floor * (1 - 1e-12)
    # the busiest core's work per step is a lower bound of the step
    work = max(synop) * p.get("latency.synop_ns") * 1e-9 / (2 * steps)
    assert base.step_s >= work * (1 - 1e-12)


# ------------------------------------- messages from spikes: own core, host, barrier
def test_messages_in_and_out_host_inputs_and_barrier_by_hand(hw):
    """input (host) -> a on core 0 (recurrent a0 -> a1) -> b on core 1, one input, one step."""
    import scipy.sparse as sp

    from neurosim.network import Network, Population, Projection
    from neurosim.neurons import NeuronModel
    from neurosim.sim.result import SimResult

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
    p = load_profile(
        "generic",
        {
            **ASYNC,
            "latency.packet_ns": 1.0,
            "latency.message_in_ns": 2.0,
            "latency.barrier_ns": 10.0,
        },
    )
    mapped = hw.build_mapped(p, net, {"input": [-1, -1], "a": [0, 0], "b": [1]}, [(0, 0), (1, 0)])
    events = {"synop": [15, 7], "neuron_update": [2, 1], "spike_out": [7, 1], "packet": [7, 0]}
    spikes = {"input": [[3, 4]], "a": [[5, 2]], "b": [[1]]}
    res = SimResult(
        backend="chip",
        outputs=np.zeros((1, 1)),
        spike_counts={k: np.asarray(v) for k, v in spikes.items()},
        events={k: np.asarray(v) for k, v in events.items()},
        n_inputs=1,
        n_steps=1,
        dt_s=1e-3,
    )
    lat = latency_model(mapped, res)
    # messages: a0 -> own core and core 1 (5 + 5), a1 -> core 1 (2): 12 sent by core 0;
    # received: core 0 = 7 from the host + 5 of its own, core 1 = 7
    assert lat.counts["packet"].tolist() == [12, 0]
    assert lat.counts["message_in"].tolist() == [12, 7]
    # sending G0 = 2 x 2 + 7 x 1 + 12 x 1 = 23 ns; receiving R0 = 12 x 2 + 15 = 39, R1 = 7 x 2 + 7 = 21
    assert lat.per_core_step_s.tolist() == pytest.approx([62e-9, 24e-9])
    # core 0: first message from the host at 7 / 7 = 1 ns: 1 + 39 = 40 ns (receiver-bound);
    # core 1: last message at 23 + 5 = 28 ns, then one message 21 / 7 = 3 ns: 31 ns;
    # step = max(23, 3, 40, 31) + 10 ns barrier
    assert lat.step_s == pytest.approx(50e-9)
    assert lat.barrier_s == pytest.approx(10e-9)
    assert lat.unmodelled == ("latency.neuron_active_ns",)


def test_barrier_table_is_a_step_function_of_cores_in_use(tiny, hw):
    table = {1: 600.0, 5: 1000.0}
    lat = latency_model(
        tiny(load_profile("generic", {**ASYNC, "latency.barrier_ns": table})), hw.sim_result(EVENTS)
    )
    assert lat.barrier_s == pytest.approx(600e-9)  # 2 cores: the entry of key 1
    assert lat.step_s == pytest.approx(13.5e-9 + 600e-9)
    from neurosim.errors import ProfileError

    with pytest.raises(ProfileError):
        load_profile("generic", {"latency.barrier_ns": {0: 5.0}})
