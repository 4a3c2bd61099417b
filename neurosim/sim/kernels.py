"""Fast sparse propagation kernels shared by the simulator backends.

The hot operation of every backend is batched sparse propagation
``Z = Y @ W``: ``Y`` is a dense batch of activations (``n_inputs x n_pre``,
mostly zero: spikes or rectified activations), ``W`` a CSR weight matrix
(``n_pre x n_post``). The compiled kernels here walk each input row, skip
zero activations and scatter ``y_i * W[i, :]`` into the output row
("row scatter"), in parallel over inputs (numba ``prange``; the kernels live
in :mod:`neurosim.sim._jit_propagate`, compiled once per machine and cached
on disk). For each output ``Z[b, j]`` the contributions are added in
increasing pre-neuron order ``i``, which is also the order Brian2 applies
synaptic events (synapses created in CSR order), so float results agree bit
for bit.

Baselines (used by ``benchmarks/bench_sim_graded.py``):

* :func:`propagate_csr_csr` -- ``scipy.sparse`` CSR activations times CSR weights;
* :func:`propagate_dense_csr` -- dense activations times CSR weights (scipy).

Kernels:

* :func:`propagate` -- ``Y @ W`` skipping zeros (float32, float64 or int64);
* :func:`propagate_saturating` -- integer ``Y @ W`` whose accumulator saturates
  at ``[lo, hi]`` after every addition, counting saturations;
* :func:`relu_layer` -- fused ``min(cap, max(0, Y @ W + bias))``, one pass;
* :func:`relu_step` -- the bias/ReLU/cap step alone, in place.
"""

from __future__ import annotations

import sys
from functools import cache

import numpy as np
import scipy.sparse as sp

__all__ = [
    "csr_arrays",
    "accumulation_fits",
    "graded_layer",
    "graded_layer_fixed",
    "load_compiled",
    "propagate",
    "propagate_csr_csr",
    "propagate_dense_csr",
    "propagate_saturating",
    "relu_layer",
    "relu_step",
]


#: multiply-adds below which a process that has not loaded numba yet computes
#: with scipy instead (bit-identical, see :func:`_small`): loading numba and its
#: cached kernels costs about a second, more than such a job takes in scipy
_SMALL_WORK = 1 << 23
#: batches with fewer rows run the serial kernel
_PARALLEL_MIN_ROWS = 8
#: float32 inputs per block of the feature-major graded kernel (one vectorised
#: inner loop); float64 blocks hold half as many
_BLOCK = 128


# --------------------------------------------------------------- baselines
def propagate_csr_csr(Y: sp.spmatrix, W: sp.spmatrix) -> sp.csr_matrix:
    """Baseline: sparse activations times sparse weights with scipy (CSR x CSR)."""
    return sp.csr_matrix(Y) @ sp.csr_matrix(W)


def propagate_dense_csr(Y: np.ndarray, W: sp.spmatrix) -> np.ndarray:
    """Baseline: dense activations times CSR weights with scipy (no zero skipping)."""
    return np.asarray(Y @ sp.csr_matrix(W))


