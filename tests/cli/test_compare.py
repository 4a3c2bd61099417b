"""``neurosim compare``: a trained network on every chip profile, side by side."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.hardware.profile import profile_names
from neurosim.io.datasets import load_dataset
from neurosim.io.formats import save_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small MLP trained on iris (scikit-learn), saved as .npz."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train = load_dataset("iris", split="train")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8,), max_iter=600, random_state=0).fit(train.x, train.y)
    net = Network.from_layers(
        list(clf.coefs_),
        list(clf.intercepts_),
        [NeuronModel("relu"), NeuronModel("linear")],
        name="iris_mlp",
    )
    path = tmp_path_factory.mktemp("net") / "iris_mlp.npz"
    save_network(net, path)
    return path


def test_all_chips_each_row_a_report_or_a_reason(trained, tmp_path, capsys):
    md, png = tmp_path / "cmp.md", tmp_path / "cmp.png"
    args = [
        "compare",
        str(trained),
        "--chips",
        "all",
        "--data",
        "iris",
        "--limit",
        "30",
        "--placement",
        "row_major",
    ]
    assert main(args + ["--json", "--markdown", str(md), "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["rows"]
    assert [r["chip"] for r in rows] == profile_names()
    for row, rep in zip(rows, data["reports"], strict=True):
        if row["status"] == "ok":
            assert row["chip_top1"] is not None and row["reference_top1"] is not None
            assert (
                rep["energy"]["known_pj"] > 0
                and rep["latency"] is not None
                and rep["memory"] is not None
            )
        else:
            assert row["status"] in ("does_not_fit", "error") and row["reason"]
            if row["status"] == "does_not_fit":
                n = rep["mapping"]["n_violations"]
                assert row["reason"].startswith(f"{n} violation")
    ok = [r for r in rows if r["status"] == "ok"]
    assert ok and any(r["status"] != "ok" for r in rows)
    # the trained network is well above chance on every chip it fits
    assert all(r["chip_top1"] > 0.6 for r in ok)
    assert md.read_text().count("\n| ") >= len(rows) + 1
    assert png.stat().st_size > 10_000

    # the table: one row per chip, the reasons under it
    assert main(args[:-2] + ["--chips", "generic", "xylo", "--placement", "row_major"]) == 0
    out = capsys.readouterr().out
    assert "generic" in out and "xylo:" in out and "violation" in out


def test_outputs_are_not_overwritten_without_force(trained, tmp_path, capsys):
    md = tmp_path / "cmp.md"
    md.write_text("mine")
    assert main(["compare", str(trained), "--chips", "generic", "--markdown", str(md)]) == 2
    assert "pass --force" in capsys.readouterr().err and md.read_text() == "mine"


def test_bad_input_is_one_line(trained, capsys):
    assert main(["compare", str(trained), "--chips", "no_such_chip"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_chip" in err[0]
    assert main(["compare", str(trained), "--chips", "generic", "--data", "digits"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "64 features" in err[0] and "expects 4 inputs" in err[0]


def test_fits_nowhere_exits_3(trained, capsys):
    code = main(["compare", str(trained), "--chips", "generic", "--set", "neuron.models=[lif]"])
    assert code == 3
    assert "neuron.models" in " ".join(capsys.readouterr().out.split())


def test_without_data_maps_only(trained, capsys):
    assert main(["compare", str(trained), "--chips", "generic", "--json"]) == 0
    (rep,) = json.loads(capsys.readouterr().out)["reports"]
    assert rep["status"] == "ok" and rep["memory"] is not None and rep["energy"] is None
    assert np.isfinite(rep["memory"]["synapse_bits"])


@pytest.fixture(scope="module")
def digits_mlp(tmp_path_factory):
    """A relu/linear MLP trained on digits (scikit-learn), saved as .npz."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train = load_dataset("digits", split="train")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((16,), max_iter=300, random_state=0).fit(train.x, train.y)
    net = Network.from_layers(
        list(clf.coefs_),
        list(clf.intercepts_),
        [NeuronModel("relu"), NeuronModel("linear")],
        name="digits_mlp",
    )
    path = tmp_path_factory.mktemp("net") / "digits_mlp.npz"
    save_network(net, path)
    return path


def test_spiking_runs_a_relu_network_on_spiking_chips(digits_mlp, capsys):
    base = ["compare", str(digits_mlp), "--chips", "loihi", "truenorth", "generic"]
    base += ["--data", "digits", "--limit", "40", "--placement", "row_major"]
    # without --spiking the neuron-model rule stops loihi and truenorth; the output says why
    assert main(base) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "neurons of unsupported model 'relu' 16 > 0 (neuron.models)" in out
    assert "loihi, truenorth: no relu/linear neurons; add --spiking" in out

    assert main([*base, "--spiking", "--json"]) == 0
    cap = capsys.readouterr()
    data = json.loads(cap.out)
    assert "converted to IF" in cap.err and "256 samples of digits:train" in cap.err
    rows = {r["chip"]: r for r in data["rows"]}
    reports = {r["chip"]["name"]: r for r in data["reports"]}
    assert sorted(rows) == ["generic", "loihi", "truenorth"]
    for chip, row in rows.items():
        assert row["status"] == "ok" and row["reason"] is None, (chip, row["reason"])
        assert row["chip_top1"] is not None and row["reference_top1"] is not None
        assert row["energy_per_inference_pj"] > 0 and row["time_per_inference_s"] > 0
        rep = reports[chip]
        assert rep["network"] == "digits_mlp-snn" and rep["memory"] is not None
        assert rep["latency"]["n_steps"] == 100  # the spiking default
    # rate-coded IF neurons classify digits well above chance (10 %) on the chips
    assert rows["generic"]["reference_top1"] > 0.7 and rows["loihi"]["chip_top1"] > 0.7
    assert rows["truenorth"]["chip_top1"] > 0.3

    # --steps, --percentile and --calibration reach the simulation and the conversion
    argv = [*base, "--spiking", "--steps", "20", "--percentile", "99", "--calibration", "32"]
    assert main([*argv, "--chips", "loihi", "--json"]) == 0
    cap = capsys.readouterr()
    (rep,) = json.loads(cap.out)["reports"]
    assert rep["status"] == "ok" and rep["latency"]["n_steps"] == 20
    assert "99th percentile of 32 samples of digits:train" in cap.err


def test_spiking_bad_input_is_one_line(digits_mlp, trained, capsys):
    net = str(digits_mlp)
    for argv, words in (
        (["--spiking"], "needs --data"),
        (["--data", "digits", "--percentile", "99"], "only used with --spiking"),
        (["--data", "digits", "--spiking", "--percentile", "101"], "(0, 100]"),
        (["--data", "digits", "--spiking", "--calibration", "0"], "--calibration 0"),
    ):
        assert main(["compare", net, "--chips", "loihi", *argv]) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    # a network that is already spiking cannot be converted again
    spiking = trained.parent / "spiking.npz"
    rng = np.random.default_rng(0)
    save_network(Network.from_layers([rng.normal(size=(64, 5))], model=NeuronModel("lif")), spiking)
    assert main(["compare", str(spiking), "--chips", "loihi", "--data", "digits", "--spiking"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--spiking" in err[0] and "not relu/linear" in err[0], err
