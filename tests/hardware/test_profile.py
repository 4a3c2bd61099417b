"""The ChipProfile schema: loading, one-line errors on bad files, and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from neurosim.errors import ProfileError
from neurosim.hardware.profile import (
    ChipProfile,
    Figure,
    apply_overrides,
    load_profile,
    parse_override,
    profile_names,
    profile_path,
)

GENERIC = Path(__file__).resolve().parents[2] / "hwmodels" / "generic.yaml"


@pytest.fixture
def generic_data() -> dict:
    return yaml.safe_load(GENERIC.read_text())


def _write(tmp_path: Path, data, name: str = "chip.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _error(path_or_name, overrides=None) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(path_or_name, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ loading
def test_generic_loads_and_exposes_figures():
    p = load_profile("generic")
    assert isinstance(p, ChipProfile)
    assert p.get("weights.kind") == "float"
    assert p.get("core.max_fan_in") is None
    fig = p.figure("chip.n_cores")
    assert isinstance(fig, Figure) and fig.provenance == "definition"
    assert list(p.fields())[0] == "chip.n_cores"
    assert p.path is not None and p.path.endswith("generic.yaml")


def test_profile_names_lists_shipped_files():
    names = profile_names()
    assert names == sorted(names)
    assert {"generic", "truenorth", "loihi"} <= set(names)


def test_load_by_path_equals_load_by_name(tmp_path, generic_data):
    path = _write(tmp_path, generic_data)
    assert load_profile(path).to_dict() == load_profile("generic").to_dict()
    assert profile_path("generic").name == "generic.yaml"


def test_to_dict_round_trips_through_validation(tmp_path):
    p = load_profile("loihi")
    again = load_profile(_write(tmp_path, p.to_dict(), "loihi_copy.yaml"))
    assert again.fields() == p.fields()


def test_estimated_fields_lists_only_estimated_values():
    p = load_profile("loihi")
    est = p.estimated_fields()
    assert "energy.hop_pj" in est
    assert all(p.figure(k).provenance == "estimated" for k in est)


# ------------------------------------------------------------------ errors
def test_negative_core_count_names_file_and_field(tmp_path, generic_data):
    generic_data["chip"]["n_cores"]["value"] = -4
    path = _write(tmp_path, generic_data, "bad.yaml")
    msg = _error(path)
    assert str(path) in msg and "'chip.n_cores'" in msg and ">= 1" in msg and "-4" in msg


def test_missing_field_is_named(tmp_path, generic_data):
    del generic_data["core"]["max_axons"]
    msg = _error(_write(tmp_path, generic_data))
    assert "'core.max_axons'" in msg and "required field is missing" in msg


def test_wrong_type_is_named(tmp_path, generic_data):
    generic_data["core"]["max_neurons"]["value"] = "many"
    msg = _error(_write(tmp_path, generic_data))
    assert "'core.max_neurons'" in msg and "expected an integer" in msg


def test_fractional_integer_is_rejected_and_integral_float_accepted(tmp_path, generic_data):
    generic_data["core"]["max_neurons"]["value"] = 10.5
    assert "'core.max_neurons'" in _error(_write(tmp_path, generic_data))
    generic_data["core"]["max_neurons"]["value"] = 256.0
    assert load_profile(_write(tmp_path, generic_data)).get("core.max_neurons") == 256


def test_unknown_field_is_named(tmp_path, generic_data):
    generic_data["chip"]["n_cpus"] = {"value": 3, "provenance": "datasheet", "source": "neurosim"}
    msg = _error(_write(tmp_path, generic_data))
    assert "'chip.n_cpus'" in msg and "unknown field" in msg and "expected one of n_cores" in msg


def test_unknown_top_level_section_is_named(tmp_path, generic_data):
    generic_data["power"] = {}
    assert "'power'" in _error(_write(tmp_path, generic_data))


def test_contradictory_mesh_names_the_fields(tmp_path, generic_data):
    generic_data["chip"]["mesh_width"]["value"] = 4
    generic_data["chip"]["mesh_height"]["value"] = 4
    msg = _error(_write(tmp_path, generic_data))
    assert "chip.mesh_width x chip.mesh_height = 16" in msg and "chip.n_cores = 65536" in msg


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("chip.timestep_s", 0.0, "chip.timestep_s"),
        ("core.index_bits", None, "core.index_bits"),
        ("weights.bits", 8, "weights.bits"),  # float weights of 8 bits
    ],
)
def test_contradictions_within_a_profile(tmp_path, generic_data, path, value, expected):
    section, field = path.split(".")
    generic_data[section][field] = {"value": value, "provenance": "definition", "note": "test"}
    assert expected in _error(_write(tmp_path, generic_data))


def test_one_axon_fan_out_needs_one_target_core():
    msg = _error("generic", {"core.fan_out": "one_axon", "core.max_target_cores": 4})
    assert "core.max_target_cores" in msg


def test_crossbar_fan_in_cannot_exceed_axons():
    msg = _error("truenorth", {"core.max_fan_in": 512})
    assert "core.max_fan_in = 512 exceeds core.max_axons = 256" in msg


def test_bad_yaml_gives_line(tmp_path):
    msg = _error(_write(tmp_path, "name: x\nchip: [unclosed\n"))
    assert "invalid YAML" in msg and "line" in msg


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_non_mapping_file(tmp_path, text):
    assert "expected a mapping" in _error(_write(tmp_path, text))


def test_figure_written_as_bare_number(tmp_path, generic_data):
    generic_data["chip"]["n_cores"] = 64
    msg = _error(_write(tmp_path, generic_data))
    assert "'chip.n_cores'" in msg and "expected a mapping with value" in msg


def test_bad_provenance_lists_choices(tmp_path, generic_data):
    generic_data["chip"]["n_cores"]["provenance"] = "guessed"
    msg = _error(_write(tmp_path, generic_data))
    assert "chip.n_cores.provenance" in msg and "estimated" in msg and "guessed" in msg


@pytest.mark.parametrize(
    ("field", "figure", "expected"),
    [
        ("core.max_fan_in", {"value": None}, "needs a 'note'"),
        ("chip.max_chips", {"value": None, "note": "unknown"}, "null is not allowed"),
        ("chip.max_chips", {"value": 3}, "provenance"),
        ("chip.max_chips", {"value": 3, "provenance": "datasheet"}, "source"),
        (
            "chip.max_chips",
            {"value": 3, "provenance": "estimated", "source": "neurosim"},
            "reasoning",
        ),
        (
            "chip.max_chips",
            {"value": 3, "provenance": "datasheet", "source": "nowhere"},
            "not a key of 'sources'",
        ),
    ],
)
def test_every_figure_is_documented(tmp_path, generic_data, field, figure, expected):
    section, name = field.split(".")
    generic_data[section][name] = figure
    msg = _error(_write(tmp_path, generic_data))
    assert field in msg and expected in msg


def test_unknown_chip_name_lists_the_choices():
    msg = _error("no_such_chip")
    assert "no_such_chip" in msg and "truenorth" in msg


def test_missing_yaml_file(tmp_path):
    assert "not found" in _error(tmp_path / "absent.yaml")


def test_shipped_name_must_equal_file_stem(tmp_path, generic_data, monkeypatch):
    import neurosim.hardware.profile as profile_module

    generic_data["name"] = "other"
    _write(tmp_path, generic_data, "mychip.yaml")
    monkeypatch.setattr(profile_module, "_hwmodels_dir", lambda: tmp_path)
    assert profile_names() == ["mychip"]
    msg = _error("mychip")
    assert "'name'" in msg and "'other'" in msg and "'mychip'" in msg


# ---------------------------------------------------------------- overrides
def test_override_marks_provenance_and_keeps_the_old_value():
    p = load_profile("generic", ["core.max_fan_in=256"])
    fig = p.figure("core.max_fan_in")
    assert fig.value == 256 and fig.provenance == "override" and "None" in fig.note
    assert load_profile("generic").get("core.max_fan_in") is None  # no mutation


def test_override_mapping_and_strings_agree():
    a = load_profile("loihi", {"core.max_neurons": 512, "weights.bits": 4})
    b = load_profile("loihi", ["core.max_neurons=512", "weights.bits=4"])
    assert a.fields() == b.fields()


def test_weight_bits_on_generic_switch_kind_to_int():
    p = load_profile("generic", ["weights.bits=4"])
    assert (p.get("weights.kind"), p.get("weights.bits"), p.get("weights.scale")) == (
        "int",
        4,
        "per_layer",
    )
    assert p.figure("weights.kind").provenance == "override"


def test_weight_bits_with_explicit_kind_is_left_alone():
    msg = _error("generic", ["weights.bits=4", "weights.kind=float"])
    assert "weights.bits" in msg


def test_ternary_kind_implies_two_bits():
    p = load_profile("generic", ["weights.kind=ternary"])
    assert p.get("weights.bits") == 2 and p.get("weights.scale") == "per_layer"


def test_override_to_null_is_unlimited():
    assert load_profile("truenorth", ["core.max_fan_in=null"]).get("core.max_fan_in") is None


def test_list_override_parses_as_yaml():
    assert load_profile("generic", ["neuron.models=[lif, if]"]).get("neuron.models") == [
        "lif",
        "if",
    ]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("core.max_fan_in", "expected section.field=value"),
        ("fan_in=3", "expected section.field=value"),
        ("core.nothing=3", "unknown field 'core.nothing'"),
        ("power.watts=3", "unknown field 'power.watts'"),
        ("core.max_fan_in=-3", "'core.max_fan_in': expected a value >= 1"),
        ("core.max_fan_in=abc", "'core.max_fan_in': expected an integer"),
        ("core.fan_out=broadcast", "'core.fan_out': expected one of one_axon, multicast"),
        ("core.split_fan_in=maybe", "'core.split_fan_in': expected true or false"),
    ],
)
def test_bad_overrides_give_one_line(override, expected):
    assert expected in _error("generic", [override])


def test_apply_overrides_on_a_loaded_profile():
    p = load_profile("speck")
    q = apply_overrides(p, {"core.max_neurons": 4096})
    assert q.get("core.max_neurons") == 4096 and p.get("core.max_neurons") == 16384
    assert apply_overrides(p, None) is p


def test_parse_override_values():
    assert parse_override("core.max_fan_in=256") == ("core.max_fan_in", 256)
    assert parse_override("energy.synop_pj=1.5") == ("energy.synop_pj", 1.5)
    assert parse_override("core.split_fan_in=false") == ("core.split_fan_in", False)


def test_max_fan_out_is_optional_and_null_when_absent(tmp_path, generic_data):
    # a profile file written before core.max_fan_out existed still loads: no limit
    generic_data["core"].pop("max_fan_out", None)
    p = load_profile(_write(tmp_path, generic_data))
    fig = p.figure("core.max_fan_out")
    assert fig.value is None and "not stated" in fig.note
    assert "core.max_fan_out" in p.fields()
    # a stated value is checked like any count
    generic_data["core"]["max_fan_out"] = {"value": 64, "provenance": "definition"}
    assert load_profile(_write(tmp_path, generic_data)).get("core.max_fan_out") == 64
    generic_data["core"]["max_fan_out"] = {"value": 0, "provenance": "definition"}
    msg = _error(_write(tmp_path, generic_data))
    assert "core.max_fan_out" in msg and ">= 1" in msg
    generic_data["core"]["max_fan_out"] = {"value": 64}
    assert "provenance" in _error(_write(tmp_path, generic_data))


def test_max_fan_out_override():
    p = load_profile("generic", ["core.max_fan_out=32"])
    assert p.get("core.max_fan_out") == 32
    assert p.figure("core.max_fan_out").provenance == "override"
    assert load_profile("xylo", {"core.max_fan_out": None}).get("core.max_fan_out") is None
