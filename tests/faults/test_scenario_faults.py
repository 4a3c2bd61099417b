"""The faults: scenario section and scenarios/faults_mnist.yaml (reduced: digits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurosim.errors import ScenarioError
from neurosim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "faults_mnist.yaml"


def test_faults_mnist_scenario_validates_with_three_chips_and_kinds_at_four_rates():
    sc = load_scenario(SCENARIO, reduced=True)
    assert len(sc.chip_specs) >= 3
    kinds = sc.faults.kinds
    assert len(kinds) >= 3 and all(len(r) >= 4 for r in kinds.values())
    assert sc.dataset.name == "digits" and sc.faults.trials == 2


def test_bad_faults_section_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = SCENARIO.read_text().replace("neuron_crash: [0.01,", "neuron_crash: [1.5,")
    bad.write_text(text)
    with pytest.raises(ScenarioError, match=r"\[0, 1\]"):
        load_scenario(bad)
