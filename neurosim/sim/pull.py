"""Post-major ("pull") graded layers for dense activation batches.

The feature-major push kernels of :mod:`neurosim.sim.kernels`
(:func:`~neurosim.sim.kernels.graded_layer`,
:func:`~neurosim.sim.kernels.graded_layer_fixed`) scatter every synapse into
an output block of ``n_post x block`` values: one load and one store of a
block row per synapse, from L2. The pull kernels here walk ``W`` by columns
(CSC) instead: each output neuron gathers its inputs into an accumulator row
that stays in L1 and is written once, so a synapse costs one load of an input
row and one multiply-add. Results are the push kernels' bits: floats add each
output's inputs in increasing pre-neuron order with no fused multiply-add;
fixed-point sums are exact integers (the caller's bound excludes accumulator
saturation), then rounded, rectified and saturated in the same order.

Used by :func:`neurosim.io.graph_challenge.challenge_inference` and
``benchmarks/bench_graph_challenge.py``. Pass the same activations on to the
next layer: outputs are F-contiguous views of the feature-major result.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["PULL_BLOCK", "csc_arrays", "pull_block", "pull_layer", "pull_layer_fixed"]

#: largest number of float32 inputs per block (float64 and int64 blocks hold the
#: same bytes): the longer a block, the fewer loop overheads per synapse; the
#: accumulator row (2 KiB) stays in L1 while the input rows stream from L2/L3
PULL_BLOCK = 512


@cache
def _compiled() -> Any:
    from neurosim.sim import _jit_pull

    return _jit_pull


def csc_arrays(W: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(colptr, rows, data)`` of ``W`` as CSC with increasing rows per column.

    ``W`` is a sparse matrix or a CSR triple ``(indptr, indices, data)`` (the
    number of columns is then ``max(indices) + 1`` at least; pass a matrix when
    trailing columns are empty). Duplicate entries keep their CSR order.
    """
    if isinstance(W, tuple):
        indptr, indices, data = W
        n_cols = int(indices.max(initial=-1)) + 1
        W = sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_cols))
    c = sp.csc_matrix(W)
    if not c.has_sorted_indices:
        c = c.sorted_indices()
    return c.indptr, c.indices, c.data


