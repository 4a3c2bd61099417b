"""Every shipped scenario is valid, documented and has a smoke test."""

from __future__ import annotations

from pathlib import Path

import pytest

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
ROOT = SCENARIOS.parent


def test_the_issue_s_scenarios_are_shipped():
    assert set(NAMES) >= {
        "quickstart",
        "graph_challenge_1024",
        "exact_solutions",
        "deep_r_mnist",
        "conntra_ternary",
        "sketch_mnist",
        "neurofabric_topologies",
        "compare_chips",
        "sweep_fanin_precision",
    }


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_valid_at_both_sizes(name, monkeypatch, tmp_path):
    from neurosim.scenario import load_scenario

    monkeypatch.setenv("NEUROSIM_DATA", str(tmp_path))  # data need not exist to validate
    (tmp_path / "graph_challenge" / "neuron1024").mkdir(parents=True)
    path = SCENARIOS / f"{name}.yaml"
    full = load_scenario(path)
    assert full.name == name and full.description
    reduced = load_scenario(path, reduced=True)
    assert full.reduced, f"{name} has no 'reduced:' overrides for its smoke test"
    assert reduced != full


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_documented_and_smoke_tested(name):
    assert f"`{name}.yaml`" in (ROOT / "docs" / "scenarios.md").read_text()
    tests = "".join(
        p.read_text()
        for p in Path(__file__).parent.glob("test_*.py")
        if p.name != Path(__file__).name
    )
    assert f'"{name}"' in tests, f"no smoke test runs {name}"


def test_readme_main_command_runs_the_quickstart():
    assert (
        "neurosim run scenarios/quickstart.yaml --out results/quickstart --force"
        in (ROOT / "README.md").read_text()
    )
