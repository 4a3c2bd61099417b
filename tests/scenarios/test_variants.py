"""Network variants in a scenario (``variants:``) and per-chip input limits (``chips[].limit``)."""

from __future__ import annotations

import json

import pytest

from neurosim.errors import ScenarioError
from neurosim.scenario import run_scenario, scenario_from_dict, write_results
from neurosim.scenario.schema import variant_network

BASE = {
    "name": "variants_tiny",
    "seed": 0,
    "dataset": {"name": "iris", "split": "test"},
    "network": {
        "train": {"method": "dense", "parameters": {"hidden": [8], "epochs": 30}},
        "spiking": {"calibration": 32},
    },
    "chips": ["generic", {"name": "loihi", "limit": 10}],
    "simulation": {"steps": 8},
    "report": {"plots": []},
    "variants": [
        {"name": "narrow", "network": {"train": {"parameters": {"hidden": [4]}}}, "chips": ["generic"]},
    ],
}


def test_variant_network_merges_over_the_scenarios():
    sc = scenario_from_dict(BASE)
    merged = variant_network(sc.network, sc.variants[0])
    assert merged["train"]["method"] == "dense"  # kept from the scenario's network
    assert merged["train"]["parameters"] == {"hidden": [4], "epochs": 30}
    assert merged["spiking"]["calibration"] == 32
    other = scenario_from_dict({**BASE, "variants": [{"name": "f", "network": {"load": {"path": "x.npz"}}}]},
                               check=False)
    assert "train" not in variant_network(other.network, other.variants[0])  # another source replaces it


def test_variants_and_limits_in_one_report(tmp_path):
    sc = scenario_from_dict(BASE)
    result = run_scenario(sc)
    assert result.reports["loihi"].accuracy.n_inputs == 10  # the limited chip
    assert any("first 10 of the" in n for n in result.reports["loihi"].notes)
    assert result.reports["generic"].accuracy.n_inputs == len(result.data) > 10
    rows = result.variants
    assert [r["name"] for r in rows] == ["(scenario network)", "narrow"]
    assert set(rows[0]["chips"]) == {"generic", "loihi"} and set(rows[1]["chips"]) == {"generic"}
    assert rows[1]["n_synapses"] < rows[0]["n_synapses"]
    assert rows[1]["trained_parameters"] < rows[0]["trained_parameters"]
    out = write_results(result, tmp_path / "out")
    assert json.loads((out / "report.json").read_text())["variants"][1]["name"] == "narrow"
    md = (out / "report.md").read_text()
    assert "## Network variants" in md and "| narrow | dense |" in md


@pytest.mark.parametrize(
    "variants, pattern",
    [
        ([{"name": "a", "network": {"train": {}}}] * 2, r"variant 'a' is listed twice"),
        ([{"name": "a", "network": {"train": {}}, "chips": ["speck"]}], r"chip 'speck' is not one of"),
        ([{"name": "a", "network": {"train": {"bogus": 1}}}], r"variant 'a': network.train.bogus"),
        ([{"name": "a", "network": {"train": {"method": "nope"}}}], r"variants\[0\] \(a\).*unknown name 'nope'"),
        ([{"name": "a", "network": {"train": {"parameters": {"rank": 2}}}}], r"variants\[0\] \(a\).*'rank'"),
        ([{"name": "a b", "network": {"train": {}}}], r"name of letters"),
    ],
)
def test_bad_variants_are_one_line_errors(variants, pattern):
    with pytest.raises(ScenarioError, match=pattern) as info:
        scenario_from_dict({**BASE, "variants": variants})
    assert "\n" not in str(info.value)


def test_bad_chip_limit_is_a_one_line_error():
    with pytest.raises(ScenarioError, match=r"chips.1.limit") as info:
        scenario_from_dict({**BASE, "chips": ["generic", {"name": "loihi", "limit": 0}]})
    assert "\n" not in str(info.value)
