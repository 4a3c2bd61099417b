"""The chip backend: exact solutions in fixed point, Graph Challenge in float mode, events."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sim_helpers import hand_map

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.result import EVENT_TYPES
from neurosim.sim.simulate import simulate
from neurosim.topology.exact import exact_solution

INT8 = ["weights.kind=int", "weights.bits=8", "weights.state_bits=8"]
INT16 = ["weights.kind=int", "weights.bits=16", "weights.state_bits=16"]


@pytest.mark.parametrize("sets", [INT8, INT16], ids=["8bit", "16bit"])
@pytest.mark.parametrize("scale", ["per_layer", "exponent"])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_solution_bit_for_bit(sets, scale, seed) -> None:
    sol = exact_solution(64, 4, seed=seed)
    mapped = map_network(
        sol.network, load_profile("generic", [*sets, f"weights.scale={scale}"]), seed=seed
    )
    res = simulate(mapped, sol.inputs, "chip")
    assert res.info["mode"] == "fixed"
    np.testing.assert_array_equal(res.outputs, sol.expected_outputs)
    assert res.saturations == 0


@pytest.mark.parametrize("sets", [INT8, INT16], ids=["8bit", "16bit"])
def test_exact_solution_with_split_fan_in(sets) -> None:
    sol = exact_solution(64, 3, fan_in=4, seed=2)
    mapped = map_network(
        sol.network, load_profile("generic", [*sets, "weights.scale=exponent", "core.max_fan_in=2"])
    )
    assert mapped.added["split_neurons"] > 0
    res = simulate(mapped, sol.inputs, "chip")
    np.testing.assert_array_equal(res.outputs, sol.expected_outputs)


def test_fixed_point_saturation_is_counted() -> None:
    net = Network.from_layers([np.full((4, 2), 3.0)], model=NeuronModel("relu"))
    mapped = map_network(
        net, load_profile("generic", ["weights.kind=int", "weights.bits=8", "weights.state_bits=8"])
    )
    res = simulate(
        mapped, np.ones((1, 4)), "chip", options={"frac_bits": {"input": 0, "layer1": 5}}
    )
    assert res.saturations > 0  # 12 * 2**5 = 384 does not fit the unsigned 8-bit ReLU state
    assert res.outputs.max() == pytest.approx(255 / 32)


def _challenge_network(graph_challenge_dir, n_layers: int) -> Network:
    import gzip

    weights = []
    for layer in range(1, n_layers + 1):
        with gzip.open(graph_challenge_dir / f"n1024-l{layer}.tsv.gz", "rt") as fh:
            data = np.loadtxt(fh)
        weights.append(
            sp.csr_matrix(
                (data[:, 2], (data[:, 0].astype(int) - 1, data[:, 1].astype(int) - 1)),
                shape=(1024, 1024),
            )
        )
    return Network.from_layers(weights, [-0.3] * n_layers, NeuronModel("relu", {"cap": 32.0}))


def _challenge_inputs(seed: int = 0, n: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, 1024)) < 0.25).astype(np.float64)


def _check_challenge(net: Network, x: np.ndarray) -> None:
    ref = simulate(net, x, "reference")
    chip64 = simulate(map_network(net, load_profile("generic", ["weights.bits=64"])), x, "chip")
    np.testing.assert_array_equal(chip64.outputs, ref.outputs)
    assert np.count_nonzero(ref.outputs) > 0
    chip32 = simulate(map_network(net, load_profile("generic")), x, "chip")
    assert chip32.info["dtype"] == "float32"
    np.testing.assert_array_equal(chip32.outputs.any(axis=1), ref.outputs.any(axis=1))
    np.testing.assert_allclose(chip32.outputs, ref.outputs, atol=1e-4)


def test_graph_challenge_6_layers_float_mode_equals_reference(graph_challenge_dir) -> None:
    _check_challenge(_challenge_network(graph_challenge_dir, 6), _challenge_inputs())


@pytest.mark.slow
def test_graph_challenge_120_layers_float_mode_equals_reference(graph_challenge_dir) -> None:
    _check_challenge(_challenge_network(graph_challenge_dir, 120), _challenge_inputs(n=256))


def test_events_by_hand(float64_profile) -> None:
    """2 inputs -> 2 neurons on two cores; hand-computed event counts."""
    w = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 1.0]]))
    net = Network.from_layers(
        [w, sp.csr_matrix(np.array([[1.0], [1.0]]))], model=NeuronModel("relu")
    )
    mapped = hand_map(net, float64_profile, per_core=1)  # layer1: cores 0, 1; layer2: core 2
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    res = simulate(mapped, x, "chip", per_step=True)
    assert set(res.events) == set(EVENT_TYPES)
    # layer1 synops: input0 reaches both neurons, input1 reaches neuron 1
    # inputs active: x0 twice, x1 twice -> core0: 2, core1: 2 + 2; layer2: both layer1 neurons
    # active in rows 0 and 2 (n0) and all rows (n1): 2 + 3 synops at core 2
    np.testing.assert_array_equal(res.events["synop"], [2, 4, 5])
    np.testing.assert_array_equal(res.events["neuron_update"], [3, 3, 3])
    np.testing.assert_array_equal(res.events["spike_out"], [2, 3, 3])
    # each layer1 neuron sends one packet to core 2 per nonzero output; hops |x0 - x2| = 2, |x1 - x2| = 1
    np.testing.assert_array_equal(res.events["packet"], [2, 3, 0])
    np.testing.assert_array_equal(res.events["hop"], [4, 3, 0])
    assert res.info["host_packets"] == 2 * 2 + 2 * 1
    assert res.events_per_step["synop"].shape == (1, 3)
    np.testing.assert_array_equal(res.events_per_step["synop"].sum(axis=0), res.events["synop"])


# The exact-solutions scenario's configurations: 16-bit integer weights on profiles
# whose state and accumulator are 32 bits wide (the generic core with int16 weight
# overrides, SpiNNaker 2 with its per-core scale).
WIDE_STATE = {
    "generic_int16": (
        "generic",
        ["weights.kind=int", "weights.bits=16", "weights.scale=per_layer"],
    ),
    "spinnaker2": ("spinnaker2", []),
}


@pytest.mark.parametrize("chip", sorted(WIDE_STATE))
@pytest.mark.parametrize("metadata", [True, False], ids=["network_format", "chosen_format"])
@pytest.mark.parametrize("n_steps", [1, 2], ids=["engine", "compiled"])
def test_exact_solution_bit_for_bit_in_32bit_state(chip, metadata, n_steps) -> None:
    """16-bit weights in a 32-bit state: the network's 16-bit format is used (it fits the
    wider state), and without it the chosen output fraction keeps the conversion exact
    (a 28-bit fraction with a non-power-of-two scale was off by one unit, 2**-28)."""
    import dataclasses

    sol = exact_solution(128, 4, n_categories=8, fan_in=8, n_inputs=32, seed=0)
    net = sol.network
    if not metadata:
        meta = {k: v for k, v in net.metadata.items() if k != "fixed_point"}
        net = dataclasses.replace(net, metadata=meta)
    name, sets = WIDE_STATE[chip]
    profile = load_profile(name, sets)
    assert profile.get("weights.state_bits") == 32
    mapped = map_network(net, profile, seed=0)
    res = simulate(mapped, sol.inputs, "chip", n_steps=n_steps)
    assert res.info["mode"] == "fixed"
    if metadata:
        assert set(res.info["frac_bits"].values()) == {sol.fixed_point[16].frac_bits}
    np.testing.assert_array_equal(res.outputs, sol.expected_outputs)
    assert res.saturations == 0
