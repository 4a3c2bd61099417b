"""Placement: Hilbert order, link loads by hand, annealing beats row-major."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.errors import MappingError
from neurosim.hardware.profile import load_profile
from neurosim.mapping import map_network
from neurosim.mapping.placement import Mesh, hilbert_order, link_loads, place_cores

from .helpers import layered


@pytest.mark.parametrize(("w", "h"), [(8, 8), (16, 8), (5, 3)])
def test_hilbert_order_is_a_permutation_of_neighbours(w, h):
    order = hilbert_order(w, h)
    assert sorted(order.tolist()) == list(range(w * h))
    x, y = order % w, order // w
    steps = np.abs(np.diff(x)) + np.abs(np.diff(y))
    if w == h and w & (w - 1) == 0:
        assert (steps == 1).all()


def test_link_loads_by_hand():
    mesh = Mesh(4, 4, 16)
    # core 0 at (0,0) sends 2 packets/step to core 1 at (2,1): route east 2 links, north 1 link
    # core 2 at (1,0) sends 1 packet/step to core 1: east 1 link (shared with the first route), north 1
    t = sp.csr_matrix((np.array([2.0, 1.0]), (np.array([0, 2]), np.array([1, 1]))), shape=(3, 3))
    chip = np.zeros(3, dtype=int)
    x, y = np.array([0, 2, 1]), np.array([0, 1, 0])
    total, peak, chip_traffic = link_loads(t, chip, x, y, mesh)
    assert total == 2 * 3 + 1 * 2
    assert peak == 3.0  # link (1,0)->(2,0) and link (2,0)->(2,1) carry both flows
    assert chip_traffic == 0


def test_cross_chip_traffic_counted_apart():
    mesh = Mesh(2, 2, 4)
    t = sp.csr_matrix((np.array([1.5]), (np.array([0]), np.array([1]))), shape=(2, 2))
    total, peak, chip_traffic = link_loads(
        t, np.array([0, 2]), np.array([0, 0]), np.array([0, 0]), mesh
    )
    assert chip_traffic == 3.0 and total == 0 and peak == 0


def test_annealed_and_hilbert_beat_row_major_on_a_layered_network():
    net = layered([64, 256, 256, 256, 64], [16, 16, 16, 16], seed=3)
    profile = load_profile("truenorth", {"core.max_neurons": 16})
    results = {
        method: map_network(net, profile, strategy="sequential", placement=method, seed=1).placement
        for method in ("row_major", "hilbert", "annealed")
    }
    rm = results["row_major"].total_link_load
    assert results["row_major"].row_major_total_link_load == pytest.approx(rm)
    assert results["annealed"].total_link_load < rm
    assert results["annealed"].row_major_total_link_load == pytest.approx(rm)
    assert results["annealed"].max_link_load > 0
    # every core on a distinct slot
    p = results["annealed"]
    slots = set(zip(p.chip.tolist(), p.x.tolist(), p.y.tolist(), strict=True))
    assert len(slots) == p.chip.size


def test_multi_chip_placement_fills_chips_in_turn():
    profile = load_profile("loihi", {"core.max_neurons": 8})
    net = layered([10, 8 * 200], [3], model="lif", seed=4)
    m = map_network(net, profile, placement="row_major")
    assert m.n_cores_used == 200
    assert m.n_chips_used == 2
    assert (m.placement.chip[:128] == 0).all() and (m.placement.chip[128:] == 1).all()
    assert m.fits


def test_unknown_method():
    with pytest.raises(MappingError, match="placement"):
        place_cores(sp.csr_matrix((2, 2)), load_profile("generic"), method="zigzag")
