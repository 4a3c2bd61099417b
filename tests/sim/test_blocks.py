"""Simulation in input blocks: the same outputs, events and report figures as one call."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import SimulationError
from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.report import make_report
from neurosim.sim.blocks import simulate_in_blocks
from neurosim.sim.simulate import simulate


def _if_net() -> Network:
    rng = np.random.default_rng(0)
    model = NeuronModel("if", {"threshold": 1.0, "v_reset": 0.0}, "subtract")
    return Network.from_layers([rng.normal(0.1, 0.4, size=(12, 9)), rng.normal(0.1, 0.4, size=(9, 4))],
                               model=model)


@pytest.fixture(scope="module")
def mapped():
    return map_network(_if_net(), load_profile("loihi"))


@pytest.mark.parametrize("backend", ["chip", "reference"])
def test_blocks_give_one_calls_figures(mapped, backend):
    x = np.random.default_rng(1).random((7, 12))
    one = simulate(mapped, x, backend, n_steps=10)
    blk = simulate_in_blocks(mapped, x, backend, block_rows=3, n_steps=10)
    assert blk.info["blocks"] == 3 and blk.n_inputs == 7
    np.testing.assert_array_equal(blk.outputs, one.outputs)
    assert one.outputs.sum() > 0
    for kind, per_core in one.events.items():
        np.testing.assert_array_equal(blk.events[kind], per_core)
    outputs = set(mapped.network.outputs)
    for name, counts in one.spike_counts.items():
        got = blk.spike_counts[name]
        want = counts if name in outputs else counts.sum(axis=0, keepdims=True)
        np.testing.assert_array_equal(got, want)  # hidden populations: one row of totals
    if backend == "chip":
        labels = np.arange(7) % 4
        a = make_report(mapped, {"chip": one}, labels)
        b = make_report(mapped, {"chip": blk}, labels)
        assert a.energy.per_inference_pj == pytest.approx(b.energy.per_inference_pj, rel=1e-12)
        assert a.latency.time_per_inference_s == pytest.approx(b.latency.time_per_inference_s, rel=1e-12)
        assert a.accuracy.chip_top1 == b.accuracy.chip_top1


def test_blocks_encoding_equals_one_call(mapped):
    x = np.random.default_rng(2).random((5, 12))
    kw = {"n_steps": 8, "encoding": "poisson", "seed": 3}
    one = simulate(mapped, x, "chip", **kw)
    blk = simulate_in_blocks(mapped, x, "chip", block_rows=2, **kw)
    np.testing.assert_array_equal(blk.outputs, one.outputs)


def test_blocks_bad_rows(mapped):
    with pytest.raises(SimulationError, match="block_rows"):
        simulate_in_blocks(mapped, np.zeros((2, 12)), "chip", block_rows=0)
