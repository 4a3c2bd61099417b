"""The load table: what every core holds, counted once.

:func:`count_loads` is the one function that counts, per core, neurons,
distinct input axons, stored synapses, the largest fan-in and fan-out of one
of its neurons, and the memory bits by kind (synapse store, axon-type tables,
neuron state). The mapper's usage and design rules
(:mod:`neurosim.mapping.usage`, :mod:`neurosim.mapping.rules`), the cost models
(:mod:`neurosim.cost`) and the mapping plot read this table; after a
simulation :func:`with_events` adds the events of each kind per core.

Counts follow the *stored* synapse pattern: the nonzero quantized weights
(for axon-type weights, which index a table, the connectivity). Before
quantization (the mapper's partition stage) the hardware weights are used.
Every array has one entry per core ``0 .. n_cores - 1``; a core that holds no
neuron has zeros everywhere (no core is skipped).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from neurosim.errors import SimulationError
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.bits import synapse_memory_bits
from neurosim.mapping.mapped import QuantizedProjection
from neurosim.mapping.roles import Role, billing_role, complete_roles, served_layer
from neurosim.network import Network

if TYPE_CHECKING:
    from neurosim.mapping.mapped import MappedNetwork
    from neurosim.sim.result import SimResult

__all__ = [
    "LoadTable",
    "core_loads",
    "count_loads",
    "neuron_targets",
    "stored_pattern",
    "with_events",
]

#: (source layer, billing group ``neuron`` / ``split`` / ``relay``)
Group = tuple[str, str]

#: (indptr, indices, core of each post neuron) of each projection out of one population
Parts = list[tuple[np.ndarray, np.ndarray, np.ndarray]]

#: synapses out of one population below which a process that has not loaded numba
#: counts its (neuron, core) pairs with numpy (the same pairs): saves numba's start-up
_SMALL_NNZ = 1 << 20


@dataclass(frozen=True, eq=False)
class LoadTable:
    """Per-core loads of a mapping (arrays of shape ``(n_cores,)`` unless said otherwise).

    Attributes
    ----------
    neurons, axons, synapses : ndarray of int
        Hardware neurons on the core, distinct input axons (presynaptic
        neurons reaching it) and stored synapses into its neurons.
    fan_in_max : ndarray of int
        Most stored inputs of one neuron on the core.
    fan_out_max, fan_out_synapses_max : ndarray of int
        Most target cores, and most stored synapses, out of one neuron on the core.
    synapse_bits, table_bits, state_bits : ndarray of int
        Memory by kind: the synapse store in the profile's encoding, the
        axon-type weight tables, the neuron state (``neurons x weights.state_bits``).
    population : tuple of str
        The hardware population on each core (``"a+b"`` on a shared core).
    lo, hi : ndarray of int
        Smallest and largest+1 neuron index of that population on the core.
    neurons_by_group, synapses_by_group : mapping of (layer, group) to ndarray
        The neuron and synapse counts split by the source layer a population
        serves and its billing group (:func:`~neurosim.mapping.roles.billing_role`).
    fan_in, fan_out, fan_out_synapses : mapping of str to ndarray
        Per hardware population, per neuron: stored inputs, target cores,
        stored synapses out.
    traffic : csr_matrix (n_cores, n_cores) or None
        Expected packets per step from core a to core b (when rates were given).
    events : mapping of str to ndarray or None
        Events of each kind per core after a simulation (:func:`with_events`).
    events_per_step : mapping of str to ndarray (n_steps, n_cores) or None
        The same per time step, when the simulation kept them.
    """

    neurons: np.ndarray
    axons: np.ndarray
    synapses: np.ndarray
    fan_in_max: np.ndarray
    fan_out_max: np.ndarray
    fan_out_synapses_max: np.ndarray
    synapse_bits: np.ndarray
    table_bits: np.ndarray
    state_bits: np.ndarray
    population: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    neurons_by_group: Mapping[Group, np.ndarray] = field(default_factory=dict)
    synapses_by_group: Mapping[Group, np.ndarray] = field(default_factory=dict)
    fan_in: Mapping[str, np.ndarray] = field(default_factory=dict)
    fan_out: Mapping[str, np.ndarray] = field(default_factory=dict)
    fan_out_synapses: Mapping[str, np.ndarray] = field(default_factory=dict)
    traffic: sp.csr_matrix | None = None
    events: Mapping[str, np.ndarray] | None = None
    events_per_step: Mapping[str, np.ndarray] | None = None

    @property
    def n_cores(self) -> int:
        return int(self.neurons.size)

    def single_group_cores(self) -> bool:
        """True when every core holds neurons of one (layer, group) only."""
        if not self.neurons_by_group:
            return True
        stacked = np.stack([v > 0 for v in self.neurons_by_group.values()])
        return bool((stacked.sum(axis=0) <= 1).all())

    def where(self, core: int) -> str:
        """``"layer2[0:256] on core 3"`` (``"layer1+layer2 on core 0"`` for a shared core)."""
        name = self.population[core]
        if "+" in name:
            return f"{name} on core {core}"
        lo, hi = int(self.lo[core]), int(self.hi[core])
        n = int(self.neurons[core])
        span = f"{name}[{lo}:{hi}]" if n == hi - lo else f"{name}[{lo}:{hi}] ({n} of them)"
        return f"{span} on core {core}"


def stored_pattern(weights: sp.spmatrix, q: QuantizedProjection | None) -> sp.csr_matrix:
    """Synapses the chip stores: nonzero quantized weights (connectivity for axon types).

    Shares the arrays of ``weights`` (or of the quantized weights, when none of
    them is zero); treat the result as read-only.
    """
    if q is None or q.axon_types is not None:
        return sp.csr_matrix(weights)
    w = sp.csr_matrix(q.weights)
    if w.indices.size == w.indptr[-1] and np.all(w.data):
        return w
    w = sp.csr_matrix(q.weights, copy=True)
    w.eliminate_zeros()
    return w


@dataclass
class _Synapses:
    """Running per-core and per-neuron synapse counts of :func:`count_loads`."""

    synapses: np.ndarray
    fan_in: dict[str, np.ndarray]
    out_syn: dict[str, np.ndarray]
    by_group: dict[Group, np.ndarray]
    pairs: dict[str, Parts]


def _count_synapses(
    hw: Network,
    core_of: Mapping[str, np.ndarray],
    n_cores: int,
    quantized: Mapping[str, QuantizedProjection],
    group_of: Mapping[str, Group],
) -> _Synapses:
    """Stored synapses per core, per neuron and per group; the CSR parts of each pre."""
    nc = max(n_cores, 1)
    acc = _Synapses(
        np.zeros(n_cores, dtype=np.int64),
        {p.name: np.zeros(p.size, dtype=np.int64) for p in hw.populations},
        {p.name: np.zeros(p.size, dtype=np.int64) for p in hw.populations},
        {},
        {},
    )
    for pr in hw.projections:
        w = stored_pattern(pr.weights, quantized.get(pr.name))
        post_core = np.asarray(core_of[pr.post], dtype=np.int64)
        counts = np.bincount(w.indices, minlength=w.shape[1])
        acc.fan_in[pr.post] += counts
        acc.out_syn[pr.pre] += np.diff(w.indptr)
        ok = post_core >= 0
        per_core = np.bincount(post_core[ok], weights=counts[ok], minlength=nc)[:n_cores]
        per_core = per_core.astype(np.int64)
        acc.synapses += per_core
        group = group_of[pr.post]
        acc.by_group[group] = acc.by_group.get(group, np.zeros(n_cores, dtype=np.int64)) + per_core
        acc.pairs.setdefault(pr.pre, []).append((w.indptr, w.indices, post_core))
    return acc


def _pair_keys(indptr: np.ndarray, indices: np.ndarray, post_core: np.ndarray, nc: int) -> np.ndarray:
    """``pre * nc + core`` of every synapse of a CSR pattern whose post neuron is on a core."""
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    tc = post_core[indices[: indptr[-1]]]
    m = tc >= 0
    return rows[m] * nc + tc[m]


def _distinct(keys: list[np.ndarray], nc: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (neuron, core) pairs of :func:`_pair_keys` keys, by neuron then core."""
    uk = np.unique(np.concatenate(keys))
    return uk // nc, uk % nc


