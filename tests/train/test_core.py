"""Training core: gradients against finite differences, split, loop, optimisers, Network conversion."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.core import (
    Adam,
    accuracy,
    backward,
    check_training_data,
    forward,
    init_dense,
    lr_factor,
    make_optimizer,
    network_accuracy,
    network_logits,
    predict_logits,
    run_epochs,
    softmax_cross_entropy,
    split_validation,
    to_network,
)


def _loss(ws, bs, x, y):
    return softmax_cross_entropy(forward(ws, bs, x)[-1], y)[0]


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    ws, bs = init_dense((5, 7, 4, 3), rng)
    ws = [w.astype(np.float64) for w in ws]
    bs = [rng.normal(size=b.shape) * 0.1 for b in bs]
    x = rng.random((6, 5))
    y = rng.integers(0, 3, 6)
    acts = forward(ws, bs, x)
    _, dl = softmax_cross_entropy(acts[-1], y)
    deltas = backward(ws, acts, dl)
    for layer in range(3):
        g = acts[layer].T @ deltas[layer]
        for i, j in [(0, 0), (1, 2), (3, 1)]:
            h = 1e-6
            wp = [w.copy() for w in ws]
            wp[layer][i, j] += h
            wm = [w.copy() for w in ws]
            wm[layer][i, j] -= h
            fd = (_loss(wp, bs, x, y) - _loss(wm, bs, x, y)) / (2 * h)
            assert g[i, j] == pytest.approx(fd, rel=1e-4, abs=1e-8)
        gb = deltas[layer].sum(0)
        bp = [b.copy() for b in bs]
        bp[layer][0] += 1e-6
        bm = [b.copy() for b in bs]
        bm[layer][0] -= 1e-6
        assert gb[0] == pytest.approx(
            (_loss(ws, bp, x, y) - _loss(ws, bm, x, y)) / 2e-6, rel=1e-4, abs=1e-8
        )


def test_sparse_and_dense_forward_agree():
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    ws, bs = init_dense((6, 5, 3), rng)
    ws[0][rng.random(ws[0].shape) < 0.7] = 0
    x = rng.random((4, 6)).astype(np.float32)
    dense = forward(ws, bs, x)
    sparse = forward([sp.csr_matrix(w) for w in ws], bs, x)
    for a, b in zip(dense, sparse, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_softmax_cross_entropy_value():
    loss, grad = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
    assert loss == pytest.approx(np.log(4))
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-12)


def test_split_validation_is_seeded_and_disjoint():
    x = np.arange(100, dtype=float)[:, None]
    y = np.arange(100) % 3
    a = split_validation(x, y, 0.2, seed=3)
    b = split_validation(x, y, 0.2, seed=3)
    assert a[2].shape == (20, 1) and a[0].shape == (80, 1)
    np.testing.assert_array_equal(a[2], b[2])
    assert not set(a[0][:, 0]) & set(a[2][:, 0])
    assert split_validation(x, y, 0.0, 0)[2] is None
    with pytest.raises(TrainingError):
        split_validation(x, y, 1.0, 0)


def test_check_training_data_rejects_bad_labels():
    with pytest.raises(TrainingError, match="labels"):
        check_training_data(np.zeros((3, 2)), np.array([0.5, 1, 2]))
    with pytest.raises(TrainingError, match="n_classes"):
        check_training_data(np.zeros((3, 2)), np.array([0, 1, 5]), n_classes=3)
    with pytest.raises(TrainingError, match="shape"):
        check_training_data(np.zeros((3, 2)), np.array([0, 1]))


def test_run_epochs_early_stopping_keeps_best_state():
    accs = iter([0.5, 0.7, 0.6, 0.65, 0.66, 0.9])
    state = {"epoch": 0}

    def step(idx):
        return 1.0

    def validate():
        state["epoch"] += 1
        return next(accs)

    out = run_epochs(
        10,
        epochs=6,
        batch_size=4,
        seed=0,
        step=step,
        snapshot=lambda: state["epoch"],
        validate=validate,
        patience=2,
    )
    assert out.epochs_run == 4
    assert out.best_val_accuracy == 0.7
    assert out.state == 2
    with pytest.raises(TrainingError):
        run_epochs(10, epochs=0, batch_size=4, seed=0, step=step, snapshot=lambda: None)


def test_run_epochs_shuffles_every_sample_once_per_epoch():
    seen = []
    run_epochs(
        10,
        epochs=2,
        batch_size=3,
        seed=5,
        step=lambda idx: seen.append(idx) or 0.0,
        snapshot=lambda: None,
    )
    first = np.concatenate(seen[:4])
    second = np.concatenate(seen[4:])
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert not np.array_equal(first, second)


def test_optimisers_and_schedule():
    adam = Adam(0.1)
    adam.tick()
    step = adam.update(0, np.array([2.0, -3.0]))
    np.testing.assert_allclose(step, [0.1, -0.1], rtol=1e-6)
    sgd = make_optimizer("sgd", 0.5, momentum=0.0)
    np.testing.assert_allclose(sgd.update(0, np.array([1.0])), [0.5])
    with pytest.raises(TrainingError):
        make_optimizer("rmsprop", 0.1)
    assert lr_factor("cosine", 0, 10) == 1.0 and lr_factor("cosine", 10, 10) == pytest.approx(0.0)
    assert lr_factor("constant", 3, 10) == 1.0
    with pytest.raises(TrainingError):
        lr_factor("linear", 1, 2)


def test_to_network_and_network_accuracy_agree_with_training_forward():
    rng = np.random.default_rng(2)
    ws, bs = init_dense((4, 6, 3), rng)
    ws[0][0, :] = 0
    bs = [rng.normal(size=b.shape).astype(np.float32) for b in bs]
    net = to_network(ws, bs, name="t", metadata={"a": 1})
    assert [p.model.kind for p in net.populations] == ["input", "relu", "linear"]
    assert net.n_synapses == int(sum(np.count_nonzero(w) for w in ws))
    x = rng.random((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    np.testing.assert_allclose(
        network_logits(net, x), predict_logits(ws, bs, x), rtol=1e-5, atol=1e-5
    )
    assert network_accuracy(net, x, y) == accuracy(ws, bs, x, y)
    with pytest.raises(TrainingError, match="inputs have shape"):
        network_logits(net, x[:, :3])
