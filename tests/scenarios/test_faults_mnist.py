"""Smoke test of the "faults_mnist" scenario (reduced: digits); details in tests/faults/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurosim.cli import main

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "faults_mnist.yaml"


@pytest.mark.slow  # ~25 s: trains a small digits network, 3 chips x 6 kinds x 4 rates x 2 trials
def test_reduced_faults_mnist_writes_plot_table_and_bound(tmp_path):
    out = tmp_path / "out"
    assert main(["faults", "--scenario", str(SCENARIO), "--reduced", "--out", str(out)]) == 0
    data = json.loads((out / "faults.json").read_text())
    assert {r["chip"] for r in data["summary"]} == {"loihi2", "spinnaker2", "tianjic"}
    assert len({r["kind"] for r in data["summary"]}) >= 3
    assert data["bounds"] and all(b["measured"] <= b["bound"] for b in data["bounds"])
    assert (out / "accuracy_vs_rate.png").stat().st_size > 0 and (out / "spread.png").exists()
