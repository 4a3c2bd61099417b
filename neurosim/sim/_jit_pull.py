"""Numba kernels of the post-major ("pull") graded layer, compiled once per machine.

Each output neuron ``j`` gathers its inputs (CSC column ``j``, pre neurons in
increasing order) for a block of inputs into an accumulator row that stays in
L1, then applies bias, ReLU/cap (or the fixed-point rounding and saturation)
and writes its output row once: no read-modify-write of an output block per
synapse. The wrappers that check arguments and choose a kernel
(:func:`~neurosim.sim.kernels.pull_layer`,
:func:`~neurosim.sim.kernels.pull_layer_fixed`) live in
:mod:`neurosim.sim.kernels`; import this module only through them (it
imports numba). Every kernel is a top-level ``@njit(cache=True)`` function taking all
of its data as arguments.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from neurosim.sim._jit_propagate import saturate

__all__ = ["pull_fixed_t", "pull_float_t"]


@nb.njit(inline="always", fastmath=False)
def _gather(YT, colptr, rows, data, acc, j, b0, b1):
    # acc[:] = sum over the pre neurons i of column j, in increasing i, of YT[i, b0:b1] * w_ij;
    # four synapses per pass over acc (the same additions in the same order: left to right)
    n = b1 - b0
    for b in range(n):
        acc[b] = 0
    k, k1 = colptr[j], colptr[j + 1]
    while k + 4 <= k1:
        y1, y2 = YT[rows[k], b0:b1], YT[rows[k + 1], b0:b1]
        y3, y4 = YT[rows[k + 2], b0:b1], YT[rows[k + 3], b0:b1]
        w1, w2, w3, w4 = data[k], data[k + 1], data[k + 2], data[k + 3]
        for b in range(n):
            acc[b] = acc[b] + y1[b] * w1 + y2[b] * w2 + y3[b] * w3 + y4[b] * w4
        k += 4
    while k < k1:
        yrow = YT[rows[k], b0:b1]
        w = data[k]
        for b in range(n):
            acc[b] += yrow[b] * w
        k += 1


@nb.njit(parallel=True, cache=True, fastmath=False)
def pull_float_t(YT, colptr, rows, data, bias, lo, cap, OT, totals, block):
    """Feature-major graded layer, post-major: ``OT = min(cap, max(lo, W.T @ YT + bias))``.

    ``YT`` is ``(n_pre, n_b)``, ``OT`` ``(n_post, n_b)``; ``(colptr, rows,
    data)`` is ``W`` as CSC with increasing rows per column. Blocks of
    ``block`` inputs run in parallel; ``totals[blk, j]`` counts nonzero outputs.
    Each output adds its inputs in increasing pre-neuron order (no fused
    multiply-add), so the bits equal those of ``propagate`` then ``relu_step``.
    """
    n_b = YT.shape[1]
    n_post = OT.shape[0]
    n_blocks = (n_b + block - 1) // block
    zero = OT.dtype.type(0)
    for blk in nb.prange(n_blocks):
        b0 = blk * block
        b1 = min(n_b, b0 + block)
        acc = np.empty(b1 - b0, dtype=OT.dtype)
        tot = totals[blk]
        for j in range(n_post):
            _gather(YT, colptr, rows, data, acc, j, b0, b1)
            bj = bias[j]
            cj = cap[j]
            orow = OT[j, b0:b1]
            count = 0
            for b in range(b1 - b0):
                z = acc[b] + bj
                z = max(z, lo)
                z = min(z, cj)
                orow[b] = z
                count += z != zero
            tot[j] += count


@nb.njit(parallel=True, cache=True)
def pull_fixed_t(
    YT, colptr, rows, data, mult, shift, bias, cap, rectify, lo, hi, acc_proto, OT, totals, sat, block
):  # fmt: skip
    """Feature-major fixed-point graded layer, post-major (integers, no accumulator saturation).

    The sums run in the dtype of ``acc_proto`` (int32 when the caller's bound
    allows, else int64: exact in any order), then per post neuron
    ``round(acc * mult / 2**shift) + bias``, ReLU and cap when ``rectify``,
    and the state saturation ``[lo, hi]`` (counted in ``sat[blk]``): the
    engine's integer operations (``_accumulate`` and ``_step_pop``) in its order.
    """
    n_b = YT.shape[1]
    n_post = OT.shape[0]
    n_blocks = (n_b + block - 1) // block
    for blk in nb.prange(n_blocks):
        b0 = blk * block
        b1 = min(n_b, b0 + block)
        acc = np.empty(b1 - b0, dtype=acc_proto.dtype)
        tot = totals[blk]
        n_sat = 0
        for j in range(n_post):
            _gather(YT, colptr, rows, data, acc, j, b0, b1)
            m = mult[j]
            bj = bias[j]
            cj = cap[j]
            orow = OT[j, b0:b1]
            count = 0
            for b in range(b1 - b0):
                x = np.int64(acc[b]) * m
                if shift > 0:
                    x = (x + (np.int64(1) << (shift - 1))) >> shift
                z = x + bj
                if rectify:
                    z = max(z, np.int64(0))
                    z = min(z, cj)
                z, n_sat = saturate(z, lo, hi, n_sat)
                orow[b] = z
                count += z != 0
            tot[j] += count
        sat[blk] = n_sat
