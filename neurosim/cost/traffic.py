"""Messages of a run, by sending and receiving core: what packets alone do not say.

The event counts of a run (:mod:`neurosim.sim.events`) charge a *packet* per
spiking neuron and distinct *other* target core at the sender. Some chips also
pay for the message a neuron sends to its own core (SANA-FE's Loihi charges
its axon-out unit for every target core, the own core included), for input
spikes the host delivers to a core, and the receiving core spends time on
every message it takes in. This module derives those counts from the run's
spikes per neuron (``SimResult.spike_counts``) and the (neuron, target core)
pairs of the mapping (:func:`neurosim.mapping.loads.neuron_targets`, the
pairs behind the packet events), for the latency pipeline
(:mod:`neurosim.cost.latency`) and the energy model (:mod:`neurosim.cost.energy`).

Populations the mapper added (relays, partial sums) emit no recorded spike
counts; their messages are left out and :attr:`Traffic.complete` is False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurosim.mapping.loads import neuron_targets
from neurosim.mapping.mapped import MappedNetwork
from neurosim.sim.result import SimResult

__all__ = ["Traffic", "traffic"]


@dataclass(frozen=True, eq=False)
class Traffic:
    """Messages over a whole run (all inputs and steps).

    Attributes
    ----------
    sent : ndarray, shape (n_cores,)
        Messages each core sends, one per spike and target core (own core included).
    local : ndarray, shape (n_cores,)
        Of ``sent``, those to the sender's own core.
    received : ndarray, shape (n_cores,)
        Messages each core receives (from cores and from the host).
    host : ndarray, shape (n_cores,)
        Of ``received``, those from the host (input spikes).
    pairs : csr_matrix, shape (n_cores, n_cores)
        Messages from core to core (own core on the diagonal).
    complete : bool
        False when some hardware population has no spike counts (added relays
        or partial sums): their messages are missing.
    """

    sent: np.ndarray
    local: np.ndarray
    received: np.ndarray
    host: np.ndarray
    pairs: sp.csr_matrix
    complete: bool


def traffic(mapped: MappedNetwork, result: SimResult) -> Traffic:
    """Messages per core of ``result`` on ``mapped`` (see the module docstring)."""
    n = len(mapped.cores)
    nc = max(n, 1)
    core_of = {k: np.asarray(v, dtype=np.int64) for k, v in mapped.core_of.items()}
    targets = neuron_targets(mapped.hw_network, core_of, n, mapped.quantized)
    sent = np.zeros(nc)
    received = np.zeros(nc)
    host = np.zeros(nc)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    complete = True
    for name, (r, c) in targets.items():
        counts = result.spike_counts.get(name)
        if counts is None:
            complete = complete and not np.any(r.size)
            continue
        per_neuron = (
            np.asarray(counts, dtype=np.float64).reshape(-1, core_of[name].size).sum(axis=0)
        )
        w = per_neuron[r]
        src = core_of[name][r]
        received += np.bincount(c, weights=w, minlength=nc)
        off = src < 0
        host += np.bincount(c[off], weights=w[off], minlength=nc)
        on = ~off
        sent += np.bincount(src[on], weights=w[on], minlength=nc)
        rows.append(src[on])
        cols.append(c[on])
        vals.append(w[on])
    pairs = sp.csr_matrix(
        (
            np.concatenate(vals or [np.zeros(0)]),
            (
                np.concatenate(rows or [np.zeros(0, int)]),
                np.concatenate(cols or [np.zeros(0, int)]),
            ),
        ),
        shape=(nc, nc),
    )
    pairs.sum_duplicates()
    local = pairs.diagonal().astype(np.float64)
    return Traffic(sent[:n], local[:n], received[:n], host[:n], pairs[:n, :n].tocsr(), complete)
