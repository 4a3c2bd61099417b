"""The NIR options of the CLI: --source/--nir-dt/--reset/--no-fold, --target, the dt warning, exit codes."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest

from neurosim.cli import main
from neurosim.cli.common import NIR_SOURCES
from neurosim.io.nir_format import SOURCES, read_nir

DATA = Path(__file__).resolve().parents[1] / "data" / "nir"


def test_cli_source_choices_are_the_library_ones():
    assert NIR_SOURCES == SOURCES


def test_convert_says_what_it_assumed(tmp_path, capsys):
    src = DATA / "snntorch_lif_zero.nir"
    assert main(["convert", str(src), str(tmp_path / "a.npz"), "--reset", "zero", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("neurosim: NIR import: source snntorch (")
    assert "dt 0.1 ms; reset zero" in err
    assert '"reset": "zero"' in out
    assert main(["convert", str(src), str(tmp_path / "b.npz"), "--source", "nir", "--nir-dt", "0.001"]) == 0
    assert "source nir (given); dt 1 ms; reset zero" in capsys.readouterr().err


def test_convert_folds_and_keeps_on_request(tmp_path, capsys):
    src = DATA / "sinabs_cnn.nir"
    # NIR neurons reset to v_reset: sinabs' subtractive reset is written by the sinabs preset
    assert main(["convert", str(src), str(tmp_path / "z.nir")]) == 2
    assert "uses reset 'subtract'" in capsys.readouterr().err
    assert main(["convert", str(src), str(tmp_path / "f.nir"), "--target", "sinabs"]) == 0
    assert "folded 1 linear chain(s): 2+4 -> one sparse projection" in capsys.readouterr().err
    assert main(["convert", str(src), str(tmp_path / "k.nir"), "--no-fold", "--target", "sinabs"]) == 0
    kept = read_nir(tmp_path / "k.nir")
    assert "2" in {p.name for p in kept.populations}
    folded = read_nir(tmp_path / "f.nir")
    assert [pr.kind for pr in folded.projections] == ["conv", "sparse"]


def test_nir_flags_on_other_formats_exit_2(tmp_path, capsys):
    assert main(["convert", str(DATA / "norse_lif.nir"), str(tmp_path / "n.npz")]) == 0
    capsys.readouterr()
    code = main(["convert", str(tmp_path / "n.npz"), str(tmp_path / "m.nir"), "--source", "norse"])
    err = capsys.readouterr().err
    assert code == 2 and "--source: applies to NIR input only" in err and err.count("\n") == 1
    code = main(["convert", str(tmp_path / "n.npz"), str(tmp_path / "m.npz"), "--target", "snntorch"])
    assert code == 2 and "--target applies to NIR output only" in capsys.readouterr().err
    code = main(["convert", str(DATA / "norse_lif.nir"), str(tmp_path / "z.npz"), "--nir-dt", "-1"])
    assert code == 2 and "--nir-dt -1: expected" in capsys.readouterr().err
    assert not (tmp_path / "m.nir").exists() and not (tmp_path / "z.npz").exists()


def test_bad_conv_file_exits_2_one_line_no_output(tmp_path, capsys):
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([3, 5, 5])}),
            "conv": nir.Conv2d(input_shape=(5, 5), weight=np.ones((4, 1, 3, 3)), stride=1, padding=0,
                               dilation=1, groups=2, bias=np.zeros(4)),
            "if": nir.IF(r=np.ones((4, 3, 3)), v_threshold=np.ones((4, 3, 3)), v_reset=np.zeros((4, 3, 3))),
            "output": nir.Output(output_type={"output": np.array([4, 3, 3])}),
        },
        edges=[("input", "conv"), ("conv", "if"), ("if", "output")],
        type_check=False,
    )
    nir.write(tmp_path / "bad.nir", graph)
    code = main(["convert", str(tmp_path / "bad.nir"), str(tmp_path / "out.npz")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "node 'conv' (Conv2d): groups 2 does not divide the channels (C_in 3, C_out 4)" in err
    assert not (tmp_path / "out.npz").exists()


def test_map_warns_when_the_chip_steps_at_another_dt(capsys):
    src = str(DATA / "snntorch_lif_subtract.nir")
    assert main(["map", src, "--chip", "generic"]) == 0
    err = capsys.readouterr().err
    assert "trained with dt = 0.1 ms; the chip steps 1 ms" in err
    assert "--set chip.timestep_s=0.0001" in err
    assert main(["map", src, "--chip", "generic", "--set", "chip.timestep_s=0.0001"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_export_targets(tmp_path, capsys):
    net_path = DATA / "snntorch_lif_zero.nir"
    for target in ("snntorch", "norse", "nir"):
        dst = tmp_path / f"{target}.nir"
        assert main(["convert", str(net_path), str(dst), "--reset", "zero", "--target", target]) == 0
        assert isinstance(nir.read(dst), nir.NIRGraph)
    code = main(["convert", str(net_path), str(tmp_path / "s.nir"), "--reset", "zero", "--target", "sinabs"])
    err = capsys.readouterr().err
    assert code == 2 and "kind 'lif' has no sinabs form" in err


def test_target_dt_translates_time_constants(tmp_path, capsys):
    src = str(DATA / "norse_lifbox.nir")  # tau 10 ms, trained at 1 ms
    assert main(["convert", src, str(tmp_path / "a.nir"), "--target", "norse"]) == 0
    assert main(["convert", src, str(tmp_path / "b.nir"), "--target", "norse", "--target-dt", "0.0005"]) == 0
    tau_a, tau_b = (float(np.unique(nir.read(tmp_path / f"{n}.nir").nodes["1"].tau)[0]) for n in "ab")
    assert tau_a == pytest.approx(0.01) and tau_b == pytest.approx(0.02)  # Norse steps 1 ms: same dt/tau
    capsys.readouterr()
    assert main(["convert", src, str(tmp_path / "c.nir"), "--target-dt", "0.001"]) == 2
    assert "--target-dt 0.001: expected a time step in (0, 10] seconds, with --target" in capsys.readouterr().err
