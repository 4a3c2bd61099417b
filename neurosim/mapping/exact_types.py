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
When an axon disagrees with all ``K`` groups the greedy grouping fails (a
sparse layer, where an axon overlaps few others, can mislead it) and a
second construction is tried: axons with the same weight into the same
neuron are taken to share a type (connected components), components that
meet at a neuron need different types, and those are coloured with ``K``
colours (DSATUR: the component with the most colours already excluded goes
first). That one fails when two types share a value at a neuron. When both
fail the function returns ``None`` (an exact grouping may still exist; the
caller keeps its other starts).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["exact_axon_types"]

#: most components the colouring step handles (its cost grows with their square)
_MAX_COMPONENTS = 4096


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


def _greedy_types(w: sp.csr_matrix, n_types: int, tol: float) -> np.ndarray | None:
    """The greedy grouping of the module docstring, or None when it needs more than ``n_types``."""
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


def _dsatur(conflict: np.ndarray, n_colors: int) -> np.ndarray | None:
    """Colours ``0..n_colors-1`` of a graph (dense boolean adjacency), or None (DSATUR greedy)."""
    n = conflict.shape[0]
    forbid = np.zeros((n, n_colors), dtype=bool)
    color = np.full(n, -1, dtype=np.int64)
    degree = conflict.sum(axis=1)
    for _ in range(n):
        key = np.where(color < 0, forbid.sum(axis=1) * (n + 1) + degree, -1)
        c = int(key.argmax())
        options = np.flatnonzero(~forbid[c])
        if options.size == 0:
            return None
        color[c] = options[0]
        forbid[conflict[c], options[0]] = True
    return color


def _component_types(w: sp.csr_matrix, n_types: int) -> np.ndarray | None:
    """Axons with one weight into one neuron share a type; components meeting at a neuron differ.

    Weights are equal here only when bitwise equal. None when a component
    has two values at a neuron, a neuron has more than ``n_types`` values, or
    the colouring needs more than ``n_types`` colours.
    """
    # imported here: scipy.sparse.csgraph costs ~0.1 s of a CLI process's start-up
    from scipy.sparse.csgraph import connected_components

    n_pre, n_post = w.shape
    coo = w.tocoo()
    keep = coo.data != 0
    rows, cols, vals = coo.row[keep], coo.col[keep], coo.data[keep]
    types = np.zeros(n_pre, dtype=np.int64)
    if rows.size == 0:
        return types
    order = np.lexsort((vals, cols))
    c, v = cols[order], vals[order]
    first = np.r_[True, (c[1:] != c[:-1]) | (v[1:] != v[:-1])]
    lab_col = c[first]
    if np.bincount(lab_col, minlength=n_post).max() > n_types:
        return None  # more values than types at a neuron
    label = np.empty(rows.size, dtype=np.int64)
    label[order] = np.cumsum(first) - 1
    n_labels = int(label.max()) + 1
    size = n_pre + n_labels
    glue = sp.csr_matrix((np.ones(rows.size), (rows, n_pre + label)), shape=(size, size))
    comp = connected_components(glue, directed=False)[1][:n_pre]
    used, lab_comp = np.unique(comp[rows[order][first]], return_inverse=True)
    pairs = np.unique(lab_comp.astype(np.int64) * n_post + lab_col).size
    if used.size > _MAX_COMPONENTS or pairs < n_labels:
        return None
    meet = sp.csr_matrix((np.ones(n_labels), (lab_comp, lab_col)), shape=(used.size, n_post))
    conflict = (meet @ meet.T).toarray() > 0
    np.fill_diagonal(conflict, False)
    color = _dsatur(conflict, int(n_types))
    if color is None:
        return None
    has = np.isin(comp, used)
    types[has] = color[np.searchsorted(used, comp[has])]
    return types


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
        Largest absolute difference of two weights taken as equal by the
        greedy grouping (the weights are best scaled to a largest magnitude
        of 1); the second construction takes only bitwise-equal weights as equal.

    Returns
    -------
    ndarray of int, shape (n_pre,), or None
        A type per axon (axons without synapses take type 0) such that all
        axons of a type agree on their shared post neurons, found by the
        greedy grouping or else the component colouring of the module
        docstring; None when both fail.
    """
    types = _greedy_types(w, n_types, tol)
    return types if types is not None else _component_types(w, n_types)
