"""Synapse-level faults (stuck at zero, bit flips) and spike drops, checked exactly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from fault_helpers import inputs, mapped, positive_net, signed_net

from neurosim.faults.apply import apply_fault
from neurosim.faults.routing import route_hops
from neurosim.faults.spec import FaultSpec
from neurosim.faults.synapses import core_slots, flip_bits
from neurosim.sim.simulate import simulate


def _data(m, name):
    return sp.csr_matrix(m.quantized[name].weights).data


def test_stuck_at_zero_removes_exactly_the_counted_synapses():
    m = mapped(signed_net(), "loihi2")
    f = apply_fault(m, FaultSpec("synapse_stuck_zero", 0.3), seed=2)
    removed = sum(m.quantized[k].weights.nnz - f.quantized[k].weights.nnz for k in m.quantized)
    assert removed == f.info["faults"][-1]["stuck"] > 0
    for k in m.quantized:  # survivors keep their exact stored value
        a, b = m.quantized[k].weights.toarray(), f.quantized[k].weights.toarray()
        kept = b != 0
        assert np.array_equal(a[kept], b[kept])
        assert f.hw_network.projection(k).weights.nnz <= m.hw_network.projection(k).weights.nnz
    allstuck = apply_fault(m, FaultSpec("synapse_stuck_zero", 1.0))
    assert all(q.weights.nnz == 0 for q in allstuck.quantized.values())


@pytest.mark.parametrize(("bit", "delta_of"), [(7, lambda v: -128 if v >= 0 else 128), (0, None)])
def test_flipped_weight_bit_changes_one_weight_by_the_right_amount(bit, delta_of):
    m = mapped(signed_net(), "loihi")  # 8-bit two's complement weights, 10 index bits
    name = m.hw_network.projections[0].name
    before = _data(m, name).copy()
    k = 5
    f = flip_bits(m, {name: (np.array([k]), np.array([bit]))})
    after = _data(f, name)
    changed = np.flatnonzero(after != before)
    assert changed.tolist() == [k]
    v = int(before[k])
    expected = delta_of(v) if delta_of else (1 if v % 2 == 0 else -1)
    assert after[k] - before[k] == expected
    scale = m.quantized[name].scale
    col = sp.csr_matrix(m.quantized[name].weights).indices[k]
    real = f.quantized[name].effective() - m.quantized[name].effective()
    assert np.isclose(abs(real).sum(), abs(expected) * scale[col])  # one weight, by delta x scale


def test_sign_bit_differs_from_lsb_on_a_6_bit_chip():
    m = mapped(positive_net(), "brainscales2")
    name = m.hw_network.projections[0].name
    v = _data(m, name)[0]
    msb = _data(flip_bits(m, {name: (np.array([0]), np.array([5]))}), name)[0]
    lsb = _data(flip_bits(m, {name: (np.array([0]), np.array([0]))}), name)[0]
    assert msb - v == -32 and abs(lsb - v) == 1


def test_float_sign_bit_negates_the_weight():
    m = mapped(positive_net(), "generic")  # float32
    name = m.hw_network.projections[0].name
    f = flip_bits(m, {name: (np.array([3]), np.array([31]))})
    assert _data(f, name)[3] == -_data(m, name)[3]


def test_flipped_index_bit_moves_the_synapse_on_a_sparse_core():
    m = mapped(positive_net(), "loihi")
    name = "layer1->layer2"
    w = sp.csr_matrix(m.quantized[name].weights)
    k = 0
    i, j = 0, int(w.indices[0])
    names, pid, idx = core_slots(m)[int(m.core_of["layer2"][j])]
    local = int(np.flatnonzero((np.array(names)[pid] == "layer2") & (idx == j))[0])
    target = int(idx[local ^ 1])
    f = flip_bits(m, {name: (np.array([k]), np.array([8]))})  # bit 8 = index bit 0
    a, b = w.toarray(), f.quantized[name].weights.toarray()
    assert b[i, j] == 0 and b[i, target] == a[i, target] + a[i, j]
    assert np.count_nonzero(a != b) == 2
    assert f.info["faults"][-1]["moved"] == 1


def test_random_bit_flips_are_counted_and_seeded():
    m = mapped(signed_net(), "loihi")
    a = apply_fault(m, FaultSpec("bit_flip", 0.01), seed=1)
    b = apply_fault(m, FaultSpec("bit_flip", 0.01), seed=1)
    rec = a.info["faults"][-1]
    n_bits = sum(q.weights.nnz for q in m.quantized.values()) * 18
    assert rec["weight_bits"] + rec["index_bits"] > 0
    assert rec["weight_bits"] + rec["index_bits"] < 0.05 * n_bits
    for k in m.quantized:
        assert (a.quantized[k].weights != b.quantized[k].weights).nnz == 0


def test_spike_drop_at_rate_one_cuts_exactly_the_routes_with_hops():
    m = mapped(positive_net(n_hid=40), "generic", strategy="spread")
    f = apply_fault(m, FaultSpec("spike_drop", 1.0))
    pr = m.hw_network.projection("layer1->layer2")
    coo = sp.csr_matrix(m.quantized[pr.name].weights).tocoo()
    hops = route_hops(m, m.core_of["layer1"][coo.row], m.core_of["layer2"][coo.col])
    kept = f.quantized[pr.name].weights.toarray()[coo.row, coo.col] != 0
    assert np.array_equal(kept, hops == 0)
    assert (hops > 0).any()
    inp = m.hw_network.projection("input->layer1").name  # host inputs are never dropped
    assert f.quantized[inp].weights.nnz == m.quantized[inp].weights.nnz


def test_longer_routes_lose_more():
    m = mapped(
        positive_net(n_in=6, n_hid=200, n_out=40),
        "generic",
        strategy="spread",
        placement="row_major",
    )
    rec = apply_fault(m, FaultSpec("spike_drop", 0.2), seed=0).info["faults"][-1]
    by_h = {
        int(h): v["dropped"] / v["routes"]
        for h, v in rec["routes_by_hops"].items()
        if v["routes"] >= 20
    }
    hs = sorted(by_h)
    assert len(hs) >= 2
    assert by_h[hs[-1]] > by_h[hs[0]]
    for h in hs:
        assert abs(by_h[h] - (1 - 0.8**h)) < 0.2


def test_drop_lowers_outputs_on_positive_network():
    m = mapped(positive_net(n_hid=40), "generic", strategy="spread")
    x = inputs()
    f = apply_fault(m, FaultSpec("spike_drop", 0.5), seed=0)
    assert (simulate(f, x, "chip").outputs <= simulate(m, x, "chip").outputs + 1e-6).all()


def test_index_flip_to_an_empty_slot_loses_the_synapse():
    m = mapped(signed_net(), "loihi2")  # 13 index bits: the top one addresses no neuron here
    name = m.hw_network.projections[0].name
    f = flip_bits(m, {name: (np.array([0, 1]), np.array([8 + 12, 8 + 11]))})
    rec = f.info["faults"][-1]
    assert rec["lost"] == 2 and rec["moved"] == 0
    assert f.quantized[name].weights.nnz == m.quantized[name].weights.nnz - 2
