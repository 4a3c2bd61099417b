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
    # trained for TrueNorth: every neuron within 256 inputs and the axon-type crossbar bits
    # learned, so less synapse memory than the plain net. Not fewer cores: a per-neuron
    # fan-in cap does not bound a core's distinct axons, while the plain net's partial sums
    # of one input chunk share their 256 axons on one core (split.py numbers them chunk-major)
    assert aware["synapse_memory_bits"] < plain["synapse_memory_bits"]
    assert all(r["chips"]["generic"]["status"] == "ok" for r in rows)
