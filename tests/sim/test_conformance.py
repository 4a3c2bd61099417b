"""One conformance suite over every registered backend (BACKENDS).

With a float64 profile every backend must reproduce the reference backend
exactly: spike counts per neuron for IF, LIF, current-based LIF and
threshold networks (feed-forward and recurrent, both reset rules), final
activations for capped-ReLU networks.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sim_helpers import random_spiking

from neurosim.mapping.mapper import map_network
from neurosim.network import Network, Population
from neurosim.neurons import NeuronModel
from neurosim.sim.backends import BACKENDS
from neurosim.sim.simulate import simulate

SPIKING_CASES = [
    ("if", (12, 20, 8), 0, False, "zero"),
    ("lif", (12, 20, 8), 1, False, "zero"),
    ("if", (16, 24, 16, 6), 2, True, "subtract"),
    ("lif", (10, 30, 30, 5), 3, True, "zero"),
    ("lif", (24, 40, 10), 4, False, "subtract"),
    ("cuba_lif", (12, 20, 8), 5, False, "zero"),
    ("cuba_lif", (16, 24, 16, 6), 6, True, "subtract"),
    ("threshold", (12, 20, 8), 7, False, "zero"),
    ("threshold", (10, 30, 30, 5), 8, True, "zero"),
]

#: parameters of the kinds ``random_spiking`` does not draw (its threshold is kept)
_EXTRA_PARAMS = {
    "cuba_lif": {"tau_mem_s": 0.003, "tau_syn_s": 0.002, "v_leak": 0.1, "r": 1.2, "w_in": 1.5},
    "threshold": {},
}


def _spiking_net(kind: str, sizes, seed: int, *, recurrent: bool, reset: str) -> Network:
    """``random_spiking``'s network; for cuba_lif/threshold its IF layers given that kind."""
    if kind not in _EXTRA_PARAMS:
        return random_spiking(kind, sizes, seed, recurrent=recurrent, reset=reset)
    net = random_spiking("if", sizes, seed, recurrent=recurrent, reset=reset)
    thr = net.populations[-1].model.param("threshold")
    params = {"threshold": thr, **_EXTRA_PARAMS[kind]}
    if kind == "cuba_lif":
        params["v_reset"] = 0.0
    model = NeuronModel(kind, params, reset)
    return net.replace(
        populations=tuple(
            p if p.model.kind == "input" else Population(p.name, p.size, model, p.bias)
            for p in net.populations
        )
    )


def _spike_inputs(n_in: int, seed: int, n_steps: int = 30, batch: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n_steps, batch, n_in)) < 0.3).astype(np.float64)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize(
    "case", SPIKING_CASES, ids=lambda c: f"{c[0]}-{'x'.join(map(str, c[1]))}-s{c[2]}"
)
def test_spiking_backends_agree_with_reference(backend, case, float64_profile) -> None:
    kind, sizes, seed, recurrent, reset = case
    net = _spiking_net(kind, sizes, seed, recurrent=recurrent, reset=reset)
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


@pytest.mark.parametrize(
    "case", SPIKING_CASES[:3] + SPIKING_CASES[6:8], ids=lambda c: f"{c[0]}-s{c[2]}"
)
def test_chip_float_mode_equals_brian2_with_split_fan_in(case, float64_profile) -> None:
    """Partial-sum populations (same-step) run identically on the emulator and in Brian2."""
    kind, sizes, seed, recurrent, reset = case
    net = _spiking_net(kind, sizes, seed, recurrent=recurrent, reset=reset)
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


@pytest.mark.parametrize("case", SPIKING_CASES[5:], ids=lambda c: f"{c[0]}-s{c[2]}")
def test_chip_fixed_point_new_kinds_close_to_reference(case) -> None:
    """cuba_lif and threshold in 16-bit fixed point (per-layer weight scale, 32-bit
    accumulators) stay within 1% of the float64 reference's spikes, unsaturated."""
    from neurosim.hardware.profile import load_profile

    kind, sizes, seed, recurrent, reset = case
    net = _spiking_net(kind, sizes, seed, recurrent=recurrent, reset=reset)
    prof = load_profile(
        "generic",
        [
            "weights.kind=int",
            "weights.bits=16",
            "weights.scale=per_layer",
            "weights.accumulator_bits=32",
            "weights.state_bits=16",
        ],
    )
    x = _spike_inputs(sizes[0], seed)
    ref = simulate(net, x, "reference", dt_s=1e-3)
    res = simulate(map_network(net, prof, seed=seed), x, "chip", dt_s=1e-3)
    assert res.info["mode"] == "fixed"
    assert res.saturations == 0  # the fraction leaves room for the input drive
    for name, c in ref.spike_counts.items():
        total = int(c.sum())
        assert total > 0, name
        diff = int(np.abs(res.spike_counts[name] - c).sum())
        assert diff <= max(2, total // 100), (name, diff, total)
