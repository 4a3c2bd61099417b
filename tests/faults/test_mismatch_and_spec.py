"""Mismatch faults, fault specifications and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from fault_helpers import mapped, positive_net

from neurosim.errors import FaultError
from neurosim.faults.apply import apply_fault, fault_rng
from neurosim.faults.spec import FaultSpec, FaultsSection, parse_fault_arg
from neurosim.sim.conversion import convert_to_spiking


def _spiking_map(chip):
    net = positive_net()
    conv = convert_to_spiking(net, np.random.default_rng(0).uniform(0, 1, (32, 6)))
    return mapped(conv.network, chip)


def test_threshold_mismatch_scales_each_threshold_by_its_factor():
    m = _spiking_map("dynapse2")
    f = apply_fault(m, FaultSpec("threshold_mismatch", None), seed=0)
    assert f.info["faults"][-1]["sigma"] == 0.1  # the profile's neuron.mismatch_sigma
    rng = fault_rng(0, "threshold_mismatch")  # the same draws, in the same order
    for name in m.hw_network.order():
        p = m.hw_network.population(name)
        if p.model.kind == "input":
            continue
        expected = np.maximum(1.0 + 0.1 * rng.standard_normal(p.size), 0.05)
        t0 = np.broadcast_to(p.model.param("threshold"), (p.size,))
        t1 = f.hw_network.population(name).model.param("threshold")
        assert np.allclose(t1 / t0, expected)


def test_weight_mismatch_zero_sigma_is_identity_and_sigma_keeps_integers():
    m = _spiking_map("brainscales2")
    same = apply_fault(m, FaultSpec("weight_mismatch", 0.0), seed=0)
    for k, q in m.quantized.items():
        assert np.array_equal(q.weights.toarray(), same.quantized[k].weights.toarray())
    f = apply_fault(m, FaultSpec("weight_mismatch", None), seed=0)
    for q in f.quantized.values():
        d = q.weights.data
        assert np.array_equal(d, np.round(d)) and np.abs(d).max() <= 31


def test_weight_mismatch_is_unbiased():
    m = _spiking_map("dynapse2")
    sums = [
        sum(
            q.weights.sum()
            for q in apply_fault(m, FaultSpec("weight_mismatch", 0.2), seed=s).quantized.values()
        )
        for s in range(30)
    ]
    clean = sum(q.weights.sum() for q in m.quantized.values())
    assert abs(np.mean(sums) - clean) < 0.05 * abs(clean)


def test_mismatch_on_a_digital_chip_is_an_error():
    m = mapped(positive_net(), "loihi2")
    with pytest.raises(FaultError, match="no weights.mismatch_sigma"):
        apply_fault(m, FaultSpec("weight_mismatch", 0.1))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("neuron_crash=1.5", r"rate: expected a number in \[0, 1\]"),
        ("neuron_crash=-0.1", r"\[0, 1\]"),
        ("meteor=0.1", "unknown; expected one of"),
        ("neuron_crash", "expected KIND=RATE"),
        ("core_failure=chip", "only for threshold_mismatch"),
        ("bit_flip=abc", "expected a number"),
    ],
)
def test_bad_specs(text, match):
    with pytest.raises(FaultError, match=match):
        parse_fault_arg(text)


def test_spec_parsing_and_scenario_section():
    assert [s.rate for s in parse_fault_arg("weight_mismatch=chip,0.2")] == [None, 0.2]
    sec = FaultsSection(kinds={"neuron_crash": [0.01, 0.1], "weight_mismatch": ["chip"]}, trials=3)
    assert [s.label for s in sec.specs()] == [
        "neuron_crash=0.01",
        "neuron_crash=0.1",
        "weight_mismatch=chip",
    ]
    with pytest.raises(ValueError, match="unknown"):
        FaultsSection(kinds={"meteor": [0.1]})


def test_weight_mismatch_is_the_stochastic_rounding_of_each_deviated_weight():
    m = _spiking_map("dynapse2")  # 4-bit weights: levels -7..7
    f = apply_fault(m, FaultSpec("weight_mismatch", 0.3), seed=2)
    rng = fault_rng(2, "weight_mismatch")
    for pr in m.hw_network.projections:
        w = m.quantized[pr.name].weights.tocsr()
        x = w.data * np.maximum(1.0 + 0.3 * rng.standard_normal(w.nnz), 0.05)
        low = np.floor(x)
        expected = np.clip(low + (rng.random(x.size) < x - low), -7, 7)
        assert np.array_equal(f.quantized[pr.name].weights.tocsr().data, expected)
