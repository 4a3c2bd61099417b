"""Convolution and pooling projections: geometry, unrolling, validation, storage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.signal

from neurosim.conv import ConvSpec, PoolSpec, conv_forward, im2col_index, n_connections, unroll
from neurosim.errors import NetworkError
from neurosim.io.npz import read_npz, write_npz
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel


def naive_conv2d(x, kernel, stride, padding, dilation, groups):
    """Direct loop definition (PyTorch semantics), for one sample x of shape (C, H, W)."""
    c_in, h, w = x.shape
    c_out, c_g, kh, kw = kernel.shape
    xp = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((c_out, ho, wo))
    per = c_out // groups
    for o in range(c_out):
        g = o // per
        for i in range(ho):
            for j in range(wo):
                for c in range(c_g):
                    for a in range(kh):
                        for b in range(kw):
                            out[o, i, j] += kernel[o, c, a, b] * xp[
                                g * c_g + c, i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]
                            ]
    return out


CASES = [
    # c_in, c_out, groups, k, stride, padding, dilation, h, w
    (1, 4, 1, (3, 3), (1, 1), (1, 1), (1, 1), 7, 7),
    (4, 6, 2, (3, 2), (2, 1), (1, 0), (1, 2), 9, 11),
    (3, 3, 3, (2, 2), (1, 1), (0, 0), (1, 1), 6, 5),
    (2, 2, 1, (5, 5), (3, 2), (2, 2), (1, 1), 8, 8),
]


@pytest.mark.parametrize("case", CASES)
def test_unroll_and_im2col_match_direct_loop(case):
    c_in, c_out, g, k, s, p, d, h, w = case
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(c_out, c_in // g, *k))
    spec = ConvSpec(kernel, (c_in, h, w), stride=s, padding=p, dilation=d, groups=g)
    x = rng.normal(size=(3, c_in * h * w))
    maps = [naive_conv2d(xi.reshape(c_in, h, w), kernel, s, p, d, g) for xi in x]
    assert spec.out_shape == maps[0].shape
    want = np.stack([m.ravel() for m in maps])
    np.testing.assert_allclose(x @ unroll(spec), want, atol=1e-12)
    np.testing.assert_allclose(conv_forward(spec, x), want, atol=1e-12)
    assert n_connections(spec) == unroll(spec).nnz


def test_conv1d_matches_scipy_correlate():
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(3, 2, 4))
    spec = ConvSpec(kernel, (2, 20))
    x = rng.normal(size=(2, 20))
    want = np.stack([sum(scipy.signal.correlate(x[c], kernel[o, c], mode="valid") for c in range(2))
                     for o in range(3)])
    np.testing.assert_allclose((x.reshape(1, -1) @ unroll(spec)).reshape(3, -1), want, atol=1e-12)
    assert spec.out_shape == (3, 17)


def test_pooling_sum_and_avg():
    x = np.arange(2 * 4 * 6, dtype=float).reshape(1, -1)
    for mode, div in (("sum", 1.0), ("avg", 4.0)):
        spec = PoolSpec(mode, 2, (2, 4, 6))
        assert spec.out_shape == (2, 2, 3)
        want = x.reshape(2, 2, 2, 3, 2).sum(axis=(2, 4)).ravel() / div
        np.testing.assert_allclose((x @ unroll(spec)).ravel(), want)
        np.testing.assert_allclose(conv_forward(spec, x).ravel(), want)
        assert spec.n_params == 1 and n_connections(spec) == 48


def test_padding_taps_are_not_connections():
    spec = ConvSpec(np.ones((1, 1, 3, 3)), (1, 4, 4), padding=1)
    idx = im2col_index(spec)
    assert (idx < 0).sum() == 9 * 16 - unroll(spec).nnz
    assert unroll(spec).nnz == 4 * 4 + 8 * 6 + 4 * 9  # corners 4 taps, edges 6, interior 9


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: ConvSpec(np.ones((2, 1, 3, 3)), (1, 8, 8), out_shape=(2, 7, 7), where="c1"), "c1: out_shape"),
        (lambda: ConvSpec(np.ones((2, 1, 9, 9)), (1, 8, 8), where="c2"), "c2: kernel"),
        (lambda: ConvSpec(np.ones((3, 1, 3, 3)), (2, 8, 8), groups=2, where="c3"), "c3: groups"),
        (lambda: ConvSpec(np.ones((2, 2, 3, 3)), (3, 8, 8), where="c4"), "c4: kernel has 2 input channels"),
        (lambda: PoolSpec("avg", 3, (1, 8, 8), where="p1"), "p1: window"),
        (lambda: PoolSpec("max", 2, (1, 8, 8), where="p2"), "p2: mode"),
        (lambda: ConvSpec(np.ones((2, 1, 3, 3)), (1, 8, 8), stride=0, where="c5"), "c5: stride"),
    ],
)
def test_bad_geometry_is_one_line_naming_layer_and_field(make, needle):
    with pytest.raises(NetworkError) as err:
        make()
    assert needle in str(err.value) and "\n" not in str(err.value)


def small_cnn() -> Network:
    rng = np.random.default_rng(3)
    conv = ConvSpec(rng.normal(size=(4, 1, 3, 3)), (1, 8, 8), padding=1)
    pool = PoolSpec("avg", 2, (4, 8, 8))
    pops = [
        Population("in", 64, NeuronModel("input"), shape=(1, 8, 8)),
        Population("c1", 256, NeuronModel("relu"), np.repeat(rng.normal(size=4), 64), shape=(4, 8, 8)),
        Population("p1", 64, NeuronModel("linear"), shape=(4, 4, 4)),
        Population("out", 3, NeuronModel("relu")),
    ]
    projs = [
        Projection("in", "c1", spec=conv),
        Projection("c1", "p1", spec=pool),
        Projection("p1", "out", rng.normal(size=(64, 3))),
    ]
    return Network(pops, projs, name="cnn")


def test_projection_kinds_and_stats():
    net = small_cnn()
    kinds = [pr.kind for pr in net.projections]
    assert kinds == ["conv", "pool", "sparse"]
    conv = net.projections[0]
    assert "_weights" not in conv.__dict__ or conv.__dict__["_weights"] is None  # not unrolled yet
    assert conv.n_params == 36 and conv.n_synapses == unroll(conv.spec).nnz
    assert conv.weights is conv.weights  # cached
    st = net.stats()
    assert st.n_params == 36 + 1 + 192
    assert st.n_synapses == conv.n_synapses + 256 + 192
    assert st.kinds == ("conv", "pool", "sparse")
    assert conv.fan_in().max() == 9 and conv.scaled(2.0).kind == "conv"
    assert dataclasses.replace(conv, name="x").kind == "conv"


def test_shape_mismatch_between_population_and_spec():
    net = small_cnn()
    pops = list(net.populations)
    pops[2] = Population("p1", 64, NeuronModel("linear"), shape=(4, 16, 1))
    with pytest.raises(NetworkError, match="population p1 has shape"):
        Network(pops, net.projections)
    with pytest.raises(NetworkError, match="shape"):
        Population("x", 10, NeuronModel("relu"), shape=(3, 3))


def test_npz_round_trip_keeps_compact_form(tmp_path):
    net = small_cnn()
    path = write_npz(net, tmp_path / "cnn.npz")
    back = read_npz(path)
    for a, b in zip(net.projections, back.projections, strict=True):
        assert a.kind == b.kind
        assert (a.weights != b.weights).nnz == 0
    np.testing.assert_array_equal(back.projections[0].spec.kernel, net.projections[0].spec.kernel)
    assert back.population("c1").shape == (4, 8, 8)
    with np.load(path) as z:
        assert "proj0_data" not in z.files and z["proj0_kernel"].shape == (4, 1, 3, 3)


# ---------------------------------------------------------------- mapping and simulation
def if_cnn(c1: int = 4, side: int = 8) -> Network:
    """A small IF CNN (conv -> IF -> sum pool -> IF -> dense -> IF), thresholds 1."""
    rng = np.random.default_rng(4)
    conv = ConvSpec(rng.normal(0.4, 0.5, size=(c1, 1, 3, 3)), (1, side, side), padding=1, where="conv")
    pool = PoolSpec("sum", 2, conv.out_shape, gain=0.5, where="pool")
    if_ = NeuronModel("if", {"threshold": 1.0, "v_reset": 0.0}, "subtract")
    pops = [
        Population("in", side * side, NeuronModel("input"), shape=(1, side, side)),
        Population("conv", conv.n_post, if_, shape=conv.out_shape),
        Population("pool", pool.n_post, if_, shape=pool.out_shape),
        Population("out", 5, if_),
    ]
    projs = [
        Projection("in", "conv", spec=conv),
        Projection("conv", "pool", spec=pool),
        Projection("pool", "out", rng.normal(0.05, 0.2, size=(pool.n_post, 5))),
    ]
    return Network(pops, projs, name="if_cnn")


def spike_inputs(n_in: int, seed: int = 0, steps: int = 25, batch: int = 3) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, batch, n_in)) < 0.4).astype(np.float64)


def test_speck_stores_kernels_once_and_truenorth_unrolls():
    from neurosim.mapping.mapper import map_network

    net = if_cnn()
    speck = map_network(net, "speck", placement="row_major")
    assert speck.fits, [str(v) for v in speck.violations]
    rep = speck.info["conv"]["in->conv"]
    assert rep["storage"] == "shared_kernel" and rep["stored_weights"] == 36
    assert rep["unrolled_synapses"] == net.projections[0].n_synapses
    # DYNAP-CNN power-of-two kernel memory: c_in * 2^(ceil log2 9 + ceil log2 4) entries x 8 bits
    assert rep["memory_bits"] == rep["memory_bits_shared"] == 1 * 16 * 4 * 8
    assert rep["memory_bits_unrolled"] > 50 * rep["memory_bits_shared"]
    core = speck.cores[int(speck.core_of["conv"][0])]
    assert core.resources["kernel_memory_bits"] == (512, 131072)
    assert core.resources["synapse_memory_bits"][0] == 0  # conv synapses are not stored one by one
    tn = map_network(net, "truenorth", placement="row_major")
    rep = tn.info["conv"]["in->conv"]
    assert rep["storage"] == "unrolled" and rep["memory_bits"] == rep["memory_bits_unrolled"] and "note" in rep
    assert "kernel_memory_bits" not in tn.cores[0].resources


def test_kernel_is_quantized_once():
    from neurosim.mapping.mapper import map_network

    net = if_cnn()
    m = map_network(net, "speck", placement="row_major")
    q = m.quantized["in->conv"]
    assert q.diagnostics["quantized"] == "kernel_once"
    eff = q.effective()
    # every copy of kernel tap (o, 0, 1, 1) (the centre) carries the same value
    conv = net.projections[0].spec
    for o in range(conv.out_shape[0]):
        centre = [eff[p, o * 64 + p] for p in range(64)]
        assert len(set(np.round(centre, 12))) == 1


def test_speck_rules_report_used_vs_capacity():
    from neurosim.mapping.mapper import map_network

    net = if_cnn(c1=5, side=64)  # 5 x 64 x 64 = 20480 neurons > 16 Ki, and speck cannot split a layer
    m = map_network(net, "speck", placement="row_major")
    rules = {v.rule: v for v in m.violations}
    v = rules["check_conv_feature_map_neurons"]
    assert v.used == 5 * 64 * 64 and v.capacity == 16384 and v.field == "conv.max_feature_map_neurons"


def test_partitioner_splits_by_channel_and_by_rows_with_halo():
    from neurosim.mapping.mapper import map_network

    net = if_cnn(c1=4, side=64)  # 4 x 64 x 64 = 16384 neurons
    akida = map_network(net, "akida", placement="row_major", overrides=["neuron.models=[if]"])
    rep = akida.info["conv"]["in->conv"]
    assert rep["cores"] == 2 and rep["halo_inputs"] > 0  # by channel: both cores read the whole input
    assert not [v for v in akida.violations if v.rule.startswith("check_conv")]
    loihi2 = map_network(net, "loihi2", placement="row_major", overrides=["conv.max_feature_map_neurons=1024"])
    rep = loihi2.info["conv"]["in->conv"]
    assert rep["cores"] == 16  # 1024 neurons per core: 4 rows of 64 ... x 4 channels
    assert 0 < rep["halo_inputs"] < 64 * 64 * 4  # rows above and below each band are read twice
    assert not [v for v in loihi2.violations if v.rule.startswith("check_conv")]


def test_chip_equals_brian2_and_tracks_reference_on_if_cnn():
    pytest.importorskip("brian2")
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.sim.simulate import simulate

    net = if_cnn()
    x = spike_inputs(64)
    m64 = map_network(net, load_profile("generic", ["weights.bits=64"]), placement="row_major")
    chip = simulate(m64, x, "chip", dt_s=1e-3)
    b2 = simulate(m64, x, "brian2", dt_s=1e-3)
    ref = simulate(net, x, "reference", dt_s=1e-3)
    for name in chip.spike_counts:
        np.testing.assert_array_equal(chip.spike_counts[name], b2.spike_counts[name], err_msg=name)
        np.testing.assert_array_equal(chip.spike_counts[name], ref.spike_counts[name], err_msg=name)
    assert chip.total_events("synop") == b2.total_events("synop") > 0
    speck = simulate(map_network(net, "speck", placement="row_major"), x, "chip", dt_s=1e-3)
    total_ref = sum(int(c.sum()) for c in ref.spike_counts.values())
    diff = sum(int(np.abs(speck.spike_counts[n] - ref.spike_counts[n]).sum()) for n in ref.spike_counts)
    assert diff <= 0.05 * total_ref  # 8-bit kernels: within quantization error


@pytest.mark.parametrize("chip", ["speck", "truenorth", "generic"])
def test_synaptic_events_count_kernel_taps(chip):
    from neurosim.mapping.mapper import map_network
    from neurosim.sim.simulate import simulate

    net = if_cnn()
    x = np.zeros((1, 1, 64))
    x[0, 0, 0] = 1.0  # one spike at the corner pixel: it touches 4 taps in each of 4 channels
    res = simulate(map_network(net, chip, placement="row_major"), x, "chip", dt_s=1e-3)
    assert res.total_events("synop") == 4 * 4


def test_cli_bad_conv_geometry_in_a_file_is_one_line_exit_2(tmp_path, capsys):
    import json
    import zipfile

    from neurosim.cli import main

    path = write_npz(small_cnn(), tmp_path / "cnn.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["__network__"].tobytes().decode())
    header["projections"][1]["spec"]["window"] = [3, 3]  # 8x8 maps do not tile into 3x3 windows
    arrays["__network__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert zipfile.is_zipfile(bad)
    assert main(["map", str(bad), "--chip", "speck"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "window" in err and "c1->p1" in err


def test_conv1d_maps_and_reports():
    from neurosim.mapping.mapper import map_network

    rng = np.random.default_rng(5)
    conv = ConvSpec(rng.normal(size=(6, 2, 5)), (2, 40), stride=2, padding=2, where="c1d")
    pops = [Population("in", 80, NeuronModel("input"), shape=(2, 40)),
            Population("c", conv.n_post, NeuronModel("relu"), shape=conv.out_shape)]
    net = Network(pops, [Projection("in", "c", spec=conv)])
    assert conv.out_shape == (6, 20)
    m = map_network(net, "loihi2", placement="row_major", overrides=["conv.max_feature_map_neurons=40"])
    rep = m.info["conv"]["in->c"]
    assert rep["stored_weights"] == 60 and rep["cores"] == 3  # 2 channels of 20 per core
    assert not [v for v in m.violations if v.rule.startswith("check_conv")]


def test_memory_model_counts_shared_kernels_once():
    from neurosim.cost.memory import memory_model
    from neurosim.mapping.mapper import map_network

    net = if_cnn()
    speck = memory_model(map_network(net, "speck", placement="row_major"))
    conv_core_bits = 1 * 16 * 4 * 8  # power-of-two kernel entries x 8 bits, once for 4 x 8 x 8 positions
    assert speck.synapse_bits[0] == conv_core_bits
    tn = memory_model(map_network(net, "truenorth", placement="row_major"))
    assert tn.synapse_bits[0] > 20 * speck.synapse_bits[0]  # the conv core: unrolled crossbar vs one kernel
    plain = Network.from_layers([np.ones((6, 4))])  # no conv: the load table's count, unchanged
    m = map_network(plain, "speck", placement="row_major")
    assert memory_model(m).synapse_bits.tolist() == [6 * 4 * 8]
