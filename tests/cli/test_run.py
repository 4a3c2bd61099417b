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
