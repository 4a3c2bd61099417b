"""NeuroFabric topologies, random fixed fan-in, sparse initialisation, topology score."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.topology.fixed_fan_in import random_fixed_fan_in_mask, random_network, sparse_init
from neurosim.topology.neurofabric import TOPOLOGIES, neurofabric_network, topology_masks
from neurosim.topology.score import rank_topologies, score_topology

PARAMS = {
    "random": {"fan_in": 8},
    "random_fixed": {"fan_in": 8},
    "butterfly": {"radix": 4},
    "parallel_butterfly": {"radix": 2, "parallel": 4},
    "radixnet": {"radix": 2, "parallel": 2},
    "de_bruijn": {"degree": 4},
    "clos": {"group": 8},
    "dense": {},
}


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_every_topology_builds_and_is_seeded(name):
    a = topology_masks(name, 64, 3, **PARAMS[name])
    assert len(a) == 3 and all(m.shape == (64, 64) for m in a)
    assert all(set(np.unique(m.data)) == {1.0} for m in a)
    net = neurofabric_network(name, 64, 3, seed=4, **PARAMS[name])
    net2 = neurofabric_network(name, 64, 3, seed=4, **PARAMS[name])
    for p, q in zip(net.projections, net2.projections, strict=False):
        assert (p.weights != q.weights).nnz == 0


def test_structured_fan_in():
    assert {
        int(x)
        for m in topology_masks("butterfly", 64, 3, radix=4)
        for x in np.diff(m.tocsc().indptr)
    } == {4}
    pb = topology_masks("parallel_butterfly", 64, 2, radix=2, parallel=4)
    assert {int(x) for m in pb for x in np.diff(m.tocsc().indptr)} == {8}
    assert {
        int(x)
        for m in topology_masks("random_fixed", 64, 2, fan_in=5)
        for x in np.diff(m.tocsc().indptr)
    } == {5}


def test_clos_two_layers_give_one_path_per_pair():
    a, b = topology_masks("clos", 32, 2, group=4)
    assert set(np.diff(a.tocsc().indptr)) == {4} and set(np.diff(b.tocsc().indptr)) == {8}
    assert np.array_equal((a @ b).toarray(), np.ones((32, 32)))
    assert score_topology([a, b]).score == pytest.approx(1.0)


def test_random_fixed_fan_in_mask_distinct_inputs():
    for n_pre, k in ((3000, 32), (40, 30)):
        m = random_fixed_fan_in_mask(n_pre, 50, k, seed=1)
        assert set(np.diff(m.tocsc().indptr)) == {k} and m.max() == 1
    with pytest.raises(NetworkError, match="fan-in"):
        random_fixed_fan_in_mask(10, 5, 11)


def test_sparse_init_scales_variance_by_actual_fan_in():
    rng = np.random.default_rng(0)
    mask = (rng.random((4000, 4)) < np.array([0.01, 0.05, 0.2, 0.5])).astype(float)
    w = sparse_init(mask, seed=0, gain=2.0)
    assert (w != 0).sum() == mask.sum()
    fan_in = mask.sum(axis=0)
    for j in range(4):
        col = w[:, j].data
        var = float(np.mean(col**2))
        assert abs(var * fan_in[j] / 2.0 - 1.0) < 4 / np.sqrt(fan_in[j])
    # a deep sparse ReLU net keeps its signal scale
    net = random_network([256] * 21, 16, seed=0)
    x = np.abs(rng.standard_normal((64, 256)))
    for proj, _ in net.layers():
        x = np.maximum(0, x @ proj.weights)
    assert 0.05 < np.sqrt(np.mean(x**2)) < 20


def test_random_network_sizes():
    net = random_network([3000, 3000, 3000], 32, seed=0)
    s = net.stats()
    assert s.fan_in_min == s.fan_in_max == 32 and s.n_synapses == 2 * 3000 * 32


def test_score_ranks_structured_above_random():
    cands = {
        name: topology_masks(name, 256, 8, **PARAMS[name])
        for name in ("random", "butterfly", "de_bruijn")
    }
    cands["butterfly"] = topology_masks("butterfly", 256, 8, radix=2)
    ranking = rank_topologies(cands)
    scores = dict(ranking)
    assert scores["butterfly"].score == pytest.approx(1.0)
    assert scores["random"].score < scores["butterfly"].score
    assert ranking[-1][0] == "random"
    # too shallow a butterfly cannot reach every output
    shallow = score_topology(topology_masks("butterfly", 256, 4, radix=2))
    assert shallow.reachability == pytest.approx(16 / 256)


def test_score_finds_a_bottleneck():
    import scipy.sparse as sp

    full = sp.csr_matrix(np.ones((16, 16)))
    narrow = np.zeros((16, 16))
    narrow[:, :2] = 1
    s = score_topology([full, sp.csr_matrix(narrow), full])
    assert s.bottleneck_width == pytest.approx(2 / 16)
    assert s.reachability == 1.0


def test_unknown_topology():
    with pytest.raises(NetworkError, match="unknown topology"):
        topology_masks("hypercube", 8, 2)
    with pytest.raises(NetworkError, match="not a power"):
        topology_masks("butterfly", 48, 2, radix=4)
    with pytest.raises(NetworkError, match="bad parameters"):
        topology_masks("butterfly", 16, 2, fan_in=3)


@pytest.mark.parametrize("name", ["parallel_butterfly", "radixnet"])
def test_parallel_must_divide_width(name):
    with pytest.raises(NetworkError, match=rf"^{name}: width 48 is not a multiple of parallel=5$"):
        topology_masks(name, 48, 2, parallel=5)
    with pytest.raises(NetworkError, match="parallel=0"):
        topology_masks(name, 48, 2, parallel=0)
