"""Fixed-point precision: reduced integer levels, error bounds, the precision report.

Done-when of issue 17 item 5: on Graph Challenge networks with binary inputs at
30 % density the chip backend's categories equal the reference at the
profile's widths, and where they could not, the precision report (computed
before simulating the chip) flags it.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.precision import error_bounds, precision_report, reduce_levels
from neurosim.sim.simulate import simulate
from neurosim.topology.graph_challenge import graph_challenge_network


def _inputs(n: int, size: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, size)) < 0.3).astype(np.float64)


def _categories(outputs: np.ndarray) -> np.ndarray:
    return np.flatnonzero(outputs.any(axis=1))


def test_reduce_levels_keeps_every_weight() -> None:
    rng = np.random.default_rng(1)
    w = sp.random(20, 8, density=0.4, random_state=2, format="csr")
    w.data = np.round(w.data * 20 + 1) * 6  # common factor 6 in every column
    scale = rng.random(8)
    red, s = reduce_levels(w, scale)
    np.testing.assert_allclose(red.multiply(s).toarray(), w.multiply(scale).toarray())
    assert np.all(red.data == np.round(red.data))
    assert np.all(s >= scale * 6 - 1e-12)


def _check_chip_against_reference(
    net: Network, x: np.ndarray, chip: str, sets=(), search: bool = True
) -> bool:
    mapped = map_network(net, load_profile(chip, list(sets)))
    report = precision_report(mapped, x, search=search)  # before simulating the chip
    ref = simulate(net, x, "reference")
    res = simulate(mapped, x, "chip")
    same = np.array_equal(_categories(res.outputs), _categories(ref.outputs))
    if report.guaranteed:
        assert same, report.summary()
    if not same:
        assert not report.guaranteed and report.first_risk is not None
    return report.guaranteed


@pytest.mark.parametrize("chip", ["loihi2", "spinnaker2"])
def test_generated_graph_challenge_categories_exact_at_the_profile_widths(chip) -> None:
    net = graph_challenge_network(256, 12, seed=3, bias=-0.3).to_network()
    x = _inputs(48, 256)
    assert _check_chip_against_reference(net, x, chip)


def test_narrow_state_is_flagged_before_simulating() -> None:
    net = graph_challenge_network(256, 12, seed=3, bias=-0.3).to_network()
    x = _inputs(48, 256, seed=1)
    narrow = ["weights.state_bits=9"]
    assert not _check_chip_against_reference(net, x, "loihi2", narrow)
    report = precision_report(map_network(net, load_profile("loihi2", narrow)), x)
    assert report.min_state_bits is not None and report.min_state_bits > 9
    wide = ["weights.state_bits=" + str(report.min_state_bits)]
    assert precision_report(map_network(net, load_profile("loihi2", wide)), x).guaranteed


def test_error_bound_is_zero_for_dyadic_values() -> None:
    net = Network.from_layers([np.full((4, 3), 0.25)], [-0.5], NeuronModel("relu", {"cap": 4.0}))
    x = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    layers, kept = error_bounds(net, x, {"input": 0, "layer1": 4})
    assert kept and layers[0].bound == 0.0 and layers[0].rounding == 0.0
    layers, _ = error_bounds(net, x, {"input": 0, "layer1": 0})  # -0.5 rounds at f = 0
    assert layers[0].rounding == 0.5


@pytest.mark.slow
@pytest.mark.parametrize("chip", ["loihi2", "spinnaker2"])
def test_official_graph_challenge_categories(graph_challenge_dir, chip) -> None:
    import gzip

    weights = []
    for layer in range(1, 121):
        with gzip.open(graph_challenge_dir / f"n1024-l{layer}.tsv.gz", "rt") as fh:
            data = np.loadtxt(fh)
        rows, cols = data[:, 0].astype(int) - 1, data[:, 1].astype(int) - 1
        weights.append(sp.csr_matrix((data[:, 2], (rows, cols)), shape=(1024, 1024)))
    net = Network.from_layers(weights, [-0.3] * 120, NeuronModel("relu", {"cap": 32.0}))
    assert _check_chip_against_reference(net, _inputs(200, 1024), chip, search=False)
