"""scenarios/train_for_chip.yaml at its reduced size (skipped when MNIST is absent)."""

from __future__ import annotations


def test_train_for_chip_reduced(run_reduced, mnist_dir):
    result, out, report = run_reduced(
        "train_for_chip", f"dataset.path={mnist_dir}", "report.plots=[]"
    )
    rows = report["sweep"]
    assert [r["point"]["network.train.chip"] for r in rows] == [None, "truenorth"]
    plain, aware = (r["chips"]["truenorth"] for r in rows)
    assert plain["status"] == aware["status"] == "ok"
    # trained for TrueNorth: every neuron within 256 inputs (no partial-sum cores) and the
    # axon-type crossbar bits learned, so fewer cores and less synapse memory than the plain net
    assert aware["n_cores_used"] < plain["n_cores_used"]
    assert aware["synapse_memory_bits"] < plain["synapse_memory_bits"]
    assert all(r["chips"]["generic"]["status"] == "ok" for r in rows)
