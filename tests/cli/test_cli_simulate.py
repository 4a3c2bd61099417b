"""``neurosim simulate``: end to end on a small trained network."""

from __future__ import annotations

import json

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from neurosim.cli import main
from neurosim.io.formats import save_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel


def test_simulate_json(tmp_path, capsys) -> None:
    d = load_digits()
    clf = MLPClassifier((16,), max_iter=50, random_state=0).fit(d.data / 16, d.target)
    net = Network.from_layers(
        clf.coefs_, clf.intercepts_, [NeuronModel("relu"), NeuronModel("linear")]
    )
    path = tmp_path / "net.npz"
    save_network(net, path)
    assert main(["simulate", str(path), "--chip", "generic", "--limit", "50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_inputs"] == 50 and 0.5 < out["accuracy"] <= 1.0
    assert out["events"]["synop"] > 0
    assert main(["simulate", str(path), "--chip", "generic", "--data", "iris", "--json"]) == 2
    assert "features" in capsys.readouterr().err
    np.testing.assert_equal(out["backend"], "chip")


def test_simulate_spiking_on_loihi(tmp_path, capsys) -> None:
    rng = np.random.default_rng(1)
    net = Network.from_layers(
        [rng.normal(size=(64, 12)), rng.normal(size=(12, 10))],
        [np.zeros(12), np.zeros(10)],
        [NeuronModel("relu"), NeuronModel("linear")],
        name="relunet",
    )
    path = tmp_path / "net.npz"
    save_network(net, path)
    base = ["simulate", str(path), "--chip", "loihi", "--limit", "10", "--json"]
    # relu on a lif/if chip: simulated anyway, but the JSON and a warning say it does not fit
    assert main(base) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["fits"] is False
    assert "does not fit loihi" in cap.err and "add --spiking" in cap.err
    assert main([*base, "--spiking", "--calibration", "20"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["fits"] is True and out["n_steps"] == 100 and out["events"]["spike_out"] > 0
    assert "20 samples of digits:train" in cap.err and "does not fit" not in cap.err
    assert main([*base, "--spiking", "--data", "iris"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "features" in err[0]
