"""``neurosim generate``: every kind, formats, refusal to overwrite, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.io.formats import load_network
from neurosim.io.graph_challenge import challenge_inference, read_challenge_layer


def test_graph_challenge_matches_official_layers(tmp_path: Path, graph_challenge_dir: Path, capsys):
    out = tmp_path / "DIR"
    assert (
        main(
            ["generate", "graph-challenge", "--neurons", "1024", "--layers", "6", "--out", str(out)]
        )
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    for k in range(1, 7):
        ours = read_challenge_layer(out / f"n1024-l{k}.tsv")
        theirs = read_challenge_layer(graph_challenge_dir / f"n1024-l{k}.tsv.gz")
        assert ours.nnz == theirs.nnz == 32768
        assert (ours != theirs).nnz == 0  # identical, nonzero for nonzero
    net = load_network(out)
    assert len(net.projections) == 6 and np.all(net.population("layer6").bias == -0.3)


def test_refuses_to_overwrite_without_force(tmp_path: Path, capsys):
    out = tmp_path / "net.npz"
    args = [
        "generate",
        "random",
        "--neurons",
        "300",
        "--layers",
        "2",
        "--fan-in",
        "32",
        "--seed",
        "0",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert main(args[:-2] + ["--seed", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("\n") == 1
    assert out.read_bytes() == before
    assert main(args[:-2] + ["--seed", "1", "--out", str(out), "--force"]) == 0
    assert out.read_bytes() != before
    s = load_network(out).stats()
    assert s.fan_in_min == s.fan_in_max == 32 and s.n_synapses == 2 * 300 * 32


def test_random_from_sizes_and_format_flag(tmp_path: Path):
    out = tmp_path / "netdir"
    assert (
        main(
            [
                "generate",
                "random",
                "--sizes",
                "20,20",
                "--fan-in",
                "4",
                "--out",
                str(out),
                "--format",
                "npz",
            ]
        )
        == 0
    )
    assert load_network(out, format="npz").stats().fan_in_max == 4


def test_exact_writes_network_and_vectors(tmp_path: Path, capsys):
    out = tmp_path / "ex.npz"
    argv = [
        "generate",
        "exact",
        "--neurons",
        "48",
        "--layers",
        "5",
        "--categories",
        "3",
        "--fan-in",
        "4",
        "--perturb",
        "subthreshold_noise",
        "--out",
        str(out),
        "--json",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fixed_point"]["8"] == {"bits": 8, "frac_bits": 3}
    vectors = np.load(tmp_path / "ex.vectors.npz")
    net = load_network(out)
    res = challenge_inference(net, vectors["inputs"], cap=4.0)
    assert np.array_equal(res.outputs, vectors["expected_outputs"])
    assert np.array_equal(res.categories, vectors["categories"])
    assert int(vectors["frac_bits_16"]) == 8


def test_radixnet_and_neurofabric(tmp_path: Path, capsys):
    out = tmp_path / "rx.npz"
    assert (
        main(["generate", "radixnet", "--radices", "2,2;4", "--kron", "2", "--out", str(out)]) == 0
    )
    s = load_network(out).stats()
    assert s.n_projections == 3 and (s.fan_in_min, s.fan_in_max) == (4, 8)
    capsys.readouterr()
    out = tmp_path / "nf.npz"
    assert (
        main(
            [
                "generate",
                "neurofabric",
                "--topology",
                "butterfly",
                "--width",
                "64",
                "--layers",
                "6",
                "--radix",
                "2",
                "--score",
                "--json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["score"]["reachability"] == 1.0 and summary["n_synapses"] == 6 * 64 * 2


@pytest.mark.parametrize(
    "argv, match",
    [
        (["graph-challenge", "--neurons", "1000"], "power of two"),
        (["exact", "--fan-in", "16"], "power of two"),
        (["radixnet", "--radices", "2,x"], "comma-separated integers"),
        (["random", "--fan-in", "4"], "--neurons and --layers"),
        (
            [
                "neurofabric",
                "--topology",
                "butterfly",
                "--width",
                "48",
                "--layers",
                "2",
                "--radix",
                "4",
            ],
            "not a power",
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, capsys, argv, match):
    out = tmp_path / "o.npz"
    assert main(["generate", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_gzip_output_and_nothing_left_on_failure(tmp_path: Path, capsys):
    out = tmp_path / "g"
    argv = [
        "generate",
        "graph-challenge",
        "--neurons",
        "512",
        "--layers",
        "2",
        "--bias",
        "-0.25",
        "--gzip",
    ]
    assert main([*argv, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "n512-l1.tsv.gz",
        "n512-l2.tsv.gz",
        "neurosim.json",
    ]
    assert load_network(out).population("layer2").bias[0] == -0.25
    # a format that cannot hold ReLU layers: one-line error, neither network nor vectors written
    capsys.readouterr()
    assert main(["generate", "exact", "--out", str(tmp_path / "ex.nir")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]
