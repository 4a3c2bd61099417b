"""scenarios/quickstart.yaml at its reduced size."""

from __future__ import annotations

import numpy as np


def test_quickstart_reduced(run_reduced):
    result, out, report = run_reduced("quickstart")
    assert list(report["chips"]) == ["generic", "loihi", "truenorth"]
    assert report["network"]["source"] == "train" and report["network"]["method"] == "conntra"
    assert report["network"]["stats"]["models"] == ["if", "input"]  # converted to IF neurons
    # ternary: one weight magnitude per layer (CoNNTrA's per-layer scale, kept by the conversion)
    for proj in result.network.projections:
        assert np.unique(np.abs(proj.weights.data)).size == 1, proj.name
    generic = report["chips"]["generic"]
    assert generic["status"] == "ok"
    # the ideal float core computes what the float64 reference computes
    assert generic["accuracy"]["chip_top1"] == generic["accuracy"]["reference_top1"]
    assert generic["summary"]["energy_per_inference_pj"] > 0
    assert report["dataset"]["n_samples"] == 60
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "energy.png" in pngs and any(p.startswith("utilization_") for p in pngs)
    assert "timings" in report and report["timings"]["total_s"] > 0
