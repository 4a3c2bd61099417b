"""Crossbar packing: the quotient, its lower bound, and the optimum on residue-structured layers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.hardware.profile import load_profile
from neurosim.mapping import map_network
from neurosim.mapping.crossbar import crossbar_pack, quotient, quotient_bound
from neurosim.mapping.limits import CoreLimits
from neurosim.mapping.partition import STRATEGIES, axon_sharing, lower_bound, total_axons
from neurosim.network import Network
from neurosim.neurons import NeuronModel

from .helpers import fixed_fan_in

#: Graph Challenge on TrueNorth with the one-axon fan-out rule lifted (no relays)
LIFTED = {"core.fan_out": "multicast", "core.max_target_cores": None}


def radix_layer(blocks: int, width: int, shift: int) -> sp.csc_matrix:
    """``kron(J_blocks, I_width + roll(I_width, -shift))``: the Graph Challenge layer shape."""
    eye = np.eye(width)
    w = np.kron(np.ones((blocks, blocks)), eye + np.roll(eye, -shift, axis=1))
    return sp.csc_matrix(w)


def _small_crossbar() -> tuple:
    p = load_profile("truenorth", {"core.max_neurons": 64, "core.max_axons": 64, "core.max_fan_in": 64})
    return p, CoreLimits.from_profile(p)


def _check_limits(w: sp.csc_matrix, assign: np.ndarray, limits: CoreLimits) -> None:
    coo = sp.coo_matrix(w)
    k = int(assign.max()) + 1
    axons = np.bincount(np.unique(coo.row * k + assign[coo.col]) % k, minlength=k)
    assert axons.max() <= limits.max_axons
    assert np.bincount(assign).max() <= limits.max_neurons


def test_quotient_groups_identical_columns_and_rows():
    w = radix_layer(4, 32, 1)  # 128 neurons: 32 groups of 4, 32 classes of 4 rows
    q = quotient(w)
    assert q.group_size.size == 32 and set(q.group_size.tolist()) == {4}
    assert q.class_weight.size == 32 and set(q.class_weight.tolist()) == {4}
    assert set(np.diff(q.incidence.indptr).tolist()) == {2}
    # neurons c and c + 32 (same residue) are one group
    assert q.group_of[0] == q.group_of[32] != q.group_of[1]


@pytest.mark.parametrize(
    ("shift", "optimum"),
    # 64 axons = 16 classes of 4 rows; a core hosts 16 groups (64 neurons) only on
    # closed cycles: shift 1 is one cycle of 32 (open arcs: 15 groups = 60 neurons, 3
    # cores); shift 2 gives two cycles of 16 (2 cores); shift 16 pairs of classes (2)
    [(1, 3), (2, 2), (4, 2), (16, 2)],
)
def test_crossbar_reaches_the_optimum_and_the_bound_proves_it(shift, optimum):
    p, lim = _small_crossbar()
    w = radix_layer(4, 32, shift)
    got = crossbar_pack(w, p, lim)
    _check_limits(w, got, lim)
    assert got.max() + 1 == optimum
    assert lower_bound(w, p, lim) == optimum == quotient_bound(w, lim)


def test_axon_counting_bound_alone_is_weaker_on_open_chains():
    p, lim = _small_crossbar()
    w = radix_layer(4, 32, 1)
    assert -(-w.shape[1] // lim.max_neurons) == 2 < quotient_bound(w, lim) == 3


def test_crossbar_is_never_worse_than_axon_sharing_on_random_layers():
    p = load_profile("truenorth")
    lim = CoreLimits.from_profile(p)
    for seed in range(2):
        w = sp.csc_matrix(fixed_fan_in(300, 400, 24, seed))
        got, ref = crossbar_pack(w, p, lim, seed=seed), axon_sharing(w, p, lim, seed=seed)
        _check_limits(w, got, lim)
        assert (got.max(), total_axons(w, got)) <= (ref.max(), total_axons(w, ref))
        assert got.max() + 1 >= lower_bound(w, p, lim)


def test_crossbar_is_a_registered_strategy_and_maps_graph_challenge_shapes():
    assert "crossbar" in STRATEGIES
    layers = [radix_layer(16, 64, 2 ** (k - 1)) * (1 / 16) for k in (1, 2, 3)]
    net = Network.from_layers(layers, model=NeuronModel("lif"), name="gc_shape")
    m = map_network(net, "truenorth", strategy="crossbar", overrides=LIFTED)
    per = m.info["per_population"]
    assert [per[f"layer{k}"]["cores"] for k in (1, 2, 3)] == [5, 5, 4]
    assert m.n_cores_used == m.lower_bound_cores == 14
    assert m.added["relay_neurons"] == 0


@pytest.mark.slow
def test_official_graph_challenge_layers_1_to_6_on_26_truenorth_cores(graph_challenge_dir):
    from neurosim.io.graph_challenge import read_challenge_network

    net = read_challenge_network(graph_challenge_dir, n_layers=6)
    m = map_network(net, "truenorth", strategy="crossbar", overrides=LIFTED)
    per = m.info["per_population"]
    assert [per[f"layer{k}"]["cores"] for k in range(1, 7)] == [5, 5, 4, 4, 4, 4]
    assert m.n_cores_used == 26 == m.lower_bound_cores
    assert not [v for v in m.violations if v.rule != "check_neuron_model"]
