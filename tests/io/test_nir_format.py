"""Tests of neurosim.io.nir_format: files written by nir itself, exact round trips, rejections."""

from __future__ import annotations

import h5py
import nir
import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.io.formats import FORMATS, load_network, save_network
from neurosim.io.nir_format import network_from_nir, network_to_nir, read_nir, write_nir
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel


def _assert_same_network(a: Network, b: Network) -> None:
    assert a.name == b.name
    assert a.inputs == b.inputs and a.outputs == b.outputs
    assert [p.name for p in a.populations] == [p.name for p in b.populations]
    for p, q in zip(a.populations, b.populations, strict=True):
        assert p.size == q.size and p.model == q.model, p.name
        assert np.array_equal(p.bias, q.bias), p.name
    assert [pr.name for pr in a.projections] == [pr.name for pr in b.projections]
    for p, q in zip(a.projections, b.projections, strict=True):
        assert (p.pre, p.post) == (q.pre, q.post)
        assert p.weights.shape == q.weights.shape
        assert np.array_equal(p.weights.toarray(), q.weights.toarray()), p.name
    assert dict(a.metadata) == dict(b.metadata)


def _nir_graph(rng: np.random.Generator) -> tuple[nir.NIRGraph, dict]:
    w1 = rng.normal(size=(5, 3)).astype(np.float32)
    b1 = rng.normal(size=5).astype(np.float32)
    w2 = rng.normal(size=(2, 5))
    thr = np.arange(1.0, 6.0)
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([3])}),
            "fc1": nir.Affine(weight=w1, bias=b1),
            "lif1": nir.LIF(
                tau=np.full(5, 0.01),
                r=np.ones(5),
                v_leak=np.zeros(5),
                v_threshold=thr,
                v_reset=np.zeros(5),
            ),
            "fc2": nir.Linear(weight=w2),
            "if2": nir.IF(r=np.full(2, 2.0), v_threshold=np.ones(2), v_reset=np.full(2, -0.5)),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "if2"), ("if2", "out")],
    )
    return graph, {"w1": w1, "b1": b1, "w2": w2, "thr": thr}


def test_reads_file_written_by_nir(tmp_path):
    graph, a = _nir_graph(np.random.default_rng(0))
    path = tmp_path / "g.nir"
    nir.write(path, graph)
    net = read_nir(path)
    assert net.name == "g"
    assert net.inputs == ("in",) and net.outputs == ("if2",)
    fc1 = net.projection("fc1")
    assert (fc1.pre, fc1.post) == ("in", "lif1")
    np.testing.assert_array_equal(fc1.weights.toarray(), a["w1"].astype(np.float64).T)
    np.testing.assert_array_equal(net.population("lif1").bias, a["b1"].astype(np.float64))
    np.testing.assert_array_equal(net.projection("fc2").weights.toarray(), a["w2"].T)
    lif = net.population("lif1").model
    assert lif.kind == "lif" and lif.reset == "zero"
    np.testing.assert_array_equal(lif.param("threshold"), a["thr"])
    assert lif.param("tau_mem_s").shape == () and float(lif.param("tau_mem_s")) == 0.01
    iff = net.population("if2").model
    assert iff.kind == "if" and float(iff.param("r")) == 2.0 and float(iff.param("v_reset")) == -0.5
    # same through the format registry
    assert FORMATS["nir"].module == "neurosim.io.nir_format"
    _assert_same_network(load_network(path), net)


def test_export_loads_in_nir_with_identical_arrays(tmp_path):
    rng = np.random.default_rng(1)
    w1 = sp.random(6, 4, density=0.5, random_state=1, format="csr")
    w2 = rng.normal(size=(4, 3))
    net = Network.from_layers(
        [w1, w2],
        biases=[rng.normal(size=4), np.zeros(3)],
        model=[
            NeuronModel("lif", {"tau_mem_s": rng.uniform(0.01, 0.02, 4), "threshold": 0.7}),
            NeuronModel("if", {"r": 0.5}),
        ],
        name="exported",
    )
    path = save_network(net, tmp_path / "e.nir")
    graph = nir.read(path)  # nir's own reader, with its type check
    np.testing.assert_array_equal(graph.nodes["input->layer1"].weight, w1.toarray().T)
    np.testing.assert_array_equal(graph.nodes["input->layer1"].bias, net.population("layer1").bias)
    np.testing.assert_array_equal(graph.nodes["layer1->layer2"].weight, w2.T)
    assert isinstance(graph.nodes["layer1->layer2"], nir.Linear)
    np.testing.assert_array_equal(
        graph.nodes["layer1"].tau, net.population("layer1").model.param("tau_mem_s")
    )
    np.testing.assert_array_equal(graph.nodes["layer1"].v_threshold, np.full(4, 0.7))
    np.testing.assert_array_equal(graph.nodes["layer2"].r, np.full(3, 0.5))
    assert isinstance(graph.nodes["input"], nir.Input)
    assert isinstance(graph.nodes["layer2.output"], nir.Output)


