"""Analog device mismatch: each circuit deviates from its nominal value.

A deviation is multiplicative, ``x (1 + sigma e)`` with ``e ~ N(0, 1)``
drawn once per circuit and faulty chip (a fixed pattern), its factor
floored at 0.05 so that no sign flips.

``weight_mismatch``
    each stored synapse's integer weight ``w`` becomes
    ``w (1 + sigma e)`` rounded *stochastically* to the chip's integer
    levels (unbiased, so a deviation smaller than one level is not rounded
    away on average), clipped to the largest level; float chips keep the
    real value.
``threshold_mismatch``
    each spiking neuron's threshold is multiplied by its factor; a graded
    neuron (ReLU, linear; also the mapper's partial-sum and relay neurons),
    which has no threshold, gets the equivalent input gain ``1 / factor``
    (weights into it and its bias), as an IF neuron with a threshold
    ``theta (1 + sigma e)`` behaves like one fed ``I / (1 + sigma e)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.faults.edit import replace_population, with_changes
from neurosim.mapping.quantize import int_levels
from neurosim.neurons import SPIKING_KINDS

__all__ = ["factors", "threshold_mismatch", "weight_mismatch"]

_FLOOR = 0.05


def factors(n: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` mismatch factors ``max(1 + sigma e, 0.05)``."""
    return np.maximum(1.0 + sigma * rng.standard_normal(n), _FLOOR)


def weight_mismatch(
    mapped: Any, rate: float, rng: np.random.Generator, *, sigma: float, **_: Any
) -> Any:
    """Every stored weight deviates by its own factor (see the module docstring)."""
    prof = mapped.profile
    kind = prof.get("weights.kind")
    qmax = int_levels(int(prof.get("weights.bits"))) if kind != "float" else None
    quant = {}
    for pr in mapped.hw_network.projections:
        q = mapped.quantized[pr.name]
        w = sp.csr_matrix(q.weights, dtype=np.float64, copy=True)
        x = w.data * factors(w.nnz, sigma, rng)
        if qmax is not None:
            low = np.floor(x)
            x = low + (rng.random(x.size) < (x - low))
            x = np.clip(x, -qmax, qmax)
        w.data = x
        quant[pr.name] = dataclasses.replace(q, weights=w, axon_types=None, type_weights=None)
    rec = {"kind": "weight_mismatch", "rate": rate, "sigma": sigma}
    return with_changes(mapped, quantized=quant, record=rec)


def threshold_mismatch(
    mapped: Any, rate: float, rng: np.random.Generator, *, sigma: float, **_: Any
) -> Any:
    """Every neuron's threshold (or input gain) deviates by its own factor."""
    hw = mapped.hw_network
    pops, gains = {}, {}
    for name in hw.order():
        pop = hw.population(name)
        if pop.model.kind == "input":
            continue
        f = factors(pop.size, sigma, rng)
        if pop.model.kind in SPIKING_KINDS:
            thr = np.broadcast_to(pop.model.param("threshold"), (pop.size,)) * f
            pops[name] = replace_population(pop, params={"threshold": thr})
        else:
            gains[name] = 1.0 / f
            pops[name] = replace_population(pop, bias=pop.bias / f)
    quant, weights = {}, {}
    for pr in hw.projections:
        if pr.post in gains:
            g = gains[pr.post]
            q = mapped.quantized[pr.name]
            quant[pr.name] = dataclasses.replace(q, scale=np.asarray(q.scale) * g)
            weights[pr.name] = sp.csr_matrix(pr.weights.multiply(g[np.newaxis, :]))
    rec = {"kind": "threshold_mismatch", "rate": rate, "sigma": sigma}
    return with_changes(mapped, weights=weights, quantized=quant, populations=pops, record=rec)
