"""evaluate(): the one map -> simulate -> cost -> report chain, and ignore_fit."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.evaluate import UNFIT_NOTE, EvalInputs, EvalOptions, OptionError, evaluate
from neurosim.hardware.profile import load_profile
from neurosim.network import Network
from neurosim.neurons import NeuronModel


@pytest.fixture(scope="module")
def relu_net() -> Network:
    rng = np.random.default_rng(0)
    return Network.from_layers(
        [rng.normal(size=(6, 5)), rng.normal(size=(5, 3))],
        [0.1, 0.0],
        [NeuronModel("relu"), NeuronModel("linear")],
        name="relunet",
    )


@pytest.fixture(scope="module")
def data() -> EvalInputs:
    rng = np.random.default_rng(1)
    return EvalInputs(rng.random((10, 6)), rng.integers(0, 3, 10))


def test_one_chain_maps_simulates_and_reports(relu_net, data):
    said: list[str] = []
    ev = evaluate(relu_net, load_profile("generic"), data, progress=said.append)
    assert said == ["mapping", "simulating (chip)", "simulating (reference)"]
    assert ev.fits and set(ev.results) == {"chip", "reference"}
    assert ev.report.status == "ok" and ev.report.energy is not None
    assert ev.report.accuracy.n_inputs == 10
    assert {"map_s", "simulate_chip_s", "simulate_reference_s"} <= set(ev.timings)


def test_a_shared_reference_run_is_reused(relu_net, data):
    from neurosim.sim.simulate import simulate

    ref = simulate(relu_net, data.x, "reference")
    ev = evaluate(relu_net, load_profile("generic"), data, reference=ref)
    assert ev.results["reference"] is ref and "simulate_reference_s" not in ev.timings


def test_without_data_the_report_holds_fit_and_memory(relu_net):
    ev = evaluate(relu_net, load_profile("generic"))
    assert ev.results == {} and ev.report.memory is not None and ev.report.energy is None


def test_a_mapping_that_does_not_fit_is_not_simulated_unless_ignore_fit(relu_net, data):
    loihi = load_profile("loihi")  # no relu neurons
    ev = evaluate(relu_net, loihi, data)
    assert not ev.fits and ev.results == {}
    assert ev.report.status == "does_not_fit" and ev.report.energy is None
    assert UNFIT_NOTE not in ev.report.notes
    forced = evaluate(relu_net, loihi, data, EvalOptions(ignore_fit=True))
    assert not forced.fits and set(forced.results) == {"chip", "reference"}
    assert forced.report.status == "does_not_fit" and forced.report.energy is not None
    assert UNFIT_NOTE in forced.report.notes
    assert UNFIT_NOTE in forced.report.to_dict()["notes"]


def test_refusals_give_failed_reports_or_raise(relu_net, data):
    from neurosim.errors import NeurosimError

    bad = EvalOptions(strategy="nope")
    ev = evaluate(relu_net, load_profile("generic"), data, bad)
    assert ev.report.status == "error" and "mapping" in ev.report.reason
    with pytest.raises(NeurosimError):
        evaluate(
            relu_net, load_profile("generic"), data, EvalOptions(strategy="nope", on_error="raise")
        )
    with pytest.raises(OptionError, match="simulation options: bad option value"):
        evaluate(relu_net, load_profile("generic"), data, EvalOptions(sim_options={"warp": 1}))


def test_scenario_flag_ignore_fit_marks_the_chip_s_figures(tmp_path):
    from neurosim.scenario import scenario_from_dict
    from neurosim.scenario.output import report_dict
    from neurosim.scenario.runner import run_scenario

    data = {
        "name": "unfit",
        "dataset": {"name": "iris", "limit": 6},
        "network": {
            "generate": {
                "generator": "random",
                "parameters": {"layer_sizes": [4, 5, 3], "fan_in": 2},
            }
        },
        "chips": ["generic", "truenorth"],
        "simulation": {"ignore_fit": True},
    }
    result = run_scenario(scenario_from_dict(data, base=tmp_path, where="u.yaml"))
    tn = result.reports["truenorth"]
    assert tn.status == "does_not_fit" and tn.energy is not None and UNFIT_NOTE in tn.notes
    assert set(result.results["truenorth"]) == {"reference", "chip"}
    assert UNFIT_NOTE not in result.reports["generic"].notes
    assert UNFIT_NOTE in report_dict(result)["chips"]["truenorth"]["notes"]
    from neurosim.scenario import write_results

    md = (write_results(result, tmp_path / "out") / "report.md").read_text()
    assert "**truenorth: every figure above for truenorth is from a mapping that does not fit" in md
    assert "generic: every figure" not in md
