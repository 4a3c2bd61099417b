"""scenarios/neurofabric_topologies.yaml at its reduced size."""

from __future__ import annotations

import numpy as np


def test_neurofabric_topologies_reduced(run_reduced):
    result, out, report = run_reduced("neurofabric_topologies", "report.plots=[]")
    rows = report["sweep"]
    assert [r["point"]["network.train.init.generate.parameters"]["topology"] for r in rows] == [
        "butterfly",
        "random_fixed",
    ]
    for r in rows:
        assert 0.0 <= r["topology_score"] <= 1.0
        assert set(r["chips"]) == {"generic", "loihi2", "tianjic"}
        # trained: every row has a test accuracy next to its score
        assert r["train_accuracy"] is not None
        for summary in r["chips"].values():
            assert summary["reference_top1"] is not None and summary["chip_top1"] is not None
        # two fan-in-8 layers of 64 plus the dense 64 x 10 readout
        assert r["n_synapses"] == 2 * 64 * 8 + 640
    # a butterfly reaches every output from every input evenly; a random graph of equal fan-in
    # does not (scored on the topology layers only, not the dense readout)
    assert rows[0]["topology_score"] > rows[1]["topology_score"]
    info = report["network"]
    assert info["method"] == "fixed_topology" and info["init"]["generator"] == "neurofabric"
    assert info["topology_score"]["score"] == 1.0  # the base (dense) topology
    assert info["topology_score"]["n_layers"] == 2  # the readout is not scored
    # the trained base network keeps the generated dense topology plus the readout
    patterns = [p.weights.toarray() != 0 for p, _ in result.network.layers()]
    assert [m.shape for m in patterns] == [(64, 64), (64, 64), (64, 10)]
    assert all(np.all(m) for m in patterns)
    assert (out / "sweep.json").is_file()
