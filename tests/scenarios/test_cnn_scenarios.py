"""The convolutional scenarios at their reduced size (cnn_mnist skipped when MNIST is absent)."""

from __future__ import annotations

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _conv_layers(report: dict, chip: str) -> dict:
    return report["chips"][chip]["mapping"]["conv"]


def test_cnn_digits_reduced(run_reduced):
    result, _, report = run_reduced("cnn_digits", "report.plots=[]")
    assert report["network"]["method"] == "cnn"
    kinds = [pr.kind for pr in result.network.projections]
    assert kinds == ["conv", "pool", "conv", "pool", "sparse"]  # compact through training and conversion
    assert report["network"]["stats"]["models"] == ["if", "input"]
    speck = _conv_layers(report, "speck")["conv2"]
    assert speck["storage"] == "shared_kernel" and speck["stored_weights"] == 16 * 8 * 9
    assert speck["memory_bits"] == speck["memory_bits_shared"] < speck["memory_bits_unrolled"]
    tn = _conv_layers(report, "truenorth")["conv2"]
    assert tn["storage"] == "unrolled" and tn["memory_bits"] == tn["memory_bits_unrolled"]
    assert tn["unrolled_synapses"] == speck["unrolled_synapses"] > tn["stored_weights"]
    akida = report["chips"]["akida"]  # quantized-ReLU chip: runs the rate-equivalent graded network
    assert akida["status"] == "ok" and not akida["violations"], akida.get("reason")
    assert any("rate-equivalent graded network" in n for n in akida["notes"])
    assert akida["accuracy"]["chip_top1"] is not None and akida["energy"]["total_pj"] > 0
    assert _conv_layers(report, "akida")["conv2"]["storage"] == "shared_kernel"
    assert result.results["akida"]["chip"].n_steps == 1  # one graded pass, not the 8 IF steps
    generic = report["chips"]["generic"]
    assert generic["accuracy"]["chip_top1"] == generic["accuracy"]["reference_top1"]


def test_cnn_mnist_reduced(run_reduced, mnist_dir):
    result, _, report = run_reduced("cnn_mnist", f"dataset.path={mnist_dir}", "report.plots=[]")
    assert report["dataset"]["n_samples"] == 20
    assert result.network.population("conv1").shape == (4, 28, 28)
    assert _conv_layers(report, "speck")["conv1"]["memory_bits_shared"] == 1 * 16 * 4 * 8
    assert report["chips"]["speck"]["status"] == "ok"
    assert report["chips"]["akida"]["status"] == "ok"  # run_as: rates
    tn = _conv_layers(report, "truenorth")["conv2"]  # fed through relays on TrueNorth: still counted
    assert tn["memory_bits"] == tn["memory_bits_unrolled"] > tn["memory_bits_shared"] > 0
    rows = {r["name"]: r for r in report["variants"]}  # the sketched CNNs, in the same report
    assert list(rows) == ["(scenario network)", "sketch_r4", "sketch_r2", "sketch_r1"]
    base = rows["(scenario network)"]
    for name in ("sketch_r4", "sketch_r2", "sketch_r1"):
        r = rows[name]
        assert r["method"] == "conv_sketch" and r["parameters"]["channels"] == [4, 8]  # inherited
        assert r["layers"][1]["sketched"] and not r["layers"][0]["sketched"]  # conv2 only
        assert r["stored_weights"] == base["stored_weights"]  # the expanded kernel is deployed
        assert set(r["chips"]) == {"speck"} and r["chips"]["speck"]["synapse_memory_bits"] > 0
        assert r["chips"]["speck"]["reference_top1"] is not None
    params = [rows[n]["layers"][1]["parameters"] for n in ("sketch_r4", "sketch_r2", "sketch_r1")]
    assert params[0] > params[1] > params[2]  # rank 4, 2, 1


def test_chip_run_as_is_validated_in_one_line():
    import pytest

    from neurosim.errors import ScenarioError
    from neurosim.scenario import load_scenario

    sc = load_scenario(SCENARIOS / "cnn_digits.yaml")
    assert {c.key: c.run_as for c in sc.chip_specs}["akida"] == "rates"
    assert {c.key: c.run_as for c in sc.chip_specs}["speck"] == "network"
    with pytest.raises(ScenarioError, match=r"field 'chips\.3\.run_as': Input should be 'network' or 'rates'") as info:
        load_scenario(SCENARIOS / "cnn_digits.yaml", ["chips.3.run_as=spikes"])
    assert "\n" not in str(info.value)
