"""DEEP R invariants: exactly K active after every step, fixed signs, fan-in cap, masked-SGD limit."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import TrainingError
from neurosim.train.constraints import fan_in_cap_from_profile, layer_budgets, resolve_fan_in_cap
from neurosim.train.core import make_optimizer
from neurosim.train.deep_r import deep_r_step, init_rewiring, rewiring_weights, train_deep_r
from neurosim.train.sgd import masked_step


def _data(n=64, d=20, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)).astype(np.float32)
    y = rng.integers(0, k, n)
    return x, y


def _check_state(state, budgets, budget_mode, cap, signs0):
    counts = state.counts()
    if budget_mode == "per_layer":
        assert counts == list(budgets)
    assert len(state.theta) == sum(budgets)
    assert (state.theta > 0).all()
    for i, w in enumerate(rewiring_weights(state, sparse=False)):
        assert np.count_nonzero(w) == counts[i]
        nz = w.ravel() != 0
        # weights carry the fixed sign of their connection
        assert (np.sign(w.ravel()[nz]) == signs0[i][nz]).all()
        assert np.array_equal(nz, state.active[i])
        fan_in = np.count_nonzero(w, axis=0)
        np.testing.assert_array_equal(fan_in, state.fan_in[i])
        if cap is not None:
            assert fan_in.max() <= cap


@pytest.mark.parametrize("budget_mode", ["per_layer", "global"])
@pytest.mark.parametrize("cap", [None, 4])
@pytest.mark.parametrize("sparse", [False, True])
def test_exactly_k_active_signs_fixed_and_cap_after_every_step(budget_mode, cap, sparse):
    x, y = _data()
    sizes = (20, 12, 4)
    budgets = (30, 12)
    state = init_rewiring(sizes, budgets, budget=budget_mode, fan_in_cap=cap, seed=1)
    signs0 = [s.copy() for s in state.signs]
    opt = make_optimizer("sgd", 0.5, momentum=0.0)
    rng = np.random.default_rng(0)
    total_rewired = 0
    for _step in range(40):
        idx = rng.integers(0, 64, 16)
        # a large L1 and noise force many zero crossings
        _, k = deep_r_step(
            state, x[idx], y[idx], opt, lr=0.5, l1=0.05, temperature=1e-3, rng=rng, sparse=sparse
        )
        total_rewired += k
        _check_state(state, budgets, budget_mode, cap, signs0)
        for s, s0 in zip(state.signs, signs0, strict=True):
            assert np.array_equal(s, s0)
    assert total_rewired > 0


@pytest.mark.parametrize("sparse", [False, True])
def test_zero_temperature_and_l1_reduce_to_masked_sgd(sparse):
    x, y = _data(seed=3)
    sizes = (20, 12, 4)
    state = init_rewiring(sizes, (60, 24), seed=2)
    w0 = rewiring_weights(state, sparse=False)
    masks = [w != 0 for w in w0]
    b0 = [b.copy() for b in state.biases]
    rng = np.random.default_rng(0)
    lr = 0.01
    _, rewired = deep_r_step(
        state,
        x,
        y,
        make_optimizer("sgd", lr, 0.0),
        lr=lr,
        l1=0.0,
        temperature=0.0,
        rng=rng,
        sparse=sparse,
    )
    assert rewired == 0  # a small step crosses no zero
    ws = [w.copy() for w in w0]
    bs = [b.copy() for b in b0]
    masked_step(ws, bs, masks, x, y, make_optimizer("sgd", lr, 0.0))
    for a, b in zip(rewiring_weights(state, sparse=False), ws, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    for a, b in zip(state.biases, bs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_initial_mask_respects_cap_and_budget_errors():
    state = init_rewiring((50, 10, 3), (40, 12), fan_in_cap=4, seed=0)
    assert max(f.max() for f in state.fan_in) <= 4
    with pytest.raises(TrainingError, match="fan-in cap"):
        layer_budgets((50, 10, 3), n_connections=(41, 3), fan_in_cap=4)
    with pytest.raises(TrainingError, match="budget"):
        layer_budgets((5, 3), n_connections=16)
    with pytest.raises(TrainingError, match="expected 1 or 2"):
        layer_budgets((5, 3, 2), connectivity=(0.1, 0.2, 0.3))
    assert layer_budgets((10, 10, 2), connectivity=(0.5, 1.0)) == (50, 20)


def test_fan_in_cap_from_chip_profile():
    from neurosim.hardware.profile import load_profile

    assert fan_in_cap_from_profile(load_profile("generic", ["core.max_fan_in=64"])) == 64
    assert resolve_fan_in_cap(100, "generic", ["core.max_fan_in=64"]) == 64
    assert resolve_fan_in_cap(None, None) is None
    with pytest.raises(TrainingError):
        resolve_fan_in_cap(0)


def test_train_deep_r_on_digits_learns_within_budget_and_cap():
    from neurosim.io.datasets import load_dataset

    tr = load_dataset("digits", split="train")
    te = load_dataset("digits", split="test")
    r = train_deep_r(
        tr.x,
        tr.y,
        n_classes=10,
        hidden=(32,),
        epochs=8,
        n_connections=(300, 100),
        fan_in_cap=12,
        lr=0.003,
        optimizer="adam",
        seed=0,
    )
    from neurosim.train.core import network_accuracy

    assert r.n_connections == 400
    assert r.info["layer_connections"] == [300, 100]
    assert r.info["max_fan_in"] <= 12
    fan_in = max(int(pr.fan_in().max()) for pr in r.network.projections)
    assert fan_in <= 12
    assert network_accuracy(r.network, te.x, te.y) > 0.75


def test_soft_deep_r_runs_and_rejects_cap():
    x, y = _data(n=80)
    r = train_deep_r(
        x, y, hidden=(10,), epochs=2, connectivity=0.3, soft=True, temperature=1e-4, val_fraction=0
    )
    assert r.info["variant"] == "soft" and 0 < r.n_connections <= r.n_possible
    with pytest.raises(TrainingError, match="soft"):
        train_deep_r(x, y, hidden=(10,), epochs=1, soft=True, fan_in_cap=3)


def test_deep_r_rejects_bad_hyperparameters():
    x, y = _data()
    with pytest.raises(TrainingError, match="temperature"):
        train_deep_r(x, y, hidden=(8,), temperature=-1.0)
    with pytest.raises(TrainingError, match="budget"):
        train_deep_r(x, y, hidden=(8,), budget="nope")


def test_capped_network_maps_without_fan_in_split():
    from neurosim.hardware.profile import load_profile
    from neurosim.io.datasets import load_dataset
    from neurosim.mapping.mapper import map_network

    tr = load_dataset("digits", split="train")
    r = train_deep_r(
        tr.x,
        tr.y,
        n_classes=10,
        hidden=(32,),
        epochs=1,
        n_connections=(400, 150),
        chip="generic",
        chip_overrides=("core.max_fan_in=16",),
        seed=3,
    )
    assert r.info["fan_in_cap"] == 16 and r.info["max_fan_in"] <= 16
    mapped = map_network(r.network, load_profile("generic", ["core.max_fan_in=16"]))
    assert mapped.fits
    assert mapped.added.get("split_neurons", 0) == 0


def test_deep_r_on_a_few_hundred_mnist_samples(mnist_dir):
    from neurosim.io.datasets import load_dataset
    from neurosim.train.core import network_accuracy

    tr = load_dataset("mnist", path=mnist_dir.parent, split="train", limit=600)
    te = load_dataset("mnist", path=mnist_dir.parent, split="test", limit=300)
    r = train_deep_r(
        tr.x,
        tr.y,
        n_classes=10,
        n_connections=(2352, 900, 300),
        fan_in_cap=64,
        epochs=10,
        optimizer="adam",
        lr=3e-3,
        l1=3e-2,
        seed=0,
    )
    assert r.n_connections == 3552 and r.info["max_fan_in"] <= 64
    assert network_accuracy(r.network, te.x, te.y) > 0.5


@pytest.mark.slow
def test_deep_r_lenet_300_100_reaches_96_percent_on_mnist(mnist_dir):
    """The benchmark setting (benchmarks/bench_training.py): ~1 min of CPU."""
    from neurosim.hardware.profile import load_profile
    from neurosim.io.datasets import load_dataset
    from neurosim.mapping.mapper import map_network
    from neurosim.train.core import network_accuracy

    tr = load_dataset("mnist", path=mnist_dir.parent, split="train")
    te = load_dataset("mnist", path=mnist_dir.parent, split="test")
    r = train_deep_r(
        tr.x,
        tr.y,
        n_classes=10,
        n_connections=(2352, 900, 300),
        chip="generic",
        chip_overrides=("core.max_fan_in=64",),
        epochs=30,
        batch_size=32,
        optimizer="adam",
        lr=3e-3,
        lr_schedule="cosine",
        l1=3e-2,
        temperature=1e-10,
        seed=0,
    )
    assert r.n_connections == 3552
    assert network_accuracy(r.network, te.x, te.y) >= 0.96
    mapped = map_network(r.network, load_profile("generic", ["core.max_fan_in=64"]))
    assert mapped.fits and mapped.added.get("split_neurons", 0) == 0
