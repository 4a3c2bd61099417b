"""The reference backend applies conv and pool projections by im2col (compact), as the unrolled CSR would."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.conv import ConvSpec, PoolSpec
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.sim.compile import float_plan
from neurosim.sim.reference import compact_plan
from neurosim.sim.simulate import simulate


def _net(kind: str, seed: int = 0) -> Network:
    """input (2, 9, 9) -> conv (groups 2, stride, dilation) -> pool -> conv1d-free dense out."""
    rng = np.random.default_rng(seed)
    model = NeuronModel("if", {"threshold": 1.0, "v_reset": 0.0}, "subtract") if kind == "if" else NeuronModel(kind)
    conv = ConvSpec(rng.normal(0.2, 0.4, size=(4, 1, 3, 2)), (2, 9, 9), stride=(1, 2), padding=1,
                    dilation=(2, 1), groups=2, where="conv")
    pool = PoolSpec("avg", 3, conv.out_shape, stride=2, gain=1.37, where="pool")
    pops = [
        Population("in", conv.n_pre, NeuronModel("input"), shape=conv.in_shape),
        Population("conv", conv.n_post, model, rng.normal(0, 0.1, conv.n_post), shape=conv.out_shape),
        Population("pool", pool.n_post, model, shape=pool.out_shape),
        Population("out", 5, model),
    ]
    projs = [
        Projection("in", "conv", spec=conv),
        Projection("conv", "pool", spec=pool),
        Projection("pool", "out", rng.normal(0, 0.3, size=(pool.n_post, 5))),
    ]
    return Network(pops, projs, name=f"small_{kind}_cnn")


def test_compact_plan_replaces_only_conv_and_pool():
    net = _net("if")
    plan = compact_plan(float_plan(net), net)
    specs = {pr.name: pr.spec for p in plan.pops for pr in p.incoming}
    assert set(specs) == {pr.name for pr in net.projections}
    assert [k for k, v in specs.items() if v is not None] == [pr.name for pr in net.projections if pr.spec is not None]


@pytest.mark.parametrize("kind", ["if", "relu"])
def test_compact_reference_matches_unrolled(kind):
    # im2col adds in another order than the CSR kernel; the pool gain keeps every potential
    # off the threshold by more than rounding (with gain 1.5, six spikes sum to 1.0 exactly
    # in one order and to 1 - 1e-16 in the other: a tie, where counts may differ by one)
    net = _net(kind)
    rng = np.random.default_rng(1)
    x = rng.random((7, net.population("in").size))
    steps = 12 if kind == "if" else None
    a = simulate(net, x, "reference", n_steps=steps)
    b = simulate(net, x, "reference", n_steps=steps, options={"unrolled": True})
    np.testing.assert_allclose(a.outputs, b.outputs, rtol=1e-12, atol=1e-12)
    for name in a.spike_counts:
        np.testing.assert_array_equal(a.spike_counts[name], b.spike_counts[name])
    if kind == "if":
        assert a.outputs.sum() > 0  # the network spikes: the comparison is not vacuous
