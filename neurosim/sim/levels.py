"""Integer weight levels shared by the fixed-point compiler and the precision model.

* :func:`integer_weights`: a quantized projection's integer matrix, axon
  types expanded.
* :func:`reduce_levels`: each post neuron's integer weights divided by their
  greatest common divisor, its scale multiplied by it (the same real weights,
  the smallest integers; see :mod:`neurosim.sim.precision`).
* :func:`reduced_quantized`: a lazy view of a ``quantized`` mapping through
  :func:`reduce_levels`.

It sits below :mod:`neurosim.sim.compile`, :mod:`neurosim.sim.chip` and
:mod:`neurosim.sim.precision`, which all read it, so none of them imports
another for these pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["Reduced", "integer_weights", "reduce_levels", "reduced_quantized"]


def integer_weights(q: Any) -> sp.csr_matrix:
    """The integer weight matrix of a quantized projection (expanding axon types)."""
    w = sp.csr_matrix(q.weights)
    if q.axon_types is None or q.type_weights is None:
        return w
    coo = w.tocoo()
    data = np.asarray(q.type_weights)[np.asarray(q.axon_types)[coo.row], coo.col]
    out = sp.csr_matrix((data, (coo.row, coo.col)), shape=w.shape)
    out.eliminate_zeros()
    return out


def reduce_levels(weights: sp.spmatrix, scale: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Integer weights divided per post neuron (column) by their gcd; scales multiplied by it.

    ``levels[i, j] * scale[j]`` is unchanged for every synapse. Columns
    without synapses keep their scale.

    Examples
    --------
    >>> w, s = reduce_levels(sp.csr_matrix([[127.0, 0.0], [127.0, 6.0]]), np.array([0.5, 1.0]))
    >>> w.toarray().tolist(), s.tolist()
    ([[1.0, 0.0], [1.0, 1.0]], [63.5, 6.0])
    """
    csc = sp.csc_matrix(weights, dtype=np.float64, copy=True)
    csc.sum_duplicates()
    csc.eliminate_zeros()
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (csc.shape[1],)).copy()
    if not csc.nnz:
        return csc.tocsr(), scale
    levels = np.abs(csc.data).astype(np.int64)
    starts = csc.indptr[:-1]
    filled = np.flatnonzero(np.diff(csc.indptr) > 0)
    g = np.ones(csc.shape[1], dtype=np.int64)
    g[filled] = np.gcd.reduceat(levels, starts[filled])
    g = np.maximum(g, 1)
    csc.data = csc.data / np.repeat(g, np.diff(csc.indptr))
    return csc.tocsr(), scale * g


@dataclass(frozen=True)
class Reduced:
    """Integer levels (``weights``) and per post neuron ``scale`` of one projection."""

    weights: sp.csr_matrix
    scale: np.ndarray


class ReducedMapping(Mapping):
    """``quantized`` with every projection's levels reduced (computed on first use)."""

    def __init__(self, quantized: Mapping[str, Any]) -> None:
        self._q = quantized
        self._done: dict[str, Reduced] = {}

    def __getitem__(self, name: str) -> Reduced:
        if name not in self._done:
            q = self._q[name]
            self._done[name] = Reduced(*reduce_levels(q.weights, np.asarray(q.scale)))
        return self._done[name]

    def __iter__(self):
        return iter(self._q)

    def __len__(self) -> int:
        return len(self._q)


def reduced_quantized(quantized: Mapping[str, Any]) -> Mapping[str, Any]:
    """A view of ``quantized`` (name -> ``weights``, ``scale``) through :func:`reduce_levels`."""
    if isinstance(quantized, ReducedMapping):
        return quantized
    return ReducedMapping(quantized)
