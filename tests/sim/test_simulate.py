"""simulate(): input checks, plain networks, registry."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.backends import BACKENDS, get_backend, register_backend
from neurosim.sim.simulate import simulate


def _net() -> Network:
    return Network.from_layers(
        [np.array([[1.0, -1.0], [0.5, 2.0]])], model=NeuronModel("relu", {"cap": 2.0})
    )


def test_plain_network_reference() -> None:
    res = simulate(_net(), np.array([[1.0, 1.0], [0.0, 2.0]]), "reference")
    np.testing.assert_array_equal(res.outputs, [[1.5, 1.0], [1.0, 2.0]])
    assert res.events == {} and res.n_steps == 1


def test_plain_network_needs_reference() -> None:
    with pytest.raises(SimulationError, match="MappedNetwork"):
        simulate(_net(), np.ones((1, 2)), "chip")


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.full((1, 2), np.nan), np.ones((2, 2, 2, 2))])
def test_bad_inputs(bad) -> None:
    with pytest.raises(SimulationError, match="inputs"):
        simulate(_net(), bad, "reference")


def test_unknown_backend_and_double_registration() -> None:
    with pytest.raises(SimulationError, match="expected one of"):
        get_backend("nope")
    with pytest.raises(SimulationError, match="already registered"):
        register_backend("chip", "x:y", dict(BACKENDS))


def test_encoding_and_raster() -> None:
    net = Network.from_layers([np.eye(3)], model=NeuronModel("if", {"threshold": 0.5}))
    res = simulate(
        net, np.array([[1.0, 0.0, 0.5]]), "reference", n_steps=10, encoding="rate", record=1
    )
    assert res.raster["layer1"].shape == (10, 1, 3)
    assert res.outputs[0, 0] == 10 and res.outputs[0, 1] == 0


def test_compiled_run_equals_engine(float64_profile) -> None:
    """The compiled whole-run kernel and the step-by-step engine give the same spikes."""
    from sim_helpers import random_spiking

    from neurosim.mapping.mapper import map_network

    net = random_spiking("lif", (10, 20, 8), 7, recurrent=True, reset="subtract")
    x = (np.random.default_rng(7).random((25, 4, 10)) < 0.3).astype(float)
    mapped = map_network(net, float64_profile)
    fast = simulate(mapped, x, "chip", per_step=True, record=2)
    slow = simulate(mapped, x, "chip", per_step=True, record=2, options={"engine": True})
    for name in fast.spike_counts:
        np.testing.assert_array_equal(fast.spike_counts[name], slow.spike_counts[name])
        np.testing.assert_array_equal(fast.raster[name], slow.raster[name])
    for kind in fast.events:
        np.testing.assert_array_equal(fast.events_per_step[kind], slow.events_per_step[kind])


def test_keep_output_counts_only() -> None:
    net = Network.from_layers([np.eye(2), np.eye(2)], model=NeuronModel("relu"))
    res = simulate(net, np.ones((3, 2)), "reference", spike_counts="outputs")
    assert set(res.spike_counts) == {"layer2"}
    with pytest.raises(SimulationError, match="spike_counts"):
        simulate(net, np.ones((3, 2)), "reference", spike_counts="some")


@pytest.mark.parametrize("kind", ["if", "lif"])
def test_compiled_run_uniform_parameters(kind, float64_profile) -> None:
    """Populations whose parameters are all equal take the scalar path of the kernel."""
    from neurosim.mapping.mapper import map_network
    from neurosim.network import Projection

    rng = np.random.default_rng(3)
    params = {"threshold": 1.0, "v_reset": -0.2} | (
        {"tau_mem_s": 0.004, "v_leak": 0.3} if kind == "lif" else {}
    )
    net = Network.from_layers(
        [rng.normal(0.5, 0.5, (12, 30))], [0.05], NeuronModel(kind, params), name="uniform"
    )
    rec = Projection(
        "layer1",
        "layer1",
        rng.normal(0.0, 0.3, (30, 30)) * (rng.random((30, 30)) < 0.2),
        name="rec",
    )
    net = net.replace(projections=net.projections + (rec,), outputs=("layer1",))
    x = (rng.random((40, 3, 12)) < 0.3).astype(float)
    mapped = map_network(net, float64_profile)
    fast = simulate(mapped, x, "chip")
    slow = simulate(mapped, x, "chip", options={"engine": True})
    assert fast.spike_counts["layer1"].sum() > 0
    np.testing.assert_array_equal(fast.spike_counts["layer1"], slow.spike_counts["layer1"])


def test_keep_output_counts_compiled_path() -> None:
    net = Network.from_layers([np.eye(2), np.eye(2)], model=NeuronModel("if", {"threshold": 0.5}))
    res = simulate(net, np.ones((3, 2)), "reference", n_steps=5, spike_counts="outputs")
    assert set(res.spike_counts) == {"layer2"}
    assert res.outputs.tolist() == [[5.0, 5.0]] * 3


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize(
    "case", [("lif", True, "subtract"), ("if", False, "zero"), ("lif", False, "zero")]
)
def test_compiled_fixed_point_equals_engine(bits, case) -> None:
    """The compiled fixed-point run is bit-identical to the step-by-step engine (saturations too)."""
    from sim_helpers import random_spiking

    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network

    kind, recurrent, reset = case
    net = random_spiking(kind, (12, 24, 8), bits, recurrent=recurrent, reset=reset)
    prof = load_profile(
        "generic",
        [
            "weights.kind=int",
            f"weights.bits={bits}",
            "weights.scale=per_layer",
            f"weights.state_bits={bits}",
            "weights.accumulator_bits=16",
            "core.max_fan_in=5",
        ],
    )
    mapped = map_network(net, prof)
    x = (np.random.default_rng(bits).random((30, 3, 12)) < 0.3).astype(float)
    fast = simulate(mapped, x, "chip", per_step=True, record=1, v0={"layer1": 0.3})
    slow = simulate(
        mapped, x, "chip", per_step=True, record=1, v0={"layer1": 0.3}, options={"engine": True}
    )
    assert fast.info["mode"] == "fixed" and "loop_s" in fast.info
    assert sum(int(c.sum()) for c in slow.spike_counts.values()) > 0
    for name in slow.spike_counts:
        np.testing.assert_array_equal(
            fast.spike_counts[name], slow.spike_counts[name], err_msg=name
        )
    np.testing.assert_array_equal(fast.outputs, slow.outputs)
    assert fast.saturations == slow.saturations
    for k in slow.events:
        np.testing.assert_array_equal(fast.events_per_step[k], slow.events_per_step[k])


def test_compiled_fixed_point_graded_multistep() -> None:
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.topology.exact import exact_solution

    sol = exact_solution(64, 3, seed=4)
    prof = load_profile(
        "generic",
        [
            "weights.kind=int",
            "weights.bits=8",
            "weights.state_bits=8",
            "weights.scale=exponent",
            "core.max_fan_in=2",
        ],
    )
    mapped = map_network(sol.network, prof)
    res = simulate(mapped, sol.inputs, "chip", n_steps=3)
    np.testing.assert_array_equal(res.outputs, sol.expected_outputs)
    slow = simulate(mapped, sol.inputs, "chip", n_steps=3, options={"engine": True})
    np.testing.assert_array_equal(res.outputs, slow.outputs)
    assert "loop_s" in res.info
