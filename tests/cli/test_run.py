"""``neurosim run``: exit codes, one-line errors, output directory mechanics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from neurosim.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small scenario: a 4-3 ReLU net on iris, one chip, reference and chip backends."""
    from neurosim.io.npz import write_npz
    from neurosim.network import Network

    rng = np.random.default_rng(0)
    write_npz(Network.from_layers([rng.normal(size=(4, 3))], name="tiny"), tmp_path / "net.npz")
    data = {
        "name": "tiny",
        "dataset": {"name": "iris", "limit": 20},
        "network": {"load": {"path": "net.npz"}},
        "chips": ["generic"],
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def edit(path: Path, **changes) -> Path:
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    out = path.with_name("edited.yaml")
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"colour": "red"}, "field 'colour': unknown field"),
        ({"seed": "abc"}, "field 'seed'"),
        ({"chips": ["no_such_chip"]}, "field 'chips.0': unknown chip profile 'no_such_chip'"),
        ({"network": {"load": {"path": "absent.npz"}}}, "field 'network.load.path'"),
        ({"dataset": {"name": "npz", "path": "absent.npz"}}, "field 'dataset.path'"),
    ],
)
def test_bad_scenario_exits_2_with_one_line(tiny, tmp_path, capsys, changes, needle):
    path = edit(tiny, **changes)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert needle in err and str(path) in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "scenario file not found" in capsys.readouterr().err


def test_bad_set_exits_2(tiny, tmp_path, capsys):
    assert (
        main(["run", str(tiny), "--out", str(tmp_path / "o"), "--set", "dataset.limit=zero"]) == 2
    )
    assert "field 'dataset.limit'" in capsys.readouterr().err


def test_debug_shows_traceback(tiny):
    from neurosim.errors import ScenarioError

    with pytest.raises(ScenarioError):
        main(["--debug", "run", str(edit(tiny, colour="red"))])


def test_existing_output_is_not_overwritten_without_force(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["run", str(tiny), "--out", str(out), "--no-progress"]) == 2
    assert "already exists (pass --force" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


# ------------------------------------------------------------------ full runs
def run_ok(args, capsys):
    assert main(args) == 0
    return capsys.readouterr()


def test_run_writes_every_file_and_prints_a_table(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    cap = run_ok(["run", str(tiny), "--out", str(out), "--no-progress"], capsys)
    assert "generic" in cap.out and "results written to" in cap.out
    names = {p.name for p in out.iterdir()}
    assert {"report.json", "report.md", "resolved.yaml", "outputs.npz"} <= names
    assert "energy.png" in names
    resolved = yaml.safe_load((out / "resolved.yaml").read_text())
    assert resolved["dataset"] == {
        "name": "iris",
        "path": None,
        "split": "test",
        "limit": 20,
        "train_limit": None,
        "labelled": True,
    }
    assert resolved["simulation"]["backends"] == ["reference", "chip"]  # defaults filled in
    assert resolved["network"]["load"]["path"] == str((tiny.parent / "net.npz").resolve())
    with np.load(out / "outputs.npz") as z:
        assert set(z.files) == {"input_index", "labels", "generic/reference", "generic/chip"}
        assert z["generic/chip"].shape == (20, 3)
        np.testing.assert_array_equal(z["input_index"], np.arange(20))


def test_resolved_yaml_runs_again_to_the_same_report(tiny, tmp_path, capsys):
    import json

    from neurosim.scenario import without_timings

    run_ok(["run", str(tiny), "--out", str(tmp_path / "a"), "--no-progress", "--quiet"], capsys)
    run_ok(
        ["run", str(tmp_path / "a" / "resolved.yaml"), "--out", str(tmp_path / "b"), "--quiet"],
        capsys,
    )
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in "ab")
    assert without_timings(a) == without_timings(b)


def test_same_seed_gives_identical_report_apart_from_timings(tmp_path, capsys):
    """A trained network, mapped and simulated twice: identical report.json without "timings"."""
    import json

    from neurosim.scenario import without_timings

    data = {
        "name": "twice",
        "seed": 3,
        "dataset": {"name": "iris", "limit": 30, "train_limit": 60},
        "network": {
            "train": {
                "method": "deep_r",
                "parameters": {"hidden": [8], "connectivity": 0.5, "epochs": 2},
            }
        },
        "chips": ["generic", "loihi2"],
        "report": {"plots": []},
    }
    path = tmp_path / "twice.yaml"
    path.write_text(yaml.safe_dump(data))
    for d in ("a", "b"):
        run_ok(["run", str(path), "--out", str(tmp_path / d), "--quiet"], capsys)
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in "ab")
    assert a["timings"] != b["timings"]  # wall times do differ ...
    assert without_timings(a) == without_timings(b)  # ... and nothing else does
    assert "wall_time_s" not in json.dumps(without_timings(a))
    with (
        np.load(tmp_path / "a" / "outputs.npz") as za,
        np.load(tmp_path / "b" / "outputs.npz") as zb,
    ):
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k])


