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
    # relu on a lif/if chip: exit 3 as `map` does, nothing simulated, one line saying why
    assert main(base) == 3
    cap = capsys.readouterr()
    assert cap.out == ""
    (line,) = cap.err.strip().splitlines()
    assert "does not fit loihi" in line and "--ignore-fit" in line and "add --spiking" in line
    # --ignore-fit: simulated, and every figure is marked as from an unfittable mapping
    assert main([*base, "--ignore-fit"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["fits"] is False and "does not fit" in out["note"] and out["n_inputs"] == 10
    assert "simulated anyway (--ignore-fit)" in cap.err
    assert main([*base[:-1], "--ignore-fit", "--no-progress"]) == 0
    assert "DOES NOT FIT" in capsys.readouterr().out
    assert main([*base, "--spiking", "--calibration", "20"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["fits"] is True and out["n_steps"] == 100 and out["events"]["spike_out"] > 0
    assert "20 samples of digits:train" in cap.err and "does not fit" not in cap.err
    assert main([*base, "--spiking", "--data", "iris"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "features" in err[0]
