"""Editing a mapped network: the few primitive changes every fault is made of.

Each function returns new values (a new :class:`~neurosim.network.Network`,
new :class:`~neurosim.mapping.mapped.QuantizedProjection` objects, a new
:class:`~neurosim.mapping.mapped.MappedNetwork`); nothing is modified in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel

__all__ = [
    "keep_rows_cols",
    "remove_pattern",
    "replace_population",
    "silence",
    "with_changes",
]


def keep_rows_cols(w: sp.spmatrix, keep_rows: np.ndarray, keep_cols: np.ndarray) -> sp.csr_matrix:
    """``w`` with the rows and columns not kept set to zero (stored zeros removed)."""
    out = sp.csr_matrix(w, copy=True)
    coo = out.tocoo()
    ok = keep_rows[coo.row] & keep_cols[coo.col]
    res = sp.csr_matrix((coo.data[ok], (coo.row[ok], coo.col[ok])), shape=w.shape, dtype=out.dtype)
    res.sort_indices()
    return res


def remove_pattern(w: sp.spmatrix, rows: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
    """``w`` without its entries at ``(rows[k], cols[k])`` (absent entries are ignored)."""
    w = sp.csr_matrix(w)
    if rows.size == 0:
        return w.copy()
    hit = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=w.shape) > 0
    coo = w.tocoo()
    drop = np.asarray(hit[coo.row, coo.col]).ravel().astype(bool)
    keep = ~drop
    res = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=w.shape, dtype=w.dtype
    )
    res.sort_indices()
    return res


def replace_population(
    pop: Population, *, bias: np.ndarray | None = None, params: Mapping[str, Any] | None = None
) -> Population:
    """A copy of ``pop`` with a new bias and/or some neuron parameters replaced."""
    model = pop.model
    if params:
        model = NeuronModel(model.kind, {**dict(model.params), **dict(params)}, model.reset)
    return Population(pop.name, pop.size, model, pop.bias if bias is None else bias)


def with_changes(
    mapped: Any,
    *,
    weights: Mapping[str, sp.csr_matrix] | None = None,
    quantized: Mapping[str, Any] | None = None,
    populations: Mapping[str, Population] | None = None,
    record: Mapping[str, Any] | None = None,
) -> Any:
    """A new MappedNetwork with hardware projections, quantized weights and populations replaced.

    ``record`` (what was done, with counts) is appended to ``info["faults"]``.
    """
    hw = mapped.hw_network
    weights = dict(weights or {})
    pops = dict(populations or {})
    new_hw = hw
    if weights or pops:
        new_hw = hw.replace(
            populations=tuple(pops.get(p.name, p) for p in hw.populations),
            projections=tuple(
                Projection(pr.pre, pr.post, weights[pr.name], pr.name) if pr.name in weights else pr
                for pr in hw.projections
            ),
        )
    q = dict(mapped.quantized)
    q.update(quantized or {})
    info = dict(mapped.info)
    if record is not None:
        info["faults"] = [*info.get("faults", []), dict(record)]
    return dataclasses.replace(mapped, hw_network=new_hw, quantized=q, info=info)


def silence(
    network: Network,
    quantized: Mapping[str, Any] | None,
    dead: Mapping[str, np.ndarray],
    *,
    outputs: bool = True,
) -> tuple[dict[str, sp.csr_matrix], dict[str, Any], dict[str, Population]]:
    """Cut the inputs (and, with ``outputs``, the outputs) and bias of the ``dead`` neurons.

    A neuron with no input, zero bias and zero initial state emits nothing
    (ReLU and linear give 0; IF/LIF never reach a positive threshold).

    Returns
    -------
    weights, quantized, populations
        The changed projections (float weights and, if given, quantized) and
        populations; unchanged ones are left out.
    """
    sizes = {p.name: p.size for p in network.populations}
    alive = {n: ~np.asarray(dead.get(n, np.zeros(s, bool)), dtype=bool) for n, s in sizes.items()}
    weights: dict[str, sp.csr_matrix] = {}
    quant: dict[str, Any] = {}
    for pr in network.projections:
        rows = alive[pr.pre] if outputs else np.ones(sizes[pr.pre], bool)
        cols = alive[pr.post]
        if rows.all() and cols.all():
            continue
        weights[pr.name] = keep_rows_cols(pr.weights, rows, cols)
        if quantized is not None:
            q = quantized[pr.name]
            quant[pr.name] = dataclasses.replace(q, weights=keep_rows_cols(q.weights, rows, cols))
    pops = {}
    for p in network.populations:
        if p.name in dead and np.any(dead[p.name]):
            pops[p.name] = replace_population(p, bias=np.where(alive[p.name], p.bias, 0.0))
    return weights, quant, pops
