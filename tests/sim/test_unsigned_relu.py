"""ReLU activations are unsigned in fixed point: ``[0, 2**state_bits - 1]``, no sign bit."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.compile import choose_frac_bits, state_limits
from neurosim.sim.simulate import simulate

FOUR_BITS = [
    "weights.kind=int",
    "weights.bits=8",
    "weights.scale=per_layer",
    "weights.state_bits=4",
]


def _capped_net(seed: int) -> Network:
    rng = np.random.default_rng(seed)
    w = [rng.uniform(-0.3, 0.5, (16, 12)), rng.uniform(-0.3, 0.5, (12, 6))]
    return Network.from_layers(w, model=NeuronModel("relu", {"cap": 1.0}))


def test_state_limits() -> None:
    assert state_limits("relu", 4) == (0, 15)
    assert state_limits("linear", 4) == (-8, 7)
    assert state_limits("if", 8) == (-128, 127)


def test_relu_fraction_spends_no_sign_bit() -> None:
    """A ReLU capped at 1 in 4 bits: 1 integer bit and 3 fraction bits (signed: 2)."""
    lin = Network.from_layers([np.full((4, 2), 0.25)], model=NeuronModel("linear"))
    assert choose_frac_bits(_capped_net(0), 4)["layer1"] == 3
    assert choose_frac_bits(lin, 4)["layer1"] == 4 - 1 - 1  # linear stays signed


@pytest.mark.parametrize("seed", [1, 2])
def test_capped_relu_on_four_bit_state_has_eighths(seed) -> None:
    """Outputs are multiples of 1/8 up to the cap 1, some odd eighths (the signed format
    had only quarters); the compiled kernel, the engine and the fused layer path agree."""
    mapped = map_network(_capped_net(seed), load_profile("generic", FOUR_BITS))
    x = np.random.default_rng(seed).random((40, 16))
    fused = simulate(mapped, x, "chip")
    engine = simulate(mapped, x, "chip", options={"engine": True})
    compiled = simulate(mapped, x, "chip", n_steps=2)
    assert "loop_s" in compiled.info and "loop_s" not in engine.info
    assert fused.info["frac_bits"]["layer1"] == 3 and fused.info["frac_bits"]["layer2"] == 3
    out = fused.outputs
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(out * 8, np.round(out * 8))
    assert np.any(np.round(out * 8) % 2 == 1)  # not quarters
    np.testing.assert_array_equal(engine.outputs, out)
    np.testing.assert_array_equal(compiled.outputs, out)
    assert fused.saturations == engine.saturations == compiled.saturations


def test_uncapped_relu_saturates_at_the_unsigned_top() -> None:
    """An uncapped ReLU at a given fraction clips at ``(2**bits - 1) / 2**f`` (signed:
    ``(2**(bits - 1) - 1) / 2**f``), saturations counted alike on every path."""
    net = Network.from_layers([np.array([[3.0, 0.5], [3.0, 0.5]])], model=NeuronModel("relu"))
    mapped = map_network(net, load_profile("generic", FOUR_BITS))
    opts = {"frac_bits": {"input": 0, "layer1": 1}}
    x = np.array([[1.0, 1.0], [1.0, 0.0]])  # layer1: [6, 1] and [3, 0.5]
    fused = simulate(mapped, x, "chip", options=opts)
    engine = simulate(mapped, x, "chip", options={**opts, "engine": True})
    compiled = simulate(mapped, x, "chip", n_steps=2, options=opts)
    np.testing.assert_array_equal(fused.outputs, [[6.0, 1.0], [3.0, 0.5]])
    for res in (engine, compiled):
        np.testing.assert_array_equal(res.outputs, fused.outputs)
    big = simulate(mapped, 2 * x, "chip", options=opts)  # 12 * 2 = 24 > 15
    assert big.outputs[0, 0] == 15 / 2 and big.saturations > 0
    big_c = simulate(mapped, 2 * x, "chip", n_steps=2, options=opts)
    assert big_c.outputs[0, 0] == 15 / 2 and big_c.saturations > 0
