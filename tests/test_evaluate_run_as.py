"""EvalOptions.run_as: the evaluation chain runs a rate-coded IF network as its graded equivalent."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.evaluate import EvalInputs, EvalOptions, OptionError, evaluate
from neurosim.hardware.profile import load_profile
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sim.simulate import simulate


def _net(kind: str, params: dict | None = None) -> Network:
    rng = np.random.default_rng(0)
    return Network.from_layers(
        [rng.uniform(0, 0.3, size=(6, 8)), rng.uniform(0, 0.5, size=(8, 3))],
        [np.zeros(8), np.zeros(3)],
        [NeuronModel(kind, params or {}), NeuronModel("if", {}, "subtract")],
        name="net",
    )


def _data() -> EvalInputs:
    rng = np.random.default_rng(1)
    return EvalInputs(rng.random((25, 6)), rng.integers(0, 3, 25))


def test_rates_run_the_graded_network_and_quote_the_if_reference():
    net, data = _net("if"), _data()
    ref = simulate(net, data.x, "reference", n_steps=50)
    ev = evaluate(net, load_profile("akida"), data, EvalOptions(n_steps=50, run_as="rates"), reference=ref)
    assert ev.fits and ev.results["reference"] is not ref  # the shared IF run is not the graded one
    assert ev.results["reference"].n_steps == ev.results["chip"].n_steps == 1
    note = ev.report.notes[-1]
    assert note.startswith("akida ran the rate-equivalent graded network") and "(50 steps): top-1" in note
    alone = evaluate(net, load_profile("akida"), data, EvalOptions(n_steps=50, run_as="rates"))
    assert "IF network on the reference backend" not in alone.report.notes[-1]  # no shared run to quote


def test_rates_on_a_network_without_if_neurons_says_so():
    rng = np.random.default_rng(2)
    net = Network.from_layers([rng.normal(size=(6, 8)), rng.normal(size=(8, 3))], [np.zeros(8), np.zeros(3)],
                              [NeuronModel("relu"), NeuronModel("linear")])
    ev = evaluate(net, load_profile("akida"), _data(), EvalOptions(run_as="rates"))
    assert "no IF population to convert" in ev.report.notes[-1]


def test_a_leaky_network_is_a_failed_report_or_raises():
    net = _net("lif", {"tau_mem_s": 0.01})
    ev = evaluate(net, load_profile("akida"), _data(), EvalOptions(run_as="rates"))
    assert ev.report.status == "error" and ev.mapped is None
    assert "population 'layer1' is lif" in ev.report.reason
    with pytest.raises(NetworkError, match=r"population 'layer1' is lif"):
        evaluate(net, load_profile("akida"), _data(), EvalOptions(run_as="rates", on_error="raise"))


def test_run_as_is_checked():
    with pytest.raises(OptionError, match=r"run_as 'spikes'; expected one of network, rates"):
        EvalOptions(run_as="spikes")
