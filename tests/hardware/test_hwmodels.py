"""Every shipped chip profile in hwmodels/: loads, documents every figure, and is sane."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from neurosim.hardware.profile import NEURON_MODELS, PROVENANCES, load_profile, profile_names

REQUIRED = {
    "generic", "truenorth", "loihi", "loihi2", "spinnaker", "spinnaker2", "akida", "xylo",
    "dynapse2", "brainscales2", "tianjic", "speck",
}  # fmt: skip
NAMES = profile_names()
REAL = [n for n in NAMES if n != "generic"]

#: inclusive (low, high) sanity range of each numeric field, in its unit
RANGES = {
    "chip.n_cores": (1, 10**6),
    "chip.mesh_width": (1, 4096),
    "chip.mesh_height": (1, 4096),
    "chip.max_chips": (1, 10**6),
    "chip.timestep_s": (1e-7, 1.0),
    "core.max_neurons": (1, 10**5),
    "core.max_axons": (1, 10**7),
    "core.max_fan_in": (1, 10**7),
    "core.max_target_cores": (1, 10**6),
    "core.max_fan_out": (1, 10**6),
    "core.synapse_memory_bits": (2**10, 2**33),
    "core.index_bits": (1, 32),
    "core.max_synapses_per_neuron": (1, 10**6),
    "weights.bits": (1, 32),
    "weights.n_axon_types": (1, 64),
    "weights.accumulator_bits": (4, 64),
    "weights.state_bits": (1, 64),
    "energy.synop_pj": (0.0, 1e5),
    "energy.neuron_update_pj": (0.0, 1e5),
    "energy.spike_out_pj": (0.0, 1e5),
    "energy.hop_pj": (0.0, 1e4),
    "energy.chip_hop_pj": (0.0, 1e5),
    "energy.static_power_w": (0.0, 10.0),
    "latency.synop_ns": (0.0, 1e4),
    "latency.neuron_update_ns": (0.0, 1e4),
    "latency.spike_out_ns": (0.0, 1e4),
    "latency.hop_ns": (0.0, 1e4),
    "latency.chip_hop_ns": (0.0, 1e5),
}


@pytest.fixture(scope="module", params=NAMES)
def profile(request):
    return load_profile(request.param)


def test_at_least_the_required_chips_are_shipped():
    assert REQUIRED <= set(NAMES)


def test_name_equals_file_stem(profile):
    assert profile.path.endswith(f"{profile.name}.yaml")


def test_every_figure_has_provenance_and_source_or_a_note(profile):
    for key, fig in profile.fields().items():
        if fig.value is None:
            assert fig.note and len(fig.note) >= 10, f"{profile.name} {key}: null without a note"
            continue
        assert fig.provenance in PROVENANCES, f"{profile.name} {key}"
        assert fig.provenance != "override", (
            f"{profile.name} {key}: a shipped file has no overrides"
        )
        assert fig.source in profile.sources, f"{profile.name} {key}: source {fig.source!r}"
        if fig.provenance == "estimated":
            assert fig.note and len(fig.note) >= 20, (
                f"{profile.name} {key}: estimate without reasoning"
            )


def test_sources_are_citations_and_all_cited(profile):
    """Every source is a citation, and every one is some figure's source or named in a note."""
    used = {f.source for f in profile.fields().values() if f.source}
    notes = " ".join(f.note or "" for f in profile.fields().values())
    for key, text in profile.sources.items():
        assert len(text) >= 15, f"{profile.name} source {key} is not a citation"
        assert key in used or key in notes, f"{profile.name}: source {key} is never cited"


def test_numbers_are_in_sane_ranges(profile):
    for key, (low, high) in RANGES.items():
        value = profile.get(key)
        if value is None:
            continue
        assert low <= value <= high, f"{profile.name} {key} = {value} outside [{low}, {high}]"


def test_widths_are_consistent(profile):
    bits = profile.get("weights.bits")
    assert (
        profile.get("weights.accumulator_bits") >= bits
        or profile.get("weights.kind") == "axon_type"
    )
    if profile.get("core.synapse_encoding") == "sparse":
        assert 2 ** profile.get("core.index_bits") >= profile.get("core.max_neurons")


def test_a_full_core_fits_its_own_memory_where_the_chip_stores_every_synapse(profile):
    """Crossbar and per-neuron-slot chips hold a full core in exactly their synapse memory."""
    k, w = profile.get, profile.get
    enc = k("core.synapse_encoding")
    if enc == "crossbar":
        cell = 1 if w("weights.kind") in ("binary", "axon_type") else w("weights.bits")
        assert k("core.max_axons") * k("core.max_neurons") * cell <= k("core.synapse_memory_bits")
    elif enc == "per_neuron_slots":
        slot = w("weights.bits") + k("core.index_bits")
        full = k("core.max_neurons") * k("core.max_synapses_per_neuron") * slot
        assert full == k("core.synapse_memory_bits")