def test_roundtrip_exact_recurrent_and_linear_readout(tmp_path):
    rng = np.random.default_rng(2)
    pops = (
        Population("x", 3, NeuronModel("input")),
        Population(
            "h",
            4,
            NeuronModel("lif", {"tau_mem_s": 0.05, "v_leak": rng.normal(size=4)}),
            rng.normal(size=4),
        ),
        Population("mid", 4, NeuronModel("linear"), rng.normal(size=4)),
        Population("y", 2, NeuronModel("linear"), np.array([0.25, -1.0])),
        Population("z", 2, NeuronModel("if", {"threshold": np.array([1.0, 1.0])})),
    )
    projs = (
        Projection("x", "h", rng.normal(size=(3, 4))),
        Projection("h", "h", rng.normal(size=(4, 4)), "recurrent"),
        Projection("x", "mid", rng.normal(size=(3, 4))),
        Projection("h", "mid", rng.normal(size=(4, 4))),
        Projection("mid", "y", rng.normal(size=(4, 2))),
        Projection("mid", "z", rng.normal(size=(4, 2))),
    )
    net = Network(
        pops, projs, outputs=("y", "z", "mid"), name="rec", metadata={"seed": 2, "note": "x"}
    )
    path = write_nir(net, tmp_path / "rec.nir", compression=None)
    back = read_nir(path)
    _assert_same_network(net, back)
    # the per-neuron but constant threshold stays per neuron
    assert back.population("z").model.param("threshold").shape == (2,)
    graph = nir.read(path)
    assert isinstance(graph.nodes["y"], nir.Output) and isinstance(graph.nodes["mid"], nir.Flatten)


def test_chains_scale_flatten_and_sums(tmp_path):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(4, 6))
    s = rng.normal(size=4)
    graph = nir.NIRGraph(
        nodes={
            "img": nir.Input(input_type={"input": np.array([2, 3])}),
            "flat": nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0, end_dim=-1),
            "lin": nir.Linear(weight=w),
            "scale": nir.Scale(scale=s),
            "if": nir.IF(r=np.ones(4), v_threshold=np.ones(4), v_reset=np.zeros(4)),
            "skip": nir.Affine(weight=np.eye(4), bias=np.full(4, 0.5)),
            "out": nir.Output(output_type={"output": np.array([4])}),
        },
        edges=[
            ("img", "flat"),
            ("flat", "lin"),
            ("lin", "scale"),
            ("scale", "if"),
            ("if", "skip"),
            ("skip", "out"),
            ("if", "out"),
        ],
    )
    nir.write(tmp_path / "c.nir", graph)
    net = read_nir(tmp_path / "c.nir")
    assert net.population("img").size == 6
    # Linear feeding Scale is folded into one projection W.T * s, and the fold is reported
    assert sorted(p.name for p in net.populations) == ["if", "img", "out"]
    np.testing.assert_allclose(net.projection("lin+scale").weights.toarray(), w.T * s[None, :])
    assert net.metadata["nir_import"]["folded"] == ["lin+scale -> one sparse projection"]
    # Output summing two inputs is a linear readout with the Affine bias
    out = net.population("out")
    assert out.model.kind == "linear" and net.outputs == ("out",)
    np.testing.assert_array_equal(out.bias, np.full(4, 0.5))
    np.testing.assert_array_equal(net.projection("if->out").weights.toarray(), np.eye(4))
    # kept separate on request: Linear feeding Scale is its own linear population
    sep = read_nir(tmp_path / "c.nir", fold=False)
    assert sep.population("lin").model.kind == "linear"
    np.testing.assert_array_equal(sep.projection("img->lin").weights.toarray(), w.T)
    np.testing.assert_array_equal(sep.projection("scale").weights.toarray(), np.diag(s))
    # and back out again, exactly
    _assert_same_network(sep, network_from_nir(network_to_nir(sep), name=sep.name))
    _assert_same_network(net, network_from_nir(network_to_nir(net), name=net.name))


