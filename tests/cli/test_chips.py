"""``neurosim chips``: the table, ``show``, JSON output, one-line errors, fast start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from neurosim.cli import main
from neurosim.hardware.profile import SECTIONS, load_profile, profile_names

ROOT = Path(__file__).resolve().parents[2]
GENERIC = ROOT / "hwmodels" / "generic.yaml"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _bad_profile(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(GENERIC.read_text())
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


# ------------------------------------------------------------------ the table
@pytest.mark.parametrize("columns", [80, 120])
def test_table_fits_the_terminal_and_lists_every_chip(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    rc, out, err = _run(capsys, "chips")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= columns
    rows = {
        line.split()[0]: line
        for line in lines
        if line.split() and line.split()[0] in profile_names()
    }
    assert set(rows) == set(profile_names())
    assert "…" not in "".join(rows.values())  # nothing cut off
    assert "33.6 S" in rows["loihi"] and "26 M" in rows["truenorth"]  # pJ/synop with provenance
    assert "9b/4types" in rows["truenorth"] and "float32" in rows["generic"]
    if columns >= 120:
        assert "Intel Loihi 2" in rows["loihi2"]


def test_list_is_the_default(capsys):
    assert _run(capsys, "chips", "list")[1] == _run(capsys, "chips")[1]


def test_json_lists_every_profile_with_every_field(capsys):
    rc, out, _ = _run(capsys, "chips", "--json")
    assert rc == 0
    data = json.loads(out)
    assert len(data) >= 12 and [d["name"] for d in data] == profile_names()
    fields = load_profile("generic").fields()
    for profile in data:
        for dotted in fields:
            section, name = dotted.split(".")
            fig = profile[section][name]
            assert set(fig) == {"value", "source", "provenance", "note"}
            if fig["value"] is None:
                assert fig["note"]
            else:
                assert fig["provenance"] and fig["source"], (profile["name"], dotted)
        assert set(SECTIONS) <= set(profile) and profile["sources"]


# ------------------------------------------------------------------ show
def test_show_prints_every_field_with_sources_and_notes(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rc, out, _ = _run(capsys, "chips", "show", "loihi")
    assert rc == 0
    for dotted in load_profile("loihi").fields():
        assert dotted in out
    assert (
        "33.6 pJ" in out and "1,048,576 bit" in out and "Sources" in out and "nengo_loihi:" in out
    )
    assert max(len(line) for line in out.splitlines()) <= 80


def test_show_wide_has_a_note_column(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "140")
    out = _run(capsys, "chips", "show", "truenorth")[1]
    header = next(line for line in out.splitlines() if line.split()[:1] == ["field"])
    assert header.split() == ["field", "value", "provenance", "source", "note"]


def test_chip_name_alone_means_show(capsys):
    assert _run(capsys, "chips", "xylo")[1] == _run(capsys, "chips", "show", "xylo")[1]


def test_show_json_equals_the_profile(capsys):
    rc, out, _ = _run(capsys, "chips", "show", "speck", "--json")
    assert rc == 0 and json.loads(out) == load_profile("speck").to_dict()


def test_show_with_overrides(capsys):
    rc, out, _ = _run(capsys, "chips", "show", "generic", "--set", "weights.bits=4", "--json")
    data = json.loads(out)
    assert rc == 0
    assert data["weights"]["bits"]["value"] == 4 and data["weights"]["kind"]["value"] == "int"
    assert data["weights"]["bits"]["provenance"] == "override"


def test_show_a_yaml_path(capsys, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GENERIC.read_text())
    rc, out, _ = _run(capsys, "chips", "show", str(path))
    assert rc == 0 and str(path) in out


# ------------------------------------------------------------------ errors
def _one_line_error(capsys, *argv: str) -> str:
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("neurosim: error: ")
    return err


def test_negative_core_count_exits_2_naming_file_and_field(capsys, tmp_path):
    path = _bad_profile(tmp_path, lambda d: d["chip"]["n_cores"].update(value=-1))
    err = _one_line_error(capsys, "chips", "show", str(path))
    assert str(path) in err and "chip.n_cores" in err


def test_missing_field_exits_2_naming_file_and_field(capsys, tmp_path):
    path = _bad_profile(tmp_path, lambda d: d["core"].pop("max_neurons"))
    err = _one_line_error(capsys, "chips", "show", str(path))
    assert str(path) in err and "core.max_neurons" in err and "missing" in err


def test_wrong_type_and_unknown_field(capsys, tmp_path):
    path = _bad_profile(tmp_path, lambda d: d["weights"]["bits"].update(value="eight"))
    assert "weights.bits" in _one_line_error(capsys, "chips", "show", str(path))
    path = _bad_profile(tmp_path, lambda d: d["energy"].update(leak_pj={"value": 1}))
    assert "energy.leak_pj" in _one_line_error(capsys, "chips", "show", str(path))


def test_contradictory_mesh(capsys, tmp_path):
    path = _bad_profile(tmp_path, lambda d: d["chip"]["mesh_width"].update(value=1))
    err = _one_line_error(capsys, "chips", "show", str(path))
    assert "chip.mesh_width x chip.mesh_height" in err and "chip.n_cores" in err


def test_bad_yaml(capsys, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("chip: {n_cores: [\n")
    assert "invalid YAML" in _one_line_error(capsys, "chips", "show", str(path))


def test_unknown_chip_name(capsys):
    err = _one_line_error(capsys, "chips", "show", "pentium")
    assert "'pentium'" in err and "loihi" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["chips", "show", "generic", "--set", "core.max_fan_in=-1"], "core.max_fan_in"),
        (["chips", "show", "generic", "--set", "max_fan_in"], "section.field=value"),
        (["chips", "show", "generic", "--set", "core.fan_in=3"], "unknown field 'core.fan_in'"),
        (["chips", "--set", "core.max_fan_in=8"], "chips show NAME --set"),
        (["chips", "show"], "expected one profile NAME"),
        (["chips", "loihi", "truenorth"], "unexpected arguments"),
    ],
)
def test_bad_arguments(capsys, argv, expected):
    assert expected in _one_line_error(capsys, *argv)


def test_cli_error_in_a_subprocess_has_no_traceback(tmp_path):
    path = _bad_profile(tmp_path, lambda d: d["chip"]["n_cores"].update(value=-3))
    proc = subprocess.run(
        [sys.executable, "-m", "neurosim", "chips", "show", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(path) in proc.stderr and "chip.n_cores" in proc.stderr


# ------------------------------------------------------------------ start-up
def test_chips_imports_no_heavy_module():
    code = (
        "import sys, io, contextlib\n"
        "from neurosim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main(['chips'])\n"
        "heavy = [m for m in ('brian2', 'matplotlib', 'scipy', 'numba', 'nir', 'numpy', 'sklearn', 'networkx')"
        " if m in sys.modules]\n"
        "print(rc, ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rc, heavy = (proc.stdout.strip().split(" ") + [""])[:2]
    assert rc == "0"
    assert heavy == "", f"neurosim chips imported {heavy}"
