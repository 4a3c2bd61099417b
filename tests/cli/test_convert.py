"""``neurosim convert``: npz <-> NIR <-> Graph Challenge, --force, exit codes, no partial output."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest

from neurosim.cli import main
from neurosim.io.npz import read_npz, write_npz
from neurosim.network import Network
from neurosim.neurons import NeuronModel

HAS_GC = importlib.util.find_spec("neurosim.io.graph_challenge") is not None
needs_gc = pytest.mark.skipif(not HAS_GC, reason="neurosim.io.graph_challenge has not landed yet")


def _spiking(seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    return Network.from_layers(
        [rng.normal(size=(4, 5)), rng.normal(size=(5, 3))],
        biases=[rng.normal(size=5), np.zeros(3)],
        model=[
            NeuronModel("lif", {"tau_mem_s": 0.01}),
            NeuronModel("if", {"threshold": rng.uniform(1, 2, 3)}),
        ],
        name="spiking",
        metadata={"seed": seed},
    )


def _same(a: Network, b: Network) -> None:
    assert [p.name for p in a.populations] == [p.name for p in b.populations]
    for p, q in zip(a.populations, b.populations, strict=True):
        assert p.model == q.model and np.array_equal(p.bias, q.bias)
    for p, q in zip(a.projections, b.projections, strict=True):
        assert p.name == q.name and np.array_equal(p.weights.toarray(), q.weights.toarray())
    assert a.name == b.name and a.outputs == b.outputs


def test_npz_nir_npz_roundtrip(tmp_path, capsys):
    net = _spiking()
    write_npz(net, tmp_path / "a.npz")
    assert main(["convert", str(tmp_path / "a.npz"), str(tmp_path / "b.nir")]) == 0
    out = capsys.readouterr().out
    assert "(npz) ->" in out and "(nir)" in out and "synapses" in out
    assert isinstance(nir.read(tmp_path / "b.nir"), nir.NIRGraph)
    assert main(["convert", str(tmp_path / "b.nir"), str(tmp_path / "c.npz"), "--json"]) == 0
    _same(net, read_npz(tmp_path / "c.npz"))


def test_format_flags(tmp_path):
    write_npz(_spiking(), tmp_path / "a.npz")
    assert (
        main(
            ["convert", str(tmp_path / "a.npz"), str(tmp_path / "graph.h5x"), "--format-out", "nir"]
        )
        == 0
    )
    assert (
        main(
            ["convert", str(tmp_path / "graph.h5x"), str(tmp_path / "d.npz"), "--format-in", "nir"]
        )
        == 0
    )
    _same(_spiking(), read_npz(tmp_path / "d.npz"))


def test_never_overwrites_without_force(tmp_path, capsys):
    write_npz(_spiking(0), tmp_path / "a.npz")
    dst = tmp_path / "b.npz"
    dst.write_bytes(b"precious")
    assert main(["convert", str(tmp_path / "a.npz"), str(dst)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and err.count("\n") == 1
    assert dst.read_bytes() == b"precious"
    assert main(["convert", str(tmp_path / "a.npz"), str(dst), "--force"]) == 0
    _same(_spiking(0), read_npz(dst))


def test_unknown_nir_node_exits_2_one_line(tmp_path, capsys):
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "fc": nir.Linear(weight=np.eye(2)),
            "n": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
        },
        edges=[("in", "fc"), ("fc", "n")],
    )
    src = tmp_path / "u.nir"
    nir.write(src, g)
    with h5py.File(src, "r+") as f:
        del f["node/nodes/n/type"]
        f["node/nodes/n"].create_dataset("type", data="Mystery", dtype=h5py.string_dtype())
    dst = tmp_path / "u.npz"
    assert main(["convert", str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert "node 'n' has unknown type 'Mystery'" in err and str(src) in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not dst.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["u.nir"]


def test_failed_write_leaves_nothing(tmp_path, capsys):
    relu = Network.from_layers([np.ones((2, 3))], name="relu")
    write_npz(relu, tmp_path / "r.npz")
    assert main(["convert", str(tmp_path / "r.npz"), str(tmp_path / "r.nir")]) == 2
    assert "no ReLU node" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]


def test_bad_requests(tmp_path, capsys):
    write_npz(_spiking(), tmp_path / "a.npz")
    assert main(["convert", str(tmp_path / "absent.npz"), str(tmp_path / "x.npz")]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "a.npz"), str(tmp_path / "x.weird")]) == 2
    assert "cannot tell the network format" in capsys.readouterr().err
    assert (
        main(["convert", str(tmp_path / "a.npz"), str(tmp_path / "x.nir"), "--n-layers", "1"]) == 2
    )
    assert "graph_challenge input only" in capsys.readouterr().err
    (tmp_path / "adir.npz").mkdir()
    assert main(["convert", str(tmp_path / "a.npz"), str(tmp_path / "adir.npz"), "--force"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "x.nir").exists()


@needs_gc
def test_graph_challenge_directory_roundtrip(tmp_path):
    rng = np.random.default_rng(4)
    layers = [np.where(rng.random((6, 6)) < 0.4, rng.normal(size=(6, 6)), 0.0) for _ in range(3)]
    net = Network.from_layers(
        layers, biases=[-0.3] * 3, model=NeuronModel("relu", {"cap": 32.0}), name="gc"
    )
    write_npz(net, tmp_path / "gc.npz")
    assert main(["convert", str(tmp_path / "gc.npz"), str(tmp_path / "gcdir")]) == 0
    assert (tmp_path / "gcdir" / "n6-l1.tsv").is_file()
    assert main(["convert", str(tmp_path / "gc.npz"), str(tmp_path / "gcdir")]) == 2
    assert main(["convert", str(tmp_path / "gc.npz"), str(tmp_path / "gcdir"), "--force"]) == 0
    assert main(["convert", str(tmp_path / "gcdir"), str(tmp_path / "back.npz")]) == 0
    back = read_npz(tmp_path / "back.npz")
    for p, q in zip(net.projections, back.projections, strict=True):
        assert np.array_equal(p.weights.toarray(), q.weights.toarray())
    for p, q in zip(net.populations[1:], back.populations[1:], strict=True):
        assert np.array_equal(p.bias, q.bias) and p.model == q.model


@needs_gc
def test_real_challenge_layers(graph_challenge_dir: Path, tmp_path):
    dst = tmp_path / "two.npz"
    assert main(["convert", str(graph_challenge_dir), str(dst), "--n-layers", "2"]) == 0
    net = read_npz(dst)
    assert len(net.projections) == 2 and net.projections[0].shape == (1024, 1024)
