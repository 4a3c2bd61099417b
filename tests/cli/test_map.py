"""``neurosim map``: summary, --json, exit 3 with every violation, --plot, --save, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.cli import main
from neurosim.io.npz import read_npz, write_npz
from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel


def _net(path, n_pre=40, n_post=30, fan_in=10, model="lif", seed=0):
    rng = np.random.default_rng(seed)
    rows = np.argsort(rng.random((n_post, n_pre)), axis=1)[:, :fan_in].ravel()
    cols = np.repeat(np.arange(n_post), fan_in)
    w = sp.csr_matrix((rng.normal(size=rows.size), (rows, cols)), shape=(n_pre, n_post))
    net = Network.from_layers([w, np.ones((n_post, 5))], model=NeuronModel(model), name="clinet")
    write_npz(net, path)
    return path


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")


def test_map_fits_prints_summary(tmp_path, capsys):
    net = _net(tmp_path / "n.npz")
    assert main(["map", str(net), "--chip", "loihi"]) == 0
    out = capsys.readouterr().out
    assert "fits" in out and "cores used" in out and "axons" in out and "Quantization" in out


def test_map_json_keys(tmp_path, capsys):
    net = _net(tmp_path / "n.npz")
    assert (
        main(["map", str(net), "--chip", "truenorth", "--strategy", "axon_sharing", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    for key in (
        "chip",
        "fits",
        "n_cores_used",
        "n_chips_used",
        "lower_bound_cores",
        "violations",
        "cores",
    ):
        assert key in data
    assert data["chip"] == "truenorth" and data["fits"] is True and data["violations"] == []
    assert data["n_cores_used"] == len(data["cores"])
    assert data["cores"][0]["resources"]["neurons"][1] == 256
    assert data["strategy"] == "axon_sharing"


def test_map_does_not_fit_exits_3_and_lists_every_violation(tmp_path, capsys):
    # fan-in 300 > 256 axons with splitting off, relu on a lif/if chip, fan-out over one core
    net = _net(tmp_path / "n.npz", n_pre=320, n_post=20, fan_in=300, model="relu")
    argv = [
        "map",
        str(net),
        "--chip",
        "truenorth",
        "--set",
        "core.split_fan_in=false",
        "--set",
        "core.relay_fan_out=false",
    ]
    assert main(argv) == 3
    out = capsys.readouterr().out
    assert "does not fit" in out and "design-rule violation" in out
    for rule in ("check_axons_per_core", "check_fan_in", "check_neuron_model"):
        assert rule in out
    assert "core.max_axons" in out and "core.split_fan_in=true" in out
    # the library's fix names the profile field; the CLI adds the flag that sets it
    assert "on the command line: --set core.split_fan_in=true" in out
    for v in map_network(read_npz(net), "truenorth", overrides=argv[5:8:2]).violations:
        assert "--" not in v.fix, v.fix
    # --json: the JSON on stdout lists them too, the table goes to stderr
    assert main([*argv, "--json"]) == 3
    cap = capsys.readouterr()
    data = json.loads(cap.out)
    assert data["fits"] is False
    rules = {v["rule"] for v in data["violations"]}
    assert {"check_axons_per_core", "check_fan_in", "check_neuron_model"} <= rules
    v = next(v for v in data["violations"] if v["rule"] == "check_fan_in")
    assert v["used"] == 300 and v["capacity"] == 256 and v["field"] == "core.max_fan_in"
    assert "check_fan_in" in cap.err


def test_map_plot_and_save(tmp_path, capsys):
    net = _net(tmp_path / "n.npz")
    png, saved = tmp_path / "m.png", tmp_path / "mapping"
    assert (
        main(["map", str(net), "--chip", "truenorth", "--plot", str(png), "--save", str(saved)])
        == 0
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (saved / "mapping.json").is_file()
    # no overwrite without --force
    assert main(["map", str(net), "--chip", "truenorth", "--plot", str(png)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["map", str(net), "--chip", "truenorth", "--plot", str(png), "--force"]) == 0


def test_map_bad_input_exits_2(tmp_path, capsys):
    assert main(["map", str(tmp_path / "missing.npz"), "--chip", "loihi"]) == 2
    assert "missing.npz" in capsys.readouterr().err
    net = _net(tmp_path / "n.npz")
    assert main(["map", str(net), "--chip", "nochip"]) == 2
    assert main(["map", str(net), "--chip", "loihi", "--set", "core.max_neurons=abc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "core.max_neurons" in err


def _relu_digits_net(path):
    """A hand-built relu/linear network with digits' 64 inputs."""
    rng = np.random.default_rng(3)
    net = Network.from_layers(
        [rng.normal(size=(64, 12)), rng.normal(size=(12, 10))],
        [rng.normal(size=12) * 0.1, np.zeros(10)],
        [NeuronModel("relu"), NeuronModel("linear")],
        name="relunet",
    )
    write_npz(net, path)
    return path