# ----------------------------------------------------------------- helpers
def csr_arrays(
    W: sp.spmatrix, dtype: np.dtype | type = np.float64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, data)`` of ``W`` as canonical CSR, indices int64, data ``dtype``."""
    W = sp.csr_matrix(W)
    if not W.has_canonical_format:
        W = W.copy()
        W.sum_duplicates()
    return (
        np.ascontiguousarray(W.indptr, dtype=np.int64),
        np.ascontiguousarray(W.indices, dtype=np.int64),
        np.ascontiguousarray(W.data, dtype=dtype),
    )


@cache
def _compiled() -> tuple:
    """The numba kernels (:mod:`neurosim.sim._jit_propagate`), imported on first use.

    They are top-level ``cache=True`` functions taking every array as an
    argument, so numba compiles each type signature once per machine and
    every later process loads it from the on-disk cache.
    """
    from neurosim.sim import _jit_propagate as jp

    return jp.scatter, jp.scatter_sat, jp.relu_fused, jp.scatter_serial, jp.graded_fused_t


def load_compiled() -> None:
    """Load numba and the kernels now (from the on-disk cache after the first use).

    A process that runs many small jobs (a sweep, a Dask worker) calls this once
    so that every job uses the compiled kernels: until numba is loaded, small
    jobs take the scipy / engine paths, which cost more per job than the
    kernels but save the ~1 s numba start-up of a one-off run.
    """
    from neurosim.sim import _jit_run  # noqa: F401

    _compiled()


def _small(n_rows: int, nnz: int) -> bool:
    """Use scipy: numba is not loaded in this process and the job is small.

    scipy's dense-times-CSR product (``(W.T @ Y.T).T``, CSC mat-vecs) adds the
    contributions to each output in increasing pre-neuron order, the kernels'
    order; the kernels skip zero activations, which changes nothing (adding
    ``+-0.0`` to a sum that starts at ``+0.0`` leaves it unchanged), so both
    give the same bits (``tests/sim/test_kernels.py`` checks it).
    """
    return "numba" not in sys.modules and n_rows * max(nnz, 1) < _SMALL_WORK


def _scipy_product(
    Y: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_post: int
) -> np.ndarray:
    """``Y @ W`` with scipy in the dtype of ``data``.

    The CSR arrays of ``W`` read as CSC are ``W.T``; ``W.T @ Y.T`` runs scipy's
    CSC mat-vecs, which add into each output in increasing pre-neuron order.
    """
    Wt = sp.csc_matrix((data, indices, indptr), shape=(n_post, len(indptr) - 1))
    return np.asarray(Wt @ Y.astype(data.dtype, copy=False).T).T


def _check(Y: np.ndarray, W: sp.spmatrix) -> None:
    if Y.ndim != 2 or Y.shape[1] != W.shape[0]:
        raise ValueError(f"activations of shape {Y.shape} do not match weights of shape {W.shape}")


def propagate(
    Y: np.ndarray,
    W: sp.spmatrix | tuple[np.ndarray, np.ndarray, np.ndarray],
    out: np.ndarray | None = None,
    *,
    n_post: int | None = None,
) -> np.ndarray:
    """Batched ``Y @ W`` skipping zero activations (compiled row scatter).

    Parameters
    ----------
    Y : ndarray, shape (n_inputs, n_pre)
        Activations (float32, float64, int64 or bool); C-contiguous is fastest.
    W : csr_matrix (n_pre, n_post) or (indptr, indices, data) from :func:`csr_arrays`
    out : ndarray, shape (n_inputs, n_post), optional
        Accumulated into (not cleared); a new zero array of the result dtype if omitted.
    n_post : int, optional
        Number of columns; needed only when ``W`` is given as arrays and ``out`` is not.

    Returns
    -------
    ndarray, shape (n_inputs, n_post)
        Contributions to each output added in increasing pre-neuron order.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> propagate(np.array([[1.0, 0.0]]), sp.csr_matrix([[0.5, 0.0], [1.0, 2.0]]))
    array([[0.5, 0. ]])
    """
    if isinstance(W, tuple):
        indptr, indices, data = W
        if n_post is None and out is None:
            raise ValueError("propagate: n_post is needed when W is given as CSR arrays")
    else:
        _check(Y, W)
        n_post = W.shape[1]
        indptr, indices, data = csr_arrays(
            W, np.result_type(Y.dtype if Y.dtype != bool else np.float64, np.float32)
        )
    Y = np.ascontiguousarray(Y)
    if Y.dtype == bool:
        Y = Y.view(np.uint8)
    if out is None:
        dtype = np.result_type(data.dtype, Y.dtype)
        out = np.zeros((Y.shape[0], int(n_post)), dtype=dtype)  # type: ignore[arg-type]
    if _small(Y.shape[0], len(data)) and not out.any():
        out[...] = _scipy_product(Y, indptr, indices, data.astype(out.dtype), out.shape[1])
        return out
    scatter, _, _, serial, _ = _compiled()
    # small batches (spiking runs): the parallel launch costs more than it saves
    fn = serial if Y.shape[0] < _PARALLEL_MIN_ROWS else scatter
    fn(Y, indptr, indices, data.astype(out.dtype, copy=False), out)
    return out


def propagate_saturating(
    Y: np.ndarray,
    W: sp.spmatrix | tuple[np.ndarray, np.ndarray, np.ndarray],
    lo: int,
    hi: int,
    out: np.ndarray | None = None,
    *,
    n_post: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer ``Y @ W`` with an accumulator that saturates after every addition.

    Synaptic events are applied in increasing pre-neuron order; whenever the
    running sum leaves ``[lo, hi]`` it is clipped and one saturation counted.

    Returns
    -------
    out : ndarray of int64, shape (n_inputs, n_post)
    saturations : ndarray of int64, shape (n_inputs,)
        Saturation events per input row.
    """
    if isinstance(W, tuple):
        indptr, indices, data = W
    else:
        _check(Y, W)
        n_post = W.shape[1]
        indptr, indices, data = csr_arrays(W, np.int64)
    Y = np.ascontiguousarray(Y, dtype=np.int64)
    if out is None:
        out = np.zeros((Y.shape[0], int(n_post)), dtype=np.int64)  # type: ignore[arg-type]
    sat = np.zeros(Y.shape[0], dtype=np.int64)
    data = data.astype(np.int64, copy=False)
    if _small(Y.shape[0], len(data)) and not out.any():
        # no partial sum can leave [lo, hi] when the sums of magnitudes stay inside
        reach = min(hi, -lo)
        colsum = np.bincount(indices, np.abs(data), minlength=out.shape[1])
        # (float64 sums: a hair of margin for rounding above 2**53)
        fits = float(np.abs(Y).max(initial=0)) * colsum.max(initial=0.0) <= reach * (1 - 2**-40)
        if not fits:
            top = _scipy_product(np.abs(Y), indptr, indices, np.abs(data), out.shape[1])
            fits = top.max(initial=0) <= reach
        if fits:
            out[...] = _scipy_product(Y, indptr, indices, data, out.shape[1])
            return out, sat
    _, scatter_sat, _, _, _ = _compiled()
    scatter_sat(
        Y, indptr, indices, data.astype(np.int64, copy=False), np.int64(lo), np.int64(hi), out, sat
    )
    return out, sat


