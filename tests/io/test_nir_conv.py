"""NIR convolution and pooling: nir-written graphs import, neurosim -> NIR -> neurosim is exact, bad input is one line."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from neurosim.conv import ConvSpec, PoolSpec
from neurosim.errors import NetworkError
from neurosim.io.nir_format import network_from_nir, network_to_nir, read_nir, write_nir
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.sim.simulate import simulate


def _cnn_graph(rng: np.random.Generator, **conv_kw) -> nir.NIRGraph:
    """Input(1,6,6) -> Conv2d(3, k3, p1) -> IF -> SumPool2d(2) -> Flatten -> Affine(27->4) -> IF."""
    kw = {"stride": 1, "padding": 1, "dilation": 1, "groups": 1, "input_shape": (6, 6), **conv_kw}
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([1, 6, 6])}),
            "conv": nir.Conv2d(weight=rng.normal(0.6, 0.4, size=(3, 1, 3, 3)), bias=np.array([0.1, 0.0, -0.1]), **kw),
            "if1": nir.IF(r=np.ones((3, 6, 6)), v_threshold=np.ones((3, 6, 6)), v_reset=np.zeros((3, 6, 6))),
            "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
            "flat": nir.Flatten(input_type={"input": np.array([3, 3, 3])}, start_dim=0, end_dim=-1),
            "fc": nir.Affine(weight=rng.normal(0.3, 0.3, size=(4, 27)), bias=np.full(4, 0.05)),
            "if2": nir.IF(r=np.ones(4), v_threshold=np.ones(4), v_reset=np.zeros(4)),
            "output": nir.Output(output_type={"output": np.array([4])}),
        },
        edges=[("input", "conv"), ("conv", "if1"), ("if1", "pool"), ("pool", "flat"), ("flat", "fc"),
               ("fc", "if2"), ("if2", "output")],
        type_check=False,
    )


def _correlate(x: np.ndarray, k: np.ndarray, pad: int) -> np.ndarray:
    """Reference 2-D cross-correlation, one input channel: (H, W) x (C, 1, kh, kw) -> (C, H', W')."""
    xp = np.pad(x, pad)
    kh, kw = k.shape[2:]
    out = np.zeros((k.shape[0], xp.shape[0] - kh + 1, xp.shape[1] - kw + 1))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j] = (k[:, 0] * xp[i:i + kh, j:j + kw]).sum(axis=(1, 2))
    return out


def test_nir_written_cnn_imports_and_runs_its_equations(tmp_path):
    rng = np.random.default_rng(0)
    graph = _cnn_graph(rng)
    nir.write(tmp_path / "cnn.nir", graph)
    net = read_nir(tmp_path / "cnn.nir")
    conv = net.projection("conv")
    assert conv.kind == "conv" and conv.spec.in_shape == (1, 6, 6) and conv.spec.out_shape == (3, 6, 6)
    assert conv.n_params == 27 and net.population("if1").shape == (3, 6, 6)
    np.testing.assert_array_equal(net.population("if1").bias, np.repeat([0.1, 0.0, -0.1], 36))
    assert [pr.name for pr in net.projections] == ["conv", "pool+fc"]  # pool, flatten, affine folded
    # simulate against the NIR equations computed by hand (IF, reset to 0, threshold >=)
    x = (rng.random((8, 2, 36)) < 0.5).astype(float)
    res = simulate(net, x, "reference")
    k, w, b = graph.nodes["conv"].weight, graph.nodes["fc"].weight, graph.nodes["fc"].bias
    v1, v2 = np.zeros((2, 3, 6, 6)), np.zeros((2, 4))
    count = np.zeros((2, 4))
    for t in range(8):
        for s in range(2):
            v1[s] += _correlate(x[t, s].reshape(6, 6), k, 1) + np.array([0.1, 0.0, -0.1])[:, None, None]
        s1 = v1 >= 1
        v1[s1] = 0
        pooled = s1.reshape(2, 3, 3, 2, 3, 2).sum(axis=(3, 5)).reshape(2, 27)
        v2 += pooled @ w.T + b
        s2 = v2 >= 1
        v2[s2] = 0
        count += s2
    np.testing.assert_array_equal(res.spike_counts["if2"], count)
    assert count.sum() > 0


def _conv_network(rng: np.random.Generator) -> Network:
    conv1 = ConvSpec(rng.normal(size=(4, 2, 3, 3)), in_shape=(2, 7, 7), stride=2, padding=1, dilation=1)
    conv2 = ConvSpec(rng.normal(size=(4, 2, 3)), in_shape=(4, 6), padding=0, groups=2)
    pool = PoolSpec("avg", 2, in_shape=(4, 4, 4), gain=1.5)
    pops = (
        Population("x", 98, NeuronModel("input"), shape=(2, 7, 7)),
        Population("c1", 64, NeuronModel("if", {"threshold": 0.8}), np.repeat(rng.normal(size=4), 16), shape=(4, 4, 4)),
        Population("p1", 16, NeuronModel("lif", {"tau_mem_s": 0.01}), shape=(4, 2, 2)),
        Population("y", 24, NeuronModel("input"), shape=(4, 6)),
        Population("c2", 16, NeuronModel("if"), shape=(4, 4)),
        Population("out", 3, NeuronModel("lif")),
    )
    projs = (
        Projection("x", "c1", spec=conv1, name="conv1"),
        Projection("c1", "p1", spec=pool, name="pool1"),
        Projection("y", "c2", spec=conv2, name="conv2"),
        Projection("p1", "out", rng.normal(size=(16, 3)), "fc"),
        Projection("c2", "out", rng.normal(size=(16, 3)), "fc2"),
    )
    return Network(pops, projs, name="cnn", metadata={"k": 1})


def test_conv_network_round_trip_exact(tmp_path):
    net = _conv_network(np.random.default_rng(1))
    back = read_nir(write_nir(net, tmp_path / "c.nir"))
    assert back.name == "cnn" and dict(back.metadata) == {"k": 1}
    assert [p.name for p in back.populations] == [p.name for p in net.populations]
    for p, q in zip(net.populations, back.populations, strict=True):
        assert p.shape == q.shape and p.model == q.model and np.array_equal(p.bias, q.bias), p.name
    assert [pr.name for pr in back.projections] == [pr.name for pr in net.projections]
    for a, b in zip(net.projections, back.projections, strict=True):
        assert (a.pre, a.post, a.kind) == (b.pre, b.post, b.kind), a.name
        if a.spec is None:
            assert np.array_equal(a.weights.toarray(), b.weights.toarray())
        else:
            assert a.spec.to_dict() == b.spec.to_dict(), a.name
            if a.kind == "conv":
                assert np.array_equal(a.spec.kernel, b.spec.kernel)
    # NIR's own node types (nir 1.0.8's type check takes C_in = weight.shape[1], wrong for
    # groups > 1, so the graph is inspected in memory)
    graph = network_to_nir(net)
    assert isinstance(graph.nodes["conv1"], nir.Conv2d) and isinstance(graph.nodes["conv2"], nir.Conv1d)
    assert isinstance(graph.nodes["pool1"], nir.AvgPool2d)
    # NIR pooling has no gain: other readers see it as a Scale node after the pooling
    np.testing.assert_array_equal(graph.nodes["pool1.gain"].scale, np.full((4, 2, 2), 1.5))
    plain = network_from_nir(graph, source="nir")
    assert plain.projection("pool1").kind == "pool" and plain.projection("pool1").spec.gain == 1.5
    assert isinstance(graph.nodes["p1.flat"], nir.Flatten)
    np.testing.assert_array_equal(graph.nodes["conv1"].bias, net.population("c1").bias[::16])


def test_conv_bias_varying_within_a_channel_is_refused(tmp_path):
    net = _conv_network(np.random.default_rng(1))
    bad = net.replace(populations=tuple(
        Population(p.name, p.size, p.model, np.arange(p.size, dtype=float), shape=p.shape) if p.name == "c1" else p
        for p in net.populations
    ))
    with pytest.raises(NetworkError, match=r"population 'c1' has a bias that varies within a channel"):
        write_nir(bad, tmp_path / "b.nir")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "change, match",
    [
        ({"input_shape": (5, 5)}, r"node 'conv' \(Conv2d\): input_shape \[5, 5\] disagrees with its input \[1, 6, 6\]"),
        ({"padding": 0, "dilation": 4}, r"node 'conv' \(Conv2d\): kernel \(3, 3\) \(dilated \(9, 9\)\) is larger"),
        ({"groups": 2}, r"node 'conv' \(Conv2d\): groups 2 does not divide the channels"),
    ],
)
def test_bad_conv_nodes_one_line(tmp_path, change, match):
    graph = _cnn_graph(np.random.default_rng(0), **change)
    nir.write(tmp_path / "bad.nir", graph)
    with pytest.raises(NetworkError, match=match) as info:
        read_nir(tmp_path / "bad.nir")
    assert "\n" not in str(info.value) and str(tmp_path / "bad.nir") in str(info.value)


def test_pool_window_that_does_not_tile_is_one_line(tmp_path):
    graph = _cnn_graph(np.random.default_rng(0))
    graph.nodes["pool"] = nir.SumPool2d(kernel_size=np.array([4, 4]), stride=np.array([4, 4]), padding=np.array([0, 0]))
    nir.write(tmp_path / "p.nir", graph)
    with pytest.raises(NetworkError, match=r"node 'pool' \(SumPool2d\): window \(4, 4\) with stride \(4, 4\) does not tile"):
        read_nir(tmp_path / "p.nir")


def test_graph_without_edges_is_an_error():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([3])}),
               "out": nir.Output(output_type={"output": np.array([3])})},
        edges=[], type_check=False,
    )
    with pytest.raises(NetworkError, match=r"NIR graph has 2 nodes and no edges"):
        network_from_nir(graph)
    lone = nir.NIRGraph(nodes={"out": nir.Output(output_type={"output": np.array([3])})}, edges=[], type_check=False)
    with pytest.raises(NetworkError, match="no Input node"):
        network_from_nir(lone)


def test_export_then_import_of_an_imported_cnn_is_stable():
    net = network_from_nir(_cnn_graph(np.random.default_rng(3)), source="nir")
    again = network_from_nir(network_to_nir(net))
    assert [pr.kind for pr in again.projections] == ["conv", "sparse"]
    np.testing.assert_array_equal(again.projection("pool+fc").weights.toarray(), net.projection("pool+fc").weights.toarray())


def test_per_channel_parameters_broadcast_over_the_map():
    graph = _cnn_graph(np.random.default_rng(4))
    thr = np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1)
    graph.nodes["if1"] = nir.IF(r=np.ones((3, 1, 1)), v_threshold=thr, v_reset=np.zeros((3, 1, 1)))
    net = network_from_nir(graph, source="nir")
    got = net.population("if1").model.param("threshold")
    np.testing.assert_array_equal(got, np.repeat([1.0, 2.0, 3.0], 36))
    assert net.population("if1").model.param("r").shape == ()
    graph.nodes["if1"] = nir.IF(r=np.ones(5), v_threshold=np.ones(5), v_reset=np.zeros(5))
    with pytest.raises(NetworkError, match=r"node 'conv' \(Conv2d\): gives 108 outputs but its target 'if1' has 5 neurons"):
        network_from_nir(graph, source="nir")


def test_plain_nir_graphs_are_not_taken_for_an_exporter():
    def lif_graph(**params):
        return nir.NIRGraph(
            nodes={"in": nir.Input(input_type={"input": np.array([2])}), "fc": nir.Linear(weight=np.eye(2)),
                   "lif": nir.LIF(**params), "out": nir.Output(output_type={"output": np.array([2])})},
            edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")], type_check=False,
        )

    common = {"v_leak": np.zeros(2), "v_threshold": np.ones(2), "v_reset": np.zeros(2)}
    plain = network_from_nir(lif_graph(tau=np.full(2, 0.02), r=np.full(2, 2.0), **common))
    assert plain.metadata["nir_import"]["source"] == "nir"
    assert plain.population("lif").model.reset == "zero" and len(plain.projections) == 1
    scalar = {k: np.zeros(()) for k in ("v_leak", "v_reset")}
    norse_free = network_from_nir(lif_graph(tau=np.array(0.02), r=np.array(1.0), v_threshold=np.array(1.0), **scalar))
    assert norse_free.metadata["nir_import"]["source"] == "nir"
    assert float(norse_free.population("lif").model.param("tau_mem_s")) == 0.02


@pytest.mark.parametrize("chip", ["speck", "loihi2", "truenorth"])  # akida: run_as rates, below
def test_nir_cnn_maps(chip):
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network

    net = network_from_nir(_cnn_graph(np.random.default_rng(5)))
    mapped = map_network(net, load_profile(chip))
    assert mapped.fits, [str(v) for v in mapped.violations]


def test_nir_cnn_runs_on_akida_as_its_graded_equivalent():
    """Akida's neurons are quantized ReLU: the IF CNN does not fit, its rate-equivalent graded network does."""
    from neurosim.evaluate import EvalInputs, EvalOptions, evaluate
    from neurosim.hardware.profile import load_profile

    graph = _cnn_graph(np.random.default_rng(5))
    graph.nodes["conv"].weight[...] *= 0.3  # rates inside (0, 1): a ranking to compare, not saturated
    graph.nodes["fc"].weight[...] *= 0.03
    net = network_from_nir(graph)
    akida = load_profile("akida")
    rng = np.random.default_rng(6)
    data = EvalInputs(rng.random((40, 36)), rng.integers(0, 4, 40))
    as_is = evaluate(net, akida, data, EvalOptions(n_steps=64))
    assert not as_is.fits and {v.rule for v in as_is.mapped.violations} == {"check_neuron_model"}
    ref = simulate(net, data.x, "reference", n_steps=64)
    ev = evaluate(net, akida, data, EvalOptions(n_steps=64, run_as="rates"), reference=ref)
    assert ev.fits and not ev.mapped.violations
    assert [pr.kind for pr in ev.mapped.network.projections][:1] == ["conv"]  # kernel kept, stored once
    assert {p.model.kind for p in ev.mapped.network.populations} == {"input", "relu"}
    chip, graded = ev.results["chip"], ev.results["reference"]
    assert chip.n_steps == 1 and chip.total_events("synop") > 0
    assert 0.2 < graded.outputs.mean() and graded.outputs.max() < 1  # rates, not saturated
    # the graded rates are the IF counts / steps within the rate-coding error, 1 / T per layer
    np.testing.assert_allclose(graded.outputs, ref.outputs / 64, rtol=0, atol=2 / 64)
    note = [n for n in ev.report.notes if "rate-equivalent graded network" in n]
    assert len(note) == 1 and "IF network on the reference backend (64 steps)" in note[0]
    assert ev.report.status == "ok" and ev.report.energy is not None


