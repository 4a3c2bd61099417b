"""Numba kernel of the distinct (neuron, target core) pairs, compiled once per machine.

One pass over the CSR rows of every projection out of a population, with a
"last seen" marker per core: no key array of one entry per synapse and no
sort of the whole population. Import this module only through
:func:`neurosim.mapping.loads.neuron_targets` and
:func:`~neurosim.mapping.loads.count_loads` (it imports numba), which call it
for large populations only.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["row_targets"]

#: rows with at most this many target cores are sorted in place by insertion
_INSERTION_MAX = 32


@nb.njit(cache=True)
def _sort_small(a, lo, hi):  # pragma: no cover - compiled
    # a[lo:hi] in increasing order (insertion sort; rows have few target cores)
    if hi - lo > _INSERTION_MAX:
        a[lo:hi].sort()
        return
    for i in range(lo + 1, hi):
        v = a[i]
        j = i - 1
        while j >= lo and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@nb.njit(cache=True)
def _count_rows(indptr, indices, post_core, last):  # pragma: no cover - compiled
    # distinct target cores of every row i over all projections (rows of indptr)
    n = indptr.shape[1] - 1
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        k = 0
        for j in range(indptr.shape[0]):
            for p in range(indptr[j, i], indptr[j, i + 1]):
                c = post_core[indices[p]]
                if c >= 0 and last[c] != i:
                    last[c] = i
                    k += 1
        counts[i] = k
    return counts


@nb.njit(cache=True)
def row_targets(indptr, indices, post_core, n_marks):  # pragma: no cover - compiled
    """Target cores per row and the cores themselves, by row then core.

    ``indptr`` is ``(n_projections, n_rows + 1)``: the CSR row pointers of
    every projection into the shared ``indices``, whose entries index
    ``post_core`` (the core of each post neuron, ``-1`` for none, every
    entry ``< n_marks``). Returns ``(counts, cores)``: ``counts[i]`` distinct
    cores of row ``i`` and ``cores`` (int64) listing them row after row, each
    row's in increasing order.
    """
    last = np.full(n_marks, -1, dtype=np.int64)
    counts = _count_rows(indptr, indices, post_core, last)
    cores = np.empty(counts.sum(), dtype=np.int64)
    last[:] = -1
    pos = 0
    for i in range(counts.size):
        start = pos
        for j in range(indptr.shape[0]):
            for p in range(indptr[j, i], indptr[j, i + 1]):
                c = post_core[indices[p]]
                if c >= 0 and last[c] != i:
                    last[c] = i
                    cores[pos] = c
                    pos += 1
        _sort_small(cores, start, pos)
    return counts, cores
