"""scenarios/graph_challenge_1024.yaml at its reduced size (generated network, MNIST inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_graph_challenge_reduced(run_reduced, mnist_dir):
    result, out, report = run_reduced(
        "graph_challenge_1024", f"dataset.path={mnist_dir}", "report.plots=[]"
    )
    stats = report["network"]["stats"]
    assert report["network"]["generator"] == "graph_challenge"
    assert (
        stats["n_synapses"] == 6 * 1024 * 32 and stats["fan_in_max"] == 32
    )  # 32 nonzeros per column
    assert result.data.x.shape == (20, 1024) and set(np.unique(result.data.x)) <= {0.0, 1.0}
    generic = report["chips"]["generic"]["accuracy"]
    assert not generic["labelled"] and generic["max_abs_diff"] < 1e-3  # float32 vs float64


def test_graph_challenge_official_weights_scenario_loads(graph_challenge_dir, monkeypatch):
    from neurosim.scenario import load_scenario

    monkeypatch.setenv("NEUROSIM_DATA", str(graph_challenge_dir.parents[1]))
    sc = load_scenario(SCENARIOS / "graph_challenge_1024.yaml")
    assert sc.network.load.path == str(graph_challenge_dir.resolve())
