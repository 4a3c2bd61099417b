"""Conv CoNNTrA (train/conv_conntra.py): ternary kernels trained by coordinate descent."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.io.datasets import load_dataset
from neurosim.sim.simulate import simulate
from neurosim.train.conntra_ranked import RankedState, ranked_block_step
from neurosim.train.conv_conntra import ConvPasses, train_conv_conntra
from neurosim.train.conv_layers import ConvArchitecture
from neurosim.train.core import network_accuracy, split_validation


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split="train", limit=600), load_dataset("digits", split="test")


def _layer_weights(net):
    """conv1, conv2 kernels and the dense matrix of a trained CNN network."""
    convs = [p.spec.kernel for p in net.projections if p.kind == "conv"]
    return [*convs, net.projections[-1].weights.toarray()]


@pytest.fixture(scope="module")
def trained(digits):
    tr, _ = digits
    return train_conv_conntra(tr.x, tr.y, channels=(4, 8), image_shape=(8, 8), epochs=8, batch_size=32,
                              block=3e-2, seed=0)


def test_kernels_are_ternary_with_one_scale_per_layer(trained):
    weights = _layer_weights(trained.network)
    assert [w.size for w in weights] == trained.info["layer_weights"] == [36, 288, 320]
    for w, a, nz in zip(weights, trained.info["scales"], trained.info["layer_nonzero"], strict=True):
        assert a > 0
        assert set(np.unique(np.round(w / a, 5)).tolist()) <= {-1.0, 0.0, 1.0}
        assert int(np.count_nonzero(w)) == nz
    mem = trained.info["memory"]
    assert mem["n_weights"] == 644 and mem["ternary_bits"] == 2 * 644 + 32 * 3


def test_trains_above_chance_and_maps_as_a_cnn(digits, trained):
    tr, te = digits
    net = trained.network
    assert [p.kind for p in net.projections] == ["conv", "pool", "conv", "pool", "sparse"]
    acc = network_accuracy(net, te.x, te.y)
    assert acc > 0.5, acc  # chance is 0.1
    assert trained.info["changed"] > 0 and trained.n_parameters == 644
    _, _, xv, yv = split_validation(tr.x, tr.y, 0.1, 0)
    out = simulate(net, xv, "reference").outputs  # the network computes what was trained
    # within a few images: the final scale search rescales the layers after the best validation epoch
    assert float((out.argmax(axis=1) == yv).mean()) == pytest.approx(trained.val_accuracy, abs=0.05)


def test_a_step_never_raises_the_minibatch_loss(digits):
    tr, _ = digits
    arch = ConvArchitecture.make(64, (8, 8), (4, 8), 10, "test")
    rng = np.random.default_rng(0)
    codes = [rng.integers(-1, 2, size=s).astype(np.float32) for s in arch.layer_shapes]
    scales = [float(np.sqrt(3.0 / s[0])) for s in arch.layer_shapes]
    biases = [np.zeros(s[1], dtype=np.float32) for s in arch.layer_shapes]
    state = RankedState.zeros(codes, 0.9, 0.999)
    moved = 0
    for s in range(10):
        xb, yb = tr.x[32 * s : 32 * s + 32], tr.y[32 * s : 32 * s + 32]
        before = [c.copy() for c in codes]
        loss0, loss1, k = ranked_block_step(codes, scales, biases, state, xb, yb, 0.05, passes=ConvPasses(arch))
        assert loss1 <= loss0
        assert sum(int(np.count_nonzero(a != b)) for a, b in zip(before, codes, strict=True)) == (k if loss1 < loss0 else 0)
        assert all(set(np.unique(c).tolist()) <= {-1.0, 0.0, 1.0} for c in codes)
        moved += k
    assert moved > 0


def test_same_seed_same_network_other_seed_not(digits):
    tr, _ = digits
    kw = dict(channels=(2, 4), image_shape=(8, 8), epochs=2, batch_size=32, block=3e-2)
    a = _layer_weights(train_conv_conntra(tr.x[:200], tr.y[:200], seed=3, **kw).network)
    b = _layer_weights(train_conv_conntra(tr.x[:200], tr.y[:200], seed=3, **kw).network)
    c = _layer_weights(train_conv_conntra(tr.x[:200], tr.y[:200], seed=4, **kw).network)
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"block": 0.0}, "block = 0.0"),
        ({"beta": 1.0}, "beta"),
        ({"max_tries": 0}, "max_tries"),
        ({"channels": (4, 0)}, "channels"),
        ({"image_shape": (7, 9)}, "image_shape"),
    ],
)
def test_bad_input_is_one_line(digits, options, match):
    tr, _ = digits
    kw = {"channels": (4, 8), "image_shape": (8, 8), "epochs": 1, **options}
    with pytest.raises(TrainingError, match=match) as err:
        train_conv_conntra(tr.x[:50], tr.y[:50], **kw)
    assert "\n" not in str(err.value)
