"""Work cached per mapped network (float plan, kernel layout, event model) never goes stale,
and the event model's one sparse product counts what the per-population sums counted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from sim_helpers import hand_map, random_spiking

from neurosim.mapping.mapped import QuantizedProjection
from neurosim.sim import _memo
from neurosim.sim.events import event_model, mapped_event_model
from neurosim.sim.result import EVENT_TYPES
from neurosim.sim.simulate import simulate


def _spike_trains(n_steps: int, n_inputs: int, n_in: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((n_steps, n_inputs, n_in)) < 0.3).astype(float)


def _scaled(q: QuantizedProjection, factor: float) -> QuantizedProjection:
    w = q.weights.copy()
    w.data = w.data * factor
    return dataclasses.replace(q, weights=w)


def test_cached_plan_follows_a_new_or_edited_mapping(float64_profile) -> None:
    """Same mapping twice: identical results; a replaced mapping or an edited ``quantized``
    dict gets its own plan (the result of a run with an empty cache). numba is loaded, so
    the runs take the compiled kernel and its cached layout."""
    pytest.importorskip("numba")
    net = random_spiking("lif", (12, 20, 8), seed=3, recurrent=True)
    mapped = hand_map(net, float64_profile, per_core=7)
    x = _spike_trains(30, 3, 12, seed=4)
    first = simulate(mapped, x, "chip")
    again = simulate(mapped, x, "chip")
    for name, c in first.spike_counts.items():
        np.testing.assert_array_equal(c, again.spike_counts[name])
    quant = {k: _scaled(q, 3.0) for k, q in mapped.quantized.items()}
    other = dataclasses.replace(mapped, quantized=quant)
    scaled = simulate(other, x, "chip")
    mapped.quantized.update(quant)  # in place: the fingerprint of the parts changes
    edited = simulate(mapped, x, "chip")
    _memo.clear()
    fresh = simulate(other, x, "chip")
    assert sum(c.sum() for c in scaled.spike_counts.values()) != sum(
        c.sum() for c in first.spike_counts.values()
    )
    for name, c in fresh.spike_counts.items():
        np.testing.assert_array_equal(c, scaled.spike_counts[name])
        np.testing.assert_array_equal(c, edited.spike_counts[name])
    for kind in EVENT_TYPES:
        np.testing.assert_array_equal(fresh.events[kind], scaled.events[kind])


def _naive_count(model, nz, updates_per_neuron):
    """The per-population weighted bincounts the event model used before its matrix."""
    lead = next(iter(nz.values())).shape[:-1]
    ev = {k: np.zeros(lead + (model.n_cores,), dtype=np.int64) for k in EVENT_TYPES}

    def add(kind, cores, values):
        ok = cores >= 0
        for idx in np.ndindex(lead):
            ev[kind][idx] += np.bincount(
                cores[ok], weights=values[idx][ok], minlength=model.n_cores
            ).astype(np.int64)

    host = 0
    for name, counts in nz.items():
        cores = model.core_of[name]
        counts = counts.astype(np.float64)
        for post, pat in model.patterns.get(name, []):
            add("synop", model.core_of[post], np.asarray((pat.T @ counts.T).T))
        add("spike_out", cores, counts)
        add("packet", cores, counts * model.packets[name])
        add("hop", cores, counts * model.hops[name])
        add("chip_hop", cores, counts * model.chip_hops[name])
        host += int(np.sum(counts[..., cores < 0] * model.packets[name][cores < 0]))
        upd = model.updaters[name] * float(updates_per_neuron)
        add("neuron_update", cores, np.broadcast_to(upd, counts.shape))
    return ev, host


def test_event_matrix_counts_as_the_per_population_sums(float64_profile) -> None:
    """Totals and per-step counts, every population or some: identical integers."""
    net = random_spiking("if", (10, 16, 9, 5), seed=5, recurrent=True)
    mapped = hand_map(net, float64_profile, per_core=4)
    model = event_model(mapped.hw_network, mapped.core_of, mapped.placement)
    assert mapped_event_model(mapped) is mapped_event_model(mapped)
    rng = np.random.default_rng(6)
    sizes = {p.name: p.size for p in mapped.hw_network.populations}
    totals = {k: rng.integers(0, 50, n) for k, n in sizes.items()}
    per_step = {k: rng.integers(0, 3, (7, n)) for k, n in sizes.items()}
    some = {k: v for k, v in list(totals.items())[1:]}
    for nz, upd in ((totals, 70), (per_step, 3), (some, 11)):
        got, host = model.count(nz, upd)
        want, want_host = _naive_count(model, nz, upd)
        assert host == want_host
        assert list(got) == list(want)
        for kind in EVENT_TYPES:
            assert got[kind].dtype == np.int64
            np.testing.assert_array_equal(got[kind], want[kind])
    assert sp.issparse(model.matrix)


def test_cached_fixed_plan_follows_the_inputs_fraction() -> None:
    """Fixed point: the plan depends on the inputs' fraction bits (their range), so inputs
    of another range get another plan; every run equals a run with an empty cache."""
    pytest.importorskip("numba")
    from neurosim.hardware.profile import load_profile

    prof = load_profile("generic", ["weights.kind=int", "weights.bits=8", "weights.state_bits=16"])
    net = random_spiking("if", (6, 10, 4), seed=7)
    mapped = hand_map(net, prof, per_core=5)
    x = np.random.default_rng(8).random((3, 6))
    runs = [simulate(mapped, x * s, "chip", n_steps=20) for s in (1.0, 40.0, 1.0)]
    fracs = [r.info["frac_bits"][net.inputs[0]] for r in runs]
    assert fracs[0] == fracs[2] != fracs[1]
    for s, got in zip((1.0, 40.0, 1.0), runs, strict=True):
        _memo.clear()
        want = simulate(mapped, x * s, "chip", n_steps=20)
        for name, c in want.spike_counts.items():
            np.testing.assert_array_equal(c, got.spike_counts[name])
        assert got.saturations == want.saturations
