"""scenarios/sweep_fanin_precision.yaml at its reduced size."""

from __future__ import annotations


def test_sweep_fanin_precision_reduced(run_reduced):
    result, out, report = run_reduced("sweep_fanin_precision", "report.plots=[sweep]")
    sweep = report["sweep"]
    assert sweep["fields"] == ["core.max_fan_in", "weights.bits"]
    rows = sweep["rows"]
    assert [(r["core.max_fan_in"], r["weights.bits"]) for r in rows] == [
        (8, 2),
        (8, 8),
        (64, 2),
        (64, 8),
    ]
    assert all(r["status"] == "ok" for r in rows)
    by = {(r["core.max_fan_in"], r["weights.bits"]): r for r in rows}
    # a lower fan-in limit splits neurons into partial sums: more cores
    assert by[(8, 8)]["n_cores_used"] >= by[(64, 8)]["n_cores_used"]
    # fewer weight bits never need more synapse memory
    assert by[(64, 2)]["synapse_memory_bits"] <= by[(64, 8)]["synapse_memory_bits"]
    assert (out / "sweep.csv").is_file() and (out / "sweep.png").is_file()
