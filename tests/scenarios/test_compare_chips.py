"""scenarios/compare_chips.yaml at its reduced size."""

from __future__ import annotations


def test_compare_chips_reduced(run_reduced):
    from neurosim.hardware.profile import profile_names

    result, out, report = run_reduced("compare_chips", "report.plots=[]")
    assert sorted(report["chips"]) == profile_names()  # every shipped profile
    statuses = {k: v["status"] for k, v in report["chips"].items()}
    assert statuses["generic"] == "ok"
    # a chip without IF neurons cannot run the converted network, and says why
    assert (
        statuses["akida"] == "does_not_fit"
        and "neuron.models" in report["chips"]["akida"]["reason"]
    )
    assert len(report["comparison"]) == len(profile_names())
