"""Core packers shared by the partition strategies.

:func:`pack_in_order` fills cores with neurons in a given order, and
:func:`axon_sharing` grows each core from the inputs it already holds; both
respect a profile's per-core limits (neurons, axons, fan-in, memory).
:func:`total_axons` counts the distinct input axons of an assignment. They live
below :mod:`neurosim.mapping.partition` and :mod:`neurosim.mapping.crossbar`,
which both use them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits, memory_bits

__all__ = ["axon_sharing", "pack_in_order", "total_axons"]


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


def _prefix_axons(
    indptr: np.ndarray, indices: np.ndarray, start: int, stop: int, first: np.ndarray, none: int
) -> np.ndarray:
    """Distinct input rows of columns ``start..start+j`` for every ``j`` (``first``: scratch
    over the rows, all ``none``, left so)."""
    k = stop - start
    lo, hi = indptr[start], indptr[stop]
    if hi == lo:
        return np.zeros(k, dtype=np.int64)
    rows = indices[lo:hi]
    cols = np.repeat(np.arange(k, dtype=np.int64), np.diff(indptr[start : stop + 1]))
    np.minimum.at(first, rows, cols)
    axons = np.cumsum(np.bincount(cols[first[rows] == cols], minlength=k))
    first[rows] = none
    return axons


def pack_in_order(
    inputs: sp.csc_matrix, order: np.ndarray, profile: ChipProfile, limits: CoreLimits
) -> np.ndarray:
    """Fill cores with neurons in the given order, closing a core at the first limit.

    A core first takes its whole candidate range when even one axon per
    synapse would fit (axons, memory and the other limits only grow with the
    axons). Otherwise one pass gives the distinct axons of every prefix of
    the range at once: the first column of each input row (``np.minimum.at``
    into a scratch array, reset after the core), so the cost is ``O(nnz)``
    overall.

    Returns
    -------
    ndarray of int, shape (n_neurons,)
        Local core of each neuron (indexed by neuron, not by position in ``order``).
    """
    n = inputs.shape[1]
    a = inputs[:, order] if not np.array_equal(order, np.arange(n)) else inputs
    a = sp.csc_matrix(a)
    if not a.has_canonical_format:  # a row twice in one column would count twice below
        a = a.copy()
        a.sum_duplicates()
    indptr, indices = a.indptr, a.indices
    out = np.empty(n, dtype=np.int64)
    start, core = 0, 0
    maxn = limits.max_neurons
    first = np.full(a.shape[0], maxn, dtype=np.int64)  # first column of each row; maxn = none
    while start < n:
        stop = min(n, start + maxn)
        k = stop - start
        lo = indptr[start]
        neurons = np.arange(1, k + 1)
        synapses = indptr[start + 1 : stop + 1] - lo
        # a prefix has at most as many distinct axons as synapses (and rows), and the
        # limits grow with axons: when that bound fits, the exact count is not needed
        ok = _fits(profile, limits, np.minimum(synapses, a.shape[0]), neurons, synapses)
        if not ok.all():
            axons = _prefix_axons(indptr, indices, start, stop, first, maxn)
            ok = _fits(profile, limits, axons, neurons, synapses)
        take = k if ok.all() else max(1, int(np.argmin(ok)))
        out[order[start : start + take]] = core
        core += 1
        start += take
    return out


def _gather(indptr: np.ndarray, indices: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Concatenated ``indices[indptr[k]:indptr[k+1]]`` for every ``k`` in ``sel`` (vectorised)."""
    starts = indptr[sel]
    lengths = indptr[sel + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=indices.dtype)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return indices[np.arange(total) + offsets]


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
    rows = _gather(sub.indptr, sub.indices, members)
    new_axons = np.unique(rows[~in_core[rows]])  # drop axons already in the core before sorting
    in_core[new_axons] = True
    if new_axons.size:
        hit_rows = _gather(sub_csc.indptr, sub_csc.indices, new_axons)
        overlap += np.bincount(hit_rows, minlength=overlap.size)


