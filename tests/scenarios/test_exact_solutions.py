"""scenarios/exact_solutions.yaml at its reduced size."""

from __future__ import annotations


def test_exact_solutions_reduced(run_reduced):
    result, out, report = run_reduced("exact_solutions", "report.plots=[]")
    vectors = report["test_vectors"]
    assert set(vectors) == {c.key for c in result.scenario.chip_specs}
    # the float64 reference reproduces the closed form exactly on every chip's run
    for chip, per_backend in vectors.items():
        assert per_backend["reference"]["exact"], chip
    # so do the float64 and float32 emulations of the generic core
    assert vectors["generic_float64"]["chip"]["exact"]
    assert vectors["generic_float32"]["chip"]["exact"]
    assert report["dataset"]["source"] == "generated" and not report["dataset"]["labelled"]
