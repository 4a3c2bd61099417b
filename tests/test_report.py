"""Reports: make_report on real mappings and runs, JSON keys against docs/report.md, renderers, plots."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.report import (
    Report,
    accuracy_report,
    compare_reports,
    make_report,
    render_markdown,
    render_table,
)
from neurosim.report.report import SCHEMA_VERSION
from neurosim.sim.result import SimResult
from neurosim.sim.simulate import simulate

DOC = Path(__file__).resolve().parents[1] / "docs" / "report.md"
EVENTS = (
    "synop",
    "neuron_update",
    "neuron_active",
    "spike_out",
    "packet",
    "hop",
    "chip_hop",
    "host_packet",
    "static",
)


@pytest.fixture(scope="module")
def net() -> Network:
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(6, 5)) * (rng.random((6, 5)) < 0.7)
    w2 = rng.normal(size=(5, 3))
    return Network.from_layers(
        [w1, w2], [0.1, 0.0], [NeuronModel("relu"), NeuronModel("linear")], name="tiny"
    )


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.random((12, 6)), rng.integers(0, 3, 12)


def _run(net: Network, profile, x, y) -> Report:
    mapped = map_network(net, profile)
    results = {b: simulate(mapped, x, b) for b in ("chip", "reference")}
    return make_report(mapped, results, y)


@pytest.fixture(scope="module")
def ok_report(net, data) -> Report:
    return _run(net, load_profile("generic", {"weights.bits": 4}), *data)


@pytest.fixture(scope="module")
def nofit_report(net) -> Report:
    return make_report(map_network(net, load_profile("generic", {"neuron.models": ["lif"]})))


def _flat(obj, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else k
            out.add(key)
            out |= _flat(v, key)
    elif isinstance(obj, list) and obj and isinstance(obj[0], dict):
        for v in obj:
            out |= _flat(v, prefix + "[]")
    return out


def _documented() -> set[str]:
    keys: set[str] = set()
    section = DOC.read_text().split("## JSON keys", 1)[1].split("\n## ", 1)[0]
    for m in re.finditer(r"^\| `([^`]+)` \|", section, flags=re.M):
        key = m.group(1)
        keys |= {key.replace("<event>", e) for e in EVENTS} if "<event>" in key else {key}
    return keys


def test_json_keys_match_the_documentation(ok_report, nofit_report, net):
    failed = Report.failed("generic", net.name, "mapping: refused")
    produced = set()
    for rep in (ok_report, nofit_report, failed):
        produced |= _flat(json.loads(rep.to_json()))
    documented = _documented()
    assert produced - documented == set(), "keys produced but not documented in docs/report.md"
    assert documented - produced == set(), "keys documented in docs/report.md but never produced"


def test_json_is_standard_and_versioned(ok_report):
    def refuse(token):
        raise ValueError(token)

    data = json.loads(ok_report.to_json(), parse_constant=refuse)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["status"] == "ok" and data["reason"] is None
    assert sorted(data["chip"]["overrides"]) == [
        "weights.bits=4",
        "weights.kind=int",
        "weights.scale=per_layer",
    ]


def test_ok_report_sections(ok_report, data):
    r = ok_report
    x, y = data
    assert r.fits and r.energy is not None and r.latency is not None
    # generic energy and latency figures are estimated; the report says so
    assert "energy.synop_pj" in r.estimated and r.summary()["estimated"] is True
    assert r.accuracy.n_inputs == len(y)
    assert r.energy.per_inference_pj == pytest.approx(r.energy.total_pj / len(y))
    assert r.edp_j_s == pytest.approx(
        r.energy.per_inference_pj * 1e-12 * r.latency.time_per_inference_s
    )
    # the chip run's synaptic ops are what the energy model charged
    assert r.energy.by_event["synop"].count > 0
    assert r.latency.bound == "timestep" and r.latency.time_per_inference_s == pytest.approx(1e-3)


def test_does_not_fit_says_why(nofit_report):
    r = nofit_report
    assert r.status == "does_not_fit" and not r.fits
    n = r.mapping["n_violations"]
    assert n >= 1 and r.reason.startswith(f"{n} violation")
    assert "neuron.models" in r.reason
    assert r.energy is None and r.latency is None and r.accuracy is None
    assert r.memory is not None


def test_accuracy_hand_computed(ok_report):
    mapped = ok_report.mapped

    def res(backend, outputs, counts):
        return SimResult(
            backend, np.asarray(outputs, float), {"layer1": np.asarray(counts)}, {}, 3, 1, 1e-3
        )

    chip = res(
        "chip", [[1, 0], [0, 1], [1, 0]], [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    )
    ref = res(
        "reference", [[1, 0], [0, 1], [0, 1.5]], [[1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    )
    acc = accuracy_report(mapped, {"chip": chip, "reference": ref}, np.array([0, 1, 1]))
    assert acc.chip_top1 == pytest.approx(2 / 3)
    assert acc.reference_top1 == 1.0
    assert acc.drop == pytest.approx(1 / 3)
    assert acc.agreement == pytest.approx(2 / 3)
    assert acc.max_abs_diff == pytest.approx(1.5)
    assert acc.mean_abs_diff == pytest.approx(2.5 / 6)
    # layer1: neurons 1..4 never fire on the chip; neuron 1 fires in the reference
    assert acc.silent_in_run == 4 and acc.newly_silent == 1
    unlabelled = accuracy_report(mapped, {"chip": chip}, None)
    assert unlabelled.chip_top1 is None and unlabelled.drop is None


def test_ternary_network_saves_32x_against_float64(data):
    rng = np.random.default_rng(3)
    w = [
        np.sign(rng.normal(size=(6, 8))) * (rng.random((6, 8)) < 0.5),
        np.sign(rng.normal(size=(8, 3))),
    ]
    net = Network.from_layers(w, model=NeuronModel("relu"), name="ternary")
    profile = load_profile(
        "generic", {"weights.kind": "ternary", "weights.bits": 2, "weights.scale": "per_layer"}
    )
    r = _run(net, profile, *data)
    assert r.memory.weight_storage_saving()["dense_float64"] == pytest.approx(32.0)
    assert r.to_dict()["memory"]["weight_storage_saving"]["dense_float64"] == pytest.approx(32.0)
    # sign weights survive 2-bit ternary quantization exactly
    assert r.accuracy.agreement == 1.0 and r.accuracy.quantization["n_clipped"] == 0


def test_renderers_show_every_chip(ok_report, nofit_report):
    from rich.console import Console

    cmp = compare_reports(
        [ok_report, nofit_report, Report.failed("other", "tiny", "mapping: no such thing")]
    )
    for width in (80, 200):
        con = Console(record=True, width=width)
        con.print(render_table(cmp))
        text = con.export_text()
        assert text.count("generic") >= 2 and "other" in text
        assert nofit_report.reason.split(";")[0] in " ".join(text.split())
        assert max(len(line) for line in text.splitlines()) <= width
    md = render_markdown(cmp)
    assert (
        "\n| generic (1) | yes |" in md
        and "\n| generic (2) | no |" in md
        and "| other | error |" in md
    )
    assert "provenance 'estimated'" in md
    d = json.loads(cmp.to_json())
    assert [row["status"] for row in d["rows"]] == ["ok", "does_not_fit", "error"]


def test_report_plots(ok_report, nofit_report, tmp_path):
    from neurosim.plots.report import plot_reports

    files = plot_reports({"a": ok_report, "b": nofit_report}, tmp_path)
    names = sorted(p.name for p in files)
    assert names == [
        "energy.png",
        "placement_a.png",
        "placement_b.png",
        "utilization_a.png",
        "utilization_b.png",
    ]
    assert all(p.stat().st_size > 5000 for p in files)
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_memory_report_agrees_with_the_mapper_on_every_profile():
    from neurosim.cost.memory import memory_model
    from neurosim.hardware.profile import profile_names

    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(120, 40)) * (rng.random((120, 40)) < 0.3)
    net = Network.from_layers(
        [w1, rng.normal(size=(40, 10))], model=NeuronModel("if"), name="if_net"
    )
    pairs = {"synapse_memory_bits": "synapse_bits", "weight_table_bits": "table_bits"}
    for name in profile_names():
        mapped = map_network(net, name, placement="row_major")
        mem = memory_model(mapped)
        load = {
            "neurons": mem.load.neurons,
            "axons": mem.load.axons,
            "synapses": mem.load.synapses,
        }
        for c, core in enumerate(mapped.cores):
            for key, (used, _cap) in core.resources.items():
                if key in load:
                    assert load[key][c] == used, (name, c, key)
                elif key in pairs:
                    assert getattr(mem, pairs[key])[c] == used, (name, c, key)


def test_split_overhead_on_a_real_mapping(data):
    x, _ = data
    rng = np.random.default_rng(5)
    net = Network.from_layers(
        [rng.random((6, 4)), rng.random((4, 3))], model=NeuronModel("relu"), name="split"
    )
    r = _run(net, load_profile("generic", {"core.max_fan_in": 2, "core.max_neurons": 4}), x, None)
    assert r.mapping["added"]["split_neurons"] > 0
    e = r.energy
    assert e.attribution == "exact" and e.split_pj > 0
    layer_total = sum(row["total_pj"] for row in e.by_layer)
    assert layer_total == pytest.approx(e.dynamic_pj)
    assert sum(row["split_pj"] for row in e.by_layer) == pytest.approx(e.split_pj)
    assert r.accuracy.chip_top1 is None and r.accuracy.agreement == 1.0


def test_labels_tell_runs_on_one_chip_apart(ok_report, nofit_report):
    cmp = compare_reports([ok_report, nofit_report])
    assert [r.name for r in cmp.reports] == ["generic (1)", "generic (2)"]
    named = compare_reports({"int4": ok_report, "lif_only": nofit_report})
    assert [row["label"] for row in named.rows()] == ["int4", "lif_only"]
    assert "| int4 | yes |" in render_markdown(named)


def test_argmax_ties_count_as_wrong_and_a_silent_network_scores_zero():
    from neurosim.report.accuracy import argmax_ties, explain_accuracy, predictions, top1

    out = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.2, 0.9, 0.1]])
    np.testing.assert_array_equal(argmax_ties(out), [True, True, False])
    np.testing.assert_array_equal(predictions(out), [-1, -1, 1])
    assert top1(out, np.array([0, 0, 1])) == pytest.approx(1 / 3)
    # whatever the labels, all-zero outputs predict nothing (was 100 % on labels all 0)
    assert top1(np.zeros((5, 10)), np.zeros(5, dtype=int)) == 0.0
    # a real network whose outputs are all 0: ReLU after non-positive weights
    rng = np.random.default_rng(0)
    net = Network.from_layers(
        [np.abs(rng.normal(size=(6, 5))), -np.abs(rng.normal(size=(5, 3)))],
        model=NeuronModel("relu"),
        name="silent",
    )
    mapped = map_network(net, load_profile("generic"))
    x = rng.random((8, 6))
    results = {b: simulate(mapped, x, b) for b in ("chip", "reference")}
    acc = accuracy_report(mapped, results, np.zeros(8, dtype=int))
    assert not np.any(results["chip"].outputs)
    assert acc.chip_top1 == 0.0 and acc.reference_top1 == 0.0
    assert acc.silent_output == {"chip": True, "reference": True}
    assert acc.ties["chip"] == 8
    assert any("predicts nothing" in w for w in acc.warnings())
    assert "outputs are all 0" in explain_accuracy(acc)
    d = acc.to_dict()
    assert d["backends"][0]["silent_output"] is True and d["warnings"]


def test_explanation_names_the_quantization_loss():
    from neurosim.report.accuracy import explain_accuracy

    rng = np.random.default_rng(3)
    net = Network.from_layers(
        [rng.standard_t(2, size=(20, 12)), rng.normal(size=(12, 4))],
        model=[NeuronModel("relu"), NeuronModel("linear")],
        name="coarse",
    )
    mapped = map_network(net, load_profile("generic", {"weights.bits": 2}))
    x = rng.random((40, 20))
    results = {b: simulate(mapped, x, b) for b in ("chip", "reference")}
    # centre the outputs (same shift for both backends) so labels spread over the classes
    shift = results["reference"].outputs.mean(axis=0)
    results = {b: dataclasses.replace(r, outputs=r.outputs - shift) for b, r in results.items()}
    acc = accuracy_report(mapped, results, results["reference"].outputs.argmax(axis=1))
    layers = acc.quantization["layers"]
    assert [layer["projection"] for layer in layers] and all(0 <= la["frac_zeroed"] <= 1 for la in layers)
    assert acc.drop > 0
    why = explain_accuracy(acc)
    assert why.startswith("Chip top-1") and "quantization zeroed" in why and "worst layer" in why
    assert "\n" not in why
