"""The MNIST scenarios at their reduced size (skipped when MNIST is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize(
    ("name", "method"),
    [("deep_r_mnist", "deep_r"), ("conntra_ternary", "conntra"), ("sketch_mnist", "sketch")],
)
def test_mnist_scenario_reduced(run_reduced, mnist_dir, name, method):
    result, out, report = run_reduced(name, f"dataset.path={mnist_dir}", "report.plots=[]")
    assert report["network"]["method"] == method
    assert report["dataset"]["name"] == "mnist:test" and report["dataset"]["n_samples"] == 100
    assert report["network"]["stats"]["fan_in_max"] <= 784
    assert report["chips"]["generic"]["status"] == "ok"
    if name == "conntra_ternary":  # one weight magnitude per layer
        for proj in result.network.projections:
            assert np.unique(np.abs(proj.weights.data)).size == 1, proj.name
    if name == "deep_r_mnist":
        training = report["network"]["training"]
        assert training["n_connections"] == 1254 + 96  # the reduced budget, kept exactly
        assert training["connectivity"] == pytest.approx(1350 / (784 * 32 + 32 * 10))
        assert report["network"]["parameters"]["optimizer"] == "adam"  # the measured settings


def test_mnist_scenario_without_data_is_a_one_line_data_error(tmp_path, monkeypatch):
    from neurosim.cli import main

    monkeypatch.delenv("NEUROSIM_DATA", raising=False)

    assert main(["run", str(SCENARIOS / "deep_r_mnist.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
