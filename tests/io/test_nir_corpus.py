"""Conformance of NIR import with the files snnTorch, Norse and sinabs write (tests/data/nir).

Each ``<case>.nir`` was written by the library's own exporter and each
``<case>.npz`` holds the inputs and the library's own output spike counts
(``tests/data/nir/make_corpus.py``, run in a venv with torch). neurosim's
reference backend, at the network's time step, must give the same counts,
exactly where the semantics agree; the known differences are asserted here
and described in docs/formats.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurosim.io.nir_format import import_summary, network_dt_s, read_nir
from neurosim.sim.simulate import simulate

DATA = Path(__file__).resolve().parents[1] / "data" / "nir"

# case -> (import options, auto-detected source); every case matches exactly
EXACT = {
    "snntorch_lif_zero": ({"reset": "zero"}, "snntorch"),
    "snntorch_lif_subtract": ({}, "snntorch"),
    "snntorch_cnn": ({"reset": "zero"}, "snntorch"),
    "norse_lifbox": ({}, "norse"),
    "norse_lif": ({}, "norse"),
    "norse_cnn": ({}, "norse"),
    "sinabs_iaf_single": ({}, "sinabs"),
    "sinabs_cnn": ({}, "sinabs"),
}


def _case(name: str) -> tuple[dict, np.ndarray, np.ndarray]:
    d = np.load(DATA / f"{name}.npz")
    x = d["x"].astype(np.float64)
    return json.loads(str(d["info"])), x.reshape(x.shape[0], x.shape[1], -1), d["counts"]


def _counts(name: str, dt_s: float | None = None, **options) -> tuple[np.ndarray, np.ndarray]:
    """neurosim's output spike counts on the case's inputs, and the library's."""
    _, x, expected = _case(name)
    net = read_nir(DATA / f"{name}.nir", **options)
    dt = dt_s or network_dt_s(net) or 1e-3
    res = simulate(net, x, "reference", dt_s=dt)
    got = np.asarray(res.spike_counts[net.outputs[0]]).reshape(expected.shape)
    return got, expected


def test_corpus_is_complete_and_small():
    for name in [*EXACT, "sinabs_iaf_multi", "snntorch_synaptic_zero"]:
        for ext in (".nir", ".npz"):
            path = DATA / f"{name}{ext}"
            assert path.is_file() and path.stat().st_size < 40_000, path
    versions = json.loads((DATA / "VERSIONS.json").read_text())
    assert {"snntorch", "norse", "sinabs", "nir", "torch"} <= set(versions)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_library_spike_counts_reproduced_exactly(name):
    options, source = EXACT[name]
    info, _, expected = _case(name)
    assert info["library"] == source and expected.sum() > 0  # the fixture fires
    got, expected = _counts(name, **options)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_auto_recognises_the_exporter_and_says_so(name):
    _, source = EXACT[name]
    net = read_nir(DATA / f"{name}.nir")
    rec = net.metadata["nir_import"]
    assert rec["source"] == source
    line = import_summary(net)
    assert line.startswith(f"source {source} (") and "\n" not in line and "torch.Size" not in line
    if source == "snntorch":
        assert rec["dt_s"] == 1e-4 and "dt 0.1 ms" in line
    if source == "norse":
        assert rec["dt_s"] == 1e-3
    if source == "sinabs":
        assert rec["reset"] == "subtract" and rec["dt_s"] is None


def test_snntorch_scalar_parameters_are_sized_from_the_weights():
    net = read_nir(DATA / "snntorch_lif_zero.nir", reset="zero")
    hidden = net.population("1")
    assert hidden.size == 12 and hidden.model.kind == "lif" and hidden.model.reset == "zero"
    assert hidden.model.param("tau_mem_s").shape == ()  # 0-d in the file, a scalar here


def test_wrong_time_step_or_reset_does_not_match():
    """The fixes are needed: the chip's 1 ms step, or the other reset, change the counts."""
    got, expected = _counts("snntorch_lif_zero", dt_s=1e-3, reset="zero")
    assert np.abs(got - expected).max() > 5
    got, expected = _counts("snntorch_lif_zero")  # auto assumes snnTorch's default (subtract)
    assert not np.array_equal(got, expected)
    got, expected = _counts("norse_lifbox", source="nir", dt_s=1e-3)  # Norse's tau read literally
    assert np.abs(got - expected).max() > 5


