"""Synapse-level faults: stuck-at-zero synapses and bit flips in synapse memory.

Synapses are the stored entries of each hardware projection's quantized
weights (``QuantizedProjection.weights``, canonical CSR order), i.e. what
the chip's synapse memory holds. Bit encodings: :mod:`neurosim.faults.bits`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.faults.bits import flip_weight_bits, weight_bits
from neurosim.faults.edit import remove_pattern, with_changes

__all__ = ["bit_flip", "bits_per_synapse", "core_slots", "flip_bits", "synapse_stuck_zero"]


def synapse_stuck_zero(mapped: Any, rate: float, rng: np.random.Generator, **_: Any) -> Any:
    """Each stored synapse stuck at 0 with probability ``rate``."""
    weights, quant, n = {}, {}, 0
    for pr in mapped.hw_network.projections:
        q = mapped.quantized[pr.name]
        coo = sp.csr_matrix(q.weights).tocoo()
        hit = rng.random(coo.nnz) < rate
        if not hit.any():
            continue
        rows, cols = coo.row[hit], coo.col[hit]
        quant[pr.name] = dataclasses.replace(q, weights=remove_pattern(q.weights, rows, cols))
        weights[pr.name] = remove_pattern(pr.weights, rows, cols)
        n += int(hit.sum())
    rec = {"kind": "synapse_stuck_zero", "rate": rate, "stuck": n}
    return with_changes(mapped, weights=weights, quantized=quant, record=rec)


def bits_per_synapse(profile: Any) -> tuple[int, int]:
    """``(weight bits, index bits)`` stored per synapse (index bits only on sparse cores)."""
    wb = weight_bits(profile.get("weights.kind"), int(profile.get("weights.bits")))
    sparse = profile.get("core.synapse_encoding") == "sparse"
    ib = int(profile.get("core.index_bits") or 0) if sparse else 0
    return wb, ib


def core_slots(mapped: Any) -> dict[int, tuple[list[str], np.ndarray, np.ndarray]]:
    """Per core, its neuron slots: (population names, population id per slot, neuron per slot).

    Slot ``k`` of a core is its ``k``-th neuron, populations in the hardware
    network's topological order, neurons in index order: the index a sparse
    synapse stores.
    """
    names = [n for n in mapped.hw_network.order() if n in mapped.core_of]
    pid, idx, core = [], [], []
    for k, name in enumerate(names):
        c = np.asarray(mapped.core_of[name])
        on = np.flatnonzero(c >= 0)
        pid.append(np.full(on.size, k))
        idx.append(on)
        core.append(c[on])
    pid_a, idx_a, core_a = (
        np.concatenate(a) if a else np.zeros(0, np.int64) for a in (pid, idx, core)
    )
    order = np.argsort(core_a, kind="stable")
    out = {}
    bounds = np.searchsorted(core_a[order], np.unique(core_a), side="left").tolist() + [order.size]
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        sel = order[start:stop]
        out[int(core_a[sel[0]])] = (names, pid_a[sel], idx_a[sel])
    return out


def _move_targets(mapped: Any, post: str, cols: np.ndarray, ibit: np.ndarray) -> np.ndarray:
    """New post neuron of each synapse whose index bit flips (-1: addresses no neuron of ``post``)."""
    slots = core_slots(mapped)
    core = np.asarray(mapped.core_of[post])[cols]
    out = np.full(cols.size, -1, dtype=np.int64)
    for k in range(cols.size):
        names, pid, idx = slots[int(core[k])]
        local = int(np.flatnonzero((pid == names.index(post)) & (idx == cols[k]))[0])
        new = local ^ (1 << int(ibit[k]))
        if new < idx.size and names[pid[new]] == post:
            out[k] = idx[new]
    return out


def flip_bits(
    mapped: Any,
    flips: Mapping[str, tuple[np.ndarray, np.ndarray]],
    record: Mapping[str, Any] | None = None,
) -> Any:
    """Flip given bits of given stored synapses.

    Parameters
    ----------
    flips : mapping of hardware projection -> (synapse positions, bit numbers)
        Positions index ``quantized[name].weights.data`` (canonical CSR
        order); bits ``< weights.bits`` are weight bits, higher ones index
        bits (sparse cores). A synapse listed twice has both bits flipped.
    """
    prof = mapped.profile
    kind, nbits = prof.get("weights.kind"), int(prof.get("weights.bits"))
    wb, _ = bits_per_synapse(prof)
    counts = dict.fromkeys(("weight_bits", "index_bits", "moved", "lost", "non_finite"), 0)
    quant, weights = {}, {}
    for name, (pos, bit) in flips.items():
        q = mapped.quantized[name]
        pr = mapped.hw_network.projection(name)
        coo = sp.csr_matrix(q.weights).tocoo()
        rows, cols, data = coo.row.copy(), coo.col.astype(np.int64), coo.data.astype(np.float64)
        lost = np.zeros(rows.size, bool)
        moves: list[tuple[int, int, int]] = []
        for p, b in zip(np.asarray(pos).tolist(), np.asarray(bit).tolist(), strict=True):
            if b < wb:
                counts["weight_bits"] += 1
                if kind == "axon_type":
                    lost[p] = True
                    continue
                value, nf = flip_weight_bits(data[[p]], np.array([b]), kind, nbits)
                data[p] = value[0]
                counts["non_finite"] += nf
                continue
            counts["index_bits"] += 1
            new = int(_move_targets(mapped, pr.post, cols[[p]], np.array([b - wb]))[0])
            if new < 0:
                lost[p] = True
                continue
            counts["moved"] += 1
            moves.append((int(rows[p]), int(cols[p]), new))
            cols[p] = new
        counts["lost"] += int(lost.sum())
        keep = ~lost
        w = sp.csr_matrix((data[keep], (rows[keep], cols[keep])), shape=q.weights.shape)
        w.sort_indices()
        quant[name] = dataclasses.replace(q, weights=w)
        weights[name] = _hw_after(pr.weights, moves, coo.row[lost], coo.col[lost])
    rec = {"kind": "bit_flip", **dict(record or {}), **counts}
    return with_changes(mapped, weights=weights, quantized=quant, record=rec)


def _hw_after(
    w: sp.csr_matrix,
    moves: list[tuple[int, int, int]],
    lost_rows: np.ndarray,
    lost_cols: np.ndarray,
) -> sp.csr_matrix:
    """The float weights with the same synapses moved and lost as the stored ones."""
    w = remove_pattern(w, lost_rows, lost_cols).tolil()
    for i, j, new in moves:
        v = w[i, j]
        w[i, j] = 0.0
        w[i, new] = w[i, new] + v
    out = sp.csr_matrix(w)
    out.eliminate_zeros()
    return out


def bit_flip(mapped: Any, rate: float, rng: np.random.Generator, **_: Any) -> Any:
    """Flip each stored synapse-memory bit with probability ``rate``."""
    wb, ib = bits_per_synapse(mapped.profile)
    nb = wb + ib
    flips = {}
    for pr in mapped.hw_network.projections:
        n = int(mapped.quantized[pr.name].weights.nnz) * nb
        k = int(rng.binomial(n, rate)) if n else 0
        if k:
            pos = rng.choice(n, size=k, replace=False)
            flips[pr.name] = (pos // nb, pos % nb)
    return flip_bits(mapped, flips, {"rate": rate, "bits_per_synapse": nb})