# ------------------------------------------------------------ strategies


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
        Unused: ties between equally good candidates go to the lower neuron
        index (which keeps locally connected neurons together); kept for the
        strategy interface.
    window_cores : int
        Candidates come from the next ``window_cores * max_neurons`` unassigned neurons.
    """
    n = inputs.shape[1]
    maxn = limits.max_neurons
    at = sp.csr_matrix(inputs.T)
    at.sort_indices()
    fan = np.diff(at.indptr)
    assigned = np.zeros(n, dtype=bool)
    scratch = (np.zeros(inputs.shape[0], dtype=bool), np.zeros(inputs.shape[0], dtype=np.int64))
    out = np.full(n, -1, dtype=np.int64)
    window = max(1, window_cores) * maxn
    first_free = 0
    core = 0
    while first_free < n:
        pool = first_free + np.flatnonzero(~assigned[first_free : first_free + window])
        members = pool[_fill_core(at[pool], fan[pool], profile, limits, scratch)]
        out[members] = core
        assigned[members] = True
        core += 1
        free = np.flatnonzero(~assigned[first_free : first_free + window])
        if free.size:
            first_free += int(free[0])
        else:
            rest = np.flatnonzero(~assigned[first_free:])
            first_free = first_free + int(rest[0]) if rest.size else n
    # never worse than packing in order: keep the in-order packing when it needs
    # fewer cores, or as many cores and fewer axons (locally connected layers)
    in_order = pack_in_order(inputs, np.arange(n), profile, limits)
    mine, theirs = (
        (int(out.max()) + 1, total_axons(inputs, out)),
        (int(in_order.max()) + 1, total_axons(inputs, in_order)),
    )
    return in_order if theirs < mine else out


def _local_inputs(sub: sp.csr_matrix, scratch: tuple[np.ndarray, np.ndarray]) -> sp.csr_matrix:
    """``sub`` restricted to the inputs it uses, numbered ``0..`` in increasing order, so
    that the work per core does not grow with the population's input count. ``scratch``:
    a False mask and an int array over all inputs (the mask is left False)."""
    mark, label = scratch
    mark[sub.indices] = True
    used = np.flatnonzero(mark)
    mark[used] = False
    label[used] = np.arange(used.size)
    local = label[sub.indices]
    return sp.csr_matrix(
        (np.ones(local.size, dtype=np.int8), local, sub.indptr), shape=(sub.shape[0], used.size)
    )


def _fill_core(
    sub: sp.csr_matrix,
    fan_p: np.ndarray,
    profile: ChipProfile,
    limits: CoreLimits,
    scratch: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Which neurons of a candidate pool (rows of ``sub``) go on one core (a mask).

    Starts from the pool's first neuron and adds, batch by batch, the candidates
    that bring the fewest new input axons while the core's limits hold.
    """
    maxn = limits.max_neurons
    sub = _local_inputs(sub, scratch)
    sub_csc = sub.tocsc()
    overlap = np.zeros(sub.shape[0], dtype=np.int64)
    in_core = np.zeros(sub.shape[1], dtype=bool)
    taken = np.zeros(sub.shape[0], dtype=bool)

    _absorb(np.array([0]), sub, sub_csc, in_core, overlap, taken)
    n_ax, n_m, n_syn = int(in_core.sum()), 1, int(fan_p[0])
    while n_m < maxn:
        cand = np.flatnonzero(~taken)
        if cand.size == 0:
            break
        new = fan_p[cand] - overlap[cand]
        slots = maxn - n_m
        batch = min(cand.size, max(1, min(slots // 2, n_m)))
        if batch < cand.size:
            part = np.argpartition(new, batch - 1)[:batch]
            # all candidates tied with the worst of the batch that cost nothing are free
            zero = np.flatnonzero(new == 0)
            part = np.union1d(part, zero[:slots])
        else:
            part = np.arange(cand.size)
        keys = np.lexsort((cand[part], -overlap[cand[part]], new[part]))
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
    return taken


def total_axons(inputs: sp.csc_matrix, assign: np.ndarray) -> int:
    """Sum over cores of distinct input axons for a core assignment of the columns."""
    if inputs.nnz == 0:
        return 0
    k = int(assign.max()) + 1
    # (cores x neurons) @ (neurons x inputs): the transpose of a CSC matrix is CSR for free
    core_rows = sp.csr_matrix(
        (np.ones(assign.size), (assign, np.arange(assign.size))), shape=(k, assign.size)
    )
    return int((core_rows @ sp.csc_matrix(inputs).T).nnz)