def test_force_replaces_and_set_overrides(tiny, tmp_path, capsys):
    import json

    out = tmp_path / "out"
    run_ok(["run", str(tiny), "--out", str(out), "--quiet"], capsys)
    args = ["run", str(tiny), "--out", str(out), "--quiet", "--force", "--set", "dataset.limit=7"]
    args += ["--set", "report.formats=[json, md, csv]", "--set", "report.plots=[energy]"]
    run_ok(args, capsys)
    assert json.loads((out / "report.json").read_text())["dataset"]["n_samples"] == 7
    assert (out / "report.csv").read_text().startswith("key,chip,")
    assert sorted(p.name for p in out.glob("*.png")) == ["energy.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_default_out_is_results_slash_name(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_ok(["run", str(tiny), "--quiet"], capsys)
    assert (tmp_path / "results" / "tiny" / "report.json").is_file()


@pytest.mark.parametrize("fail_in", ["run", "write"])
def test_interrupted_run_leaves_nothing_that_looks_complete(
    tiny, tmp_path, monkeypatch, capsys, fail_in
):
    import neurosim.scenario.output as output
    import neurosim.scenario.runner as runner

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    if fail_in == "run":
        monkeypatch.setattr(runner, "_evaluate_chip", boom)
    else:
        monkeypatch.setattr(
            output, "_write_plots", boom
        )  # after report.json etc. were written aside
    out = tmp_path / "out"
    assert main(["run", str(tiny), "--out", str(out), "--no-progress"]) == 130
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz", "tiny.yaml"]


def test_interrupted_forced_rerun_keeps_the_old_result(tiny, tmp_path, monkeypatch, capsys):
    import neurosim.scenario.output as output

    out = tmp_path / "out"
    run_ok(["run", str(tiny), "--out", str(out), "--quiet"], capsys)
    before = (out / "report.json").read_text()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "_write_plots", boom)
    assert (
        main(
            ["run", str(tiny), "--out", str(out), "--quiet", "--force", "--set", "dataset.limit=5"]
        )
        == 130
    )
    assert (out / "report.json").read_text() == before


def test_progress_bars_go_to_stderr(tiny, tmp_path, capsys):
    cap = run_ok(["run", str(tiny), "--out", str(tmp_path / "o")], capsys)
    assert "tiny: done" in cap.err and "tiny: done" not in cap.out


@pytest.mark.parametrize("broken", ["network", "dataset", "profile"])
def test_malformed_files_named_by_the_scenario_exit_2(tiny, tmp_path, capsys, broken):
    bad = tmp_path / ("bad.yaml" if broken == "profile" else "bad.npz")
    bad.write_bytes(
        b"this is not what it claims to be\n" if broken != "profile" else b"name: [oops\n"
    )
    changes = {
        "network": {"network": {"load": {"path": "bad.npz"}}},
        "dataset": {"dataset": {"name": "npz", "path": "bad.npz"}},
        "profile": {"chips": ["bad.yaml"]},
    }[broken]
    out = tmp_path / "out"
    assert main(["run", str(edit(tiny, **changes)), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "bad." in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("fmt", "name"), [("npz", "net2.npz"), ("nir", "net2.nir"), ("graph_challenge", "net2_dir")]
)
def test_network_loaded_from_every_format_gives_the_same_outputs(tmp_path, capsys, fmt, name):
    """``network.load`` reads .npz, NIR and challenge directories: same network, same outputs."""
    from neurosim.io.formats import save_network
    from neurosim.network import Network
    from neurosim.neurons import NeuronModel

    rng = np.random.default_rng(1)
    w = [
        np.where(rng.random((4, 4)) < 0.6, 0.25, 0.0),
        np.where(rng.random((4, 4)) < 0.6, 0.5, 0.0),
    ]
    # NIR 1.0 has no ReLU node: the NIR case uses integrate-and-fire neurons
    model = (
        NeuronModel("if", {"threshold": 0.3})
        if fmt == "nir"
        else NeuronModel("relu", {"cap": 32.0})
    )
    net = Network.from_layers(w, biases=[-0.1, -0.1], model=model, name="n")
    save_network(net, tmp_path / name, fmt)
    save_network(net, tmp_path / "ref.npz", "npz")
    runs = {}
    for key, path, f in (("ref", "ref.npz", "npz"), ("got", name, fmt)):
        data = {
            "name": key,
            "dataset": {"name": "iris", "limit": 10},
            "chips": ["generic"],
            "network": {"load": {"path": path, "format": f}},
            "report": {"plots": []},
        }
        sc = tmp_path / f"{key}.yaml"
        sc.write_text(yaml.safe_dump(data))
        run_ok(["run", str(sc), "--out", str(tmp_path / key), "--quiet"], capsys)
        with np.load(tmp_path / key / "outputs.npz") as z:
            runs[key] = z["generic/reference"]
    assert np.count_nonzero(runs["ref"]) > 5  # a network that does something
    np.testing.assert_allclose(runs["got"], runs["ref"], rtol=1e-12, atol=0)


def test_exit_3_when_the_network_fits_no_chip(tiny, tmp_path, capsys):
    import json

    out = tmp_path / "out"
    args = [
        "run",
        str(tiny),
        "--out",
        str(out),
        "--quiet",
        "--set",
        "chips.0.overrides.neuron.models=[lif]",
    ]
    assert main(args) == 3
    report = json.loads((out / "report.json").read_text())
    assert report["chips"]["generic"]["status"] == "does_not_fit"
    assert "neuron.models" in report["chips"]["generic"]["reason"]