def relu_layer(
    Y: np.ndarray,
    W: sp.spmatrix | tuple[np.ndarray, np.ndarray, np.ndarray],
    bias: np.ndarray | float,
    cap: np.ndarray | float = np.inf,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """One graded layer in one pass: ``min(cap, max(0, Y @ W + bias))``.

    Parameters
    ----------
    Y : ndarray, shape (n_inputs, n_pre), float32 or float64
    W : csr_matrix (n_pre, n_post) or (indptr, indices, data)
    bias, cap : float or ndarray (n_post,)
    out : ndarray, shape (n_inputs, n_post), optional
        Overwritten; must not be ``Y``.

    Returns
    -------
    ndarray, shape (n_inputs, n_post), the dtype of ``Y``
    """
    Y = np.ascontiguousarray(Y)
    if Y.dtype not in (np.float32, np.float64):
        Y = Y.astype(np.float64)
    if isinstance(W, tuple):
        indptr, indices, data = W
        n_post = (
            int(np.asarray(bias).shape[0])
            if np.ndim(bias)
            else (out.shape[1] if out is not None else None)
        )
        if n_post is None:
            raise ValueError(
                "relu_layer: give bias as an array or out when W is given as CSR arrays"
            )
    else:
        _check(Y, W)
        n_post = W.shape[1]
        indptr, indices, data = csr_arrays(W, Y.dtype)
    if out is None:
        out = np.empty((Y.shape[0], n_post), dtype=Y.dtype)
    elif out is Y:
        raise ValueError("relu_layer: out must not be the input array")
    b = np.broadcast_to(np.asarray(bias, dtype=Y.dtype), (n_post,))
    c = np.broadcast_to(np.asarray(cap, dtype=Y.dtype), (n_post,))
    _, _, fused, _, _ = _compiled()
    fused(
        Y,
        indptr,
        indices,
        data.astype(Y.dtype, copy=False),
        np.ascontiguousarray(b),
        np.ascontiguousarray(c),
        out,
    )
    return out


def graded_layer(
    Y: np.ndarray,
    W: tuple[np.ndarray, np.ndarray, np.ndarray],
    bias: np.ndarray,
    cap: np.ndarray,
    *,
    rectify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One graded population fed by one projection, in one pass, counting nonzero outputs.

    ``out = min(cap, max(lo, Y @ W + bias))`` with ``lo = 0`` (ReLU) or
    ``-inf`` (``rectify=False``: linear, pass ``cap = inf``); the same
    operations, in the same order, as :func:`neurosim.neurons.relu_step`.

    The kernel works feature-major (activations as ``(n, n_inputs)``), in
    blocks of :data:`_BLOCK` inputs processed in parallel, with the inner loop
    over the inputs of a block (vectorised); a pre neuron silent for the whole
    block is skipped. Each output still adds its inputs in increasing
    pre-neuron order, so results equal :func:`propagate` followed by
    :func:`relu_step` bit for bit.

    Returns
    -------
    out : ndarray (n_inputs, n_post), the dtype of ``Y``, F-contiguous
        (a transposed view of the feature-major result; pass it to the next
        layer as is)
    nonzero : ndarray of int64 (n_post,)
        Inputs for which each neuron's output is nonzero.
    """
    indptr, indices, data = W
    n_post = bias.shape[0]
    if Y.dtype not in (np.float32, np.float64):
        Y = Y.astype(np.float64)
    lo = Y.dtype.type(0 if rectify else -np.inf)
    if _small(Y.shape[0], len(data)):
        Z = _scipy_product(Y, indptr, indices, data.astype(Y.dtype, copy=False), n_post)
        Z += np.asarray(bias, dtype=Y.dtype)  # the kernel's operations, in its order
        np.maximum(Z, lo, out=Z)
        np.minimum(Z, np.asarray(cap, dtype=Y.dtype), out=Z)
        return Z, np.count_nonzero(Z, axis=0).astype(np.int64)
    # work feature-major: (n, n_inputs) C-contiguous; an F-contiguous Y (as this
    # function returns) is used without a copy
    YT = Y.T if Y.flags.f_contiguous else np.ascontiguousarray(Y.T)
    n_b = Y.shape[0]
    block = _BLOCK * 4 // Y.dtype.itemsize  # same bytes per block for float32 and float64
    n_blocks = max(1, -(-n_b // block))
    OT = np.empty((n_post, n_b), dtype=Y.dtype)
    totals = np.zeros((n_blocks, n_post), dtype=np.int64)
    fused_t = _compiled()[4]
    fused_t(
        YT,
        indptr,
        indices,
        data.astype(Y.dtype, copy=False),
        np.ascontiguousarray(bias, dtype=Y.dtype),
        lo,
        np.ascontiguousarray(cap, dtype=Y.dtype),
        OT,
        totals,
        block,
    )
    out = OT.T
    return out, totals.sum(axis=0)


def accumulation_fits(
    Y: np.ndarray, data: np.ndarray, indices: np.ndarray, n_post: int, reach: int
) -> bool:
    """No partial sum of ``Y @ W`` can exceed ``reach`` in magnitude (data-free bound
    ``max|y| * max_j sum_i |w_ij|``, float64 with a hair of margin)."""
    colsum = np.bincount(indices, np.abs(data), minlength=n_post)
    top = float(np.abs(Y).max(initial=0)) * float(colsum.max(initial=0.0))
    return top <= reach * (1 - 2**-40)


def graded_layer_fixed(
    Y: np.ndarray,
    W: tuple[np.ndarray, np.ndarray, np.ndarray],
    mult: np.ndarray,
    shift: int,
    bias: np.ndarray,
    cap: np.ndarray | None,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """One fixed-point graded population fed by one projection, in one pass.

    ``y = sat(min(cap, max(0, round(Y @ W * mult / 2**shift) + bias)))`` (no
    ReLU/cap when ``cap`` is None: linear), the operations of the engine's
    fixed-point step in its order. The caller guarantees that no accumulator
    can saturate (:func:`accumulation_fits`): the integer sum is then exact in
    any order, so the feature-major kernel (as :func:`graded_layer`) gives the
    engine's bits.

    Returns
    -------
    out : ndarray of int64 (n_inputs, n_post), F-contiguous
    nonzero : ndarray of int64 (n_post,)
    saturations : int
        State saturations.
    """
    indptr, indices, data = W
    n_post = bias.shape[0]
    Y = np.asarray(Y, dtype=np.int64)
    rectify = cap is not None
    capv = np.ascontiguousarray(cap if rectify else np.full(n_post, hi), dtype=np.int64)
    data = np.ascontiguousarray(data, dtype=np.int64)
    if _small(Y.shape[0], len(data)):
        x = _scipy_product(Y, indptr, indices, data, n_post) * mult
        z = (x + (1 << (shift - 1))) >> shift if shift > 0 else x
        z += bias
        if rectify:
            np.maximum(z, 0, out=z)
            np.minimum(z, capv, out=z)
        n_sat = int(np.count_nonzero((z > hi) | (z < lo)))
        np.clip(z, lo, hi, out=z)
        return z, np.count_nonzero(z, axis=0).astype(np.int64), n_sat
    # int32 sums (twice the lanes per vector) when no partial sum can leave int32
    narrow = accumulation_fits(Y, data, indices, n_post, 2**31 - 1)
    acc_dtype = np.int32 if narrow else np.int64
    Ya = Y.astype(acc_dtype, copy=False)
    YT = Ya.T if Ya.flags.f_contiguous else np.ascontiguousarray(Ya.T)
    n_b = Y.shape[0]
    block = _BLOCK * 4 // np.dtype(acc_dtype).itemsize  # the bytes of a float32 block
    n_blocks = max(1, -(-n_b // block))
    OT = np.empty((n_post, n_b), dtype=np.int64)
    ACC = np.empty((n_post, n_b), dtype=np.int32) if narrow else OT
    totals = np.zeros((n_blocks, n_post), dtype=np.int64)
    sat = np.zeros(n_blocks, dtype=np.int64)
    from neurosim.sim._jit_propagate import graded_fixed_t

    graded_fixed_t(
        YT, indptr, indices, data.astype(acc_dtype), np.ascontiguousarray(mult, dtype=np.int64),
        int(shift), np.ascontiguousarray(bias, dtype=np.int64), capv, rectify, np.int64(lo),
        np.int64(hi), ACC, OT, totals, sat, block,
    )  # fmt: skip
    return OT.T, totals.sum(axis=0), int(sat.sum())


def relu_step(
    Z: np.ndarray, bias: np.ndarray | float, cap: np.ndarray | float = np.inf
) -> np.ndarray:
    """In place: ``Z = min(cap, max(0, Z + bias))``; returns ``Z``."""
    Z += np.asarray(bias, dtype=Z.dtype)
    np.maximum(Z, 0, out=Z)
    np.minimum(Z, np.asarray(cap, dtype=Z.dtype), out=Z)
    return Z
