"""Streaming inference of lazy layered networks equals the materialised network."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import SimulationError
from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.sim.simulate import simulate
from neurosim.sim.stream import simulate_stream
from neurosim.topology.graph_challenge import graph_challenge_network


def test_stream_equals_reference_and_chip_events() -> None:
    lazy = graph_challenge_network(512, 5, seed=3, bias=-0.3)
    net = lazy.to_network()
    x = (np.random.default_rng(0).random((40, 512)) < 0.3).astype(float)
    ref = simulate(net, x, "reference")
    streamed = simulate_stream(lazy, x, "reference", batch_size=16)
    np.testing.assert_array_equal(streamed.outputs, ref.outputs)
    prof = load_profile("generic", ["weights.bits=64", "core.max_neurons=128"])
    chip = simulate(map_network(net, prof), x, "chip")
    s_chip = simulate_stream(lazy, x, "chip", profile=prof, batch_size=7)
    np.testing.assert_array_equal(s_chip.outputs, chip.outputs)
    for kind in ("synop", "neuron_update", "spike_out"):
        assert s_chip.total_events(kind) == chip.total_events(kind), kind
    assert s_chip.total_events("packet") > 0


def test_stream_is_a_mode_of_simulate_on_the_mapper_s_layout() -> None:
    """mode='stream' gives, core by core, the events of the chip backend on the network mapped
    with the sequential strategy and row-major placement: the same mapping, built layer by layer."""
    lazy = graph_challenge_network(512, 4, seed=1, bias=-0.3)
    x = (np.random.default_rng(2).random((24, 512)) < 0.3).astype(float)
    prof = load_profile("generic", ["weights.bits=64", "core.max_neurons=96"])
    mapped = map_network(lazy.to_network(), prof, strategy="sequential", placement="row_major")
    chip = simulate(mapped, x, "chip")
    streamed = simulate(lazy, x, "chip", mode="stream", options={"profile": prof, "batch_size": 5})
    np.testing.assert_array_equal(streamed.outputs, chip.outputs)
    for kind, per_core in chip.events.items():
        np.testing.assert_array_equal(streamed.events[kind], per_core, err_msg=kind)
    assert streamed.total_events("hop") > 0


def test_modes_are_a_registry_and_batch_refuses_a_lazy_network() -> None:
    from neurosim.sim.backends import MODES

    assert set(MODES) == {"batch", "stream"}
    lazy = graph_challenge_network(512, 2, bias=-0.3)
    with pytest.raises(SimulationError, match="mode 'stream'"):
        simulate(lazy, np.zeros((1, 512)), "reference")
    with pytest.raises(SimulationError, match="unknown mode"):
        simulate(lazy, np.zeros((1, 512)), "reference", mode="warp")
    with pytest.raises(SimulationError, match="encoding"):
        simulate(lazy, np.zeros((1, 512)), "reference", mode="stream", encoding="rate")


def test_stream_rejects_integer_profiles() -> None:
    lazy = graph_challenge_network(512, 2, bias=-0.3)
    with pytest.raises(SimulationError, match="float profiles"):
        simulate_stream(
            lazy, np.zeros((1, 512)), "chip", profile=load_profile("generic", ["weights.kind=int"])
        )
