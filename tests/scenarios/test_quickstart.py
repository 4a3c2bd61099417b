"""scenarios/quickstart.yaml at its reduced size."""

from __future__ import annotations


def test_quickstart_reduced(run_reduced):
    result, out, report = run_reduced("quickstart")
    assert list(report["chips"]) == ["generic", "loihi", "truenorth"]
    assert report["network"]["source"] == "train" and report["network"]["method"] == "dense"
    assert report["network"]["info"]["chip"]["chip"] == "truenorth"  # trained for TrueNorth
    assert report["network"]["stats"]["models"] == ["if", "input"]  # converted to IF neurons
    # trained through the mapper's quantizer: TrueNorth holds the weights exactly
    quant = report["chips"]["truenorth"]["accuracy"]["quantization"]
    assert quant["max_rel_error"] < 1e-9 and quant["n_zeroed"] == 0
    generic = report["chips"]["generic"]
    assert generic["status"] == "ok"
    # the ideal float core computes what the float64 reference computes
    assert generic["accuracy"]["chip_top1"] == generic["accuracy"]["reference_top1"]
    assert generic["summary"]["energy_per_inference_pj"] > 0
    assert report["dataset"]["n_samples"] == 60
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "energy.png" in pngs and any(p.startswith("utilization_") for p in pngs)
    assert "timings" in report and report["timings"]["total_s"] > 0