def test_map_relu_on_spiking_chip_says_spiking(tmp_path, capsys):
    net = _relu_digits_net(tmp_path / "r.npz")
    assert main(["map", str(net), "--chip", "loihi"]) == 3
    out = " ".join(capsys.readouterr().out.split())
    assert "neurons of unsupported model 'relu'" in out and "--spiking" in out
    assert main(["map", str(net), "--chip", "loihi", "--json"]) == 3
    (v, w) = json.loads(capsys.readouterr().out)["violations"]
    assert (v["used"], v["capacity"], v["field"]) == (12, 0, "neuron.models")
    assert (w["used"], w["resource"]) == (10, "neurons of unsupported model 'linear'")


def test_map_spiking_converts_and_fits(tmp_path, capsys):
    net = _relu_digits_net(tmp_path / "r.npz")
    argv = ["map", str(net), "--chip", "loihi", "--spiking", "--data", "digits", "--json"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    data = json.loads(cap.out)
    assert data["fits"] is True and data["violations"] == [] and data["network"] == "relunet-snn"
    assert "2 population(s) of relunet converted to IF" in cap.err
    # a chip without IF neurons still refuses the converted network, and says why
    assert main(["map", str(net), "--chip", "dynapse2", "--spiking", "--data", "digits"]) == 3
    out = " ".join(capsys.readouterr().out.split())
    assert "unsupported model 'if'" in out and "implements only lif neurons" in out


def test_map_spiking_needs_data_one_line(tmp_path, capsys):
    net = _relu_digits_net(tmp_path / "r.npz")
    for extra, words in (
        (["--spiking"], "--spiking: map needs --data"),
        (["--data", "digits"], "map reads data only to calibrate --spiking"),
        (["--percentile", "99"], "--percentile: only used with --spiking"),
        (["--spiking", "--data", "iris"], "iris:train has 4 features"),
    ):
        assert main(["map", str(net), "--chip", "loihi", *extra]) == 2, extra
        cap = capsys.readouterr()
        err = cap.err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
        assert cap.out == ""


def test_map_precision_reports_minimum_bits_for_exact_categories(tmp_path, capsys):
    from neurosim.topology.graph_challenge import graph_challenge_network

    net = graph_challenge_network(n_neurons=1024, n_layers=4).to_network()
    write_npz(net, tmp_path / "gc.npz")
    rng = np.random.default_rng(0)
    x = (rng.random((20, 1024)) < 0.3).astype(float)
    np.savez(tmp_path / "inp.npz", x=x, y=np.zeros(20, dtype=int))
    args = ["map", str(tmp_path / "gc.npz"), "--chip", "loihi2", "--precision"]
    assert main([*args, "--data", str(tmp_path / "inp.npz"), "--json"]) == 0
    prec = json.loads(capsys.readouterr().out)["precision"]
    assert prec["chip"] == "loihi2" and prec["state_bits"] == 24
    assert prec["min_state_bits"] is not None and prec["min_state_bits"] <= 24
    assert len(prec["layers"]) >= 4
    # without inputs, or on a float chip: one line, exit 2
    assert main(args) == 2
    assert "--precision" in capsys.readouterr().err
    assert main([*args[:3], "generic", "--precision", "--data", str(tmp_path / "inp.npz")]) == 2
    assert "float" in capsys.readouterr().err
