"""The numpy CNN (train/cnn.py) and its tensor-sketched variant (train/conv_sketch.py)."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim.train.cnn as cnn
from neurosim.conv import unroll
from neurosim.errors import TrainingError
from neurosim.sim.simulate import simulate
from neurosim.train.conv_sketch import SketchKernel, reduction_factor, train_conv_sketch
from neurosim.train.registry import train_network


def _numeric_grad(loss, arr, idx, eps=1e-6):
    arr[idx] += eps
    a = loss()
    arr[idx] -= 2 * eps
    b = loss()
    arr[idx] += eps
    return (a - b) / (2 * eps)


def test_backward_matches_finite_differences(monkeypatch):
    monkeypatch.setattr(cnn, "_F", np.float64)
    rng = np.random.default_rng(0)
    geoms = [cnn.ConvGeometry.make(1, 3, (8, 8)), cnn.ConvGeometry.make(3, 4, (4, 4))]
    ks = [rng.normal(size=(3, 1, 3, 3)), rng.normal(size=(4, 3, 3, 3))]
    bs = [rng.normal(size=3) * 0.1, rng.normal(size=4) * 0.1]
    dense, dense_b = rng.normal(size=(16, 5)) * 0.3, rng.normal(size=5)
    x, y = rng.normal(size=(4, 64)), rng.integers(0, 5, 4)

    def loss():
        return cnn._softmax_grad(cnn.cnn_forward(x, geoms, ks, bs, dense, dense_b)[0], y)[0]

    logits, saved = cnn.cnn_forward(x, geoms, ks, bs, dense, dense_b, keep=True)
    dks, dbs, dd, _ = cnn._backward(cnn._softmax_grad(logits, y)[1], geoms, ks, dense, saved)
    for arr, grad in ((ks[0], dks[0]), (ks[1], dks[1]), (bs[0], dbs[0]), (dense, dd)):
        for idx in [tuple(rng.integers(0, s) for s in arr.shape) for _ in range(4)]:
            assert _numeric_grad(loss, arr, idx) == pytest.approx(grad[idx], abs=1e-5)


def test_network_computes_what_was_trained():
    rng = np.random.default_rng(1)
    ks = [rng.normal(size=(2, 1, 3, 3)), rng.normal(size=(3, 2, 3, 3))]
    bs = [rng.normal(size=2), rng.normal(size=3)]
    dense, dense_b = rng.normal(size=(12, 4)), rng.normal(size=4)
    net = cnn.cnn_network((1, 8, 8), ks, bs, dense, dense_b)
    assert [p.kind for p in net.projections] == ["conv", "pool", "conv", "pool", "sparse"]
    assert net.projections[0].n_params == 18 and net.population("pool2").shape == (3, 2, 2)
    geoms = [cnn.ConvGeometry.make(1, 2, (8, 8)), cnn.ConvGeometry.make(2, 3, (4, 4))]
    x = rng.random((5, 64))
    want = cnn.cnn_forward(x, geoms, ks, bs, dense, dense_b)[0]
    np.testing.assert_allclose(simulate(net, x, "reference").outputs, want, rtol=1e-4, atol=1e-4)


def test_col2im_is_the_adjoint_of_im2col():
    g = cnn.ConvGeometry.make(2, 3, (4, 4))
    rng = np.random.default_rng(2)
    x = rng.random((2, 32)).astype(np.float32)
    d = rng.random((2, 2 * 9, 16)).astype(np.float32)
    assert float((g.cols(x) * d).sum()) == pytest.approx(float((x * g.col2im(d)).sum()), rel=1e-5)


def test_trains_on_digits_and_is_registered():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("digits", split="train", limit=600)
    res = train_network("cnn", tr, channels=(4, 8), image_shape=(8, 8), epochs=4, lr=1e-2, batch_size=32)
    assert res.method == "cnn" and res.train_accuracy > 0.5  # chance is 0.1
    assert res.n_parameters == 4 * 9 + 8 * 4 * 9 + 32 * 10
    assert res.n_connections == res.network.n_synapses > res.n_parameters


def test_bad_image_shape_is_a_training_error():
    x, y = np.zeros((4, 50)), np.zeros(4, dtype=int)
    with pytest.raises(TrainingError, match="image_shape"):
        cnn.train_cnn(x, y, epochs=1)


def test_sketch_gradients_and_reduction(monkeypatch):
    import neurosim.train.conv_sketch as cs

    monkeypatch.setattr(cs, "_F", np.float64)
    rng = np.random.default_rng(3)
    k = SketchKernel(6, 5, 3, rng, rank=2, copies=2)
    k.params = [p.astype(np.float64) for p in k.params]
    k.u1 = [u.astype(np.float64) for u in k.u1]
    k.u2 = [u.astype(np.float64) for u in k.u2]
    g = rng.normal(size=k.shape)
    grads = k.grads(g)
    for j in (0, 3):
        idx = (0, 1, 0, 2)
        assert _numeric_grad(lambda: float((k.kernel() * g).sum()), k.params[j], idx) == pytest.approx(
            grads[j][idx], rel=1e-6)
    assert k.n_parameters == 2 * 2 * 9 * (5 + 6)
    assert reduction_factor(32, 16, 2) == pytest.approx(512 / 96)


def test_conv_sketch_trains_with_fewer_parameters():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("digits", split="train", limit=600)
    res = train_conv_sketch(tr.x, tr.y, rank=1, channels=(4, 8), image_shape=(8, 8), epochs=10, lr=1e-2,
                            batch_size=32)
    conv2 = res.info["layers"][1]
    assert conv2["sketched"] and conv2["parameters"] == 9 * (4 + 8) < conv2["kernel_entries"] == 8 * 4 * 9
    assert res.train_accuracy > 0.3  # chance is 0.1
    kernel = res.network.projections[2].spec.kernel
    assert np.linalg.matrix_rank(kernel.reshape(8, -1)) <= 8  # a full kernel expanded from the sketch
    assert unroll(res.network.projections[2].spec).nnz == res.network.projections[2].n_synapses


def test_spiking_option_converts_for_the_steps():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("digits", split="train", limit=200)
    opts = {"channels": (2, 4), "image_shape": (8, 8), "epochs": 1, "batch_size": 32}
    relu = cnn.train_cnn(tr.x, tr.y, **opts)
    res = cnn.train_cnn(tr.x, tr.y, spiking={"steps": 16, "percentile": 99.0, "calibration": 50}, **opts)
    assert {p.model.kind for p in res.network.populations} == {"input", "if"}
    assert [p.kind for p in res.network.projections] == ["conv", "pool", "conv", "pool", "sparse"]
    spec = res.info["spiking"]
    assert spec["steps"] == 16 and spec["calibration"] == 50 and spec["rounding"] == 0.5
    assert res.train_accuracy == relu.train_accuracy  # the ReLU network's, same seed
    scale = spec["scales"]["conv1"]
    want = relu.network.population("conv1").bias / scale + 0.5 / 16
    np.testing.assert_allclose(res.network.population("conv1").bias, want)
    with pytest.raises(TrainingError, match="spiking option 'step'"):
        cnn.spiking_result(relu, tr.x, {"steps": 8, "step": 8})
    with pytest.raises(TrainingError, match="'steps'"):
        cnn.spiking_result(relu, tr.x, {"percentile": 99.0})
