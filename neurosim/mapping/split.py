"""Fan-in splitting (partial-sum neurons) and fan-out relays (splitter neurons).

Both return a new :class:`~neurosim.network.Network` that computes exactly the
same function as their input (in exact arithmetic; float sums are merely
re-associated), as described in :mod:`neurosim.mapping.mapped`:

* :func:`split_fan_in`: a neuron ``j`` of population ``P`` with more than
  ``limit`` inputs gets ``ceil(fan_in / limit)`` partial-sum neurons in
  population ``"P.partial0"`` (model ``linear``, no bias), each summing one
  chunk of consecutive inputs; ``j`` then receives the partial sums with
  weight 1. The partials are numbered chunk by chunk (every neuron's first
  chunk, then every neuron's second, ...), so those reading the same inputs
  sit side by side for the partitioner. If ``j`` still has too many inputs (more partials than ``limit``)
  the partials are split again into ``"P.partial1"``, and so on: a tree of
  depth ``ceil(log_limit(fan_in))``.
* :func:`add_relays`: a neuron whose outputs reach more cores than its
  fan-out rule permits (``a`` cores: 1 for ``one_axon``, else
  ``core.max_target_cores``) or drive more synapses than ``core.max_fan_out``
  (``f``, Xylo's 64) sends one spike to relay neurons in ``"P.relay0"``
  (model ``linear``, weight 1), each of which forwards it with the original
  weights to at most ``a`` of its target cores and at most ``f`` synapses,
  the way TrueNorth corelets use splitter neurons: the target cores are cut
  into chunks of ``a``, each chunk's synapses into pieces of ``f``, one relay
  per piece (``ceil(T / a)`` relays when only cores bind, ``ceil(S / f)``
  when only synapses do). Relays of one neuron are kept on one core when
  they fit, so the neuron itself targets one core; when they do not, or
  when the neuron has more relays than ``f``, another level ``"P.relay1"``
  is put in front of them (a splitter tree).

Every operation is vectorised over synapses; loops run over populations,
split levels and relay cores only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits, memory_bits
from neurosim.mapping.roles import Role
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel

__all__ = ["RelayResult", "SplitResult", "add_relays", "split_fan_in"]

_LINEAR = NeuronModel("linear")


@dataclass(frozen=True, eq=False)
class SplitResult:
    """Output of :func:`split_fan_in`.

    Attributes
    ----------
    network : Network
    n_added : int
        Partial-sum neurons added.
    n_levels : int
        Deepest partial-sum tree (extra latency stages).
    served : mapping of str to (str, ndarray)
        For each added population, the population it serves and the index of
        the served neuron for each added neuron.
    roles : mapping of str to Role
        ``partial_sum`` for each added population, ``accumulator`` for each
        population whose fan-in was split.
    """

    network: Network
    n_added: int
    n_levels: int
    served: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)


def _free_name(name: str, pops: list[Population]) -> str:
    """``name``, or ``name`` with ``"~"`` appended until no population has it."""
    taken = {p.name for p in pops}
    while name in taken:
        name += "~"
    return name


def _insert_before(pops: list[Population], anchor: str, new: Population) -> list[Population]:
    i = next(k for k, p in enumerate(pops) if p.name == anchor)
    return pops[:i] + [new] + pops[i:]


def split_fan_in(network: Network, limit: int, *, max_levels: int = 16) -> SplitResult:
    """Split every neuron with more than ``limit`` inputs into a partial-sum tree.

    Parameters
    ----------
    network : Network
    limit : int
        Most inputs one hardware neuron may take (>= 2 for the tree to shrink).
    max_levels : int
        Safety bound on the tree depth.

    Returns
    -------
    SplitResult
    """
    limit = max(2, int(limit))
    pops = list(network.populations)
    projs = list(network.projections)
    served: dict[str, tuple[str, np.ndarray]] = {}
    roles: dict[str, Role] = {}
    n_added = 0
    depth = 0
    for target in [p for p in network.populations if p.model.kind != "input"]:
        for level in range(max_levels):
            step = _split_level(pops, projs, target, level, limit)
            if step is None:
                break
            pops, projs, pname, served_idx = step
            depth = max(depth, level + 1)
            served[pname] = (target.name, served_idx)
            roles[pname] = Role.PARTIAL_SUM
            roles[target.name] = Role.ACCUMULATOR
            n_added += served_idx.size
    if not served:
        return SplitResult(network, 0, 0, {})
    hw = network.replace(
        populations=tuple(pops),
        projections=tuple(projs),
        outputs=network.outputs,
        inputs=network.inputs,
    )
    return SplitResult(hw, n_added, depth, served, roles)


def _chunk_major(split_neurons: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the partial sums chunk by chunk: every split neuron's chunk 0, then chunk 1, ...

    The pairs (neuron ``s``, chunk ``c``) are listed neuron by neuron
    (``offs[s] + c``); returns, per pair, its partial-sum neuron, and per
    partial-sum neuron, the neuron it serves. Chunk-major order puts side by
    side the partials that read the same inputs (the same chunk of a dense
    layer), so a packer that fills cores in order (``sequential``) shares
    their axons: a 784-input layer of 256 neurons on 256-axon cores takes
    4 cores, not one per partial (1,024).
    """
    owner = np.repeat(np.arange(k.size), k)
    chunk = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
    order = np.lexsort((owner, chunk))
    part_of_pair = np.empty(order.size, dtype=np.int64)
    part_of_pair[order] = np.arange(order.size)
    return part_of_pair, split_neurons[owner[order]]


