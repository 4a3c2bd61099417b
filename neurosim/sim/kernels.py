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
* :func:`relu_step` -- the bias/ReLU/cap step alone, in place;
* :func:`pull_layer`, :func:`pull_layer_fixed` -- one graded population fed
  by one projection (float, or the chip's fixed point), feature-major and
  post-major ("pull"): ``W`` is walked by columns (CSC, :func:`csc_arrays`)
  and each output neuron gathers its inputs for a block of inputs into an
  accumulator row that stays in L1 and is written once (the kernels live in
  :mod:`neurosim.sim._jit_pull`). Floats add each output's inputs in
  increasing pre-neuron order with no fused multiply-add; fixed-point sums
  are exact integers. :func:`graded_layer` and :func:`graded_layer_fixed`
  take the CSR arrays of ``W`` instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

__all__ = [
    "PULL_BLOCK",
    "accumulation_fits",
    "csc_arrays",
    "csr_arrays",
    "graded_layer",
    "graded_layer_fixed",
    "load_compiled",
    "propagate",
    "propagate_csr_csr",
    "propagate_dense_csr",
    "propagate_saturating",
    "pull_block",
    "pull_layer",
    "pull_layer_fixed",
    "relu_layer",
    "relu_step",
]

T = TypeVar("T")


#: multiply-adds below which a process that has not loaded numba yet computes
#: with scipy instead (bit-identical, see :func:`_small`): loading numba and its
#: cached kernels costs about a second, more than such a job takes in scipy
_SMALL_WORK = 1 << 23
#: batches with fewer rows run the serial kernel
_PARALLEL_MIN_ROWS = 8
#: largest number of float32 inputs per block of the pull kernels (float64 and
#: int64 blocks hold the same bytes): the longer a block, the fewer loop
#: overheads per synapse; the accumulator row (2 KiB) stays in L1 while the
#: input rows stream from L2/L3
PULL_BLOCK = 512


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

    return jp.scatter, jp.scatter_sat, jp.relu_fused, jp.scatter_serial


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
    scatter, _, _, serial = _compiled()
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
    _, scatter_sat, _, _ = _compiled()
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
    _, _, fused, _ = _compiled()
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


# ------------------------------------------------------- graded layers (pull)
@cache
def _compiled_pull() -> Any:
    """The pull kernels (:mod:`neurosim.sim._jit_pull`), imported on first use."""
    from neurosim.sim import _jit_pull

    return _jit_pull


def csc_arrays(W: Any, n_cols: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(colptr, rows, data)`` of ``W`` as CSC with increasing rows per column.

    ``W`` is a sparse matrix or a CSR triple ``(indptr, indices, data)`` with
    ``n_cols`` columns (default ``max(indices) + 1``: give it when trailing
    columns are empty). Duplicate entries keep their CSR order.
    """
    if isinstance(W, tuple):
        indptr, indices, data = W
        if n_cols is None:
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


def _scipy_product_csc(Y: np.ndarray, Wc: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """``Y @ W`` with scipy from the CSC arrays of ``W`` (read as the CSR of ``W.T``: each
    output adds its inputs in increasing pre-neuron order, the kernels' order)."""
    colptr, rows, data = Wc
    Wt = sp.csr_matrix((data, rows, colptr), shape=(len(colptr) - 1, Y.shape[1]))
    return np.asarray(Wt @ Y.astype(data.dtype, copy=False).T).T


def pull_layer(
    Y: np.ndarray,
    Wc: tuple[np.ndarray, np.ndarray, np.ndarray],
    bias: np.ndarray,
    cap: np.ndarray,
    *,
    rectify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One graded population fed by one projection, in one pass, counting nonzero outputs.

    ``out = min(cap, max(lo, Y @ W + bias))`` with ``lo = 0`` (ReLU) or
    ``-inf`` (``rectify=False``: linear, pass ``cap = inf``), float32 or
    float64 (the dtype of ``Y``; others become float64); the operations of
    :func:`neurosim.neurons.relu_step` in its order. Each output adds its
    inputs in increasing pre-neuron order (no fused multiply-add), so results
    equal :func:`propagate` followed by :func:`relu_step` bit for bit.

    Parameters
    ----------
    Y : ndarray (n_inputs, n_pre)
    Wc : (colptr, rows, data)
        ``W`` as CSC, rows increasing per column (:func:`csc_arrays`).
    bias, cap : ndarray (n_post,)

    Returns
    -------
    out : ndarray (n_inputs, n_post), F-contiguous (pass it to the next layer as is)
    nonzero : ndarray of int64 (n_post,)
        Inputs for which each neuron's output is nonzero.
    """
    colptr, rows, data = Wc
    dtype = Y.dtype if Y.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    n_post = len(colptr) - 1
    bias = np.ascontiguousarray(np.broadcast_to(bias, (n_post,)), dtype=dtype)
    cap = np.ascontiguousarray(np.broadcast_to(cap, (n_post,)), dtype=dtype)
    lo = dtype.type(0 if rectify else -np.inf)
    data = np.ascontiguousarray(data, dtype=dtype)
    if _small(Y.shape[0], len(data)):
        Z = _scipy_product_csc(np.asarray(Y, dtype=dtype), (colptr, rows, data))
        Z += bias  # the kernel's operations, in its order
        np.maximum(Z, lo, out=Z)
        np.minimum(Z, cap, out=Z)
        return Z, np.count_nonzero(Z, axis=0).astype(np.int64)
    YT = _feature_major(Y, dtype)
    n_b = YT.shape[1]
    block = pull_block(n_b, dtype.itemsize)
    OT = np.empty((n_post, n_b), dtype=dtype)
    totals = np.zeros((max(1, -(-n_b // block)), n_post), dtype=np.int64)
    _compiled_pull().pull_float_t(YT, colptr, rows, data, bias, lo, cap, OT, totals, block)
    return OT.T, totals.sum(axis=0)


def accumulation_fits(
    Y: np.ndarray, data: np.ndarray, indices: np.ndarray, n_post: int, reach: int
) -> bool:
    """No partial sum of ``Y @ W`` can exceed ``reach`` in magnitude (data-free bound
    ``max|y| * max_j sum_i |w_ij|``, float64 with a hair of margin)."""
    colsum = np.bincount(indices, np.abs(data), minlength=n_post)
    top = float(np.abs(Y).max(initial=0)) * float(colsum.max(initial=0.0))
    return top <= reach * (1 - 2**-40)


def _fits_int32(Y: np.ndarray, data: np.ndarray, colptr: np.ndarray) -> bool:
    """:func:`accumulation_fits` in int32 for the CSC arrays of ``W``, without an ``abs``
    copy of ``Y``."""
    if Y.size == 0:
        return True
    top = np.array([float(max(int(Y.max()), -int(Y.min())))])
    n_post = len(colptr) - 1
    post = np.repeat(np.arange(n_post), np.diff(colptr))
    return accumulation_fits(top, data, post, n_post, 2**31 - 1)


def _fixed_small(
    Y: np.ndarray, Wc: tuple[np.ndarray, np.ndarray, np.ndarray], mult: np.ndarray, shift: int,
    bias: np.ndarray, cap: np.ndarray, rectify: bool, lo: int, hi: int,
) -> tuple[np.ndarray, np.ndarray, int]:  # fmt: skip
    """:func:`pull_layer_fixed` with scipy (a small job in a process without numba)."""
    x = _scipy_product_csc(Y, Wc) * mult
    z = (x + (1 << (shift - 1))) >> shift if shift > 0 else x
    z += bias
    if rectify:
        np.maximum(z, 0, out=z)
        np.minimum(z, cap, out=z)
    n_sat = int(np.count_nonzero((z > hi) | (z < lo)))
    np.clip(z, lo, hi, out=z)
    return z, np.count_nonzero(z, axis=0).astype(np.int64), n_sat


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
    """One fixed-point graded population fed by one projection, in one pass.

    ``y = sat(min(cap, max(0, round(Y @ W * mult / 2**shift) + bias)))`` (no
    ReLU/cap when ``cap`` is None: linear), the operations of the engine's
    fixed-point step in its order. The caller guarantees that no accumulator
    can saturate (:func:`accumulation_fits`): the integer sum is then exact in
    any order. Sums run in int32 when no partial sum can leave int32 (the
    inputs are then read as int32 too), else int64. ``narrow_out``: return
    int32 when ``[lo, hi]`` fits int32 (a chain of layers then reads its
    inputs without a conversion).

    Returns
    -------
    out : ndarray of int64 (or int32, see ``narrow_out``) (n_inputs, n_post), F-contiguous
    nonzero : ndarray of int64 (n_post,)
    saturations : int
        State saturations.
    """
    colptr, rows, data = Wc
    n_post = len(colptr) - 1
    Y, data = np.asarray(Y), np.asarray(data)
    rectify = cap is not None
    capv = np.ascontiguousarray(np.broadcast_to(cap if rectify else hi, (n_post,)), dtype=np.int64)
    bias = np.ascontiguousarray(bias, dtype=np.int64)
    mult = np.ascontiguousarray(mult, dtype=np.int64)
    out_dtype = np.int32 if narrow_out and -(2**31) <= lo and hi < 2**31 else np.int64
    if _small(Y.shape[0], len(data)):
        Wc = (colptr, rows, data.astype(np.int64, copy=False))
        Y = Y.astype(np.int64, copy=False)
        z, nz, n_sat = _fixed_small(Y, Wc, mult, shift, bias, capv, rectify, lo, hi)
        return z.astype(out_dtype, copy=False), nz, n_sat
    acc_dtype = np.dtype(np.int32 if _fits_int32(Y, data, colptr) else np.int64)
    YT = _feature_major(Y, acc_dtype)
    n_b = YT.shape[1]
    block = pull_block(n_b, acc_dtype.itemsize)
    n_blocks = max(1, -(-n_b // block))
    OT = np.empty((n_post, n_b), dtype=out_dtype)
    totals = np.zeros((n_blocks, n_post), dtype=np.int64)
    sat = np.zeros(n_blocks, dtype=np.int64)
    _compiled_pull().pull_fixed_t(
        YT, colptr, rows, data.astype(acc_dtype), mult, int(shift), bias, capv, rectify,
        np.int64(lo), np.int64(hi), np.zeros(1, dtype=acc_dtype), OT, totals, sat, block,
    )  # fmt: skip
    return OT.T, totals.sum(axis=0), int(sat.sum())


def _csr_entry(layer: Callable[..., T], name: str) -> Callable[..., T]:
    """``layer`` (:func:`pull_layer` or :func:`pull_layer_fixed`) taking the CSR arrays of
    ``W`` instead of its CSC arrays, under ``name``."""

    def entry(Y: np.ndarray, W: tuple[np.ndarray, ...], *args: Any, **kw: Any) -> T:
        n_post = np.shape(args[0])[0]  # bias (float) or mult (fixed): one per post neuron
        return layer(Y, csc_arrays(tuple(W), n_cols=n_post), *args, **kw)

    entry.__name__ = entry.__qualname__ = name
    entry.__doc__ = (
        f":func:`{layer.__name__}` with ``W`` given as its CSR arrays ``(indptr, indices, "
        "data)``, converted to CSC on every call (a caller that runs a layer repeatedly "
        "keeps its :func:`csc_arrays`); the other arguments and the results are the same."
    )
    return entry


graded_layer = _csr_entry(pull_layer, "graded_layer")
graded_layer_fixed = _csr_entry(pull_layer_fixed, "graded_layer_fixed")


def relu_step(
    Z: np.ndarray, bias: np.ndarray | float, cap: np.ndarray | float = np.inf
) -> np.ndarray:
    """In place: ``Z = min(cap, max(0, Z + bias))``; returns ``Z``."""
    Z += np.asarray(bias, dtype=Z.dtype)
    np.maximum(Z, 0, out=Z)
    np.minimum(Z, np.asarray(cap, dtype=Z.dtype), out=Z)
    return Z
