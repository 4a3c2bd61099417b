"""Crossbar packing: group neurons by identical inputs and pack the groups.

On crossbar cores (TrueNorth: 256 axons x 256 neurons) the number of cores a
layer needs is decided by how many distinct input axons each core collects.
Structured sparse layers (RadiX-Net, the Graph Challenge) have many neurons
with *identical* input sets and many inputs with identical output sets, so
the layer has a small quotient: ``groups`` (neurons with the same input rows)
x ``classes`` (input rows that feed the same groups), each class costing its
number of rows in axons. Packing the quotient instead of the neurons sees the
residue structure: on Graph Challenge layers 1-6, ``(1/16) kron(J_16, I_64 +
S_l)``, group ``c`` needs classes ``{c, c + 2**(l-1) mod 64}``, the quotient
is a union of cycles, and a core's 16 classes host 16 groups only when they
close whole cycles (15 on an open arc).

:func:`crossbar_pack` is the ``crossbar`` partition strategy: the best (fewest
cores, then fewest axons) of in-order packing, ``axon_sharing`` and several
greedy quotient packers (a core grows by the group that adds the fewest new
axon rows; groups are split across cores only when ``core.max_neurons``
binds). :func:`quotient_bound` is a lower bound on the cores of any partition,
from the most groups ``h`` a core with ``k`` classes can host: ``h d <= k r``
when every group needs ``d`` classes and every class feeds at most ``r``
groups, and on a regular quotient equality needs the ``k`` classes to be a
union of whole connected components (the residue-chain argument).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits, ceil_div
from neurosim.mapping.packing import _fits, axon_sharing, pack_in_order, total_axons

__all__ = ["Quotient", "crossbar_pack", "quotient", "quotient_bound", "quotient_pack"]

#: quotient packers run only when the layer has at most this many groups
MAX_GROUPS = 4096
#: fixed seed of the column/row hashes (collision odds ~ n^2 / 2^128)
_HASH_SEED = 0x5EED


@dataclass(frozen=True, eq=False)
class Quotient:
    """A population's inputs seen as groups x classes.

    Attributes
    ----------
    group_of : ndarray of int, shape (n_neurons,)
        Group of each neuron (neurons of a group have the same input rows).
    group_size : ndarray of int, shape (n_groups,)
    class_weight : ndarray of int, shape (n_classes,)
        Input rows of each class (rows of a class feed the same groups).
    incidence : csr_matrix of bool, shape (n_groups, n_classes)
        Classes each group needs.
    fan_in : ndarray of int, shape (n_groups,)
        Input rows (synapses) of one neuron of each group.
    """

    group_of: np.ndarray
    group_size: np.ndarray
    class_weight: np.ndarray
    incidence: sp.csr_matrix
    fan_in: np.ndarray


def _hash_ids(keys: np.ndarray, ptr: np.ndarray, n_keys: int) -> np.ndarray:
    """Dense ids of equal sets: set ``i`` is ``keys[ptr[i]:ptr[i+1]]`` (distinct keys)."""
    rng = np.random.default_rng(_HASH_SEED)
    table = rng.integers(0, 2**63, size=(2, max(n_keys, 1)), dtype=np.uint64)
    n = ptr.size - 1
    lengths = np.diff(ptr)
    sums = np.zeros((2, n), dtype=np.uint64)
    if keys.size:
        starts = np.minimum(ptr[:-1], keys.size - 1)
        for j in range(2):
            sums[j] = np.add.reduceat(table[j][keys], starts)  # uint64: wraps, exact mod 2^64
        sums[:, lengths == 0] = 0
    sizes = lengths.astype(np.uint64)
    _, ids = np.unique(np.stack([sums[0], sums[1], sizes]), axis=1, return_inverse=True)
    return ids.ravel()


def _distinct(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy's hash-based unique is slow on large int arrays)."""
    keys = np.sort(keys)
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if keys.size else keys


def _columns(inputs: sp.csc_matrix) -> tuple[sp.csc_matrix, np.ndarray]:
    """The canonical CSC matrix and the group (identical input rows) of each column."""
    a = sp.csc_matrix(inputs)
    a.sum_duplicates()
    return a, _hash_ids(a.indices, a.indptr, a.shape[0])