def _write_then_retype(path, node: str, new_type: bytes) -> None:
    graph, _ = _nir_graph(np.random.default_rng(0))
    nir.write(path, graph)
    with h5py.File(path, "r+") as f:
        del f[f"node/nodes/{node}/type"]
        f[f"node/nodes/{node}"].create_dataset("type", data=new_type, dtype=h5py.string_dtype())


def test_unknown_node_type_is_one_line(tmp_path):
    path = tmp_path / "u.nir"
    _write_then_retype(path, "lif1", b"Spiky")
    with pytest.raises(NetworkError, match=r"node 'lif1' has unknown type 'Spiky'") as info:
        read_nir(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "node, match",
    [
        (
            nir.CubaLI(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2), v_leak=np.zeros(2)),
            "type CubaLI: its synaptic current",
        ),
        (nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2)), "type LI"),
        (nir.I(r=np.ones(2)), "type I: a graded integrator"),
    ],
)
def test_unsupported_node_types(tmp_path, node, match):
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "n": node,
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "n"), ("n", "out")],
    )
    nir.write(tmp_path / "x.nir", graph)
    with pytest.raises(NetworkError, match=match) as info:
        read_nir(tmp_path / "x.nir")
    assert "node 'n'" in str(info.value)
    with pytest.raises(NetworkError, match=match):
        network_from_nir(graph)


def test_shape_mismatch_named(tmp_path):
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([3])}),
            "fc": nir.Linear(weight=np.ones((2, 4))),
            "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
        },
        edges=[("in", "fc"), ("fc", "if")],
        type_check=False,
    )
    nir.write(tmp_path / "m.nir", graph)
    with pytest.raises(
        NetworkError, match=r"node 'fc' \(Linear\): takes 4 inputs but its source 'in' has 3"
    ):
        read_nir(tmp_path / "m.nir")


def test_bad_parameters_named(tmp_path):
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "fc": nir.Linear(weight=np.ones((2, 2))),
            "lif": nir.LIF(
                tau=np.zeros(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)
            ),
        },
        edges=[("in", "fc"), ("fc", "lif")],
    )
    nir.write(tmp_path / "p.nir", graph)
    with pytest.raises(NetworkError, match=r"node 'lif' \(LIF\): .*tau_mem_s must be > 0"):
        read_nir(tmp_path / "p.nir")


def test_not_a_nir_file(tmp_path):
    junk = tmp_path / "junk.nir"
    junk.write_bytes(b"\x89HDF not really")
    with pytest.raises(NetworkError, match="not a readable NIR/HDF5 file"):
        read_nir(junk)
    with h5py.File(tmp_path / "empty.nir", "w") as f:
        f.create_dataset("version", data="1.0")
    with pytest.raises(NetworkError, match="no 'node' group"):
        read_nir(tmp_path / "empty.nir")
    with pytest.raises(NetworkError, match="file not found"):
        read_nir(tmp_path / "absent.nir")


def test_export_rejections(tmp_path):
    relu = Network.from_layers([np.ones((2, 2))])
    with pytest.raises(NetworkError, match="population 'layer1' is relu"):
        write_nir(relu, tmp_path / "r.nir")
    sub = Network.from_layers([np.ones((2, 2))], model=NeuronModel("if", reset="subtract"))
    with pytest.raises(NetworkError, match="reset 'subtract'"):
        write_nir(sub, tmp_path / "s.nir")
    lonely = Network(
        (
            Population("x", 2, NeuronModel("input")),
            Population("b", 2, NeuronModel("if"), np.ones(2)),
        ),
        (),
        name="l",
    )
    with pytest.raises(NetworkError, match="bias but no incoming projection"):
        write_nir(lonely, tmp_path / "b.nir")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_imported_network_runs_nir_dynamics(tmp_path):
    """A nir-written LIF/IF graph simulated by the reference backend follows NIR's equations."""
    from neurosim.io.encoding import encode
    from neurosim.sim.simulate import simulate

    rng = np.random.default_rng(5)
    w1, b1 = rng.normal(0.6, 0.5, size=(5, 3)), rng.normal(0, 0.2, size=5)
    w2 = rng.normal(0.8, 0.5, size=(2, 5))
    tau, r1 = rng.uniform(0.005, 0.02, 5), rng.uniform(0.5, 2, 5)
    v_leak, thr1, vr1 = rng.normal(0, 0.1, 5), rng.uniform(0.5, 1, 5), rng.normal(0, 0.1, 5)
    r2, thr2, vr2 = np.array([0.7, 1.3]), np.array([1.1, 0.9]), np.array([0.0, -0.2])
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([3])}),
            "fc1": nir.Affine(weight=w1, bias=b1),
            "lif": nir.LIF(tau=tau, r=r1, v_leak=v_leak, v_threshold=thr1, v_reset=vr1),
            "fc2": nir.Linear(weight=w2),
            "if": nir.IF(r=r2, v_threshold=thr2, v_reset=vr2),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "if"), ("if", "out")],
    )
    nir.write(tmp_path / "s.nir", graph)
    net = read_nir(tmp_path / "s.nir")
    n_steps, dt = 40, 1e-3
    trains = encode("poisson", rng.random((4, 3)), n_steps, seed=3).astype(np.float64)
    result = simulate(net, trains, "reference", dt_s=dt)
    # NIR's ODEs, forward Euler with step dt, spikes passed on within the step
    v1, v2 = np.zeros((4, 5)), np.zeros((4, 2))
    c1, c2 = np.zeros((4, 5)), np.zeros((4, 2))
    for t in range(n_steps):
        v1 = v1 + dt / tau * (v_leak - v1 + r1 * (trains[t] @ w1.T + b1))
        z1 = v1 >= thr1
        v1 = np.where(z1, vr1, v1)
        v2 = v2 + r2 * (z1 @ w2.T)
        z2 = v2 >= thr2
        v2 = np.where(z2, vr2, v2)
        c1, c2 = c1 + z1, c2 + z2
    assert c1.sum() > 0 and c2[:, 0].sum() > 0 and c2[:, 1].sum() > 0
    np.testing.assert_array_equal(result.spike_counts["lif"], c1)
    np.testing.assert_array_equal(result.spike_counts["if"], c2)


