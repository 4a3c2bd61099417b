"""Design rules: networks built to break each rule, per profile family.

Each test checks that the right rule fires, with the right used amount
against the right capacity and profile field, and that every violation is
reported (not only the first).
"""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.hardware.profile import apply_overrides, load_profile, profile_names
from neurosim.mapping import map_network
from neurosim.mapping.rules import RULES

from .helpers import layered

# one profile per synapse encoding family
FAMILIES = {
    "crossbar": "truenorth",
    "sparse": "loihi",
    "dense": "tianjic",
    "per_neuron_slots": "dynapse2",
}


def _model(profile_name: str) -> str:
    models = load_profile(profile_name).get("neuron.models")
    return next(m for m in ("lif", "if", "relu") if m in models)


def _by_rule(m, rule):
    return [v for v in m.violations if v.rule == rule]


def test_rules_is_the_list_of_named_checks():
    names = [r.__name__ for r in RULES]
    assert names == [
        "check_neurons_per_core",
        "check_axons_per_core",
        "check_fan_in",
        "check_synapse_slots",
        "check_fan_out",
        "check_fan_out_synapses",
        "check_synapse_memory",
        "check_neuron_model",
        "check_cores_per_chip",
        "check_chips",
    ]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_neurons_per_core(family):
    name = FAMILIES[family]
    maxn = int(load_profile(name).get("core.max_neurons"))
    net = layered([8, maxn + 5], [2], model=_model(name), seed=1)

    def one_core(inputs, profile, limits, *, seed):
        return np.zeros(inputs.shape[1], dtype=np.int64)

    m = map_network(net, name, strategy=one_core)
    (v,) = _by_rule(m, "check_neurons_per_core")
    assert (v.used, v.capacity, v.field) == (maxn + 5, maxn, "core.max_neurons")
    assert v.where == f"layer1[0:{maxn + 5}] on core 0"
    assert v.fix


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_axons_per_core(family):
    name = FAMILIES[family]
    max_axons = int(load_profile(name).get("core.max_axons"))
    fan_in = max_axons + 10
    net = layered([fan_in + 5, 3], [fan_in], model=_model(name), seed=2)
    m = map_network(net, name, overrides={"core.split_fan_in": False})
    got = _by_rule(m, "check_axons_per_core")
    assert len(got) >= 1
    assert all(v.capacity == max_axons and v.field == "core.max_axons" for v in got)
    assert max(v.used for v in got) >= fan_in
    assert "split" in got[0].fix
    assert not m.fits
    # with splitting allowed the same network fits the axon rule
    ok = map_network(net, name)
    assert not _by_rule(ok, "check_axons_per_core")


@pytest.mark.parametrize("name", ["truenorth", "dynapse2", "brainscales2", "tianjic", "loihi"])
def test_fan_in(name):
    # loihi (sparse) has no per-neuron fan-in limit of its own: set one
    extra = {"core.max_fan_in": 64} if name == "loihi" else {}
    cap = int(load_profile(name, extra).get("core.max_fan_in"))
    net = layered([cap + 20, 4], [cap + 7], model=_model(name), seed=3)
    overrides = {"core.split_fan_in": False, **extra}
    if name not in ("truenorth", "tianjic"):
        overrides["core.max_axons"] = 4096
    m = map_network(net, name, overrides=overrides)
    got = _by_rule(m, "check_fan_in")
    assert got and all(v.field == "core.max_fan_in" and v.capacity == cap for v in got)
    assert got[0].used == cap + 7
    assert "split" in got[0].fix


def test_synapse_slots_per_neuron_family():
    # dynapse2: 64 CAM slots per neuron
    net = layered([100, 4], [70], model="lif", seed=4)
    m = map_network(net, "dynapse2", overrides={"core.split_fan_in": False})
    got = _by_rule(m, "check_synapse_slots")
    assert got and got[0].used == 70 and got[0].capacity == 64
    assert got[0].field == "core.max_synapses_per_neuron"


def test_fan_out_one_axon_crossbar():
    # each layer1 neuron reaches 2 cores of layer2 (300 neurons, 256 per core)
    net = layered([10, 20, 300], [5, 20], model="lif", seed=5)
    m = map_network(net, "truenorth", overrides={"core.relay_fan_out": False})
    got = _by_rule(m, "check_fan_out")
    assert got and got[0].field == "core.fan_out" and got[0].capacity == 1
    assert got[0].used == 2
    assert got[0].where.startswith("layer1[")
    assert "relay" in got[0].fix
    assert map_network(net, "truenorth").fits


