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

from neurosim.faults.bits import weight_bits, xor_weights
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


def _slot_table(
    mapped: Any,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Every neuron slot of every core, flattened: names, pop id, neuron, core start, slots, local index.

    ``local[pop][j]`` is neuron ``j``'s slot on its core (see :func:`core_slots`).
    """
    slots = core_slots(mapped)
    n_cores = max(slots) + 1 if slots else 0
    names = next(iter(slots.values()))[0] if slots else []
    start = np.zeros(n_cores + 1, dtype=np.int64)
    for c, (_, pid, _) in slots.items():
        start[c + 1] = pid.size
    start = np.cumsum(start)
    pid_all = (
        np.concatenate([slots[c][1] for c in sorted(slots)]) if slots else np.zeros(0, np.int64)
    )
    idx_all = (
        np.concatenate([slots[c][2] for c in sorted(slots)]) if slots else np.zeros(0, np.int64)
    )
    local = {n: np.full(np.asarray(mapped.core_of[n]).size, -1, dtype=np.int64) for n in names}
    for c in sorted(slots):
        _, pid, idx = slots[c]
        for k, name in enumerate(names):
            sel = pid == k
            local[name][idx[sel]] = np.flatnonzero(sel)
    return names, pid_all, idx_all, start, np.diff(start), local


def _move_targets(
    mapped: Any, post: str, cols: np.ndarray, imask: np.ndarray, table: Any
) -> np.ndarray:
    """New post neuron of each synapse whose index is XOR-ed with ``imask`` (-1: no neuron of ``post``)."""
    names, pid, idx, start, count, local = table
    core = np.asarray(mapped.core_of[post])[cols]
    new = local[post][cols] ^ imask
    ok = new < count[core]
    slot = start[core] + np.where(ok, new, 0)
    ok &= pid[slot] == names.index(post)
    return np.where(ok, idx[slot], -1)


def _masks(n: int, pos: np.ndarray, bit: np.ndarray, wb: int) -> tuple[np.ndarray, np.ndarray]:
    """Per synapse, the XOR of its flipped weight bits and of its flipped index bits."""
    pos, bit = np.asarray(pos, np.int64), np.asarray(bit, np.int64)
    wmask = np.zeros(n, dtype=np.uint64)
    imask = np.zeros(n, dtype=np.int64)
    w = bit < wb
    np.bitwise_xor.at(wmask, pos[w], np.left_shift(np.uint64(1), bit[w].astype(np.uint64)))
    np.bitwise_xor.at(imask, pos[~w], np.left_shift(np.int64(1), bit[~w] - wb))
    return wmask, imask


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
        bits (sparse cores). A bit flipped twice is restored.
    """
    prof = mapped.profile
    kind, nbits = prof.get("weights.kind"), int(prof.get("weights.bits"))
    wb, _ = bits_per_synapse(prof)
    counts = dict.fromkeys(("weight_bits", "index_bits", "moved", "lost", "non_finite"), 0)
    quant, weights, table = {}, {}, None
    for name, (pos, bit) in flips.items():
        q = mapped.quantized[name]
        pr = mapped.hw_network.projection(name)
        coo = sp.csr_matrix(q.weights).tocoo()
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        wmask, imask = _masks(rows.size, pos, bit, wb)
        counts["weight_bits"] += int(np.count_nonzero(np.asarray(bit) < wb))
        counts["index_bits"] += int(np.count_nonzero(np.asarray(bit) >= wb))
        if kind == "axon_type":  # the stored bit is the crossbar bit: a flip disconnects
            data, lost = coo.data.astype(np.float64), wmask != 0
        else:
            data, nf = xor_weights(coo.data, wmask, kind, nbits)
            lost = np.zeros(rows.size, bool)
            counts["non_finite"] += nf
        new_cols = cols.copy()
        moving = np.flatnonzero(imask != 0)
        if moving.size:
            table = table if table is not None else _slot_table(mapped)
            target = _move_targets(mapped, pr.post, cols[moving], imask[moving], table)
            lost[moving[target < 0]] = True
            new_cols[moving[target >= 0]] = target[target >= 0]
            counts["moved"] += int(np.count_nonzero(target >= 0))
        counts["lost"] += int(lost.sum())
        keep = ~lost
        w = sp.csr_matrix((data[keep], (rows[keep], new_cols[keep])), shape=q.weights.shape)
        w.sort_indices()
        quant[name] = dataclasses.replace(q, weights=w)
        weights[name] = _hw_after(pr.weights, rows, cols, new_cols, lost)
    rec = {"kind": "bit_flip", **dict(record or {}), **counts}
    return with_changes(mapped, weights=weights, quantized=quant, record=rec)


def _hw_after(
    w: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, new_cols: np.ndarray, lost: np.ndarray
) -> sp.csr_matrix:
    """The float weights with the same synapses moved and lost as the stored ones."""
    moved = (new_cols != cols) & ~lost
    gone = moved | lost
    if not gone.any():
        return w
    vals = (
        np.asarray(w[rows[moved], cols[moved]], dtype=np.float64).ravel()
        if moved.any()
        else np.zeros(0)
    )
    base = remove_pattern(w, rows[gone], cols[gone])
    add = sp.csr_matrix((vals, (rows[moved], new_cols[moved])), shape=w.shape)
    out = sp.csr_matrix(base + add)
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
