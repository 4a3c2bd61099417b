"""``neurosim sweep``: grid from --set lists, output folder, resume, one-line errors.

(Named test_cli_sweep.py so it does not collide with tests/test_sweep.py: the
test folders are not packages.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.io.formats import save_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    rng = np.random.default_rng(0)
    net = Network.from_layers(
        [rng.normal(size=(6, 5)), rng.normal(size=(5, 3))],
        model=[NeuronModel("relu"), NeuronModel("linear")],
        name="tiny",
    )
    save_network(net, d / "net.npz")
    np.savez(d / "data.npz", x=rng.random((10, 6)), y=rng.integers(0, 3, 10))
    return d


def test_sweep_writes_and_resumes(files, tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "sweep",
        str(files / "net.npz"),
        "--chip",
        "generic",
        "--set",
        "core.max_fan_in=2,4",
        "--set",
        "weights.bits=2,8",
        "--data",
        str(files / "data.npz"),
        "--split",
        "all",
        "--placement",
        "row_major",
        "--out",
        str(out),
        "--scheduler",
        "serial",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "4 point(s) computed, 0 reused" in " ".join(text.split())
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert sorted((r["core.max_fan_in"], r["weights.bits"]) for r in rows) == [
        (2, 2),
        (2, 8),
        (4, 2),
        (4, 8),
    ]
    assert all(r["status"] == "ok" and r["energy_per_inference_pj"] > 0 for r in rows)
    assert (out / "sweep.png").stat().st_size > 0 and (out / "sweep.csv").is_file()
    (out / "points" / f"{rows[0]['key']}.json").unlink()
    assert main(args + ["--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_computed"] == 1 and summary["n_reused"] == 3
    assert main(args + ["--json", "--force"]) == 0
    assert json.loads(capsys.readouterr().out)["n_computed"] == 4


def test_sweep_errors_are_one_line(files, tmp_path, capsys):
    base = ["sweep", str(files / "net.npz"), "--chip", "generic", "--out", str(tmp_path / "o")]
    base += ["--scheduler", "serial"]
    for extra, words in (
        ([], "nothing to sweep"),
        (["--set", "core.max_fan_in"], "expected section.field=v1,v2"),
        (["--set", "core.nope=1,2"], "core.nope"),
        (["--set", "core.max_fan_in=0,2"], "core.max_fan_in"),
        (["--set", "core.max_fan_in=2", "--scheduler", "nowhere"], "--scheduler"),
        (["--set", "core.max_fan_in=2", "--workers", "0"], "--scheduler/--workers"),
        (["--set", "core.max_fan_in=2", "--points-per-task", "0"], "execution.points_per_task"),
    ):
        assert main(base + extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err


def test_sweep_spiking_runs_on_a_chip_without_relu(files, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["sweep", str(files / "net.npz"), "--chip", "loihi", "--set", "weights.bits=4,8"]
    args += ["--data", str(files / "data.npz"), "--split", "all", "--out", str(out)]
    args += ["--placement", "row_major", "--scheduler", "serial"]
    # the relu/linear network does not fit loihi as it is ...
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["status"] for r in rows] == ["does_not_fit"] * 2
    assert all("unsupported model 'relu'" in r["reason"] for r in rows)
    # ... its spiking conversion is another network: the old points are not reused
    spiking = [*args, "--spiking", "--calibration", "5", "--json"]
    assert main(spiking) == 2
    err = capsys.readouterr().err.strip().splitlines()  # the conversion note, then the error
    assert len(err) == 2 and "converted to IF" in err[0], err
    assert "another network" in err[1] and "--force" in err[1], err
    assert main([*spiking, "--force"]) == 0
    cap = capsys.readouterr()
    summary = json.loads(cap.out)
    assert summary["n_computed"] == 2 and "5 samples of data:train" in cap.err
    rows = summary["rows"]
    assert sorted(r["weights.bits"] for r in rows) == [4, 8]
    assert all(r["status"] == "ok" and r["energy_per_inference_pj"] > 0 for r in rows)
    assert all(r["chip_top1"] is not None for r in rows)
