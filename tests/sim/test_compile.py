"""Fixed-point fractions chosen by :func:`neurosim.sim.compile.choose_frac_bits`."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.compile import choose_frac_bits, fixed_plan
from neurosim.sim.engine import run_plan

FORMATS = {"8": {"bits": 8, "frac_bits": 3}, "16": {"bits": 16, "frac_bits": 8}}


def _net(metadata=None) -> Network:
    w = [np.full((4, 2), 0.25), np.full((2, 2), 0.5)]
    return Network.from_layers(w, model=NeuronModel("relu", {"cap": 4.0}), metadata=metadata)


@pytest.mark.parametrize(("state_bits", "expected"), [(8, 3), (12, 3), (16, 8), (32, 8), (64, 8)])
def test_network_format_of_the_widest_fitting_width(state_bits, expected) -> None:
    frac = choose_frac_bits(_net({"fixed_point": FORMATS}), state_bits)
    assert frac == {"input": expected, "layer1": expected, "layer2": expected}


def test_no_fitting_network_format_chooses_by_range() -> None:
    frac = choose_frac_bits(_net({"fixed_point": FORMATS}), 6, input_bound=4.0)
    assert frac == choose_frac_bits(_net(), 6, input_bound=4.0)
    assert frac["layer1"] == 6 - 3  # values up to the cap 4 need 3 integer bits, no sign


def _quant(net: Network, scale: float) -> dict:
    out = {}
    for pr in net.projections:
        w = sp.csr_matrix(pr.weights)
        w.data = np.round(w.data / scale)
        out[pr.name] = SimpleNamespace(weights=w, scale=np.full(w.shape[1], scale))
    return out


def _odd_net() -> Network:
    w = [np.full((4, 2), 0.25), np.array([[0.5, 0.5], [1 / 6, 1 / 6]])]
    return Network.from_layers(w, model=NeuronModel("relu", {"cap": 4.0}))


def _quant_each(net: Network, scales: dict) -> dict:
    out = {}
    for pr in net.projections:
        w = sp.csr_matrix(pr.weights)
        w.data = np.round(w.data / scales[pr.name])
        out[pr.name] = SimpleNamespace(weights=w, scale=np.full(w.shape[1], scales[pr.name]))
    return out


def test_chosen_fraction_keeps_the_conversion_exact() -> None:
    """A non-power-of-two weight scale (levels 3 and 1 at 1/6: no common divisor to
    take out) limits the output fraction so that the multiply-and-shift conversion
    is exact; a power-of-two scale does not."""
    net = _odd_net()
    names = [pr.name for pr in net.projections]
    odd = 1 / 6
    free = choose_frac_bits(
        net, 32, input_bound=4.0, accumulator_bits=32, quantized=_quant(net, 2.0**-16)
    )
    quant = _quant_each(net, {names[0]: 2.0**-4, names[1]: odd})
    limited = choose_frac_bits(net, 32, input_bound=4.0, accumulator_bits=32, quantized=quant)
    assert free["layer2"] == 32 - 2  # values up to 4 * (0.5 + 1/6) < 4: 2 integer bits, no sign
    assert limited["layer2"] == limited["layer1"] + 62 - 64 - int(np.frexp(odd)[1])
    assert limited["layer2"] < free["layer2"]
    # and the limited format reproduces the exact real result (inputs of 1.5:
    # layer1 = 4 * 0.25 * 1.5 = 1.5, layer2 = 1.5 * 0.5 + 1.5 / 6 = 1)
    plan = fixed_plan(net, quant, accumulator_bits=32, state_bits=32, dt_s=1e-3, frac_bits=limited)
    x = np.full((1, 4), round(1.5 * 2 ** limited["input"]), dtype=np.int64)
    out = run_plan(plan, lambda t: {"input": x}, 1, 1)
    assert out.final["layer2"][0, 0] == 1.0 * 2 ** limited["layer2"]


def test_equal_levels_are_reduced_so_the_fraction_uses_the_state() -> None:
    """Levels 32767 at scale 0.5/32767 (every weight 0.5 or 0.25) are the same weights
    as small levels at a power-of-two scale: the accumulator no longer limits the
    fraction and the conversion is exact."""
    net = _net()
    wide = choose_frac_bits(
        net, 32, input_bound=4.0, accumulator_bits=32, quantized=_quant(net, 0.25 / 32767)
    )
    exact = choose_frac_bits(
        net, 32, input_bound=4.0, accumulator_bits=32, quantized=_quant(net, 2.0**-2)
    )
    assert wide == exact
    assert wide["layer2"] == 32 - 3  # the (unsigned ReLU) state's width, not the accumulator's