def pull_block(n_inputs: int, itemsize: int, n_threads: int | None = None) -> int:
    """Inputs per block: at most :data:`PULL_BLOCK` float32-sized values, the
    inputs shared evenly by the threads, a multiple of 16."""
    if n_threads is None:
        import numba

        n_threads = numba.get_num_threads()
    top = PULL_BLOCK * 4 // itemsize
    share = -(-n_inputs // max(1, n_threads))
    return int(min(top, max(16, -(-share // 16) * 16)))


def _feature_major(Y: np.ndarray, dtype: Any) -> np.ndarray:
    """``Y.T`` as a C-contiguous ``(n, n_inputs)`` array of ``dtype`` (no copy when possible)."""
    Y = np.asarray(Y)
    if Y.flags.f_contiguous and Y.dtype == dtype:
        return Y.T
    return np.ascontiguousarray(Y.T, dtype=dtype)


def pull_layer(
    Y: np.ndarray,
    Wc: tuple[np.ndarray, np.ndarray, np.ndarray],
    bias: np.ndarray,
    cap: np.ndarray,
    *,
    rectify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``min(cap, max(lo, Y @ W + bias))`` (``lo = 0``, or ``-inf`` when not
    ``rectify``), float32 or float64 (the dtype of ``Y``; others become float64).

    Parameters
    ----------
    Y : ndarray (n_inputs, n_pre)
    Wc : (colptr, rows, data)
        ``W`` as CSC, rows increasing per column (:func:`csc_arrays`).
    bias, cap : ndarray (n_post,)

    Returns
    -------
    out : ndarray (n_inputs, n_post), F-contiguous
    nonzero : ndarray of int64 (n_post,)
        Inputs for which each neuron's output is nonzero.
    """
    colptr, rows, data = Wc
    dtype = Y.dtype if Y.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    YT = _feature_major(Y, dtype)
    n_post, n_b = len(colptr) - 1, YT.shape[1]
    block = pull_block(n_b, dtype.itemsize)
    n_blocks = max(1, -(-n_b // block))
    OT = np.empty((n_post, n_b), dtype=dtype)
    totals = np.zeros((n_blocks, n_post), dtype=np.int64)
    _compiled().pull_float_t(
        YT, colptr, rows, np.ascontiguousarray(data, dtype=dtype),
        np.ascontiguousarray(np.broadcast_to(bias, (n_post,)), dtype=dtype),
        dtype.type(0 if rectify else -np.inf),
        np.ascontiguousarray(np.broadcast_to(cap, (n_post,)), dtype=dtype), OT, totals, block,
    )  # fmt: skip
    return OT.T, totals.sum(axis=0)


def _fits(Y: np.ndarray, data: np.ndarray, rows: np.ndarray, n_post: int) -> bool:
    """:func:`~neurosim.sim.kernels.accumulation_fits` for int32, without an ``abs`` copy of ``Y``."""
    from neurosim.sim.kernels import accumulation_fits

    if Y.size == 0:
        return True
    top = max(int(Y.max()), -int(Y.min()))
    return accumulation_fits(np.array([float(top)]), data, rows, n_post, 2**31 - 1)


def pull_layer_fixed(
    Y: np.ndarray,
    Wc: tuple[np.ndarray, np.ndarray, np.ndarray],
    mult: np.ndarray,
    shift: int,
    bias: np.ndarray,
    cap: np.ndarray | None,
    lo: int,
    hi: int,
    *,
    narrow_out: bool = False,
) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`neurosim.sim.kernels.graded_layer_fixed` with the pull kernel (the same integers).

    ``y = sat(min(cap, max(0, round(Y @ W * mult / 2**shift) + bias)))`` (no
    ReLU/cap when ``cap`` is None), sums in int32 when no partial sum can
    leave int32 (:func:`~neurosim.sim.kernels.accumulation_fits`; the inputs
    are then read as int32 too), else int64. The caller guarantees that no
    accumulator of the chip can saturate, as for ``graded_layer_fixed``.
    ``narrow_out``: return int32 when ``[lo, hi]`` fits int32 (a chain of
    layers then reads its inputs without a conversion).

    Returns
    -------
    out : ndarray of int64 (or int32, see ``narrow_out``) (n_inputs, n_post), F-contiguous
    nonzero : ndarray of int64 (n_post,)
    saturations : int
        State saturations.
    """
    colptr, rows, data = Wc
    n_post = len(colptr) - 1
    Y = np.asarray(Y)
    data = np.asarray(data)
    narrow = _fits(Y, data, rows, n_post)
    acc_dtype = np.dtype(np.int32 if narrow else np.int64)
    YT = _feature_major(Y, acc_dtype)
    n_b = YT.shape[1]
    block = pull_block(n_b, acc_dtype.itemsize)
    n_blocks = max(1, -(-n_b // block))
    rectify = cap is not None
    capv = np.ascontiguousarray(np.broadcast_to(cap if rectify else hi, (n_post,)), dtype=np.int64)
    small = narrow_out and -(2**31) <= lo and hi < 2**31
    OT = np.empty((n_post, n_b), dtype=np.int32 if small else np.int64)
    totals = np.zeros((n_blocks, n_post), dtype=np.int64)
    sat = np.zeros(n_blocks, dtype=np.int64)
    _compiled().pull_fixed_t(
        YT, colptr, rows, data.astype(acc_dtype), np.ascontiguousarray(mult, dtype=np.int64),
        int(shift), np.ascontiguousarray(bias, dtype=np.int64), capv, rectify, np.int64(lo),
        np.int64(hi), np.zeros(1, dtype=acc_dtype), OT, totals, sat, block,
    )  # fmt: skip
    return OT.T, totals.sum(axis=0), int(sat.sum())
