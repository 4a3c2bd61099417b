"""Spike (packet) drops on the mesh, compounding over the routed hop count.

A neuron sends one packet per target core (:mod:`neurosim.sim.events`); a
packet that travels ``h`` mesh hops (Manhattan distance between the placed
cores, plus one per chip boundary crossed) arrives with probability
``(1 - p)^h``. Spikes to the sender's own core travel no hop and are never
dropped; input populations are fed from the host and are not dropped.

Modelled as a per-route Bernoulli mask drawn once per faulty chip: a
dropped (neuron, target core) route loses every synapse of that neuron on
that core, for every input and time step. (A per-step drop would need a
hook inside the simulator's kernels; the mask has the same per-route
survival probability but correlates the losses over time.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.faults.edit import remove_pattern, with_changes

__all__ = ["route_hops", "spike_drop"]


def route_hops(mapped: Any, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Hops from core ``src`` to core ``dst``: mesh Manhattan distance + chips crossed."""
    pl = mapped.placement
    return pl.hops(src, dst) + (pl.chip[src] != pl.chip[dst]).astype(np.int64)


def _entries(mapped: Any, pre: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per outgoing projection of ``pre``: (name, rows, cols, route key) of stored and float entries."""
    n_cores = max(mapped.n_cores_used, 1)
    out = []
    for pr in mapped.hw_network.projections_from(pre):
        post_core = np.asarray(mapped.core_of[pr.post])
        pat = (sp.csr_matrix(mapped.quantized[pr.name].weights) != 0) + (pr.weights != 0)
        coo = sp.csr_matrix(pat).tocoo()
        out.append(
            (pr.name, coo.row, coo.col, coo.row.astype(np.int64) * n_cores + post_core[coo.col])
        )
    return out


def spike_drop(mapped: Any, rate: float, rng: np.random.Generator, **_: Any) -> Any:
    """Drop each route's packets with probability ``1 - (1 - rate)^hops``."""
    n_cores = max(mapped.n_cores_used, 1)
    weights, quant = {}, {}
    n_routes = n_dropped = 0
    hop_hist: dict[int, list[int]] = {}
    for name in mapped.hw_network.order():
        pre_core = np.asarray(mapped.core_of.get(name, np.zeros(0, np.int64)))
        if pre_core.size == 0 or (pre_core < 0).all():
            continue
        entries = _entries(mapped, name)
        if not entries:
            continue
        keys = np.unique(np.concatenate([e[3] for e in entries]))
        src, dst = pre_core[keys // n_cores], keys % n_cores
        hops = route_hops(mapped, src, dst)
        dropped = rng.random(keys.size) >= (1.0 - rate) ** hops
        n_routes += int(keys.size)
        n_dropped += int(dropped.sum())
        for h in np.unique(hops).tolist():
            sel = hops == h
            tot = hop_hist.setdefault(int(h), [0, 0])
            tot[0] += int(sel.sum())
            tot[1] += int((dropped & sel).sum())
        for pname, rows, cols, key in entries:
            hit = dropped[np.searchsorted(keys, key)]
            if not hit.any():
                continue
            q = mapped.quantized[pname]
            quant[pname] = dataclasses.replace(
                q, weights=remove_pattern(q.weights, rows[hit], cols[hit])
            )
            weights[pname] = remove_pattern(
                mapped.hw_network.projection(pname).weights, rows[hit], cols[hit]
            )
    rec = {
        "kind": "spike_drop",
        "rate": rate,
        "routes": n_routes,
        "dropped_routes": n_dropped,
        "routes_by_hops": {
            str(h): {"routes": v[0], "dropped": v[1]} for h, v in sorted(hop_hist.items())
        },
    }
    return with_changes(mapped, weights=weights, quantized=quant, record=rec)