def test_fan_out_multicast_limit_dense_family():
    # speck: max_target_cores 2 and no relays; layer1 reaches 3 layer2 cores
    profile = load_profile("speck", {"core.max_neurons": 10, "chip.n_cores": 9})
    net = layered([10, 10, 30], [5, 10], model="if", seed=6)
    m = map_network(net, profile)
    got = _by_rule(m, "check_fan_out")
    assert got and got[0].used == 3 and got[0].capacity == 2
    assert got[0].field == "core.max_target_cores"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_synapse_memory(family):
    name = FAMILIES[family]
    profile = load_profile(name)
    # 40 inputs per neuron; memory for fewer than one neuron's synapses
    net = layered([50, 4], [40], model=_model(name), seed=7)
    one = map_network(net, profile).cores[0].resources["synapse_memory_bits"][0]
    m = map_network(
        net,
        name,
        overrides={
            "core.split_fan_in": False,
            "core.synapse_memory_bits": 32,
            "core.max_fan_in": None,
        },
    )
    got = _by_rule(m, "check_synapse_memory")
    assert got and all(v.capacity == 32 and v.field == "core.synapse_memory_bits" for v in got)
    assert all(v.used > 32 for v in got)
    assert one > 0
    assert family in got[0].resource or "encoding" in got[0].resource


@pytest.mark.parametrize(
    ("name", "kind"),
    [("truenorth", "relu"), ("akida", "lif"), ("speck", "lif"), ("dynapse2", "relu")],
)
def test_neuron_model(name, kind):
    net = layered([10, 6, 4], [3, 3], model=kind, seed=8)
    m = map_network(net, name)
    got = _by_rule(m, "check_neuron_model")
    assert [v.where for v in got] == ["layer1[0:6]", "layer2[0:4]"]
    assert all(v.field == "neuron.models" for v in got)
    assert kind in got[0].resource


def test_cores_per_chip_single_chip():
    # xylo: one core of 1008 neurons, one chip
    net = layered([16, 1500], [4], model="lif", seed=9)
    m = map_network(net, "xylo")
    (v,) = _by_rule(m, "check_cores_per_chip")
    assert (v.used, v.capacity, v.field) == (2, 1, "chip.n_cores")


def test_chips_available():
    profile = load_profile(
        "truenorth",
        {"chip.n_cores": 4, "chip.mesh_width": 2, "chip.mesh_height": 2, "chip.max_chips": 2},
    )
    net = layered([16, 256 * 9], [4], model="lif", seed=10)
    m = map_network(net, profile)
    (v,) = _by_rule(m, "check_chips")
    assert (v.used, v.capacity, v.field) == (3, 2, "chip.max_chips")
    assert m.n_chips_used == 3


def test_all_violations_reported_together():
    # one network breaking three rules at once on TrueNorth
    net = layered([300, 30, 600], [280, 10], model="relu", seed=11)
    m = map_network(
        net, "truenorth", overrides={"core.split_fan_in": False, "core.relay_fan_out": False}
    )
    rules = {v.rule for v in m.violations}
    assert {"check_axons_per_core", "check_fan_in", "check_fan_out", "check_neuron_model"} <= rules
    assert len(_by_rule(m, "check_fan_in")) > 1
    for v in m.violations:
        assert v.where and v.resource and v.field and v.fix
        d = v.to_dict()
        assert set(d) == {"rule", "where", "resource", "used", "capacity", "field", "fix"}