def _cuba_threshold_graph(rng: np.random.Generator) -> tuple[nir.NIRGraph, dict]:
    a = {
        "w1": rng.normal(0.6, 0.5, size=(4, 3)),
        "b1": rng.normal(0, 0.2, size=4),
        "tau_syn": rng.uniform(0.002, 0.01, 4),
        "tau_mem": rng.uniform(0.005, 0.02, 4),
        "r": rng.uniform(0.5, 2, 4),
        "v_leak": rng.normal(0, 0.1, 4),
        "v_thr": rng.uniform(0.5, 1, 4),
        "v_reset": rng.normal(0, 0.1, 4),
        "w_in": rng.uniform(0.5, 3, 4),
        "w2": rng.normal(0.8, 0.5, size=(2, 4)),
        "b2": np.array([0.1, -0.1]),
        "thr": np.array([0.6, 0.4]),
    }
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([3])}),
            "fc1": nir.Affine(weight=a["w1"], bias=a["b1"]),
            "cuba": nir.CubaLIF(
                tau_syn=a["tau_syn"],
                tau_mem=a["tau_mem"],
                r=a["r"],
                v_leak=a["v_leak"],
                v_threshold=a["v_thr"],
                v_reset=a["v_reset"],
                w_in=a["w_in"],
            ),
            "fc2": nir.Affine(weight=a["w2"], bias=a["b2"]),
            "thr": nir.Threshold(threshold=a["thr"]),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "fc1"), ("fc1", "cuba"), ("cuba", "fc2"), ("fc2", "thr"), ("thr", "out")],
    )
    return graph, a


def test_reads_cubalif_and_threshold_written_by_nir(tmp_path):
    graph, a = _cuba_threshold_graph(np.random.default_rng(6))
    nir.write(tmp_path / "c.nir", graph)
    net = read_nir(tmp_path / "c.nir")
    assert net.inputs == ("in",) and net.outputs == ("thr",)
    cuba = net.population("cuba").model
    assert cuba.kind == "cuba_lif" and cuba.reset == "zero"
    for ours, theirs in [
        ("tau_syn_s", "tau_syn"),
        ("tau_mem_s", "tau_mem"),
        ("r", "r"),
        ("v_leak", "v_leak"),
        ("threshold", "v_thr"),
        ("v_reset", "v_reset"),
        ("w_in", "w_in"),
    ]:
        np.testing.assert_array_equal(cuba.param(ours), a[theirs], err_msg=ours)
    np.testing.assert_array_equal(net.population("cuba").bias, a["b1"])
    thr = net.population("thr").model
    assert thr.kind == "threshold"
    np.testing.assert_array_equal(thr.param("threshold"), a["thr"])
    np.testing.assert_array_equal(net.population("thr").bias, a["b2"])
    np.testing.assert_array_equal(net.projection("fc2").weights.toarray(), a["w2"].T)


