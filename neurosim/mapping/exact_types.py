"""Exact axon types: group a projection's axons when ``W = C * T[types]`` holds exactly.

TrueNorth-style axon types (``weights.kind: axon_type``, see
:mod:`neurosim.mapping.quantize`) give every input axon ``i`` one of ``K``
types and every post neuron ``j`` one weight per type, so a representable
projection has ``W[i, j] = c[i, j] T[type(i), j]`` with ``c`` in {0, 1}.
Two axons can then share a type only if their weights agree on every post
neuron both connect to (their shared support). Chip-aware training
(:class:`neurosim.train.qat.ChipQuantizer`) produces such weights, and a local
search from a k-means start need not find their types again; this module
finds them directly.

:func:`exact_axon_types` builds the groups greedily: axons in order of
decreasing out-degree, each joining the compatible group (no disagreement on
the shared support) that it overlaps most, or opening a new group when it
disagrees with every open one. A group's row holds the value of every post
neuron one of its members connects to. An axon that overlaps no open group
(so any group would do) waits for a second pass, when the rows are fuller.
When an axon disagrees with all ``K`` groups the greedy grouping fails and
the function returns ``None`` (the weights may still have an exact grouping
that the greedy order missed; the caller keeps its other starts).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["exact_axon_types"]


def _place(
    rows: np.ndarray, n_open: int, cols: np.ndarray, vals: np.ndarray, tol: float, decide: bool
) -> int | None:
    """Group for one axon's synapses ``(cols, vals)``: an index, ``-1`` (none fits) or None (wait).

    ``n_open`` returned as the index opens a new group; ``decide=False`` lets an
    axon that overlaps no compatible group wait.
    """
    known = rows[:n_open, cols]
    has = ~np.isnan(known)
    bad = (has & (np.abs(known - vals[None, :]) > tol)).any(axis=1)
    overlap = np.where(bad, -1, has.sum(axis=1))
    if overlap.size and overlap.max() > 0:
        return int(overlap.argmax())
    if bad.all():  # disagrees with every open group (or none is open)
        return n_open if n_open < rows.shape[0] else -1
    if not decide:
        return None
    # compatible only with groups it does not overlap: open a group while one is free
    return n_open if n_open < rows.shape[0] else int(np.flatnonzero(~bad)[0])


def exact_axon_types(w: sp.csr_matrix, n_types: int, tol: float = 1e-9) -> np.ndarray | None:
    """Axon types under which ``w`` is exactly ``c * T[types]``, or None.

    Parameters
    ----------
    w : csr_matrix, shape (n_pre, n_post)
        The projection's weights (rows: input axons), sorted indices; explicit
        zeros are ignored.
    n_types : int
        Number of axon types ``K >= 1``.
    tol : float
        Largest absolute difference of two weights taken as equal (the
        weights are best scaled to a largest magnitude of 1).

    Returns
    -------
    ndarray of int, shape (n_pre,), or None
        A type per axon (axons without synapses take type 0) such that all
        axons of a type agree on their shared post neurons, found by the greedy
        grouping in the module docstring; None when that grouping needs more
        than ``n_types`` groups.
    """
    n_pre, n_post = w.shape
    rows = np.full((max(int(n_types), 1), n_post), np.nan)
    types = np.zeros(n_pre, dtype=np.int64)
    n_open = 0
    deg = np.diff(w.indptr)
    pending = [int(i) for i in np.argsort(-deg, kind="stable") if deg[i] > 0]
    for decide in (False, True):
        waiting = []
        for i in pending:
            lo, hi = w.indptr[i], w.indptr[i + 1]
            vals = w.data[lo:hi]
            nz = vals != 0
            cols, vals = w.indices[lo:hi][nz], vals[nz]
            if cols.size == 0:
                continue
            t = _place(rows, n_open, cols, vals, tol, decide)
            if t is None:
                waiting.append(i)
                continue
            if t < 0:
                return None
            n_open = max(n_open, t + 1)
            rows[t, cols] = vals
            types[i] = t
        pending = waiting
    return types
