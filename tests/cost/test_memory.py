"""Memory model against hand-computed values on a tiny two-layer mapping.

The mapping (see conftest): layer1 (2 neurons) on core 0 fed by 3 input axons
through 4 synapses; layer2 (2 neurons) on core 1 fed by 2 axons through 3
synapses. Source network: W1 (3 x 2, 4 nonzeros), W2 (2 x 2, 3 nonzeros).
"""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.cost.memory import memory_model, reference_storage_bits
from neurosim.hardware.profile import load_profile
from neurosim.mapping.bits import synapse_memory_bits
from neurosim.mapping.loads import core_loads


def test_core_load_counts(tiny):
    load = core_loads(tiny(load_profile("generic")))
    assert load.neurons.tolist() == [2, 2]
    assert load.axons.tolist() == [3, 2]
    assert load.synapses.tolist() == [4, 3]
    assert load.fan_in_max.tolist() == [2, 2]
    assert load.single_group_cores()


def test_crossbar_axons_times_neurons_times_bits(tiny):
    p = load_profile(
        "generic",
        {"core.synapse_encoding": "crossbar", "weights.bits": 4, "core.synapse_memory_bits": 48},
    )
    m = memory_model(tiny(p))
    # core 0: 3 axons x 2 neurons x 4 bits = 24; core 1: 2 x 2 x 4 = 16
    assert m.synapse_bits.tolist() == [24, 16]
    assert m.table_bits.tolist() == [0, 0]
    assert m.index_bits is None
    d = m.to_dict()
    assert d["synapse_bits"] == 40
    assert d["utilization_max"] == pytest.approx(24 / 48)
    assert d["utilization_mean"] == pytest.approx((24 / 48 + 16 / 48) / 2)


def test_sparse_synapses_times_weight_plus_index(tiny):
    p = load_profile("generic", {"weights.bits": 8, "core.index_bits": 16})
    m = memory_model(tiny(p))
    # 4 x (8 + 16) = 96 and 3 x 24 = 72
    assert m.synapse_bits.tolist() == [96, 72]
    assert m.index_bits == 16 and m.index_bits_from == "core.index_bits"
    # neuron state: 2 neurons x 32 state bits per core
    assert m.state_bits_per_core.tolist() == [64, 64]
    assert m.total_bits == 96 + 72 + 128


def test_per_neuron_slots_derives_index_bits(tiny):
    p = load_profile(
        "generic",
        {
            "core.synapse_encoding": "per_neuron_slots",
            "weights.bits": 4,
            "core.index_bits": None,
            "core.max_axons": 64,
            "core.max_synapses_per_neuron": 4,
        },
    )
    m = memory_model(tiny(p))
    # no index width in the profile: ceil(log2 64) = 6; 4 x (4 + 6) = 40, 3 x 10 = 30
    assert m.index_bits == 6 and m.index_bits_from == "ceil(log2(core.max_axons))"
    assert m.synapse_bits.tolist() == [40, 30]
    # at most 2 synapses per neuron of 4 slots
    assert m.to_dict()["slot_utilization_max"] == pytest.approx(0.5)


def test_dense_same_cells_as_crossbar(tiny):
    p = load_profile(
        "generic", {"core.synapse_encoding": "dense", "weights.bits": 16, "weights.kind": "int"}
    )
    assert memory_model(tiny(p)).synapse_bits.tolist() == [3 * 2 * 16, 2 * 2 * 16]


def test_axon_type_crossbar_counts_cells_and_tables():
    p = load_profile(
        "generic",
        {
            "core.synapse_encoding": "crossbar",
            "weights.kind": "axon_type",
            "weights.bits": 9,
            "weights.n_axon_types": 4,
        },
    )
    syn, table = synapse_memory_bits(p, np.array([3, 2]), np.array([2, 2]), np.array([4, 3]))
    # 1 bit per cell; table: neurons x 4 types x 9 bits + axons x 2 type bits
    assert syn.tolist() == [6, 4]
    assert table.tolist() == [2 * 4 * 9 + 3 * 2, 2 * 4 * 9 + 2 * 2]


def test_reference_storage(hw):
    ref = reference_storage_bits(hw.two_layer())
    # 10 weights in dense matrices; CSR: 7 nonzeros x (32 + 32) + (3 + 1 + 2 + 1) row pointers x 32
    assert ref == {"dense_float32": 320, "dense_float64": 640, "csr_float32": 7 * 64 + 7 * 32}


def test_ternary_two_bits_saves_32x_against_float64(tiny):
    p = load_profile(
        "generic", {"weights.kind": "ternary", "weights.bits": 2, "weights.scale": "per_layer"}
    )
    m = memory_model(tiny(p))
    assert m.dense_chip_bits == 10 * 2
    assert m.weight_storage_saving()["dense_float64"] == pytest.approx(32.0)
    assert m.weight_storage_saving()["dense_float32"] == pytest.approx(16.0)
    # sparse storage pays 32 index bits per synapse: 7 x (2 + 32) bits
    assert m.total_synapse_bits == 7 * 34
    assert m.saving_vs()["dense_float64"] == pytest.approx(640 / (7 * 34))


def test_unknown_capacity_gives_unknown_utilization(tiny):
    p = load_profile("generic", {"core.synapse_memory_bits": None})
    d = memory_model(tiny(p)).to_dict()
    assert d["utilization_max"] is None and d["capacity_bits_per_core"] is None
    assert all(row["utilization"] is None for row in d["per_core"])


def test_split_population_roles(hw):
    source, hwnet = hw.split_network()
    p = load_profile("generic")
    mapped = hw.build_mapped(
        p,
        hwnet,
        {"input": [-1] * 3, "layer1.partial0": [0], "layer1.partial1": [1], "layer1": [2]},
        [(0, 0), (1, 0), (2, 0)],
        source=source,
        served=hw.split_served,
        roles=hw.split_roles,
    )
    load = core_loads(mapped)
    assert load.synapses.tolist() == [2, 1, 2]
    assert load.axons.tolist() == [2, 1, 2]
    assert load.neurons_by_group[("layer1", "split")].tolist() == [1, 1, 0]
    assert load.neurons_by_group[("layer1", "neuron")].tolist() == [0, 0, 1]


# ------------------------------------------------- shipped profiles, by hand
# tiny mapping: core 0 = 3 axons, 2 neurons, 4 synapses; core 1 = 2 axons, 2 neurons, 3 synapses
@pytest.mark.parametrize(
    ("chip", "synapse_bits", "table_bits", "state_bits"),
    [
        # crossbar, 1-bit cells, 4 axon types of 9-bit weights: 2 x 4 x 9 + axons x 2 type bits; 20-bit state
        ("truenorth", [3 * 2, 2 * 2], [72 + 3 * 2, 72 + 2 * 2], [40, 40]),
        # sparse: synapses x (8 weight + 10 index bits); 24-bit state
        ("loihi", [4 * 18, 3 * 18], [0, 0], [48, 48]),
        # per-neuron CAM slots: synapses x (4 weight + 15 tag bits); 8-bit state
        ("dynapse2", [4 * 19, 3 * 19], [0, 0], [16, 16]),
        # dense: axons x neurons x 8 bits; 16-bit state
        ("tianjic", [3 * 2 * 8, 2 * 2 * 8], [0, 0], [32, 32]),
    ],
)
def test_shipped_profiles(tiny, chip, synapse_bits, table_bits, state_bits):
    m = memory_model(tiny(load_profile(chip)))
    assert m.synapse_bits.tolist() == synapse_bits
    assert m.table_bits.tolist() == table_bits
    assert m.state_bits_per_core.tolist() == state_bits
