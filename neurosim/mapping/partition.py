"""Partition the neurons of one population into cores: the strategy registry.

A strategy is a function ``strategy(inputs, profile, limits, *, seed) ->
ndarray`` returning, for each neuron of the population, a local core index
``0 .. k-1`` (every index used). ``inputs`` is the population's stacked input
matrix (:func:`neurosim.mapping.limits.incoming`), shape ``(n_inputs,
n_neurons)``. Strategies must respect ``core.max_neurons``, ``core.max_axons``
and ``core.synapse_memory_bits`` wherever one neuron alone fits a core; the
design rules (:mod:`neurosim.mapping.rules`) check the result either way, so a
user-supplied callable that breaks a limit is reported, not trusted.

One core holds neurons of one population only (the rule of nengo-loihi,
PACMAN and TrueNorth corelets: a core shares one neuron configuration and one
set of input axons), so each population is partitioned on its own.

Strategies (:data:`STRATEGIES`):

``sequential``
    Neurons in index order, a core closed as soon as the next neuron would
    exceed a limit (nengo-loihi, PACMAN). ``O(nnz log nnz)``.
``axon_sharing``
    Greedy: a core is seeded with the first unassigned neuron and grown with
    the neurons that add the fewest new input axons (candidates drawn from a
    window of the next ``4 x max_neurons`` unassigned neurons; overlaps kept
    up to date incrementally, so each core costs ``O(nnz of its window)``).
    On crossbar cores (256 axons) this decides how many cores a sparse layer
    needs.
``metis``
    pymetis k-way partition of the co-input graph (neurons joined by the
    number of inputs they share), so that cut edges, i.e. spikes copied to
    several cores, are few; parts that break a limit are re-packed in order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits, ceil_div, memory_bits

__all__ = [
    "STRATEGIES",
    "Strategy",
    "axon_sharing",
    "lower_bound",
    "metis",
    "pack_in_order",
    "register_strategy",
    "resolve_strategy",
    "sequential",
]

Strategy = Callable[..., np.ndarray]


# --------------------------------------------------------------- helpers
def _fits(
    profile: ChipProfile,
    limits: CoreLimits,
    axons: np.ndarray,
    neurons: np.ndarray,
    synapses: np.ndarray,
) -> np.ndarray:
    """Which candidate cores (given as count arrays) respect axons and memory."""
    ok = (axons <= limits.max_axons) & (neurons <= limits.max_neurons)
    if limits.memory_bits is not None:
        ok &= memory_bits(profile, axons, neurons, synapses) <= limits.memory_bits
    return ok


def pack_in_order(
    inputs: sp.csc_matrix, order: np.ndarray, profile: ChipProfile, limits: CoreLimits
) -> np.ndarray:
    """Fill cores with neurons in the given order, closing a core at the first limit.

    One ``np.unique`` per core gives the distinct axons of every prefix of the
    core's candidate range at once (first occurrence of each input row), so
    the cost is ``O(nnz log)`` overall.

    Returns
    -------
    ndarray of int, shape (n_neurons,)
        Local core of each neuron (indexed by neuron, not by position in ``order``).
    """
    n = inputs.shape[1]
    a = inputs[:, order] if not np.array_equal(order, np.arange(n)) else inputs
    a = sp.csc_matrix(a)
    indptr, indices = a.indptr, a.indices
    out = np.empty(n, dtype=np.int64)
    start, core = 0, 0
    maxn = limits.max_neurons
    while start < n:
        stop = min(n, start + maxn)
        k = stop - start
        lo, hi = indptr[start], indptr[stop]
        if hi > lo:
            _, first = np.unique(indices[lo:hi], return_index=True)
            first_col = np.searchsorted(indptr[start : stop + 1], first + lo, side="right") - 1
            axons = np.cumsum(np.bincount(first_col, minlength=k))
        else:
            axons = np.zeros(k, dtype=np.int64)
        neurons = np.arange(1, k + 1)
        synapses = indptr[start + 1 : stop + 1] - lo
        ok = _fits(profile, limits, axons, neurons, synapses)
        take = k if ok.all() else max(1, int(np.argmin(ok)))
        out[order[start : start + take]] = core
        core += 1
        start += take
    return out


def _absorb(
    members: np.ndarray,
    sub: sp.csr_matrix,
    sub_csc: sp.csc_matrix,
    in_core: np.ndarray,
    overlap: np.ndarray,
    taken: np.ndarray,
) -> None:
    """Add pool rows ``members`` to the growing core; update axon mask and overlaps in place."""
    taken[members] = True
    new_axons = np.unique(sub[members].indices)
    new_axons = new_axons[~in_core[new_axons]]
    in_core[new_axons] = True
    if new_axons.size:
        hit = sub_csc[:, new_axons]
        overlap += np.bincount(hit.indices, minlength=overlap.size)


# ------------------------------------------------------------ strategies
def sequential(
    inputs: sp.csc_matrix, profile: ChipProfile, limits: CoreLimits, *, seed: int = 0
) -> np.ndarray:
    """Neurons in index order (see the module docstring). ``seed`` is unused."""
    return pack_in_order(inputs, np.arange(inputs.shape[1]), profile, limits)


def axon_sharing(
    inputs: sp.csc_matrix,
    profile: ChipProfile,
    limits: CoreLimits,
    *,
    seed: int = 0,
    window_cores: int = 4,
) -> np.ndarray:
    """Greedy grouping of neurons whose inputs overlap (see the module docstring).

    Parameters
    ----------
    inputs : csc_matrix, shape (n_inputs, n_neurons)
    profile : ChipProfile
    limits : CoreLimits
    seed : int
        Breaks ties between equally good candidates (a seeded random key).
    window_cores : int
        Candidates come from the next ``window_cores * max_neurons`` unassigned neurons.
    """
    n = inputs.shape[1]
    maxn = limits.max_neurons
    at = sp.csr_matrix(inputs.T)
    at.sort_indices()
    fan = np.diff(at.indptr)
    tie = np.random.default_rng(seed).random(n)
    assigned = np.zeros(n, dtype=bool)
    out = np.full(n, -1, dtype=np.int64)
    window = max(1, window_cores) * maxn
    first_free = 0
    core = 0
    while first_free < n:
        pool = first_free + np.flatnonzero(~assigned[first_free : first_free + window])
        sub = at[pool]
        # compress the axon space to the inputs this pool uses
        cols, local = np.unique(sub.indices, return_inverse=True)
        sub = sp.csr_matrix(
            (np.ones(sub.nnz, dtype=np.int32), local.ravel(), sub.indptr),
            shape=(pool.size, cols.size),
        )
        sub_csc = sub.tocsc()
        fan_p = fan[pool]
        overlap = np.zeros(pool.size, dtype=np.int64)
        in_core = np.zeros(cols.size, dtype=bool)
        taken = np.zeros(pool.size, dtype=bool)

        _absorb(np.array([0]), sub, sub_csc, in_core, overlap, taken)
        n_ax, n_m, n_syn = int(in_core.sum()), 1, int(fan_p[0])
        while n_m < maxn:
            cand = np.flatnonzero(~taken)
            if cand.size == 0:
                break
            new = fan_p[cand] - overlap[cand]
            slots = maxn - n_m
            batch = min(cand.size, max(1, slots // 4))
            if batch < cand.size:
                part = np.argpartition(new, batch - 1)[:batch]
                # all candidates tied with the worst of the batch that cost nothing are free
                zero = np.flatnonzero(new == 0)
                part = np.union1d(part, zero[:slots])
            else:
                part = np.arange(cand.size)
            keys = np.lexsort((tie[pool[cand[part]]], -overlap[cand[part]], new[part]))
            part = part[keys][:slots]
            cum_new = n_ax + np.cumsum(new[part])
            cum_n = n_m + np.arange(1, part.size + 1)
            cum_syn = n_syn + np.cumsum(fan_p[cand[part]])
            ok = _fits(profile, limits, cum_new, cum_n, cum_syn)
            take = part.size if ok.all() else int(np.argmin(ok))
            if take == 0:
                break
            chosen = cand[part[:take]]
            _absorb(chosen, sub, sub_csc, in_core, overlap, taken)
            n_ax, n_m, n_syn = int(in_core.sum()), n_m + take, n_syn + int(fan_p[chosen].sum())
        members = pool[taken]
        out[members] = core
        assigned[members] = True
        core += 1
        while first_free < n and assigned[first_free]:
            first_free += 1
    return out


def metis(
    inputs: sp.csc_matrix,
    profile: ChipProfile,
    limits: CoreLimits,
    *,
    seed: int = 0,
    max_graph_edges: int = 50_000_000,
) -> np.ndarray:
    """pymetis k-way partition of the co-input graph, repaired to the limits.

    Parameters
    ----------
    max_graph_edges : int
        The co-input graph ``A^T A`` grows with fan-in x fan-out; above this
        many edges a :class:`MappingError` suggests ``axon_sharing`` instead.
    """
    import pymetis

    n = inputs.shape[1]
    k = lower_bound(inputs, profile, limits)
    if k <= 1 or n <= 1:
        return pack_in_order(inputs, np.arange(n), profile, limits)
    b = sp.csc_matrix(
        (np.ones(inputs.nnz, dtype=np.int64), inputs.indices, inputs.indptr), shape=inputs.shape
    )
    est = int((np.diff(sp.csr_matrix(b).indptr) ** 2).sum())
    if est > max_graph_edges:
        raise MappingError(
            f"metis: the co-input graph would have ~{est:,} edges (limit {max_graph_edges:,}); "
            "use --strategy axon_sharing for networks this large"
        )
    g = sp.csr_matrix(b.T @ b)
    g.setdiag(0)
    g.eliminate_zeros()
    opts = pymetis.Options(seed=int(seed) % (2**31), ufactor=10)
    _, parts = pymetis.part_graph(
        k, xadj=g.indptr, adjncy=g.indices, eweights=g.data.astype(np.int64), options=opts
    )
    parts = np.asarray(parts, dtype=np.int64)
    # repair: pack each part in order; parts that break a limit become several cores
    out = np.empty(n, dtype=np.int64)
    base = 0
    for p in np.unique(parts):
        idx = np.flatnonzero(parts == p)
        local = pack_in_order(inputs[:, idx], np.arange(idx.size), profile, limits)
        out[idx] = base + local
        base += int(local.max()) + 1
    return out


def lower_bound(inputs: sp.csc_matrix, profile: ChipProfile, limits: CoreLimits) -> int:
    """Fewest cores any partition of this population can use.

    ``max`` over resources of ``ceil(total / capacity)``: neurons over
    ``core.max_neurons``; distinct input axons (each presynaptic neuron needs
    at least one) over ``core.max_axons``; and the synapse store of all
    synapses (one axon per synapse and one neuron per synapse at best) over
    ``core.synapse_memory_bits``.
    """
    n = inputs.shape[1]
    if n == 0:
        return 0
    used_rows = int(np.count_nonzero(np.diff(sp.csr_matrix(inputs).indptr)))
    bounds = [ceil_div(n, limits.max_neurons), ceil_div(used_rows, limits.max_axons)]
    if limits.memory_bits is not None and inputs.nnz:
        # the least memory the synapses can take: each stored once
        one = memory_bits(profile, np.array([1]), np.array([1]), np.array([1]))[0]
        bounds.append(ceil_div(int(one) * inputs.nnz, limits.memory_bits))
    return max(1, max(bounds))


# -------------------------------------------------------------- registry
STRATEGIES: dict[str, Strategy] = {
    "sequential": sequential,
    "axon_sharing": axon_sharing,
    "metis": metis,
}


def register_strategy(name: str, func: Strategy) -> None:
    """Add a strategy under a new name (registering a name twice is an error)."""
    if name in STRATEGIES:
        raise MappingError(f"partition strategy {name!r} is already registered")
    if not callable(func):
        raise MappingError(
            f"partition strategy {name!r}: expected a callable, got {type(func).__name__}"
        )
    STRATEGIES[name] = func


def resolve_strategy(strategy: str | Strategy) -> tuple[str, Strategy]:
    """``(name, function)`` for a registered name or a callable."""
    if callable(strategy):
        return getattr(strategy, "__name__", "custom"), strategy
    try:
        return strategy, STRATEGIES[strategy]
    except (KeyError, TypeError):
        raise MappingError(
            f"unknown partition strategy {strategy!r}; expected one of {', '.join(STRATEGIES)} or a callable"
        ) from None