def test_reads_cubalif_without_v_reset(tmp_path):
    """Files from nir versions before CubaLIF had v_reset load with v_reset = 0 (nir's default)."""
    graph, _ = _cuba_threshold_graph(np.random.default_rng(7))
    path = tmp_path / "old.nir"
    nir.write(path, graph)
    with h5py.File(path, "r+") as f:
        del f["node/nodes/cuba/v_reset"]
    model = read_nir(path).population("cuba").model
    assert model.kind == "cuba_lif" and model.param("v_reset").shape == ()
    assert float(model.param("v_reset")) == 0.0


def test_cubalif_threshold_export_identical_arrays_and_roundtrip(tmp_path):
    rng = np.random.default_rng(8)
    w1 = sp.random(5, 4, density=0.6, random_state=2, format="csr")
    w2 = rng.normal(size=(4, 3))
    cuba = NeuronModel(
        "cuba_lif",
        {
            "tau_syn_s": rng.uniform(0.002, 0.01, 4),
            "tau_mem_s": 0.02,
            "r": 1.5,
            "v_leak": rng.normal(0, 0.1, 4),
            "threshold": 0.8,
            "v_reset": -0.25,
            "w_in": rng.uniform(0.5, 2, 4),
        },
    )
    thr = NeuronModel("threshold", {"threshold": np.array([0.3, 0.5, 0.7])})
    net = Network.from_layers(
        [w1, w2],
        biases=[rng.normal(size=4), rng.normal(size=3)],
        model=[cuba, thr],
        name="cuba_thr",
        metadata={"source": "test"},
    )
    path = save_network(net, tmp_path / "ct.nir")
    graph = nir.read(path)  # nir's own reader, with its type check
    node = graph.nodes["layer1"]
    assert isinstance(node, nir.CubaLIF)
    m = net.population("layer1").model
    for theirs, ours in [
        ("tau_syn", "tau_syn_s"),
        ("tau_mem", "tau_mem_s"),
        ("r", "r"),
        ("v_leak", "v_leak"),
        ("v_threshold", "threshold"),
        ("v_reset", "v_reset"),
        ("w_in", "w_in"),
    ]:
        np.testing.assert_array_equal(
            getattr(node, theirs), np.broadcast_to(m.param(ours), (4,)), err_msg=theirs
        )
    assert isinstance(graph.nodes["layer2"], nir.Threshold)
    np.testing.assert_array_equal(graph.nodes["layer2"].threshold, [0.3, 0.5, 0.7])
    np.testing.assert_array_equal(graph.nodes["layer1->layer2"].weight, w2.T)
    np.testing.assert_array_equal(graph.nodes["layer1->layer2"].bias, net.population("layer2").bias)
    back = read_nir(path)
    _assert_same_network(back, net)  # scalars stay scalars, per-neuron arrays per neuron
    assert back.population("layer1").model.param("tau_mem_s").shape == ()
    _assert_same_network(network_from_nir(network_to_nir(net)), net)


def test_imported_cubalif_threshold_run_nir_dynamics(tmp_path):
    """A nir-written CubaLIF/Threshold graph simulated by the reference backend follows NIR's
    equations (forward Euler, current before membrane, >= at the threshold)."""
    from neurosim.io.encoding import encode
    from neurosim.sim.simulate import simulate

    rng = np.random.default_rng(9)
    graph, a = _cuba_threshold_graph(rng)
    nir.write(tmp_path / "d.nir", graph)
    net = read_nir(tmp_path / "d.nir")
    n_steps, dt = 40, 1e-3
    trains = encode("poisson", rng.random((4, 3)), n_steps, seed=4).astype(np.float64)
    result = simulate(net, trains, "reference", dt_s=dt)
    i, v = np.zeros((4, 4)), np.zeros((4, 4))
    c1, c2 = np.zeros((4, 4)), np.zeros((4, 2))
    for t in range(n_steps):
        s_in = trains[t] @ a["w1"].T + a["b1"]
        i = i + dt / a["tau_syn"] * (-i + a["w_in"] * s_in)
        v = v + dt / a["tau_mem"] * ((a["v_leak"] - v) + a["r"] * i)
        z1 = v >= a["v_thr"]
        v = np.where(z1, a["v_reset"], v)
        z2 = (z1 @ a["w2"].T + a["b2"]) >= a["thr"]
        c1, c2 = c1 + z1, c2 + z2
    assert c1.sum() > 0 and 0 < c2.sum() < c2.size * n_steps
    np.testing.assert_array_equal(result.spike_counts["cuba"], c1)
    np.testing.assert_array_equal(result.spike_counts["thr"], c2)
    np.testing.assert_array_equal(result.outputs, c2)
