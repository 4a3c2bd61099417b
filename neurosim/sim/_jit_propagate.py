"""Numba kernels of sparse propagation, compiled once per machine.

Every kernel is a top-level ``@njit(cache=True)`` function that takes all of
its data as arguments (CSR arrays, activations, bounds): nothing of a network
is baked into compiled code, so the on-disk cache (``__pycache__`` beside this
file, or ``NUMBA_CACHE_DIR``) serves every network and every process. One
entry is compiled per argument type signature (float32, float64, int64, ...)
the first time it is used on a machine. The wrappers that check arguments
and choose a kernel live in :mod:`neurosim.sim.kernels`; import this module
only through them (it imports numba).
"""

from __future__ import annotations

import numba as nb

__all__ = [
    "relu_fused",
    "saturate",
    "scatter",
    "scatter_row",
    "scatter_sat",
    "scatter_sat_row",
    "scatter_serial",
]


@nb.njit(inline="always", fastmath=False)
def scatter_row(row, indptr, indices, data, o):
    """``o += row @ W``, skipping zero activations, in increasing pre-neuron order."""
    for i in range(row.shape[0]):
        y = row[i]
        if y != 0:
            for k in range(indptr[i], indptr[i + 1]):
                o[indices[k]] += y * data[k]


@nb.njit(parallel=True, cache=True, fastmath=False)
def scatter(Y, indptr, indices, data, out):
    """``out += Y @ W``, rows of ``Y`` in parallel."""
    for b in nb.prange(Y.shape[0]):
        scatter_row(Y[b], indptr, indices, data, out[b])


@nb.njit(cache=True, fastmath=False)
def scatter_serial(Y, indptr, indices, data, out):
    """``out += Y @ W`` on one thread (small batches)."""
    for b in range(Y.shape[0]):
        scatter_row(Y[b], indptr, indices, data, out[b])


@nb.njit(inline="always")
def saturate(z, lo, hi, count):
    """``z`` clipped to ``[lo, hi]``, and ``count`` plus one when it was clipped."""
    if z > hi:
        return hi, count + 1
    if z < lo:
        return lo, count + 1
    return z, count


@nb.njit(inline="always")
def scatter_sat_row(y, k0, k1, indices, data, lo, hi, o, count):
    """``o[indices[k]] += y * data[k]`` for ``k0 <= k < k1``, each sum saturated at
    ``[lo, hi]`` (:func:`saturate`); returns ``count`` plus the saturations.

    Used by :func:`scatter_sat`. The fixed-point whole-run kernel
    (:mod:`neurosim.sim._jit_run`) writes the same arithmetic out in its
    per-spike loop: an inlined call taking arrays costs a reference-count
    increment and decrement per array per call, once per spike there. A change
    here must be made there too (tests/sim compare the two paths).
    """
    for k in range(k0, k1):
        j = indices[k]
        z, count = saturate(o[j] + y * data[k], lo, hi, count)
        o[j] = z
    return count


@nb.njit(parallel=True, cache=True, fastmath=False)
def scatter_sat(Y, indptr, indices, data, lo, hi, out, sat):
    """Integer ``out += Y @ W`` saturating at ``[lo, hi]`` after every addition."""
    n_b, n_pre = Y.shape
    for b in nb.prange(n_b):
        row = Y[b]
        o = out[b]
        count = 0
        for i in range(n_pre):
            y = row[i]
            if y != 0:
                count = scatter_sat_row(y, indptr[i], indptr[i + 1], indices, data, lo, hi, o, count)
        sat[b] = count


@nb.njit(parallel=True, cache=True, fastmath=False)
def relu_fused(Y, indptr, indices, data, bias, cap, out):
    """``out = min(cap, max(0, Y @ W + bias))`` in one pass per row."""
    n_b = Y.shape[0]
    n_post = out.shape[1]
    zero = out.dtype.type(0)
    for b in nb.prange(n_b):
        o = out[b]
        for j in range(n_post):
            o[j] = zero
        scatter_row(Y[b], indptr, indices, data, o)
        for j in range(n_post):
            z = o[j] + bias[j]
            if z < zero:
                z = zero
            elif z > cap[j]:
                z = cap[j]
            o[j] = z