def quotient(inputs: sp.csc_matrix, columns: tuple | None = None) -> Quotient:
    """Group the neurons (columns) and input rows of a population by their patterns."""
    a, group_of = _columns(inputs) if columns is None else columns
    n_rows, n = a.shape
    n_groups = int(group_of.max()) + 1 if n else 0
    # distinct (row, group) pairs: the groups each row feeds
    cols = np.repeat(np.arange(n), np.diff(a.indptr))
    pairs = _distinct(a.indices.astype(np.int64) * max(n_groups, 1) + group_of[cols])
    rows, groups = np.divmod(pairs, max(n_groups, 1))
    row_ptr = np.searchsorted(rows, np.arange(n_rows + 1))
    class_of_row = _hash_ids(groups, row_ptr, n_groups)
    used = np.diff(row_ptr) > 0
    _, class_of_row = np.unique(np.where(used, class_of_row, -1), return_inverse=True)
    class_of_row = class_of_row.ravel() - (0 if used.all() else 1)  # class -1: unused rows
    n_classes = int(class_of_row.max()) + 1 if used.any() else 0
    class_weight = np.bincount(class_of_row[used], minlength=n_classes)
    gc = _distinct(groups * max(n_classes, 1) + class_of_row[rows])
    g, c = np.divmod(gc, max(n_classes, 1))
    incidence = sp.csr_matrix((np.ones(g.size, dtype=bool), (g, c)), shape=(n_groups, n_classes))
    first = np.full(n_groups, -1, dtype=np.int64)
    first[group_of[::-1]] = np.arange(n)[::-1]
    return Quotient(
        group_of=group_of,
        group_size=np.bincount(group_of, minlength=n_groups),
        class_weight=class_weight,
        incidence=incidence,
        fan_in=np.diff(a.indptr)[first] if n_groups else np.zeros(0, dtype=np.int64),
    )


# ------------------------------------------------------------- lower bound
def _closed_sizes(q: Quotient) -> np.ndarray:
    """Classes per connected component of the quotient's class graph."""
    inc = q.incidence.astype(np.int64)
    link = sp.csr_matrix(inc.T @ inc)
    _, comp = connected_components(link, directed=False)
    return np.bincount(comp)


def _subset_sums(sizes: np.ndarray, limit: int) -> np.ndarray:
    """Which totals ``0..limit`` a subset of ``sizes`` reaches (bitset DP)."""
    reach = np.zeros(limit + 1, dtype=bool)
    reach[0] = True
    for s in sizes[sizes <= limit].tolist():
        reach[s:] |= reach[: limit + 1 - s].copy()
    return reach


def _max_groups(q: Quotient, max_classes: int) -> int:
    """Most groups one core with at most ``max_classes`` classes can host."""
    d = np.diff(q.incidence.indptr)
    r = np.bincount(q.incidence.indices, minlength=q.class_weight.size)
    d_min, r_max = int(d.min()), int(r.max())
    if d_min == 0:
        return q.group_size.size
    regular = d.max() == d_min and r.min() == r_max and q.class_weight.min() == q.class_weight.max()
    if not regular:
        return (max_classes * r_max) // d_min
    reach = _subset_sums(_closed_sizes(q), max_classes)
    best = 0
    for k in range(1, max_classes + 1):
        # h d = k r only if the k classes are closed (a union of whole components)
        h = (
            (k * r_max) // d_min
            if reach[k] and (k * r_max) % d_min == 0
            else (k * r_max - 1) // d_min
        )
        best = max(best, h)
    return best


def quotient_bound(inputs: sp.csc_matrix, limits: CoreLimits, q: Quotient | None = None) -> int:
    """Lower bound on cores from the quotient (0 when it says nothing, or when the
    population has more than :data:`MAX_GROUPS` groups).

    Each core holds at most ``min(max_neurons, h x largest group)`` neurons,
    where ``h`` (:func:`_max_groups`) bounds the groups whose classes fit in
    ``max_axons`` rows (at most ``max_axons // lightest class`` classes).
    """
    n = inputs.shape[1]
    if n == 0 or inputs.nnz == 0:
        return 0
    if q is None:
        columns = _columns(inputs)
        if int(columns[1].max()) + 1 > MAX_GROUPS:
            return 0  # little shared structure: the counting bounds are as good, and cheaper
        q = quotient(inputs, columns)
    if q.class_weight.size == 0:
        return 0
    max_classes = int(limits.max_axons) // int(q.class_weight.min())
    if max_classes == 0:
        return 0
    h = _max_groups(q, min(max_classes, q.class_weight.size))
    per_core = min(int(limits.max_neurons), h * int(q.group_size.max()))
    return ceil_div(n, max(per_core, 1))


