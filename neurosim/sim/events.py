"""Event counting per core from per-neuron output counts and the placement.

Every count in :data:`~neurosim.sim.result.EVENT_TYPES` is a linear function
of how often each neuron emitted a nonzero output, so the engine only keeps
those counts (per neuron, summed over inputs; per step on request) and this
module turns them into per-core events:

``synop``
    at the core of the post neuron, one per nonzero weight reached by a
    nonzero output: ``counts_pre @ pattern(W)``;
``neuron_update``
    every neuron of every non-input population, once per step and input;
``spike_out``
    at the emitting neuron's core, one per nonzero output;
``packet``
    one per emitting neuron per distinct *other* core holding one of its
    targets (spikes to its own core stay local), at the sender's core;
``hop``
    mesh hops of those packets: Manhattan distance between the cores'
    ``(x, y)`` (cores on other chips: their ``(x, y)`` on their own mesh);
``chip_hop``
    packets whose target core is on another chip.

Input populations (core ``-1``) are fed from the host: their packets are
reported in ``info["host_packets"]`` and not charged to any core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurosim.mapping.loads import neuron_targets
from neurosim.mapping.mapped import Placement
from neurosim.network import Network
from neurosim.sim.result import EVENT_TYPES

__all__ = ["EventModel", "event_model"]


@dataclass(frozen=True, eq=False)
class EventModel:
    """Per-neuron event multipliers of one mapped network.

    Attributes
    ----------
    n_cores : int
    core_of : mapping population -> ndarray of core per neuron
    patterns : mapping population -> list of (post population, CSR 0/1 pattern)
    packets, hops, chip_hops : mapping population -> ndarray per neuron
        Per nonzero output of that neuron.
    """

    n_cores: int
    core_of: Mapping[str, np.ndarray]
    patterns: Mapping[str, list[tuple[str, sp.csr_matrix]]]
    packets: Mapping[str, np.ndarray]
    hops: Mapping[str, np.ndarray]
    chip_hops: Mapping[str, np.ndarray]
    updaters: Mapping[str, np.ndarray]

    def count(
        self, nz: Mapping[str, np.ndarray], updates_per_neuron: int
    ) -> tuple[dict[str, np.ndarray], int]:
        """Events per core from nonzero-output counts per neuron (summed over inputs).

        Parameters
        ----------
        nz : mapping population -> ndarray (n_neurons,) or (n_steps, n_neurons)
        updates_per_neuron : int
            Neuron updates per neuron (``n_inputs * n_steps``, or ``n_inputs`` per step).

        Returns
        -------
        events : dict type -> ndarray (n_cores,) or (n_steps, n_cores)
        host_packets : int
        """
        lead = next(iter(nz.values())).shape[:-1]
        ev = {k: np.zeros(lead + (self.n_cores,), dtype=np.int64) for k in EVENT_TYPES}
        host = 0

        def add(kind: str, cores: np.ndarray, values: np.ndarray) -> None:
            ok = cores >= 0
            if not ok.any():
                return
            if values.ndim == 1:
                ev[kind] += np.bincount(
                    cores[ok], weights=values[ok], minlength=self.n_cores
                ).astype(np.int64)
            else:
                for t in range(values.shape[0]):
                    ev[kind][t] += np.bincount(
                        cores[ok], weights=values[t, ok], minlength=self.n_cores
                    ).astype(np.int64)

        for name, counts in nz.items():
            cores = self.core_of[name]
            counts = counts.astype(np.float64)
            for post, pat in self.patterns.get(name, []):
                syn = (pat.T @ counts.T).T if counts.ndim == 2 else pat.T @ counts
                add("synop", self.core_of[post], np.asarray(syn))
            add("spike_out", cores, counts)
            add("packet", cores, counts * self.packets[name])
            add("hop", cores, counts * self.hops[name])
            add("chip_hop", cores, counts * self.chip_hops[name])
            host += int(np.sum(counts[..., cores < 0] * self.packets[name][cores < 0]))
            upd = self.updaters[name] * float(updates_per_neuron)
            add("neuron_update", cores, np.broadcast_to(upd, counts.shape))
        return ev, host


def _route_counts(
    src: np.ndarray,
    r: np.ndarray,
    c: np.ndarray,
    size: int,
    placement: Placement,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packets, hops and chip crossings per neuron, from its distinct (neuron, target core) pairs.

    A packet goes to every target core other than the neuron's own; host-fed
    neurons (core ``-1``) send packets but no hops are charged to a core.
    """
    chip = np.asarray(placement.chip, dtype=np.int64)
    x = np.asarray(placement.x, dtype=np.int64)
    y = np.asarray(placement.y, dtype=np.int64)
    s = src[r]
    remote = c != s
    r, c, s = r[remote], c[remote], s[remote]
    n_pk = np.bincount(r, minlength=size).astype(np.float64)
    local = s >= 0
    h = np.zeros(r.size)
    h[local] = np.abs(x[s[local]] - x[c[local]]) + np.abs(y[s[local]] - y[c[local]])
    cross = np.zeros(r.size)
    cross[local] = chip[s[local]] != chip[c[local]]
    n_hop = np.bincount(r, weights=h, minlength=size)
    n_chip = np.bincount(r, weights=cross, minlength=size)
    return n_pk, n_hop, n_chip


def event_model(
    network: Network, core_of: Mapping[str, np.ndarray], placement: Placement
) -> EventModel:
    """Per-neuron event multipliers of ``network`` (the hardware network) mapped by ``core_of``.

    The (neuron, target core) pairs come from
    :func:`neurosim.mapping.loads.neuron_targets`, the same pairs the load
    table counts as axons, over the hardware weights' pattern.
    """
    n_cores = int(np.asarray(placement.chip).size)
    cores_of = {k: np.asarray(v, dtype=np.int64) for k, v in core_of.items()}
    targets = neuron_targets(network, cores_of, n_cores)
    patterns: dict[str, list[tuple[str, sp.csr_matrix]]] = {}
    packets, hops, chip_hops, updaters = {}, {}, {}, {}
    for pop in network.populations:
        name = pop.name
        for pr in network.projections_from(name):
            pat = pr.weights.copy()
            pat.data = np.ones_like(pat.data)
            patterns.setdefault(name, []).append((pr.post, sp.csr_matrix(pat)))
        if name in targets:
            r, c = targets[name]
            counts = _route_counts(cores_of[name], r, c, pop.size, placement)
        else:
            counts = (np.zeros(pop.size), np.zeros(pop.size), np.zeros(pop.size))
        packets[name], hops[name], chip_hops[name] = counts
        updaters[name] = np.zeros(pop.size) if pop.model.kind == "input" else np.ones(pop.size)
    return EventModel(n_cores, cores_of, patterns, packets, hops, chip_hops, updaters)
