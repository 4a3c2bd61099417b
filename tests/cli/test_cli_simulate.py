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