def test_nir_written_conv1d_imports_with_channel_length_layout():
    rng = np.random.default_rng(6)
    k = rng.normal(size=(3, 2, 3))
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([2, 10])}),
            "conv": nir.Conv1d(input_shape=10, weight=k, stride=2, padding=1, dilation=1, groups=1,
                               bias=np.array([0.5, 0.0, -0.5])),
            "li": nir.IF(r=np.ones((3, 5)), v_threshold=np.full((3, 5), 1e9), v_reset=np.zeros((3, 5))),
            "output": nir.Output(output_type={"output": np.array([3, 5])}),
        },
        edges=[("input", "conv"), ("conv", "li"), ("li", "output")],
    )
    net = network_from_nir(graph)
    spec = net.projection("conv").spec
    assert spec.in_shape == (2, 10) and spec.out_shape == (3, 5) and spec.stride == (2,) and spec.padding == (1,)
    x = rng.normal(size=(2, 10))
    xp = np.pad(x, ((0, 0), (1, 1)))
    want = np.array([[(k[o] * xp[:, 2 * p:2 * p + 3]).sum() for p in range(5)] for o in range(3)])
    got = net.projection("conv").weights.T @ x.ravel()
    np.testing.assert_allclose(got.reshape(3, 5), want, rtol=1e-12)
    np.testing.assert_array_equal(net.population("li").bias, np.repeat([0.5, 0.0, -0.5], 5))
