"""``neurosim faults``: bad input is one line and exit 2; a small run writes its report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.io.formats import save_network
from neurosim.network import Network


@pytest.fixture()
def net_file(tmp_path):
    rng = np.random.default_rng(0)
    net = Network.from_layers(
        [rng.normal(0, 0.3, (64, 20)), rng.normal(0, 0.3, (20, 10))], name="tiny"
    )
    path = tmp_path / "tiny.npz"
    save_network(net, path)
    return path


@pytest.mark.parametrize(
    ("fault", "chip", "match"),
    [
        ("neuron_crash=2", "loihi2", "[0, 1]"),
        ("cosmic_ray=0.1", "loihi2", "unknown"),
        ("weight_mismatch=chip", "loihi2", "no weights.mismatch_sigma"),
    ],
)
def test_bad_fault_specs_exit_2_with_one_line(net_file, tmp_path, capsys, fault, chip, match):
    out = tmp_path / "out"
    code = main(["faults", str(net_file), "--chip", chip, "--fault", fault, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert match in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--trials", "0"], "--trials: expected a positive integer"),
        (["--redundant", "0"], "--redundant: expected a positive integer"),
    ],
)
def test_bad_counts_exit_2(net_file, tmp_path, capsys, extra, match):
    code = main(
        ["faults", str(net_file), "--chip", "loihi2", "--fault", "neuron_crash=0.1", *extra]
    )
    err = capsys.readouterr().err
    assert code == 2 and match in err and err.count("\n") == 1


def test_scenario_with_chip_is_refused(capsys):
    assert main(["faults", "--scenario", "scenarios/faults_mnist.yaml", "--chip", "loihi2"]) == 2
    assert "expected no NETWORK, --chip or --fault" in capsys.readouterr().err


@pytest.mark.slow  # ~7 s on the shared 2-core machine (matplotlib, two mappings, 12 trials)
def test_small_campaign_writes_table_json_and_plots(net_file, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "faults",
            str(net_file),
            "--chip",
            "spinnaker2",
            "--data",
            "digits",
            "--limit",
            "30",
            "--fault",
            "neuron_crash=0,0.2",
            "--fault",
            "core_failure=0.5",
            "--trials",
            "2",
            "--spread",
            "spread",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads((out / "faults.json").read_text())
    rows = {(r["strategy"], r["kind"], r["rate"]): r for r in data["summary"]}
    base = data["baselines"]["spinnaker2/sequential"]["accuracy"]
    assert rows[("sequential", "neuron_crash", 0.0)]["accuracy_mean"] == base
    assert ("spread", "core_failure", 0.5) in rows
    assert data["bounds"] and all(b["measured"] <= b["bound"] for b in data["bounds"])
    for name in ("faults.md", "accuracy_vs_rate.png", "spread.png"):
        assert (out / name).stat().st_size > 0
    assert "El Mhamdi" in capsys.readouterr().out


@pytest.mark.slow  # starts a 2-worker LocalCluster (~15 s)
def test_local_cluster_gives_the_serial_numbers(net_file, tmp_path):
    args = [
        "faults",
        str(net_file),
        "--chip",
        "loihi2",
        "--data",
        "digits",
        "--limit",
        "30",
        "--fault",
        "neuron_crash=0.1",
        "--trials",
        "2",
        "--no-bound",
    ]
    assert main([*args, "--out", str(tmp_path / "s")]) == 0
    assert (
        main([*args, "--scheduler", "local", "--workers", "2", "--out", str(tmp_path / "l")]) == 0
    )
    serial = json.loads((tmp_path / "s" / "faults.json").read_text())["records"]
    local = json.loads((tmp_path / "l" / "faults.json").read_text())["records"]
    assert [r["accuracy"] for r in serial] == [r["accuracy"] for r in local]
    assert [r["fault"] for r in serial] == [r["fault"] for r in local]
