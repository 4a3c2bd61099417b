"""One conformance suite over every registered backend (BACKENDS).

With a float64 profile every backend must reproduce the reference backend
exactly: spike counts per neuron for IF and LIF networks (feed-forward and
recurrent, both reset rules), final activations for capped-ReLU networks.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import random_spiking

from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.backends import BACKENDS
from neurosim.sim.simulate import simulate

SPIKING_CASES = [
    ("if", (12, 20, 8), 0, False, "zero"),
    ("lif", (12, 20, 8), 1, False, "zero"),
    ("if", (16, 24, 16, 6), 2, True, "subtract"),
    ("lif", (10, 30, 30, 5), 3, True, "zero"),
    ("lif", (24, 40, 10), 4, False, "subtract"),
]


def _spike_inputs(n_in: int, seed: int, n_steps: int = 30, batch: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n_steps, batch, n_in)) < 0.3).astype(np.float64)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize(
    "case", SPIKING_CASES, ids=lambda c: f"{c[0]}-{'x'.join(map(str, c[1]))}-s{c[2]}"
)
def test_spiking_backends_agree_with_reference(backend, case, float64_profile) -> None:
    kind, sizes, seed, recurrent, reset = case
    net = random_spiking(kind, sizes, seed, recurrent=recurrent, reset=reset)
    mapped = map_network(net, float64_profile, seed=seed)
    x = _spike_inputs(sizes[0], seed)
    v0 = {"layer1": np.linspace(0.0, 0.5, sizes[1])}
    ref = simulate(net, x, "reference", dt_s=1e-3, v0=v0)
    res = simulate(mapped, x, backend, dt_s=1e-3, v0=v0)
    assert res.backend == backend
    assert res.outputs.shape == ref.outputs.shape == (3, sizes[-1])
    assert sum(int(c.sum()) for c in ref.spike_counts.values()) > 0
    for name in ref.spike_counts:
        np.testing.assert_array_equal(res.spike_counts[name], ref.spike_counts[name], err_msg=name)
    np.testing.assert_array_equal(res.outputs, ref.outputs)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_graded_backends_agree_with_reference(backend, float64_profile) -> None:
    rng = np.random.default_rng(5)
    ws = [sp.random(20, 20, density=0.3, random_state=i, format="csr") for i in range(3)]
    net = Network.from_layers(ws, [-1.2] * 3, NeuronModel("relu", {"cap": 2.0}))
    x = rng.random((6, 20))
    ref = simulate(net, x, "reference")
    res = simulate(map_network(net, float64_profile), x, backend)
    assert 0 < np.count_nonzero(ref.outputs) < ref.outputs.size
    np.testing.assert_array_equal(res.outputs, ref.outputs)


@pytest.mark.parametrize("case", SPIKING_CASES[:3], ids=lambda c: f"{c[0]}-s{c[2]}")
def test_chip_float_mode_equals_brian2_with_split_fan_in(case, float64_profile) -> None:
    """Partial-sum populations (same-step) run identically on the emulator and in Brian2."""
    kind, sizes, seed, recurrent, reset = case
    net = random_spiking(kind, sizes, seed, recurrent=recurrent, reset=reset)
    from neurosim.hardware.profile import apply_overrides

    prof = apply_overrides(float64_profile, ["core.max_fan_in=4"])
    mapped = map_network(net, prof, seed=seed)
    assert mapped.added["split_neurons"] > 0
    x = _spike_inputs(sizes[0], seed)
    chip = simulate(mapped, x, "chip", dt_s=1e-3)
    b2 = simulate(mapped, x, "brian2", dt_s=1e-3)
    for name in chip.spike_counts:
        np.testing.assert_array_equal(chip.spike_counts[name], b2.spike_counts[name], err_msg=name)
    for kind_ in chip.events:
        np.testing.assert_array_equal(chip.events[kind_], b2.events[kind_], err_msg=kind_)
    assert chip.total_events("synop") > 0
