"""``neurosim train deep_r_cnn`` and ``conntra_cnn``: conv DEEP R and conv CoNNTrA from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.io.npz import read_npz
from neurosim.train.registry import method_options, train_network


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("deep_r_cnn", ["--n-connections", "150", "--budget", "per_layer", "--lr", "0.03"]),
        ("conntra_cnn", ["--block", "0.03", "--max-tries", "3"]),
    ],
)
def test_train_conv_method_on_digits(tmp_path, capsys, method, extra):
    out = tmp_path / "net.npz"
    args = ["train", method, "--data", "digits", "--limit", "300", "--test-limit", "100", "--channels", "2,4",
            "--image-shape", "8,8", "--epochs", "2", "--batch-size", "32", "--out", str(out), "--json", *extra]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    net = read_npz(out)
    assert summary["method"] == method
    assert [p.kind for p in net.projections] == ["conv", "pool", "conv", "pool", "sparse"]
    assert net.projections[2].spec.kernel.shape == (4, 2, 3, 3)
    assert summary["n_connections"] == net.n_synapses and 0 <= summary["test_accuracy"] <= 1
    stored = [int(np.count_nonzero(p.spec.kernel)) for p in net.projections if p.kind == "conv"]
    stored.append(net.projections[-1].n_synapses)
    if method == "deep_r_cnn":
        assert sum(stored) == 150 == summary["n_parameters"]
    else:
        assert summary["n_parameters"] == 2 * 9 + 4 * 2 * 9 + 16 * 10


def test_options_of_the_conv_methods_and_a_bad_budget(tmp_path, capsys):
    assert {"channels", "image_shape", "connectivity", "budget", "l1"} <= set(method_options("deep_r_cnn"))
    assert {"channels", "block", "beta2", "max_tries"} <= set(method_options("conntra_cnn"))
    out = tmp_path / "net.npz"
    rc = main(["train", "deep_r_cnn", "--data", "digits", "--channels", "4,8", "--image-shape", "8,8",
               "--n-connections", "20", "--out", str(out)])
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "at least one per output channel" in err and err.count("\n") == 1
    rc = main(["train", "conntra_cnn", "--data", "digits", "--connectivity", "0.1", "--out", str(out)])
    assert rc == 2 and "--connectivity does not apply to method conntra_cnn" in capsys.readouterr().err


def test_registered_methods_train_through_train_network():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("digits", split="train", limit=200)
    res = train_network("deep_r_cnn", tr, channels=(2, 4), image_shape=(8, 8), epochs=1, connectivity=0.2)
    assert res.method == "deep_r_cnn" and res.network.metadata["training"]["data"].startswith("digits")
    assert res.n_parameters == res.info["n_active"]


_SCENARIO = """
name: conv_deep_r_digits
seed: 0
dataset: {name: digits, split: test, limit: 10, train_limit: 300}
network:
  train:
    method: METHOD
    parameters: {channels: [4, 8], image_shape: [1, 8, 8], epochs: 2, batch_size: 32, EXTRA}
  spiking: {percentile: 99.9, calibration: 64}
chips: [speck]
simulation: {backends: [reference], steps: 8}
"""


def _scenario(tmp_path, method: str, extra: str):
    path = tmp_path / f"{method}.yaml"
    path.write_text(_SCENARIO.replace("METHOD", method).replace("EXTRA", extra))
    return str(path)


def test_a_scenario_trains_with_conv_deep_r_and_refuses_a_foreign_parameter(tmp_path, capsys):
    out = tmp_path / "dr"
    rc = main(["run", _scenario(tmp_path, "deep_r_cnn", "connectivity: 0.3"), "--no-progress", "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    training = report["network"]["training"]
    assert training["method"] == "deep_r_cnn" and training["n_parameters"] == round(0.3 * (36 + 288 + 320))
    assert report["chips"]["speck"]["summary"]["status"] == "ok"
    capsys.readouterr()
    rc = main(["run", _scenario(tmp_path, "conntra_cnn", "lr: 0.01"), "--no-progress", "--out", str(tmp_path / "ct")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "method conntra_cnn takes no parameter 'lr'" in err and err.count("\n") == 1
