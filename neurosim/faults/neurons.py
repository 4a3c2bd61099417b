"""Neuron-level faults: crashed neurons, Byzantine neurons, dead cores.

All act on the hardware network of a mapped network (source neurons and
the mapper's partial-sum and relay neurons alike), so the loss of an added
neuron propagates to the neuron it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurosim.faults.edit import replace_population, silence, with_changes
from neurosim.neurons import SPIKING_KINDS

__all__ = [
    "byzantine",
    "core_failure",
    "crash_neurons",
    "dead_cores_mask",
    "draw_neurons",
    "neuron_crash",
]


def draw_neurons(network: Any, rate: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each non-input neuron independently with probability ``rate`` (populations in topological order)."""
    out = {}
    for name in network.order():
        pop = network.population(name)
        if pop.model.kind == "input":
            continue
        out[name] = rng.random(pop.size) < rate
    return out


def _count(mask: Mapping[str, np.ndarray]) -> dict[str, int]:
    return {k: int(np.count_nonzero(v)) for k, v in mask.items() if np.any(v)}


def _by_role(mapped: Any, mask: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Counts per population role (``MappedNetwork.roles``: source, partial_sum, relay, ...)."""
    roles = getattr(mapped, "roles", {}) or {}
    out: dict[str, int] = {}
    for name, m in mask.items():
        n = int(np.count_nonzero(m))
        if n:
            role = roles.get(name)
            key = getattr(role, "value", str(role)) if role is not None else "unknown"
            out[key] = out.get(key, 0) + n
    return out


def crash_neurons(
    mapped: Any, dead: Mapping[str, np.ndarray], record: Mapping[str, Any] | None = None
) -> Any:
    """The mapped network with the ``dead`` hardware neurons crashed (output 0, inputs cut).

    Parameters
    ----------
    mapped : MappedNetwork
    dead : mapping of hardware population -> bool array (True = crashed)
    """
    weights, quant, pops = silence(mapped.hw_network, mapped.quantized, dead)
    rec = dict(record or {"kind": "neuron_crash"})
    rec["crashed"] = _count(dead)
    rec["crashed_by_role"] = _by_role(mapped, dead)
    return with_changes(mapped, weights=weights, quantized=quant, populations=pops, record=rec)


def neuron_crash(mapped: Any, rate: float, rng: np.random.Generator, **_: Any) -> Any:
    """Crash each hardware neuron with probability ``rate``."""
    dead = draw_neurons(mapped.hw_network, rate, rng)
    return crash_neurons(mapped, dead, {"kind": "neuron_crash", "rate": rate})


def dead_cores_mask(mapped: Any, cores: np.ndarray) -> dict[str, np.ndarray]:
    """Per hardware population, which neurons sit on one of ``cores``."""
    cores = np.asarray(cores, dtype=np.int64)
    return {
        name: np.isin(np.asarray(c), cores) & (np.asarray(c) >= 0)
        for name, c in mapped.core_of.items()
    }


def core_failure(mapped: Any, rate: float, rng: np.random.Generator, **_: Any) -> Any:
    """Kill each used core with probability ``rate``, with every neuron placed on it."""
    cores = np.flatnonzero(rng.random(mapped.n_cores_used) < rate)
    dead = dead_cores_mask(mapped, cores)
    rec = {"kind": "core_failure", "rate": rate, "dead_cores": cores.tolist()}
    return crash_neurons(mapped, dead, rec)


def _byzantine_bound(pop: Any, bound: float | None) -> float:
    if pop.model.kind in SPIKING_KINDS:
        thr = float(np.max(pop.model.param("threshold")))
        return bound if bound is not None else thr
    if bound is not None:
        return bound
    if pop.model.kind == "relu":
        cap = float(np.max(pop.model.param("cap")))
        if np.isfinite(cap):
            return cap
    return 1.0


def byzantine(
    mapped: Any, rate: float, rng: np.random.Generator, *, bound: float | None = None, **_: Any
) -> Any:
    """Byzantine neurons: inputs cut, a random constant drive in place of the computed one.

    A graded Byzantine neuron emits a value drawn uniformly from ``[0,
    bound]`` (``[-bound, bound]`` for linear neurons, such as partial sums);
    a spiking one receives a drive in ``[0, bound]`` (default its
    threshold), i.e. fires at a random rate of up to one spike per step. The
    value is drawn once per faulty chip (per trial) and held for every input.
    """
    hw = mapped.hw_network
    bad = draw_neurons(hw, rate, rng)
    weights, quant, _ = silence(hw, mapped.quantized, bad, outputs=False)
    pops = {}
    for name, mask in bad.items():
        if not mask.any():
            continue
        pop = hw.population(name)
        b = _byzantine_bound(pop, bound)
        low = -b if pop.model.kind == "linear" else 0.0
        value = rng.uniform(low, b, size=pop.size)
        pops[name] = replace_population(pop, bias=np.where(mask, value, pop.bias))
    rec = {"kind": "byzantine", "rate": rate, "byzantine": _count(bad)}
    return with_changes(mapped, weights=weights, quantized=quant, populations=pops, record=rec)