# ----------------------------------------------------------------- packers
def _grow_core(
    q: Quotient,
    left: np.ndarray,
    seed_group: int,
    profile: ChipProfile,
    limits: CoreLimits,
    prefer: np.ndarray,
) -> list[tuple[int, int]]:
    """One core: seed group, then repeatedly the group adding the fewest new rows."""
    inc, inc_t = q.incidence, q.incidence.T.tocsr()
    weight = np.asarray(inc @ q.class_weight).ravel()  # rows each group needs
    overlap = np.zeros(weight.size, dtype=np.int64)
    in_core = np.zeros(q.class_weight.size, dtype=bool)
    members: list[tuple[int, int]] = []
    axons = neurons = synapses = 0
    g = seed_group
    while g >= 0:
        new = int(weight[g] - overlap[g])
        room = int(limits.max_neurons) - neurons
        take = min(int(left[g]), room)
        while (
            take > 0
            and not _fits(
                profile,
                limits,
                np.array([axons + new]),
                np.array([neurons + take]),
                np.array([synapses + take * int(q.fan_in[g])]),
            )[0]
        ):
            take //= 2
        if take <= 0:
            break
        members.append((g, take))
        left[g] -= take
        neurons, synapses, axons = neurons + take, synapses + take * int(q.fan_in[g]), axons + new
        added = inc.indices[inc.indptr[g] : inc.indptr[g + 1]]
        added = added[~in_core[added]]
        in_core[added] = True
        for c in added.tolist():
            hit = inc_t.indices[inc_t.indptr[c] : inc_t.indptr[c + 1]]
            overlap[hit] += int(q.class_weight[c])
        cost = np.where(left > 0, weight - overlap, np.iinfo(np.int64).max)
        cost[axons + cost > limits.max_axons] = np.iinfo(np.int64).max
        best = cost.min() if cost.size else np.iinfo(np.int64).max
        if best == np.iinfo(np.int64).max or neurons >= limits.max_neurons:
            break
        tied = np.flatnonzero(cost == best)
        g = int(tied[np.argmin(prefer[tied])])
    return members


def quotient_pack(
    inputs: sp.csc_matrix,
    profile: ChipProfile,
    limits: CoreLimits,
    *,
    order: str = "index",
    q: Quotient | None = None,
) -> np.ndarray | None:
    """Greedy packing of the quotient; ``None`` when a group alone overflows a core.

    ``order`` ranks seeds and ties: ``"index"`` (lowest group), ``"heavy"``
    (groups needing the most rows first), ``"large"`` (biggest groups first).
    """
    q = quotient(inputs) if q is None else q
    n_groups = q.group_size.size
    weight = np.asarray(q.incidence @ q.class_weight).ravel()
    if n_groups == 0 or weight.max(initial=0) > limits.max_axons:
        return None
    prefer = {
        "index": np.arange(n_groups),
        "heavy": np.argsort(np.argsort(-weight, kind="stable"), kind="stable"),
        "large": np.argsort(np.argsort(-q.group_size, kind="stable"), kind="stable"),
    }[order]
    left = q.group_size.astype(np.int64).copy()
    cores: list[list[tuple[int, int]]] = []
    while (left > 0).any():
        open_ = np.flatnonzero(left > 0)
        seed_group = int(open_[np.argmin(prefer[open_])])
        members = _grow_core(q, left, seed_group, profile, limits, prefer)
        if not members:
            return None
        cores.append(members)
    return _expand(q, cores)


def _expand(q: Quotient, cores: list[list[tuple[int, int]]]) -> np.ndarray:
    """Neuron -> core from per-core ``(group, count)`` lists (neurons of a group in order)."""
    order = np.argsort(q.group_of, kind="stable")
    start = np.concatenate([[0], np.cumsum(q.group_size)])
    used = np.zeros(q.group_size.size, dtype=np.int64)
    out = np.empty(q.group_of.size, dtype=np.int64)
    for core, members in enumerate(cores):
        for g, k in members:
            lo = start[g] + used[g]
            out[order[lo : lo + k]] = core
            used[g] += k
    return out


def crossbar_pack(
    inputs: sp.csc_matrix, profile: ChipProfile, limits: CoreLimits, *, seed: int = 0
) -> np.ndarray:
    """The ``crossbar`` strategy: best of in-order, axon sharing and quotient packers.

    Best = fewest cores, then fewest input axons in all. Quotient packers run
    when the population has at most :data:`MAX_GROUPS` groups. ``seed`` is
    passed to ``axon_sharing`` (which does not use it).
    """
    n = inputs.shape[1]
    candidates = [
        pack_in_order(inputs, np.arange(n), profile, limits),
        axon_sharing(inputs, profile, limits, seed=seed),
    ]
    columns = _columns(inputs) if n and inputs.nnz else None
    if columns is not None and int(columns[1].max()) + 1 <= MAX_GROUPS:
        q = quotient(inputs, columns)
        if q.group_size.size:
            for order in ("index", "heavy", "large"):
                got = quotient_pack(inputs, profile, limits, order=order, q=q)
                if got is not None:
                    candidates.append(got)
    scores = [(int(c.max()) + 1 if c.size else 0, total_axons(inputs, c)) for c in candidates]
    return candidates[min(range(len(candidates)), key=scores.__getitem__)]