def test_real_chips_are_not_ideal():
    for name in REAL:
        p = load_profile(name)
        assert p.get("weights.kind") != "float", name
        assert p.get("weights.bits") <= 16, name
        assert any(
            f.provenance in ("measured", "datasheet", "simulated") for f in p.fields().values()
        )


def test_energy_and_latency_are_known_for_every_real_chip():
    """Reports need per-event energies: no real chip leaves the core energy figures unknown."""
    for name in REAL:
        p = load_profile(name)
        for key in ("energy.synop_pj", "energy.neuron_update_pj", "energy.spike_out_pj",
                    "energy.hop_pj", "energy.static_power_w", "latency.synop_ns"):  # fmt: skip
            assert p.get(key) is not None, f"{name} {key}"


def test_generic_is_ideal_hardware():
    p = load_profile("generic")
    assert (p.get("weights.kind"), p.get("weights.bits"), p.get("weights.state_bits")) == (
        "float",
        32,
        32,
    )
    assert p.get("core.max_fan_in") is None and p.get("core.max_synapses_per_neuron") is None
    assert p.get("core.max_axons") >= 10**6 and p.get("energy.static_power_w") == 0
    assert set(p.get("neuron.models")) == set(NEURON_MODELS)  # every kind


@pytest.mark.parametrize(
    ("name", "neurons", "synapses"),
    [
        ("truenorth", 2**20, 2**28),  # 1M neurons, 256M synapses (Merolla 2014)
        ("loihi", 131_072, None),  # 128 cores x 1024 compartments
        ("loihi2", 2**20, None),  # 1M neurons per chip
        ("dynapse2", 1024, 65_536),  # 1024 neurons, 64K CAM synapses
        ("brainscales2", 512, 131_072),  # 512 neurons, 131,072 synapses
        ("xylo", 1008, None),  # 1000 hidden + 8 output neurons
    ],
)
def test_chip_totals_match_published_totals(name, neurons, synapses):
    p = load_profile(name)
    assert p.get("chip.n_cores") * p.get("core.max_neurons") == neurons
    if synapses is not None:
        per_core = p.get("core.max_axons") * p.get("core.max_neurons")
        if p.get("core.max_synapses_per_neuron"):
            per_core = p.get("core.max_synapses_per_neuron") * p.get("core.max_neurons")
        assert p.get("chip.n_cores") * per_core == synapses


def test_design_choices_of_the_issue():
    tn = load_profile("truenorth")
    assert tn.get("core.synapse_encoding") == "crossbar" and tn.get("weights.kind") == "axon_type"
    assert tn.get("weights.n_axon_types") == 4 and tn.get("core.fan_out") == "one_axon"
    assert tn.get("core.max_target_cores") == 1
    assert tn.get("core.split_fan_in") and tn.get("core.relay_fan_out")
    lo = load_profile("loihi")
    assert (
        lo.get("core.synapse_encoding") == "sparse" and lo.get("core.synapse_memory_bits") == 2**20
    )
    assert (lo.get("weights.kind"), lo.get("weights.bits"), lo.get("weights.scale")) == (
        "int",
        8,
        "exponent",
    )
    assert (lo.get("core.max_neurons"), lo.get("core.max_axons")) == (1024, 4096)
    assert lo.get("core.split_fan_in") is True
    assert lo.get("core.index_bits") == math.ceil(math.log2(lo.get("core.max_neurons")))
    dy = load_profile("dynapse2")
    assert dy.get("core.synapse_encoding") == "per_neuron_slots"
    assert dy.get("core.max_synapses_per_neuron") == 64
    for analog in ("dynapse2", "brainscales2"):
        fig = load_profile(analog).figure("chip.timestep_s")
        assert fig.value is None and "continuous" in fig.note


def test_every_shipped_file_states_max_fan_out(profile):
    """core.max_fan_out is optional in a user's file, but every shipped profile states it."""
    raw = yaml.safe_load(Path(profile.path).read_text())
    assert "max_fan_out" in raw["core"], f"{profile.name}: core.max_fan_out missing"
    fig = profile.figure("core.max_fan_out")
    assert fig.note, f"{profile.name}: core.max_fan_out needs a note (null: why; value: what)"


def test_xylo_fan_out_rule_and_honest_memory():
    xy = load_profile("xylo")
    fig = xy.figure("core.max_fan_out")
    assert (fig.value, fig.provenance, fig.source) == (64, "datasheet", "rockpool_docs")
    # ~64,000 weights in all = 1000 hidden neurons x fan-out 64 (the 8 outputs drive nothing)
    assert (xy.get("core.max_neurons") - 8) * xy.get("core.max_fan_out") == 64_000
    # the synapse store's bit count is not published: unknown, not sized to make a total bind
    mem = xy.figure("core.synapse_memory_bits")
    assert mem.value is None and "not published" in mem.note
    assert "max_fan_out" in xy.figure("core.max_fan_in").note