def test_snntorch_reset_delay_is_the_self_projection():
    net = read_nir(DATA / "snntorch_lif_subtract.nir")
    pr = net.projection("1.reset_delay")
    lif = net.population("1").model
    np.testing.assert_allclose(pr.weights.diagonal(), -lif.param("threshold") / lif.param("r"))
    # without it: neurosim's immediate subtraction, snnTorch's reset_delay=False
    got, expected = _counts("snntorch_lif_subtract", snntorch_reset_delay=False)
    assert not np.array_equal(got, expected) and np.abs(got - expected).max() <= 3


def test_sinabs_multispike_known_difference():
    """sinabs' MultiSpike emits floor(v / threshold) spikes per step; neurosim at most one."""
    got, multi = _counts("sinabs_iaf_multi")
    single = _case("sinabs_iaf_single")[2]
    _, x, _ = _case("sinabs_iaf_multi")
    np.testing.assert_array_equal(got, single)  # same weights: neurosim = the single-spike run
    # more spikes in every layer (not per neuron: extra hidden spikes may inhibit an output)
    assert multi.sum() > 2 * got.sum()
    hidden_multi = np.load(DATA / "sinabs_iaf_multi.npz")["hidden"]
    hidden_single = np.load(DATA / "sinabs_iaf_single.npz")["hidden"]
    assert (hidden_multi >= hidden_single).all() and hidden_multi.sum() > hidden_single.sum()
    assert got.max() <= x.shape[0]  # neurosim: one spike per step at most


def test_threshold_equality_known_difference(tmp_path):
    """NIR fires on v > threshold (snnTorch, Norse), neurosim and sinabs on v >= threshold."""
    import nir

    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([1])}),
            "fc": nir.Linear(weight=np.array([[0.5]])),
            "if": nir.IF(r=np.ones(1), v_threshold=np.ones(1), v_reset=np.zeros(1)),
            "out": nir.Output(output_type={"output": np.array([1])}),
        },
        edges=[("in", "fc"), ("fc", "if"), ("if", "out")],
    )
    nir.write(tmp_path / "eq.nir", graph)
    net = read_nir(tmp_path / "eq.nir", source="nir")
    res = simulate(net, np.ones((6, 1, 1)), "reference")
    v, strict = 0.0, 0
    for _ in range(6):  # NIR's rule, by hand: v = 0.5, 1.0, 1.5 -> spike
        v += 0.5
        if v > 1.0:
            strict, v = strict + 1, 0.0
    assert strict == 2 and int(res.spike_counts["if"].sum()) == 3


@pytest.mark.parametrize("chip", ["loihi", "truenorth"])
def test_folded_chain_is_one_projection_and_maps(chip):
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network

    net = read_nir(DATA / "sinabs_cnn.nir")
    # SumPool2d -> Flatten -> Affine between two IF layers: one projection
    assert [pr.name for pr in net.projections] == ["0", "2+4"]
    assert net.projection("0").kind == "conv" and net.projection("2+4").kind == "sparse"
    assert net.metadata["nir_import"]["folded"] == ["2+4 -> one sparse projection"]
    assert map_network(net, load_profile(chip)).fits
    kept = read_nir(DATA / "sinabs_cnn.nir", fold=False)
    assert "2" in {p.name for p in kept.populations}


def test_snntorch_synaptic_zero_reset_known_difference():
    """snnTorch's Synaptic zero reset discards the whole update of the step after a spike."""
    net = read_nir(DATA / "snntorch_synaptic_zero.nir", reset="zero")
    rec = net.metadata["nir_import"]
    assert rec["source"] == "snntorch" and rec["dt_s"] == 1e-4
    assert net.population("1").model.kind == "cuba_lif"
    got, expected = _counts("snntorch_synaptic_zero", reset="zero")
    assert expected.sum() > 0 and got.sum() > expected.sum()  # neurosim integrates that step
