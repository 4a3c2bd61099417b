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
from neurosim.mapping.mapped import MappedNetwork, Placement
from neurosim.network import Network
from neurosim.sim._memo import memo
from neurosim.sim.result import EVENT_TYPES

__all__ = ["EventModel", "event_model", "mapped_event_model"]


#: event kinds linear in the emitting neuron's count, in the column order of ``EventModel.matrix``
_LINEAR = ("synop", "spike_out", "packet", "hop", "chip_hop")


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
    updaters : mapping population -> ndarray per neuron (1 for neurons that update)
    offsets : mapping population -> its first row in ``matrix``
    matrix : csr_matrix (n_neurons, 5 * n_cores)
        Events per nonzero output of each neuron (rows: populations in
        ``offsets`` order), by core, for the kinds ``synop``, ``spike_out``,
        ``packet``, ``hop`` and ``chip_hop`` side by side.
    host : ndarray (n_neurons,)
        Host packets per nonzero output (input neurons, core ``-1``).
    updates : mapping population -> ndarray (n_cores,)
        Updating neurons of the population on each core.
    """

    n_cores: int
    core_of: Mapping[str, np.ndarray]
    patterns: Mapping[str, list[tuple[str, sp.csr_matrix]]]
    packets: Mapping[str, np.ndarray]
    hops: Mapping[str, np.ndarray]
    chip_hops: Mapping[str, np.ndarray]
    updaters: Mapping[str, np.ndarray]
    offsets: Mapping[str, int]
    matrix: sp.csr_matrix
    host: np.ndarray
    updates: Mapping[str, np.ndarray]

    def count(
        self, nz: Mapping[str, np.ndarray], updates_per_neuron: int
    ) -> tuple[dict[str, np.ndarray], int]:
        """Events per core from nonzero-output counts per neuron (summed over inputs).

        One sparse product of the counts with :attr:`matrix`; every partial
        sum is an integer below 2**53, so the float64 product is exact.

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
        counts = np.zeros(lead + (self.host.size,))
        upd = np.zeros(self.n_cores)
        for name, c in nz.items():
            o = self.offsets[name]
            counts[..., o : o + c.shape[-1]] = c
            upd += self.updates[name]
        per = np.asarray(self.matrix.T @ counts.T).T
        host = int(np.rint(np.sum(counts @ self.host)))
        ev = {k: np.zeros(lead + (self.n_cores,), dtype=np.int64) for k in EVENT_TYPES}
        for i, kind in enumerate(_LINEAR):
            ev[kind][...] = np.rint(per[..., i * self.n_cores : (i + 1) * self.n_cores])
        ev["neuron_update"][...] = np.rint(upd * float(updates_per_neuron))
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


def _matrix_rows(
    cores: np.ndarray,
    pats: list[tuple[np.ndarray, sp.csr_matrix]],
    per_neuron: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_cores: int,
) -> sp.csr_matrix:
    """One population's rows of ``EventModel.matrix`` (see there)."""
    n = cores.size
    rows, cols, vals = [], [], []
    for post_cores, pat in pats:  # synop: one per synapse, at the post neuron's core
        coo = pat.tocoo()
        c = post_cores[coo.col]
        ok = c >= 0
        rows.append(coo.row[ok].astype(np.int64))
        cols.append(c[ok])
        vals.append(np.ones(int(ok.sum())))
    own = cores >= 0
    idx = np.arange(n)[own]
    for i, v in enumerate((np.ones(n), *per_neuron)):  # spike_out, packet, hop, chip_hop
        rows.append(idx)
        cols.append(cores[own] + (i + 1) * n_cores)
        vals.append(np.asarray(v, dtype=np.float64)[own])
    m = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, len(_LINEAR) * n_cores),
    )
    return sp.csr_matrix(m)  # duplicates summed


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
    packets, hops, chip_hops, updaters, updates = {}, {}, {}, {}, {}
    offsets, blocks, host = {}, [], []
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
        cores = cores_of[name]
        updates[name] = np.bincount(
            cores[cores >= 0], weights=updaters[name][cores >= 0], minlength=n_cores
        )
        offsets[name] = sum(b.shape[0] for b in blocks)
        pats = [(cores_of[post], pat) for post, pat in patterns.get(name, [])]
        blocks.append(_matrix_rows(cores, pats, counts, n_cores))
        host.append(np.where(cores < 0, packets[name], 0.0))
    matrix = sp.csr_matrix(sp.vstack(blocks)) if blocks else sp.csr_matrix((0, 5 * n_cores))
    host_arr = np.concatenate(host) if host else np.zeros(0)
    return EventModel(
        n_cores, cores_of, patterns, packets, hops, chip_hops, updaters, offsets, matrix,
        host_arr, updates,
    )  # fmt: skip


def mapped_event_model(mapped: MappedNetwork) -> EventModel:
    """:func:`event_model` of a mapped network, built once per mapping (:func:`~neurosim.sim._memo.memo`)."""
    size = sum(int(pr.weights.nnz) for pr in mapped.hw_network.projections)
    return memo(
        mapped,
        ("event_model", id(mapped.hw_network), id(mapped.placement)),
        lambda: event_model(mapped.hw_network, mapped.core_of, mapped.placement),
        size=size,
    )
