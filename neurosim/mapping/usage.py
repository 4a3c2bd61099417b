"""Per-core resource usage of a mapping, as ``(used, capacity)`` arrays.

:func:`core_usage` counts, for every core, what it holds against what the
profile allows. The counts follow the stored synapse pattern (nonzero
quantized weights; for axon-type weights the connectivity), as the memory
model in :mod:`neurosim.hardware.memory` does, so the mapper's checks and the
memory report agree.

Resources (keys of :attr:`UsageTable.used`):

``neurons``                  neurons on the core (``core.max_neurons``)
``axons``                    distinct input axons: presynaptic neurons reaching the core (``core.max_axons``)
``synapses``                 stored synapses into the core's neurons (no own limit)
``fan_in_max``               most inputs of one neuron on the core (``core.max_fan_in``)
``synapses_per_neuron_max``  the same count against ``core.max_synapses_per_neuron``
``fan_out_max``              most target cores of one neuron on the core (1 for ``one_axon``, else ``core.max_target_cores``)
``fan_out_synapses_max``     most stored synapses out of one neuron on the core (``core.max_fan_out``)
``synapse_memory_bits``      synapse store in the profile's encoding (``core.synapse_memory_bits``)
``weight_table_bits``        axon-type weight tables (axon_type chips only; no own limit)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.memory import synapse_memory_bits
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits
from neurosim.mapping.mapped import CoreUsage, QuantizedProjection
from neurosim.network import Network

__all__ = ["RESOURCE_FIELDS", "UsageTable", "core_usage", "stored_pattern"]

#: resource -> profile field holding its per-core capacity (None: no limit)
RESOURCE_FIELDS: dict[str, str | None] = {
    "neurons": "core.max_neurons",
    "axons": "core.max_axons",
    "synapses": None,
    "fan_in_max": "core.max_fan_in",
    "synapses_per_neuron_max": "core.max_synapses_per_neuron",
    "fan_out_max": "core.fan_out",
    "fan_out_synapses_max": "core.max_fan_out",
    "synapse_memory_bits": "core.synapse_memory_bits",
    "weight_table_bits": None,
}


@dataclass(frozen=True, eq=False)
class UsageTable:
    """Usage of every core.

    Attributes
    ----------
    used : mapping of str to ndarray, shape (n_cores,)
    capacity : mapping of str to float or None
    population : tuple of str
        The hardware population on each core (names joined by ``+`` on a
        core that :func:`~neurosim.mapping.partition.merge_cores` shared).
    lo, hi : ndarray
        Smallest and largest+1 neuron index of that population on each core.
    fan_out : mapping of str to ndarray
        Per hardware population, target cores of each neuron.
    fan_in : mapping of str to ndarray
        Per hardware population, stored inputs of each neuron.
    fan_out_synapses : mapping of str to ndarray
        Per hardware population, stored synapses out of each neuron.
    traffic : csr_matrix, shape (n_cores, n_cores), or None
        Expected packets per step from core a to core b (when rates were given).
    """

    used: Mapping[str, np.ndarray]
    capacity: Mapping[str, float | None]
    population: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    fan_out: Mapping[str, np.ndarray]
    fan_in: Mapping[str, np.ndarray]
    traffic: sp.csr_matrix | None = None
    fan_out_synapses: Mapping[str, np.ndarray] | None = None

    @property
    def n_cores(self) -> int:
        return len(self.population)

    def where(self, core: int) -> str:
        """``"layer2[0:256] on core 3"`` (``"layer1+layer2 on core 0"`` for a shared core)."""
        name = self.population[core]
        if "+" in name:
            return f"{name} on core {core}"
        lo, hi = int(self.lo[core]), int(self.hi[core])
        n = int(self.used["neurons"][core])
        span = f"{name}[{lo}:{hi}]" if n == hi - lo else f"{name}[{lo}:{hi}] ({n} of them)"
        return f"{span} on core {core}"

    def core_usages(
        self, chip: np.ndarray, x: np.ndarray, y: np.ndarray, core_of: Mapping[str, np.ndarray]
    ) -> tuple[CoreUsage, ...]:
        """One :class:`CoreUsage` per core (neuron runs of consecutive indices)."""
        runs: list[list[tuple[str, int, int]]] = [[] for _ in range(self.n_cores)]
        for name, cores in core_of.items():
            cores = np.asarray(cores)
            idx = np.flatnonzero(cores >= 0)
            if idx.size == 0:
                continue
            order = idx[np.lexsort((idx, cores[idx]))]
            c = cores[order]
            brk = np.flatnonzero((np.diff(order) != 1) | (np.diff(c) != 0)) + 1
            starts = np.concatenate([[0], brk])
            stops = np.concatenate([brk, [order.size]])
            for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
                runs[int(c[s])].append((name, int(order[s]), int(order[e - 1]) + 1))
        out = []
        for k in range(self.n_cores):
            res = {r: (_num(self.used[r][k]), self.capacity[r]) for r in self.used}
            out.append(CoreUsage(k, int(chip[k]), int(x[k]), int(y[k]), tuple(runs[k]), res))
        return tuple(out)


def _num(v) -> float | int:
    v = v.item() if hasattr(v, "item") else v
    return int(v) if float(v).is_integer() else float(v)


def stored_pattern(weights: sp.csr_matrix, q: QuantizedProjection | None) -> sp.csr_matrix:
    """Synapses the chip stores: nonzero quantized weights (connectivity for axon types)."""
    if q is None or q.axon_types is not None:
        return weights
    return q.weights


def core_usage(
    hw: Network,
    core_of: Mapping[str, np.ndarray],
    n_cores: int,
    profile: ChipProfile,
    limits: CoreLimits,
    quantized: Mapping[str, QuantizedProjection] | None = None,
    rates: Mapping[str, np.ndarray] | None = None,
) -> UsageTable:
    """Count every resource of every core (see the module docstring).

    With ``rates`` (expected spikes per step of each neuron, per population)
    the same pass builds the core-to-core traffic matrix (``traffic``):
    one packet per emitting neuron per target core; inputs (core -1) are fed
    by the host and carry no mesh traffic.
    """
    quantized = quantized or {}
    nc = max(n_cores, 1)
    neurons = np.zeros(n_cores, dtype=np.int64)
    synapses = np.zeros(n_cores, dtype=np.int64)
    axons = np.zeros(n_cores, dtype=np.int64)
    fan_in_max = np.zeros(n_cores, dtype=np.int64)
    fan_out_max = np.zeros(n_cores, dtype=np.int64)
    fan_out_syn_max = np.zeros(n_cores, dtype=np.int64)
    lo = np.full(n_cores, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.zeros(n_cores, dtype=np.int64)
    population = [""] * n_cores
    fan_in = {p.name: np.zeros(p.size, dtype=np.int64) for p in hw.populations}
    fan_out = {p.name: np.zeros(p.size, dtype=np.int64) for p in hw.populations}
    out_syn = {p.name: np.zeros(p.size, dtype=np.int64) for p in hw.populations}
    pairs: dict[str, list[np.ndarray]] = {}
    t_rows: list[np.ndarray] = []
    t_cols: list[np.ndarray] = []
    t_vals: list[np.ndarray] = []
    for pr in hw.projections:
        w = sp.csr_matrix(stored_pattern(pr.weights, quantized.get(pr.name)))
        post_core = np.asarray(core_of[pr.post])
        counts = np.bincount(w.indices, minlength=w.shape[1])
        fan_in[pr.post] += counts
        out_syn[pr.pre] += np.diff(w.indptr)
        ok = post_core >= 0
        synapses += np.bincount(post_core[ok], weights=counts[ok], minlength=nc)[:n_cores].astype(
            np.int64
        )
        coo = w.tocoo()
        tc = post_core[coo.col]
        m = tc >= 0
        pairs.setdefault(pr.pre, []).append(coo.row[m].astype(np.int64) * nc + tc[m])
    for pre, keys in pairs.items():
        uk = np.unique(np.concatenate(keys))
        axons += np.bincount(uk % nc, minlength=nc)[:n_cores]
        src = uk // nc
        fan_out[pre] = np.bincount(src, minlength=fan_out[pre].size)
        if rates is not None:
            src_core = np.asarray(core_of[pre])[src]
            m = src_core >= 0
            t_rows.append(src_core[m])
            t_cols.append(uk[m] % nc)
            t_vals.append(np.asarray(rates[pre], dtype=np.float64)[src[m]])
    for p in hw.populations:
        cores = np.asarray(core_of[p.name])
        idx = np.flatnonzero(cores >= 0)
        if idx.size == 0:
            continue
        c = cores[idx]
        neurons += np.bincount(c, minlength=nc)[:n_cores]
        np.maximum.at(fan_in_max, c, fan_in[p.name][idx])
        np.maximum.at(fan_out_max, c, fan_out[p.name][idx])
        np.maximum.at(fan_out_syn_max, c, out_syn[p.name][idx])
        np.minimum.at(lo, c, idx)
        np.maximum.at(hi, c, idx + 1)
        for k in np.unique(c).tolist():
            population[k] = p.name if not population[k] else f"{population[k]}+{p.name}"
    lo = np.where(hi > 0, lo, 0)
    syn_bits, table_bits = synapse_memory_bits(profile, axons, neurons, synapses)
    used = {
        "neurons": neurons,
        "axons": axons,
        "synapses": synapses,
        "fan_in_max": fan_in_max,
        "synapses_per_neuron_max": fan_in_max.copy(),
        "fan_out_max": fan_out_max,
        "fan_out_synapses_max": fan_out_syn_max,
        "synapse_memory_bits": np.asarray(syn_bits, dtype=np.int64),
    }
    capacity: dict[str, float | None] = {
        "neurons": limits.max_neurons,
        "axons": limits.max_axons,
        "synapses": None,
        "fan_in_max": limits.max_fan_in,
        "synapses_per_neuron_max": limits.max_slots,
        "fan_out_max": limits.max_target_cores,
        "fan_out_synapses_max": limits.max_fan_out,
        "synapse_memory_bits": limits.memory_bits,
    }
    if profile.get("weights.kind") == "axon_type":
        used["weight_table_bits"] = np.asarray(table_bits, dtype=np.int64)
        capacity["weight_table_bits"] = None
    traffic = None
    if rates is not None:
        if t_rows:
            traffic = sp.csr_matrix(
                (np.concatenate(t_vals), (np.concatenate(t_rows), np.concatenate(t_cols))),
                shape=(n_cores, n_cores),
            )
        else:
            traffic = sp.csr_matrix((n_cores, n_cores))
    return UsageTable(used, capacity, tuple(population), lo, hi, fan_out, fan_in, traffic, out_syn)