def _split_level(
    pops: list[Population], projs: list[Projection], target: Population, level: int, limit: int
) -> tuple[list[Population], list[Projection], str, np.ndarray] | None:
    """One level of partial sums for ``target``'s neurons above ``limit`` inputs (None: none).

    Returns the new populations and projections, the partial-sum population's
    name and, per partial-sum neuron, the index of the ``target`` neuron it feeds.
    """
    n = target.size
    into = [pr for pr in projs if pr.post == target.name]
    cscs = [pr.weights.tocsc() for pr in into]
    fan = np.zeros(n, dtype=np.int64)
    for w in cscs:
        fan += np.diff(w.indptr)
    split = fan > limit
    if not split.any():
        return None
    k = -(-fan[split] // limit)
    offs = np.zeros(n, dtype=np.int64)
    offs[split] = np.cumsum(k) - k
    n_part = int(k.sum())
    part_of_pair, served_idx = _chunk_major(np.flatnonzero(split), k)
    pname = _free_name(f"{target.name}.partial{level}", pops)
    new_projs: list[Projection] = []
    running = np.zeros(n, dtype=np.int64)
    replaced: dict[str, Projection] = {}
    for pr, w in zip(into, cscs, strict=True):
        counts = np.diff(w.indptr)
        col = np.repeat(np.arange(n), counts)
        rank = np.arange(w.nnz) - w.indptr[col] + running[col]
        running += counts
        sel = split[col]
        if not sel.any():
            continue
        part_col = part_of_pair[offs[col[sel]] + rank[sel] // limit]
        moved = sp.csr_matrix(
            (w.data[sel], (w.indices[sel], part_col)), shape=(pr.shape[0], n_part)
        )
        new_projs.append(Projection(pr.pre, pname, moved))
        keep = sp.csr_matrix((w.data[~sel], (w.indices[~sel], col[~sel])), shape=pr.shape)
        replaced[pr.name] = Projection(pr.pre, pr.post, keep, pr.name)
    acc = sp.csr_matrix((np.ones(n_part), (np.arange(n_part), served_idx)), shape=(n_part, n))
    new_projs.append(Projection(pname, target.name, acc))
    projs = [replaced.get(pr.name, pr) for pr in projs] + new_projs
    pops = _insert_before(pops, target.name, Population(pname, n_part, _LINEAR))
    return pops, projs, pname, served_idx


@dataclass(frozen=True, eq=False)
class RelayResult:
    """Output of :func:`add_relays`.

    Attributes
    ----------
    network : Network
    core_of : dict of str to ndarray
        ``core_of`` extended with the relay populations (new cores numbered
        after the existing ones).
    n_added : int
        Relay neurons added.
    n_cores_added : int
    served : mapping of str to (str, ndarray)
    roles : mapping of str to Role
        ``relay`` for each added population.
    """

    network: Network
    core_of: dict[str, np.ndarray]
    n_added: int
    n_cores_added: int
    served: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)

    @property
    def roles(self) -> dict[str, Role]:
        return dict.fromkeys(self.served, Role.RELAY)


def _pack_groups(sizes: np.ndarray, profile: ChipProfile, limits: CoreLimits) -> np.ndarray:
    """Cores for relay groups: whole groups in order; a group above ``max_neurons`` spans cores."""
    maxn = limits.max_neurons
    core_of_neuron = np.empty(int(sizes.sum()), dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(sizes)])
    g, core, n_groups = 0, 0, sizes.size
    while g < n_groups:
        if sizes[g] > maxn:
            lo, hi = cum[g], cum[g + 1]
            core_of_neuron[lo:hi] = core + np.arange(hi - lo) // maxn
            core += int(-(-(hi - lo) // maxn))
            g += 1
            continue
        m = min(n_groups - g, limits.max_axons)
        neurons = cum[g + 1 : g + m + 1] - cum[g]
        axons = np.arange(1, m + 1)
        ok = neurons <= maxn
        if limits.memory_bits is not None:
            ok &= memory_bits(profile, axons, neurons, neurons) <= limits.memory_bits
        take = m if ok.all() else max(1, int(np.argmin(ok)))
        core_of_neuron[cum[g] : cum[g + take]] = core
        core += 1
        g += take
    return core_of_neuron


def add_relays(
    network: Network,
    core_of: dict[str, np.ndarray],
    profile: ChipProfile,
    limits: CoreLimits,
    n_cores: int,
    *,
    level: int = 0,
) -> RelayResult:
    """Give relay neurons to every neuron whose outputs reach too many cores or synapses.

    Parameters
    ----------
    network : Network
        The hardware network so far (after fan-in splitting).
    core_of : mapping of str to ndarray
        Core of each neuron (``-1`` for inputs, which the host feeds and
        which are exempt from the fan-out rule).
    profile : ChipProfile
    limits : CoreLimits
        ``limits.max_target_cores`` is the fan-out allowance ``a`` (cores),
        ``limits.max_fan_out`` the allowance ``f`` (synapses); ``None`` = unlimited.
    n_cores : int
        Cores used so far (relay cores are numbered from here).
    level : int
        Relay level ``k`` of the populations added (``"{pre}.relay{k}"``). When
        one neuron's relays span more cores than its fan-out allows, calling
        again with ``level + 1`` inserts relays in front of the relays (a tree).
    """
    a = limits.max_target_cores
    f = limits.max_fan_out
    core_of = {k: np.asarray(v) for k, v in core_of.items()}
    if a is None and f is None:
        return RelayResult(network, core_of, 0, 0, {})
    big = np.iinfo(np.int64).max
    allowance = (big if a is None else int(a), big if f is None else int(f))
    pops = list(network.populations)
    projs = list(network.projections)
    served: dict[str, tuple[str, np.ndarray]] = {}
    n_added = 0
    next_core = n_cores
    for pop in network.populations:
        out = network.projections_from(pop.name)
        if pop.model.kind == "input" or not out:
            continue
        coos = [pr.weights.tocoo() for pr in out]
        assigned = _relay_of_synapse(pop, out, coos, core_of, n_cores, allowance)
        if assigned is None:
            continue
        relay_of, served_idx = assigned
        rname = _free_name(f"{pop.name}.relay{level}", pops)
        projs = _rewire_through_relays(projs, pop, out, coos, relay_of, served_idx, rname)
        i = next(k for k, p in enumerate(pops) if p.name == pop.name)
        pops.insert(i + 1, Population(rname, served_idx.size, _LINEAR))
        core_of[rname] = next_core + _relay_cores(served_idx, pop.size, profile, limits)
        next_core = int(core_of[rname].max()) + 1
        served[rname] = (pop.name, served_idx)
        n_added += served_idx.size
    if not served:
        return RelayResult(network, core_of, 0, 0, {})
    hw = network.replace(
        populations=tuple(pops),
        projections=tuple(projs),
        outputs=network.outputs,
        inputs=network.inputs,
    )
    return RelayResult(hw, core_of, n_added, next_core - n_cores, served)


def _relay_cores(
    served_idx: np.ndarray, n_served: int, profile: ChipProfile, limits: CoreLimits
) -> np.ndarray:
    """Local core (from 0) of each relay: the relays of one neuron kept together when they fit."""
    n_relays = np.bincount(served_idx, minlength=n_served)
    return _pack_groups(n_relays[n_relays > 0], profile, limits)


def _relay_of_synapse(
    pop: Population,
    out: tuple[Projection, ...],
    coos: list[sp.coo_matrix],
    core_of: dict[str, np.ndarray],
    n_cores: int,
    allowance: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Relay of each synapse out of ``pop`` (-1: direct) and the neuron each relay serves.

    ``allowance`` is ``(a, f)``: a relay reaches at most ``a`` cores and ``f``
    synapses. A neuron's target cores are cut in chunks of ``a``, each chunk's
    synapses in pieces of ``f``, one relay per piece. ``None`` when no neuron
    of ``pop`` needs relays.
    """
    a_, f_ = allowance
    # every synapse out of the population: (pre, target core), in (pre, core) order
    tcs = [core_of[pr.post][w.col] for pr, w in zip(out, coos, strict=True)]
    row = np.concatenate([w.row.astype(np.int64) for w in coos])
    tc = np.concatenate(tcs).astype(np.int64)
    routed = tc >= 0
    if not routed.any():
        return None
    key = np.where(routed, row * n_cores + tc, -1)
    n_syn = np.bincount(row[routed], minlength=pop.size)
    n_targets = np.bincount(np.unique(key[routed]) // n_cores, minlength=pop.size)
    need = (n_targets > a_) | (n_syn > f_)
    if not need.any():
        return None
    sel = np.flatnonzero(routed & need[row])
    order = sel[np.argsort(key[sel], kind="stable")]
    r, ks = row[order], key[order]
    n = order.size
    new_pre = np.r_[True, r[1:] != r[:-1]]
    new_core = np.r_[True, ks[1:] != ks[:-1]]
    pre_start = np.maximum.accumulate(np.where(new_pre, np.arange(n), 0))
    core_rank = np.cumsum(new_core) - 1
    core_rank = core_rank - core_rank[pre_start]
    chunk = core_rank // a_
    new_chunk = new_pre | np.r_[True, chunk[1:] != chunk[:-1]]
    chunk_start = np.maximum.accumulate(np.where(new_chunk, np.arange(n), 0))
    piece = (np.arange(n) - chunk_start) // f_
    new_relay = new_chunk | np.r_[True, piece[1:] != piece[:-1]]
    relay_sorted = np.cumsum(new_relay) - 1
    relay_of = np.full(row.size, -1, dtype=np.int64)
    relay_of[order] = relay_sorted
    return relay_of, r[new_relay]


def _rewire_through_relays(
    projs: list[Projection],
    pop: Population,
    out: tuple[Projection, ...],
    coos: list[sp.coo_matrix],
    relay_of: np.ndarray,
    served_idx: np.ndarray,
    rname: str,
) -> list[Projection]:
    """Move relayed synapses onto projections from relay population ``rname``, fed by ``pop``."""
    total = served_idx.size
    new_projs: list[Projection] = []
    replaced: dict[str, Projection] = {}
    offset = 0
    for pr, w in zip(out, coos, strict=True):
        rel = relay_of[offset : offset + w.nnz]
        offset += w.nnz
        relayed = rel >= 0
        if not relayed.any():
            continue
        moved = sp.csr_matrix(
            (w.data[relayed], (rel[relayed], w.col[relayed])), shape=(total, pr.shape[1])
        )
        new_projs.append(Projection(rname, pr.post, moved))
        keep = sp.csr_matrix((w.data[~relayed], (w.row[~relayed], w.col[~relayed])), shape=pr.shape)
        replaced[pr.name] = Projection(pr.pre, pr.post, keep, pr.name)
    feed = sp.csr_matrix((np.ones(total), (served_idx, np.arange(total))), shape=(pop.size, total))
    new_projs.insert(0, Projection(pop.name, rname, feed))
    return [replaced.get(pr.name, pr) for pr in projs] + new_projs
