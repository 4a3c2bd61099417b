"""Graph Challenge TSV I/O and reference semantics."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.cli import main
from neurosim.errors import DataError, NetworkError
from neurosim.io.formats import FORMATS, load_network, save_network
from neurosim.io.graph_challenge import (
    challenge_categories,
    challenge_inference,
    challenge_inference_scipy,
    list_layer_files,
    read_categories,
    read_challenge_layer,
    read_challenge_network,
    read_sparse_images,
    write_categories,
    write_challenge_network,
    write_sparse_images,
)
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.topology.graph_challenge import challenge_layer, graph_challenge_network
from neurosim.topology.lazy import LazyLayeredNetwork


def small_net(n: int = 32, layers: int = 3, seed: int = 0, bias: float = -0.25) -> Network:
    rng = np.random.default_rng(seed)
    ws = [
        sp.random(n, n, density=0.2, random_state=rng, data_rvs=lambda k: rng.integers(1, 8, k) / 8)
        for _ in range(layers)
    ]
    return Network.from_layers(
        ws, [bias] * layers, NeuronModel("relu", {"cap": 32.0}), name="small"
    )


def same_weights(a, b) -> bool:
    la, lb = list(a.layers()), list(b.layers())
    return len(la) == len(lb) and all(
        (p.weights != q.weights).nnz == 0 for (p, _), (q, _) in zip(la, lb, strict=True)
    )


def test_registered_format():
    fmt = FORMATS["graph_challenge"]
    assert (fmt.reader, fmt.writer) == ("read_challenge_network", "write_challenge_network")


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_is_exact(tmp_path: Path, compress: bool):
    net = small_net()
    out = tmp_path / "net"
    write_challenge_network(net, out, compress=compress)
    suffix = ".tsv.gz" if compress else ".tsv"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"n32-l{k}{suffix}" for k in (1, 2, 3)] + ["neurosim.json"]
    )
    back = load_network(out)
    assert same_weights(net, back)
    assert all(
        np.array_equal(p.bias, q.bias)
        for p, q in zip(net.populations, back.populations, strict=True)
    )
    assert float(back.population("layer1").model.param("cap")) == 32.0
    assert read_challenge_network(out, n_layers=2).stats().n_projections == 2


def test_official_layers_read_and_match_generator(graph_challenge_dir: Path):
    net = read_challenge_network(graph_challenge_dir, n_layers=6)
    assert isinstance(net, Network) and len(net.projections) == 6
    assert np.all(net.population("layer3").bias == -0.3)
    for k, (proj, _) in enumerate(net.layers(), start=1):
        assert (proj.weights != challenge_layer(1024, k)).nnz == 0
    n, files = list_layer_files(graph_challenge_dir)
    assert n == 1024 and len(files) == 120


def test_lazy_read_streams(graph_challenge_dir: Path):
    lazy = read_challenge_network(graph_challenge_dir, lazy=True)
    assert isinstance(lazy, LazyLayeredNetwork) and lazy.n_layers == 120
    proj, pop = lazy.layer(120)
    assert proj.n_synapses == 32768 and pop.name == "layer120"


def test_generated_directory_equals_official_layers(tmp_path: Path, graph_challenge_dir: Path):
    write_challenge_network(graph_challenge_network(1024, 6), tmp_path / "gen", compress=True)
    for k in range(1, 7):
        ours = read_challenge_layer(tmp_path / "gen" / f"n1024-l{k}.tsv.gz")
        theirs = read_challenge_layer(graph_challenge_dir / f"n1024-l{k}.tsv.gz")
        assert (ours != theirs).nnz == 0


def test_inference_semantics_positive_and_negative_bias():
    rng = np.random.default_rng(1)
    y0 = (rng.random((20, 32)) < 0.3).astype(float)
    for bias in (-0.25, 0.125):
        net = small_net(bias=bias)
        fast = challenge_inference(net, y0)
        ref = challenge_inference_scipy(net, y0)
        assert np.array_equal(fast.outputs, ref.outputs)
        assert np.array_equal(fast.categories, ref.categories)
        assert fast.n_layers == 3 and fast.n_edges == net.n_synapses
    # a positive bias is added only where Z is structurally nonzero
    w = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]]))
    out = challenge_inference([w], np.array([[1.0, 1.0]]), bias=0.5).outputs
    assert out.tolist() == [[1.5, 0.0]]
    # cap
    out = challenge_inference([w * 100], np.array([[1.0, 0.0]]), bias=-0.3).outputs
    assert out.tolist() == [[32.0, 0.0]]
    with pytest.raises(NetworkError, match="bias"):
        challenge_inference([w], np.ones((1, 2)))


def test_inference_on_official_first_layers(graph_challenge_dir: Path):
    net = read_challenge_network(graph_challenge_dir, n_layers=6, lazy=True)
    y0 = np.zeros((3, 1024))
    y0[0, :512] = 1.0  # strong input survives
    y0[1, 7] = 1.0  # a single pixel: 1/16 - 0.3 < 0, dies in layer 1
    res = challenge_inference(net, y0)
    assert res.categories.tolist() == [1]
    assert np.array_equal(res.outputs, challenge_inference_scipy(net, y0).outputs)


def test_categories_and_images_round_trip(tmp_path: Path):
    y = sp.csr_matrix(np.array([[0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=float))
    p = write_sparse_images(y, tmp_path / "sparse-images-4.tsv")
    back = read_sparse_images(p)
    assert back.shape == (3, 4) and (back != y).nnz == 0
    write_categories([1, 3], tmp_path / "cats.tsv")
    assert read_categories(tmp_path / "cats.tsv").tolist() == [1, 3]
    assert challenge_categories(y).tolist() == [1, 3]
    with pytest.raises(FileExistsError):
        write_categories([1], tmp_path / "cats.tsv")


@pytest.mark.parametrize(
    "text, match",
    [
        ("1\t1\t0.5\n2\t1\n", r"n8-l1\.tsv:2: expected 3 tab-separated fields, got 2"),
        ("1\t1\t0.5\n\n1\tx\t0.5\n", r"n8-l1\.tsv:3: 'x' is not a number"),
        ("1\t1\t0.5\n9\t1\t0.5\n", r"n8-l1\.tsv:2: row index 9 out of range; expected 1\.\.8"),
        ("1\t0\t0.5\n", r"n8-l1\.tsv:1: column index 0 out of range"),
        ("1\t1.5\t0.5\n", r"n8-l1\.tsv:1: column index 1\.5"),
        ("1\t1\tnan\n", r"n8-l1\.tsv:1: value nan is not finite"),
        ("1\t1\t0.5\n1\t1\t0.5\n", r"duplicate entry for row 1, column 1"),
    ],
)
def test_malformed_layer_names_file_and_line(tmp_path: Path, text: str, match: str):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "n8-l1.tsv").write_text(text)
    with pytest.raises(NetworkError, match=match) as info:
        read_challenge_network(d, bias=-0.3)
    assert "\n" not in str(info.value)


def test_truncated_gzip(tmp_path: Path):
    d = tmp_path / "gz"
    write_challenge_network(small_net(), d, compress=True)
    f = d / "n32-l2.tsv.gz"
    f.write_bytes(f.read_bytes()[:-20])
    with pytest.raises(NetworkError, match=r"n32-l2\.tsv\.gz: truncated or corrupt gzip file"):
        read_challenge_network(d)
    lazy = read_challenge_network(d, lazy=True)  # lazily, the error comes with layer 2
    with pytest.raises(NetworkError, match="truncated"):
        list(lazy.layers())
    (tmp_path / "x.tsv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_sparse_images(tmp_path / "x.tsv.gz", n_features=4)


def test_bad_directories(tmp_path: Path):
    with pytest.raises(NetworkError, match="no layer files"):
        read_challenge_network(tmp_path)
    (tmp_path / "n8-l2.tsv").write_text("1\t1\t1\n")
    with pytest.raises(NetworkError, match="layer 1 of 2 is missing"):
        read_challenge_network(tmp_path)
    (tmp_path / "n8-l1.tsv").write_text("1\t1\t1\n")
    with pytest.raises(NetworkError, match="no official bias for N=8"):
        read_challenge_network(tmp_path)
    assert read_challenge_network(tmp_path, bias=-0.5).population("layer2").bias[0] == -0.5
    with pytest.raises(NetworkError, match="n_layers=3"):
        read_challenge_network(tmp_path, bias=0.0, n_layers=3)


def test_failed_write_leaves_nothing(tmp_path: Path):
    net = Network.from_layers([np.eye(4), np.ones((4, 3))], [0.0, 0.0], NeuronModel("relu"))
    with pytest.raises(NetworkError, match="N x N"):
        write_challenge_network(net, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []

    # a lazy network whose third layer fails: nothing appears either
    def weight_fn(k):
        if k == 3:
            raise NetworkError("layer 3 broke")
        return np.eye(4)

    lazy = LazyLayeredNetwork((4, 4, 4, 4), weight_fn, lambda k: 0.0, NeuronModel("relu"))
    with pytest.raises(NetworkError, match="layer 3 broke"):
        save_network(lazy, tmp_path / "out2", format="graph_challenge")
    assert list(tmp_path.iterdir()) == []
    # an existing directory is kept without force
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "mine.txt").write_text("x")
    with pytest.raises(FileExistsError):
        write_challenge_network(small_net(), tmp_path / "keep")
    assert (tmp_path / "keep" / "mine.txt").read_text() == "x"


def test_cli_malformed_and_truncated_exit_2(tmp_path: Path, capsys):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "n1024-l1.tsv").write_text("1\t1\t0.0625\n1\t2\n")
    assert main(["convert", str(d), str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "n1024-l1.tsv:2:" in err
    assert not (tmp_path / "out.npz").exists()
    g = tmp_path / "gz"
    g.mkdir()
    payload = gzip.compress(b"1\t1\t0.0625\n" * 1000)
    (g / "n1024-l1.tsv.gz").write_bytes(payload[: len(payload) // 2])
    assert main(["convert", str(g), str(tmp_path / "out2.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "truncated or corrupt gzip" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "gz"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["1", "8", "9", "0", "-1", "2.5", "x", "nan", "1e3", "\t", " ", "\n", "\t\t"]
        ),
        max_size=40,
    )
)
def test_reader_never_fails_with_anything_but_a_one_line_network_error(tokens):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "n8-l1.tsv"
        path.write_text("".join(tokens))
        try:
            w = read_challenge_layer(path)
        except NetworkError as exc:
            assert "\n" not in str(exc) and "n8-l1.tsv" in str(exc)
        else:
            assert w.shape == (8, 8)


@pytest.mark.slow
def test_full_official_network_kernel_equals_scipy(graph_challenge_dir: Path):
    net = read_challenge_network(graph_challenge_dir, lazy=True)
    layers = [net.weights(k) for k in range(1, 121)]
    rng = np.random.default_rng(0)
    y0 = (rng.random((64, 1024)) < 0.3).astype(float)
    a = challenge_inference(layers, y0, bias=-0.3)
    b = challenge_inference_scipy(layers, y0, bias=-0.3)
    assert a.n_edges == 3_932_160 and np.array_equal(a.outputs, b.outputs)
    assert 0 < a.categories.size
