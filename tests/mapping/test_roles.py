"""Roles are data set by the mapper, never parsed from population names.

A network whose layers are called like the mapper's own additions
(``x.partial0``, ``encoder.relay0``) must map, and be billed, exactly as the
same network with ordinary names.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.cost.energy import energy_model
from neurosim.cost.memory import memory_model
from neurosim.mapping.loads import core_loads
from neurosim.mapping.mapper import map_network
from neurosim.mapping.roles import Role, complete_roles
from neurosim.mapping.store import load_mapped, save_mapped
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.simulate import simulate

#: fan-in split (x has 60 inputs, 16 allowed), relays (2 target cores per neuron)
OVERRIDES = {
    "core.max_neurons": 8,
    "core.max_axons": 16,
    "core.max_fan_in": 16,
    "core.split_fan_in": True,
    "core.relay_fan_out": True,
    "core.max_target_cores": 2,
}
ORDINARY = ["input", "layer1", "layer2", "layer3"]
#: "x" gets partial sums whose natural name "x.partial0" is taken by the next layer
TRICKY = ["input", "x", "x.partial0", "encoder.relay0"]


def _network(names: list[str]) -> Network:
    rng = np.random.default_rng(3)
    sizes = [60, 12, 20, 6]
    weights = [
        rng.normal(size=(a, b)) * (rng.random((a, b)) < 0.7)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    return Network.from_layers(weights, model=NeuronModel("relu"), layer_names=names, name="roles")


def _mapped(names: list[str]):
    return map_network(_network(names), "generic", overrides=OVERRIDES, placement="row_major")


def _without_names(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "layer"} for r in rows]


def test_layers_named_like_added_populations_map_like_ordinary_ones():
    plain, tricky = _mapped(ORDINARY), _mapped(TRICKY)
    assert plain.added["split_neurons"] > 0 and plain.added["relay_neurons"] > 0
    assert tricky.added == plain.added
    assert tricky.n_cores_used == plain.n_cores_used
    # roles follow the structure: the source layers keep their roles whatever their names
    for t, p in zip(TRICKY, ORDINARY, strict=True):
        assert tricky.roles[t] is plain.roles[p]
        assert tricky.roles[t] in (Role.INPUT, Role.SOURCE, Role.ACCUMULATOR)
    assert tricky.roles["x"] is Role.ACCUMULATOR
    assert tricky.roles["x.partial0~"] is Role.PARTIAL_SUM  # the added name, made unique
    assert sorted(r.value for r in tricky.roles.values()) == sorted(
        r.value for r in plain.roles.values()
    )
    m_plain, m_tricky = memory_model(plain).to_dict(), memory_model(tricky).to_dict()
    assert m_tricky["per_core"] == m_plain["per_core"]
    assert m_tricky["total_bits"] == m_plain["total_bits"]
    x = np.random.default_rng(0).random((4, 60))
    e_plain = energy_model(plain, simulate(plain, x, "chip"))
    e_tricky = energy_model(tricky, simulate(tricky, x, "chip"))
    assert e_tricky.total_pj == pytest.approx(e_plain.total_pj)
    assert e_tricky.split_pj == pytest.approx(e_plain.split_pj)
    assert e_tricky.relay_pj == pytest.approx(e_plain.relay_pj)
    assert _without_names(list(e_tricky.by_layer)) == _without_names(list(e_plain.by_layer))
    assert [r["layer"] for r in e_tricky.by_layer] == TRICKY[1:]


def test_roles_round_trip_through_the_store(tmp_path):
    mapped = _mapped(TRICKY)
    back = load_mapped(save_mapped(mapped, tmp_path / "m"))
    assert dict(back.roles) == dict(mapped.roles)
    assert core_loads(back).neurons_by_group.keys() == core_loads(mapped).neurons_by_group.keys()


def test_a_mapping_saved_without_roles_gets_them_from_its_structure(tmp_path):
    mapped = _mapped(TRICKY)
    path = save_mapped(mapped, tmp_path / "m")
    header = json.loads((path / "mapping.json").read_text())
    del header["roles"]  # as written before roles were stored
    (path / "mapping.json").write_text(json.dumps(header))
    assert dict(load_mapped(path).roles) == dict(mapped.roles)


def test_roles_of_hand_built_mappings_come_from_the_structure():
    mapped = _mapped(ORDINARY)
    # what a mapping saved without roles gets back: the same roles, from served and projections
    inferred = complete_roles(mapped.hw_network, None, mapped.served)
    assert inferred == dict(mapped.roles)
