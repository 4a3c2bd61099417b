"""The convolutional scenarios at their reduced size (cnn_mnist skipped when MNIST is absent)."""

from __future__ import annotations


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
    assert report["chips"]["akida"]["status"] != "ok"  # ReLU-only chip: the IF network does not fit
    generic = report["chips"]["generic"]
    assert generic["accuracy"]["chip_top1"] == generic["accuracy"]["reference_top1"]


def test_cnn_mnist_reduced(run_reduced, mnist_dir):
    result, _, report = run_reduced("cnn_mnist", f"dataset.path={mnist_dir}", "report.plots=[]")
    assert report["dataset"]["n_samples"] == 20
    assert result.network.population("conv1").shape == (4, 28, 28)
    assert _conv_layers(report, "speck")["conv1"]["memory_bits_shared"] == 1 * 16 * 4 * 8
    assert report["chips"]["speck"]["status"] == "ok"
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