@pytest.mark.parametrize("name", profile_names())
def test_every_profile_reports_neuron_and_axon_violations(name):
    """Over every shipped profile: too many neurons on a core, too many inputs for one core."""
    profile = load_profile(name)
    if profile.get("core.max_axons") > 20_000:  # keep the test small on ideal profiles
        profile = load_profile(name, {"core.max_axons": 1024})
    maxn, max_axons = int(profile.get("core.max_neurons")), int(profile.get("core.max_axons"))
    model = _model(name)

    def one_core(inputs, profile, limits, *, seed):
        return np.zeros(inputs.shape[1], dtype=np.int64)

    m = map_network(layered([4, maxn + 1], [1], model=model, seed=12), profile, strategy=one_core)
    (v,) = _by_rule(m, "check_neurons_per_core")
    assert (v.used, v.capacity) == (maxn + 1, maxn)

    net = layered([max_axons + 3, 2], [max_axons + 1], model=model, seed=13)
    m = map_network(net, apply_overrides(profile, {"core.split_fan_in": False}))
    got = _by_rule(m, "check_axons_per_core")
    assert [(v.used, v.capacity, v.field) for v in got] == [
        (max_axons + 1, max_axons, "core.max_axons")
    ] * 2
    assert not m.fits


def test_fan_out_synapses_xylo_without_and_with_relays():
    # Xylo: at most 64 synapses out of one neuron (core.max_fan_out)
    net = layered([16, 30, 300], [8, 15], model="lif", seed=14)
    most = int(np.diff(net.projections[1].weights.tocsr().indptr).max())
    assert most > 64
    m = map_network(net, "xylo", overrides={"core.relay_fan_out": False})
    (v,) = _by_rule(m, "check_fan_out_synapses")
    assert (v.used, v.capacity, v.field) == (most, 64, "core.max_fan_out")
    assert v.where == "layer1+layer2 on core 0"  # Xylo's one core holds both layers
    assert "relay" in v.fix and "64" in v.fix
    assert not m.fits
    # relay neurons split every such neuron: no violation left
    ok = map_network(net, "xylo")
    assert ok.fits, [str(v) for v in ok.violations]
    assert ok.added["relay_neurons"] > 0


def test_fan_out_synapses_tree_too_deep_says_prune():
    # a 2-synapse fan-out needs a splitter tree deeper than MAX_RELAY_LEVELS for 300 targets
    net = layered([16, 4, 300], [4, 4], model="lif", seed=15)
    m = map_network(net, "xylo", overrides={"core.max_fan_out": 2})
    got = _by_rule(m, "check_fan_out_synapses")
    assert got and all(v.capacity == 2 and v.used > 2 for v in got)
    assert "prune or retrain" in got[0].fix and "deeper" in got[0].fix


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_fan_out_synapses_per_family(family):
    # every encoding family with a 20-synapse fan-out limit set: the rule fires
    # without relays and relays fix it
    name = FAMILIES[family]
    net = layered([10, 8, 60], [4, 8], model=_model(name), seed=16)
    base = {"core.max_fan_out": 20}
    m = map_network(net, name, overrides={**base, "core.relay_fan_out": False})
    got = _by_rule(m, "check_fan_out_synapses")
    assert got and all(v.capacity == 20 and v.field == "core.max_fan_out" for v in got)
    assert max(v.used for v in got) == 60
    fixed = map_network(net, name, overrides={**base, "core.relay_fan_out": True})
    assert not _by_rule(fixed, "check_fan_out_synapses")
    assert all(c.resources["fan_out_synapses_max"][0] <= 20 for c in fixed.cores)


@pytest.mark.parametrize(
    "name", [n for n in profile_names() if load_profile(n).get("core.max_fan_out") is None]
)
def test_fan_out_synapses_silent_where_the_profile_has_no_limit(name):
    profile = load_profile(name)
    net = layered([10, 8, 60], [4, 8], model=_model(name), seed=17)
    m = map_network(net, profile, overrides={"core.relay_fan_out": False}, anneal_steps=100)
    assert not _by_rule(m, "check_fan_out_synapses")
    assert all(c.resources["fan_out_synapses_max"][1] is None for c in m.cores)


@pytest.mark.parametrize(
    ("name", "kind", "accepted"),
    [
        ("loihi", "cuba_lif", True),
        ("loihi2", "cuba_lif", True),
        ("xylo", "cuba_lif", True),
        ("spinnaker", "cuba_lif", True),
        ("generic", "threshold", True),
        ("truenorth", "cuba_lif", False),
        ("loihi", "threshold", False),
    ],
)
def test_neuron_model_new_kinds(name, kind, accepted):
    """cuba_lif and threshold map where the profile lists them, and only there."""
    net = layered([10, 6, 4], [3, 3], model=kind, seed=8)
    got = _by_rule(map_network(net, name), "check_neuron_model")
    assert (not got) == accepted
    assert accepted or kind in got[0].resource