def _jit_targets(parts: Parts, nc: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_targets` by one compiled pass over the CSR rows (no key per synapse, no sort)."""
    from neurosim.mapping._jit_targets import row_targets

    n_rows = parts[0][0].size - 1
    if len(parts) == 1:
        indptr, indices, post_core = parts[0]
        indptr = indptr.reshape(1, -1)
    else:
        ends = [int(ip[-1]) for ip, _, _ in parts]
        nnz_off = np.cumsum([0, *ends[:-1]])
        col_off = np.cumsum([0, *[pc.size for _, _, pc in parts[:-1]]])
        indptr = np.stack([ip.astype(np.int64) + o for (ip, _, _), o in zip(parts, nnz_off, strict=True)])
        indices = np.concatenate(
            [ind[:e].astype(np.int64) + o for (_, ind, _), e, o in zip(parts, ends, col_off, strict=True)]
        )
        post_core = np.concatenate([pc for _, _, pc in parts])
    n_marks = max(nc, int(post_core.max()) + 1 if post_core.size else 0)
    counts, cores = row_targets(indptr, indices, post_core, n_marks)
    return np.repeat(np.arange(n_rows, dtype=np.int64), counts), cores


def _targets(parts: Parts, nc: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (neuron, core) pairs of the projections ``parts`` out of one population.

    Sorted by neuron then core, both int64; targets with core ``-1`` are left
    out. Small populations in a process without numba use numpy's ``unique``
    over ``neuron * nc + core`` keys; the others the compiled pass. The pairs
    are the same either way.
    """
    nnz = sum(int(ip[-1]) for ip, _, _ in parts)
    if "numba" not in sys.modules and nnz < _SMALL_NNZ:
        return _distinct([_pair_keys(*p, nc) for p in parts], nc)
    return _jit_targets(parts, nc)


def neuron_targets(
    hw: Network,
    core_of: Mapping[str, np.ndarray],
    n_cores: int,
    quantized: Mapping[str, QuantizedProjection] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per population, the distinct (neuron, target core) pairs its synapses reach.

    The pairs behind ``axons`` and ``fan_out`` of :func:`count_loads` (and the
    simulator's packets, :mod:`neurosim.sim.events`), sorted by neuron then
    core. Targets off any core (host-fed inputs) are left out; without
    ``quantized`` the hardware weights are the pattern.
    """
    nc = max(n_cores, 1)
    parts: dict[str, Parts] = {}
    for pr in hw.projections:
        w = stored_pattern(pr.weights, (quantized or {}).get(pr.name))
        post_core = np.asarray(core_of[pr.post], dtype=np.int64)
        parts.setdefault(pr.pre, []).append((w.indptr, w.indices, post_core))
    return {pre: _targets(p, nc) for pre, p in parts.items()}


def _axons_and_traffic(
    hw: Network,
    core_of: Mapping[str, np.ndarray],
    n_cores: int,
    pairs: Mapping[str, Parts],
    rates: Mapping[str, np.ndarray] | None,
) -> tuple[np.ndarray, dict[str, np.ndarray], sp.csr_matrix | None]:
    """Distinct input axons per core, target cores per neuron, and the core-to-core traffic."""
    nc = max(n_cores, 1)
    axons = np.zeros(n_cores, dtype=np.int64)
    fan_out = {p.name: np.zeros(p.size, dtype=np.int64) for p in hw.populations}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for pre, parts in pairs.items():
        src, dst = _targets(parts, nc)
        axons += np.bincount(dst, minlength=nc)[:n_cores]
        fan_out[pre] = np.bincount(src, minlength=fan_out[pre].size)
        if rates is not None:
            src_core = np.asarray(core_of[pre])[src]
            m = src_core >= 0
            rows.append(src_core[m])
            cols.append(dst[m])
            vals.append(np.asarray(rates[pre], dtype=np.float64)[src[m]])
    if rates is None:
        return axons, fan_out, None
    if not rows:
        return axons, fan_out, sp.csr_matrix((n_cores, n_cores))
    traffic = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_cores, n_cores),
    )
    return axons, fan_out, traffic


def _per_neuron_maxima(
    hw: Network,
    core_of: Mapping[str, np.ndarray],
    n_cores: int,
    per_neuron: Mapping[str, Mapping[str, np.ndarray]],
    group_of: Mapping[str, Group],
) -> tuple[dict[str, np.ndarray], tuple[str, ...], dict[Group, np.ndarray]]:
    """Neurons, index span and per-neuron maxima of every core; neurons per group."""
    nc = max(n_cores, 1)
    out = {k: np.zeros(n_cores, dtype=np.int64) for k in ("neurons", "hi", *per_neuron)}
    out["lo"] = np.full(n_cores, np.iinfo(np.int64).max, dtype=np.int64)
    population = [""] * n_cores
    by_group: dict[Group, np.ndarray] = {}
    for p in hw.populations:
        cores = np.asarray(core_of[p.name], dtype=np.int64)
        idx = np.flatnonzero(cores >= 0)
        if idx.size == 0:
            continue
        c = cores[idx]
        counts = np.bincount(c, minlength=nc)[:n_cores]
        out["neurons"] += counts
        group = group_of[p.name]
        by_group[group] = by_group.get(group, np.zeros(n_cores, dtype=np.int64)) + counts
        for key, values in per_neuron.items():
            np.maximum.at(out[key], c, values[p.name][idx])
        np.minimum.at(out["lo"], c, idx)
        np.maximum.at(out["hi"], c, idx + 1)
        for k in np.unique(c).tolist():
            population[k] = p.name if not population[k] else f"{population[k]}+{p.name}"
    out["lo"] = np.where(out["hi"] > 0, out["lo"], 0)
    return out, tuple(population), by_group


def _groups(
    hw: Network,
    roles: Mapping[str, Role] | None,
    served: Mapping[str, tuple[str, np.ndarray]] | None,
) -> dict[str, Group]:
    """(source layer, billing group) of every hardware population, from the roles."""
    served = served or {}
    full = complete_roles(hw, roles, served)
    return {
        p.name: (served_layer(p.name, served), billing_role(full[p.name])) for p in hw.populations
    }


def count_loads(
    hw: Network,
    core_of: Mapping[str, np.ndarray],
    n_cores: int,
    profile: ChipProfile,
    quantized: Mapping[str, QuantizedProjection] | None = None,
    *,
    roles: Mapping[str, Role] | None = None,
    served: Mapping[str, tuple[str, np.ndarray]] | None = None,
    rates: Mapping[str, np.ndarray] | None = None,
) -> LoadTable:
    """Count the load of every core (see the module docstring): the one place this is done.

    Parameters
    ----------
    hw : Network
        The hardware network.
    core_of : mapping of str to ndarray
        Core of each neuron (``-1``: host-fed input, on no core).
    n_cores : int
    profile : ChipProfile
    quantized : mapping of str to QuantizedProjection, optional
        Without it the hardware weights are the stored pattern.
    roles, served : mapping, optional
        The mapping's roles and served populations, for the per-group counts.
    rates : mapping of str to ndarray, optional
        Expected spikes per step of each neuron: builds ``traffic`` (one
        packet per emitting neuron per target core; host-fed inputs carry none).
    """
    group_of = _groups(hw, roles, served)
    syn = _count_synapses(hw, core_of, n_cores, quantized or {}, group_of)
    axons, fan_out, traffic = _axons_and_traffic(hw, core_of, n_cores, syn.pairs, rates)
    per_neuron = {
        "fan_in_max": syn.fan_in,
        "fan_out_max": fan_out,
        "fan_out_synapses_max": syn.out_syn,
    }
    core, population, neurons_by_group = _per_neuron_maxima(
        hw, core_of, n_cores, per_neuron, group_of
    )
    syn_bits, table_bits = synapse_memory_bits(profile, axons, core["neurons"], syn.synapses)
    state = core["neurons"] * int(profile.get("weights.state_bits"))
    return LoadTable(
        axons=axons,
        synapses=syn.synapses,
        synapse_bits=np.asarray(syn_bits, dtype=np.int64),
        table_bits=np.asarray(table_bits, dtype=np.int64),
        state_bits=np.asarray(state, dtype=np.int64),
        population=population,
        neurons_by_group=neurons_by_group,
        synapses_by_group=syn.by_group,
        fan_in=syn.fan_in,
        fan_out=fan_out,
        fan_out_synapses=syn.out_syn,
        traffic=traffic,
        **core,
    )


def core_loads(mapped: MappedNetwork) -> LoadTable:
    """The load table of a mapping (:func:`count_loads` over its stored synapses)."""
    return count_loads(
        mapped.hw_network,
        mapped.core_of,
        len(mapped.cores),
        mapped.profile,
        mapped.quantized,
        roles=mapped.roles,
        served=mapped.served,
    )


def _event_counts(
    result: SimResult, raw: Mapping[str, np.ndarray], shape: tuple[int, ...], what: str
) -> dict[str, np.ndarray]:
    """Every kind of ``raw`` as float arrays of ``shape``, or a one-line error naming it."""
    out: dict[str, np.ndarray] = {}
    for kind, values in raw.items():
        counts = np.asarray(values, dtype=np.float64)
        if counts.shape != shape:
            raise SimulationError(
                f"result of backend {result.backend}: {what}[{kind!r}] has shape {counts.shape}; "
                f"expected {shape} (one count per core of the mapping)"
            )
        out[kind] = counts
    return out


def with_events(table: LoadTable, result: SimResult) -> LoadTable:
    """``table`` with the per-core event counts of ``result`` (one array per event kind).

    Per-step counts (``result.events_per_step``, shape ``(n_steps, n_cores)``)
    are kept in ``events_per_step`` when the result has them.

    Raises
    ------
    SimulationError
        When ``result`` has no event counts, or one kind is not one count per core.
    """
    if not result.events:
        raise SimulationError(
            f"result of backend {result.backend}: no event counts; "
            "cost models need a backend that runs the mapping"
        )
    n = table.n_cores
    events = _event_counts(result, result.events, (n,), "events")
    per_step = None
    if result.events_per_step:
        shape = (int(result.n_steps), n)
        per_step = _event_counts(result, result.events_per_step, shape, "events_per_step")
    return replace(table, events=events, events_per_step=per_step)
