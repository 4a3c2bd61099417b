"""Conv DEEP R (train/conv_deep_r.py): a connection budget over kernel entries and dense weights."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.io.datasets import load_dataset
from neurosim.sim.simulate import simulate
from neurosim.train.conv_deep_r import (
    conv_budgets,
    conv_deep_r_step,
    init_conv_rewiring,
    layer_matrices,
    train_conv_deep_r,
)
from neurosim.train.conv_layers import ConvArchitecture
from neurosim.train.core import make_optimizer, network_accuracy, split_validation


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split="train", limit=600), load_dataset("digits", split="test")


def _check_state(state, shapes, budgets):
    """Slots, masks, fan-in counts and matrices agree, and hold exactly the budget."""
    assert state.theta.size == sum(budgets) and (state.theta > 0).all()
    mats = layer_matrices(state, shapes)
    assert sum(int(np.count_nonzero(m)) for m in mats) == sum(budgets)
    for i, (m, act) in enumerate(zip(mats, state.active, strict=True)):
        sel = state.layer_slots(i)
        assert np.unique(state.slot_index[sel]).size == sel.size  # no connection held twice
        assert int(act.sum()) == sel.size == int(np.count_nonzero(m))
        np.testing.assert_array_equal(act.reshape(m.shape), m != 0)
        np.testing.assert_array_equal(state.fan_in[i], (m != 0).sum(axis=0))


@pytest.mark.parametrize("mode", ["global", "per_layer"])
def test_budget_is_exact_after_every_rewiring(digits, mode):
    tr, _ = digits
    arch = ConvArchitecture.make(64, (8, 8), (4, 8), 10, "test")
    shapes = arch.layer_shapes
    budgets = conv_budgets(shapes, arch.names, connectivity=0.2)
    state = init_conv_rewiring(shapes, budgets, budget=mode, seed=1)
    _check_state(state, shapes, budgets)
    opt, rng, rewired = make_optimizer("sgd", 0.5, 0.0), np.random.default_rng(0), 0
    layer_counts = set()
    for s in range(25):
        idx = slice(16 * s, 16 * s + 16)
        _, k = conv_deep_r_step(state, arch, tr.x[idx], tr.y[idx], opt, lr=0.5, l1=0.05,
                                temperature=1e-3, rng=rng)
        rewired += k
        _check_state(state, shapes, budgets)
        layer_counts.add(tuple(state.counts()))
        if mode == "per_layer":
            assert state.counts() == list(budgets)
    assert rewired > 50, rewired  # the steps did rewire
    if mode == "global":
        assert len(layer_counts) > 1  # connections moved between layers, the total did not


def test_budget_split_and_one_per_output_channel():
    shapes = [(9, 4), (36, 8), (32, 10)]
    names = ["conv1", "conv2", "dense"]
    assert sum(conv_budgets(shapes, names, n_connections=100)) == 100
    assert conv_budgets(shapes, names, n_connections=[4, 100, 50]) == (4, 100, 50)
    state = init_conv_rewiring(shapes, conv_budgets(shapes, names, n_connections=22), seed=0)
    for m in layer_matrices(state, shapes):
        assert (np.count_nonzero(m, axis=0) >= 1).all()  # every output channel starts connected


def test_trains_above_chance_and_maps_as_a_cnn(digits):
    tr, te = digits
    res = train_conv_deep_r(tr.x, tr.y, channels=(4, 8), image_shape=(8, 8), epochs=8, batch_size=32,
                            lr=3e-2, connectivity=0.3, seed=0)
    assert res.method == "deep_r_cnn" and res.info["n_active"] == sum(res.info["budgets"])
    assert sum(res.info["layer_connections"]) == res.n_parameters == res.info["n_active"]
    net = res.network
    assert [p.kind for p in net.projections] == ["conv", "pool", "conv", "pool", "sparse"]
    stored = [int(np.count_nonzero(p.spec.kernel)) for p in net.projections if p.kind == "conv"]
    assert stored + [net.projections[-1].n_synapses] == res.info["layer_connections"]
    acc = network_accuracy(net, te.x, te.y)
    assert acc > 0.5, acc  # chance is 0.1
    _, _, xv, yv = split_validation(tr.x, tr.y, 0.1, 0)  # the run's validation split
    out = simulate(net, xv, "reference").outputs  # the network computes what was trained
    assert float((out.argmax(axis=1) == yv).mean()) == pytest.approx(res.val_accuracy, abs=0.02)
    assert res.n_connections == net.n_synapses < res.n_possible


def test_same_seed_same_network_other_seed_not(digits):
    tr, _ = digits
    kw = dict(channels=(2, 4), image_shape=(8, 8), epochs=2, batch_size=32, connectivity=0.3)
    a = train_conv_deep_r(tr.x[:200], tr.y[:200], seed=3, **kw)
    b = train_conv_deep_r(tr.x[:200], tr.y[:200], seed=3, **kw)
    c = train_conv_deep_r(tr.x[:200], tr.y[:200], seed=4, **kw)
    for i in (0, 2):
        np.testing.assert_array_equal(a.network.projections[i].spec.kernel, b.network.projections[i].spec.kernel)
    np.testing.assert_array_equal(a.network.projections[4].weights.toarray(), b.network.projections[4].weights.toarray())
    assert not np.array_equal(a.network.projections[2].spec.kernel, c.network.projections[2].spec.kernel)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n_connections": 21}, "at least one per output channel"),
        ({"n_connections": [3, 100, 50]}, "conv1: budget of 3 connections; expected 4..36"),
        ({"connectivity": 1.5}, "expected a fraction"),
        ({"connectivity": [0.1, 0.2]}, "expected 1 or 3"),
        ({"budget": "per_neuron"}, "budget 'per_neuron'"),
        ({"channels": (4,)}, "channels"),
        ({"image_shape": 64}, "image_shape"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_bad_input_is_one_line(digits, options, match):
    tr, _ = digits
    kw = {"channels": (4, 8), "image_shape": (8, 8), "epochs": 1, **options}
    with pytest.raises(TrainingError, match=match) as err:
        train_conv_deep_r(tr.x[:50], tr.y[:50], **kw)
    assert "\n" not in str(err.value)
