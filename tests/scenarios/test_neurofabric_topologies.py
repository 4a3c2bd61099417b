"""scenarios/neurofabric_topologies.yaml at its reduced size."""

from __future__ import annotations


def test_neurofabric_topologies_reduced(run_reduced):
    result, out, report = run_reduced("neurofabric_topologies", "report.plots=[]")
    rows = report["sweep"]
    assert [r["point"]["network.generate.parameters"]["topology"] for r in rows] == [
        "butterfly",
        "random_fixed",
    ]
    for r in rows:
        assert 0.0 <= r["topology_score"] <= 1.0
        assert set(r["chips"]) == {"generic", "loihi2", "tianjic"}
    # a butterfly reaches every output from every input evenly; a random graph of equal fan-in does not
    assert rows[0]["topology_score"] > rows[1]["topology_score"]
    assert report["network"]["topology_score"]["score"] == 1.0  # the base (dense) topology
    assert (out / "sweep.json").is_file()
