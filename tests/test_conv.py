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
