"""Quantize hardware projections to a chip's synapse precision.

Returns new arrays (:class:`~neurosim.mapping.mapped.QuantizedProjection`);
the float weights are never modified. The chip applies
``weights[i, j] * scale[j]``.

Semantics per ``weights.kind`` (``b`` = ``weights.bits``):

``float``
    Round to float16 / float32 / float64 (``b``); ``scale`` = 1. Values beyond
    the format's largest finite number are clipped to it.
``int``
    ``b``-bit signed symmetric integers, levels ``-qmax .. qmax`` with
    ``qmax = 2^(b-1) - 1`` (no ``-2^(b-1)``, so the range is symmetric and 0
    is a level), rounded half away from zero and clipped to the range (see
    :func:`quantize_weights`, the pure function behind it). ``b = 1``:
    a stored synapse holds one bit, its sign, and zero is the absent synapse
    (every encoding stores only nonzero weights or treats an empty cell as
    0), so the levels are ``{-1, 0, +1}`` (``qmax = 1``) like ``b = 2``;
    the two widths give the same weights and differ in memory. The binary
    sign without a zero level is ``weights.kind: binary``. The scale follows
    ``weights.scale``: ``none`` (integers as given: scale 1, values rounded
    and clipped), ``per_layer`` (one scale per projection, ``max|w| / qmax``),
    ``per_core`` (one per post core), ``exponent`` (per post core, the
    power of two ``2^e`` with the least ``e`` such that ``max|w| <= qmax 2^e``,
    Loihi's shared weight exponent). So the largest magnitude is exact (or,
    with ``exponent``, within range), the absolute error of an unclipped
    weight is at most ``scale / 2``, and a weight below ``scale / 2`` is
    zeroed. For every scale mode but ``none`` the scale, and with it the
    error bound and the number of zeroed weights, never grows with ``b``.
``ternary``
    Levels ``{-1, 0, +1}`` times a scale: threshold ``0.7 mean|w|`` (ternary
    weight networks), scale = mean magnitude of the weights kept, per layer
    (or per core with ``per_core``/``exponent``). Weights already ternary are
    kept exactly.
``binary``
    Levels ``{-1, +1}`` times the mean magnitude (per layer or per core).
``axon_type``
    TrueNorth: the synapse (i, j) is a crossbar bit; when it is set, the
    weight is the post neuron's signed ``b``-bit value for the axon type of
    ``i`` (``n_axon_types`` per neuron). So ``W[i, j] ~ c[i, j] T[type(i), j]``
    with ``c`` in {0, 1}. The types, the table and the crossbar bits minimise
    ``||C * T[types] - W||_F^2`` by alternating two exact steps: for fixed
    types, each entry ``T[t, j]`` is the mean of the ``k`` largest same-sign
    weights it serves with ``k`` maximising ``S_k^2 / k`` (the others are left
    unconnected, which costs ``w^2`` instead of ``(w - T)^2``); for a fixed
    table, each axon takes the type with the least error. The first start is
    the 1-D k-means of each axon's mean outgoing weight (exact when every
    axon has one weight, such as excitatory and inhibitory inputs); the
    second, when the first is not exact, the grouping of axons that agree
    on their shared post neurons
    (:func:`~neurosim.mapping.exact_types.exact_axon_types`: exact whenever
    it finds at most ``K`` groups, as for the weights chip-aware training
    leaves; it does not fire on other weights); then up to ``_RESTARTS``
    seeded starts (k-means++ on the axons' weight rows and random
    partitions, while ``restarts x _ITERS x synapses <= _BUDGET``), keeping
    the least error over all starts. The table is quantized to ``b``-bit
    integers with a per-neuron scale (``peak / qmax``; when the fit is
    exact and the neuron's entries lie on a coarser grid ``peak / m``,
    ``m < qmax``, that grid, so a trained table whose top level no synapse
    uses maps exactly) and each crossbar bit set only where the quantized
    value is closer to ``w`` than 0 is. ``weights.data`` holds
    ``type_weights[axon_types[i], j]`` for the connected synapses (unconnected
    ones are not stored and count in ``n_zeroed``), so :meth:`effective`
    needs no table. Types are chosen per projection (the chip allows one per
    axon of each core, a finer choice). Four types with one axon per
    presynaptic neuron are coarse: a dense signed layer keeps roughly half its
    synapses and ``rel_error_fro`` is typically 0.5-0.7.

Diagnostics: ``n_synapses``, ``n_clipped`` (magnitude beyond the largest
level), ``n_zeroed`` (nonzero weights that became 0 or were left
unconnected), ``max_rel_error`` and ``mean_rel_error`` (per synapse
``|q - w| / max(|w|, REL_ERROR_FLOOR max|W|)``: the relative error, with the
denominator floored at 1 % of the projection's largest magnitude so that
near-zero weights cannot blow it up; a zeroed weight counts at most 1),
``rel_error_fro`` (``||Q - W||_F / ||W||_F``) and ``silent_neurons`` (post
neurons with nonzero input before and none after).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.exact_types import exact_axon_types
from neurosim.mapping.mapped import QuantizedProjection

__all__ = [
    "QUANTIZERS",
    "REL_ERROR_FLOOR",
    "SCALE_MODES",
    "int_levels",
    "quantize_projection",
    "quantize_weights",
    "round_half_away",
]

_FLOATS = {16: np.float16, 32: np.float32, 64: np.float64}

#: alternating-minimisation rounds and extra seeded random starts of the axon-type fit
_ITERS = 30
_RESTARTS = 6
#: restarts are tried only while restarts x _ITERS x synapses stays within this many
_BUDGET = 4_000_000
#: a fit error at most this fraction of sum(w^2) counts as exact (the table keeps its grid)
_EXACT_FIT = 1e-12
#: a table entry within this many levels of an integer is on the level grid
_LEVEL_TOL = 1e-4
#: cells (levels x types x neurons) per chunk of the level-grid search
_GRID_CELLS = 1 << 21

#: synapses per chunk of the float rounding and of :func:`_error_figures`: the
#: temporaries stay in cache (a projection of up to this many synapses gets
#: exactly the whole-array figures)
_CHUNK = 1 << 20
#: per-synapse relative errors divide by max(|w|, REL_ERROR_FLOOR * max|W|) of the projection
REL_ERROR_FLOOR = 0.01


#: weights.scale values of integer weights
SCALE_MODES = ("none", "per_layer", "per_core", "exponent")


def int_levels(bits: int) -> int:
    """Largest level ``qmax`` of a ``bits``-bit signed symmetric integer.

    ``2^(bits-1) - 1``; 1 for ``bits = 1`` (the sign of a stored synapse, zero
    being the absent synapse).
    """
    bits = int(bits)
    if bits < 1:
        raise MappingError(f"weights.bits: {bits}; expected an integer >= 1")
    return 1 if bits == 1 else 2 ** (bits - 1) - 1


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (``2.5 -> 3``, ``-0.5 -> -1``)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_weights(
    weights: np.ndarray,
    bits: int,
    scale_mode: str = "per_layer",
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Quantize float weights to ``bits``-bit symmetric integers (``weights.kind: int``).

    A pure function (no profile, no sparse matrix), so training can apply the
    mapper's exact rounding: the chip's weight is ``levels * scale``.

    Parameters
    ----------
    weights : ndarray of float, any shape
        The weights (zeros stay zero: they are absent synapses).
    bits : int
        Width ``b >= 1``; levels ``-qmax .. qmax`` with ``qmax`` from :func:`int_levels`.
    scale_mode : {"none", "per_layer", "per_core", "exponent"}
        ``none``: scale 1; ``per_layer``: ``max|w| / qmax`` over all weights;
        ``per_core``: the same per group; ``exponent``: per group, the least
        power of two ``>= max|w| / qmax``.
    groups : ndarray of int, same shape as ``weights``, optional
        Scale group of each weight (``per_core`` and ``exponent``); one group
        when omitted.

    Returns
    -------
    levels : ndarray of float, shape of ``weights``
        Integers in ``[-qmax, qmax]``, rounded half away from zero.
    scale : ndarray of float, shape of ``weights``
        The scale of each weight's group (1 where a group is all zero).
    n_clipped : int
        Weights whose magnitude exceeded ``qmax + 1/2`` scale steps.
    """
    w = np.asarray(weights, dtype=np.float64)
    if scale_mode not in SCALE_MODES:
        raise MappingError(f"weights.scale: {scale_mode!r}; expected one of {', '.join(SCALE_MODES)}")
    qmax = int_levels(bits)
    if scale_mode == "none":
        scale = np.ones_like(w)
    else:
        g = np.zeros(w.shape, dtype=np.int64) if groups is None or scale_mode == "per_layer" else groups
        _, inv = np.unique(np.asarray(g).ravel(), return_inverse=True)
        n_groups = int(inv.max()) + 1 if inv.size else 1
        per = _group_reduce(np.abs(w).ravel(), inv.ravel(), n_groups, "max") / qmax
        if scale_mode == "exponent":
            per = np.where(per > 0, 2.0 ** np.ceil(np.log2(np.where(per > 0, per, 1.0))), 1.0)
        per = np.where(per > 0, per, 1.0)
        scale = per[inv.ravel()].reshape(w.shape)
    x = w / scale
    n_clipped = int((np.abs(x) > qmax + 0.5).sum())
    return np.clip(round_half_away(x), -qmax, qmax), scale, n_clipped


def _groups(post_core: np.ndarray | None, n_post: int, scale_mode: str) -> np.ndarray:
    """Group id per post neuron sharing one scale."""
    if scale_mode in ("per_core", "exponent") and post_core is not None:
        _, g = np.unique(np.asarray(post_core), return_inverse=True)
        return g.ravel()
    return np.zeros(n_post, dtype=np.int64)


def _group_reduce(
    values: np.ndarray, group_of_value: np.ndarray, n_groups: int, how: str
) -> np.ndarray:
    if how == "max":
        out = np.full(n_groups, -np.inf)
        np.maximum.at(out, group_of_value, values)
        return np.where(np.isfinite(out), out, 0.0)
    if how == "min":
        out = np.full(n_groups, np.inf)
        np.minimum.at(out, group_of_value, values)
        return np.where(np.isfinite(out), out, 0.0)
    sums = np.bincount(group_of_value, weights=values, minlength=n_groups)
    counts = np.bincount(group_of_value, minlength=n_groups)
    return np.divide(sums, counts, out=np.zeros(n_groups), where=counts > 0)


def _quant_float(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray, seed: int = 0):
    dtype = _FLOATS[int(profile.get("weights.bits"))]
    big = float(np.finfo(dtype).max)
    data = np.empty(w.data.shape, dtype=np.float64)
    n_clipped = 0
    for s in range(0, w.data.size, _CHUNK):  # chunks: the temporaries stay in cache
        x = w.data[s : s + _CHUNK]
        over = int(np.count_nonzero(np.abs(x) > big))
        if over:
            n_clipped += over
            x = np.clip(x, -big, big)
        data[s : s + _CHUNK] = x.astype(dtype)
    return data, np.ones(w.shape[1]), n_clipped, {}


def _scale_int(w: sp.csr_matrix, group: np.ndarray) -> np.ndarray:
    """Least-squares scale of the binary sign per post neuron: the group's mean magnitude."""
    n_groups = int(group.max()) + 1 if group.size else 1
    g = _group_reduce(np.abs(w.data), group[w.indices], n_groups, "mean")
    g = np.where(g > 0, g, 1.0)
    return g[group]


def _quant_int(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray, seed: int = 0):
    bits = int(profile.get("weights.bits"))
    mode = profile.get("weights.scale")
    q, scale_of, clipped = quantize_weights(w.data, bits, mode, group[w.indices])
    scale = np.ones(w.shape[1])
    scale[w.indices] = scale_of  # constant within a group, so per post neuron
    if mode not in ("none", "per_layer"):
        # post neurons without synapses take their group's scale (or 1)
        present = np.zeros(w.shape[1], dtype=bool)
        present[w.indices] = True
        n_groups = int(group.max()) + 1 if group.size else 1
        per = np.ones(n_groups)
        per[group[w.indices]] = scale_of
        scale = np.where(present, scale, per[group])
    elif scale_of.size:
        scale[:] = scale_of[0]
    return q, scale, clipped, {}


def _quant_binary(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray, seed: int = 0):
    return np.sign(w.data), _scale_int(w, group), 0, {}


def _quant_ternary(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray, seed: int = 0):
    n_groups = int(group.max()) + 1 if group.size else 1
    gcol = group[w.indices]
    mag = np.abs(w.data)
    thr = 0.7 * _group_reduce(mag, gcol, n_groups, "mean")
    keep = mag > thr[gcol]
    # weights already ternary (one magnitude per group): keep them all
    gmax = _group_reduce(mag, gcol, n_groups, "max")
    gmin = _group_reduce(mag, gcol, n_groups, "min")
    exact = np.isclose(gmax, gmin, rtol=1e-12, atol=0)
    keep |= exact[gcol]
    s = _group_reduce(mag[keep], gcol[keep], n_groups, "mean") if keep.any() else np.zeros(n_groups)
    s = np.where(s > 0, s, 1.0)
    q = np.where(keep, np.sign(w.data), 0.0)
    return q, s[group], 0, {}


@dataclass(frozen=True, eq=False)
class _Synapses:
    """One projection's synapses sorted by post neuron, sign, then decreasing magnitude.

    ``(post, sign)`` segments are contiguous, which is all the table fit needs:
    it is computed once per projection and reused by every iteration.
    """

    rows: np.ndarray  # pre neuron of each synapse (CSR order)
    cols: np.ndarray  # post neuron of each synapse (CSR order)
    data: np.ndarray  # weight of each synapse (CSR order)
    order: np.ndarray  # CSR positions in (post, sign, -|w|) order
    start: np.ndarray  # first sorted position of each (post, sign) segment
    seg_col: np.ndarray  # post neuron of each segment
    seg_sign: np.ndarray  # +1 or -1 per segment
    mag: np.ndarray  # |w| in sorted order

    @classmethod
    def of(cls, w: sp.csr_matrix) -> _Synapses:
        rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        cols, data = w.indices, w.data
        neg = (data < 0).astype(np.int64)
        order = np.lexsort((-np.abs(data), neg, cols))
        key = cols[order].astype(np.int64) * 2 + neg[order]
        start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else key
        return cls(
            rows,
            cols,
            data,
            order,
            start,
            key[start] // 2,
            np.where(key[start] % 2 == 1, -1.0, 1.0),
            np.abs(data[order]),
        )


def _type_table(syn: _Synapses, types: np.ndarray, n_types: int, n_post: int) -> np.ndarray:
    """Best table ``(n_types, n_post)`` for given axon types, a connect bit per synapse.

    For each entry ``(t, j)`` choose a value ``s`` and the synapses of type-``t``
    axons into ``j`` to connect, minimising ``sum_connected (w - s)^2 +
    sum_dropped w^2``. The optimum connects the ``k`` largest weights of one
    sign with ``s`` their mean (a gain of ``S_k^2 / k`` over dropping them
    all), found exactly by segmented prefix sums over the presorted synapses.
    Empty entries are 0.
    """
    table = np.zeros((n_types, n_post))
    n = syn.mag.size
    if n == 0:
        return table
    seg_len = np.diff(np.r_[syn.start, n])
    before = syn.start - 1
    t_sorted = types[syn.rows[syn.order]]
    pos = np.arange(n)
    for t in range(n_types):
        m = t_sorted == t
        if not m.any():
            continue
        cm = np.cumsum(np.where(m, syn.mag, 0.0))
        cc = np.cumsum(m)
        base_m = np.where(before >= 0, cm[np.maximum(before, 0)], 0.0)
        base_c = np.where(before >= 0, cc[np.maximum(before, 0)], 0)
        prefix = cm - np.repeat(base_m, seg_len)
        count = cc - np.repeat(base_c, seg_len)
        gain = np.where(m, prefix**2 / np.maximum(count, 1), -1.0)
        seg_max = np.maximum.reduceat(gain, syn.start)
        at = np.where(gain == np.repeat(seg_max, seg_len), pos, n)
        first = np.minimum.reduceat(at, syn.start)
        ok = seg_max > 0
        value = np.zeros(seg_max.size)
        value[ok] = syn.seg_sign[ok] * prefix[first[ok]] / count[first[ok]]
        # per post neuron, the sign whose segment gains more (a column has <= 2 segments)
        col_max = np.full(n_post, -1.0)
        np.maximum.at(col_max, syn.seg_col, seg_max)
        win = ok & (seg_max == col_max[syn.seg_col])
        table[t, syn.seg_col[win]] = value[win]
    return table


def _kmeans_1d(x: np.ndarray, k: int, iters: int = 30) -> np.ndarray:
    """Labels of a 1-D k-means (quantile initialisation, Lloyd iterations)."""
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq = np.unique(x)
    k = min(k, uniq.size)
    if k <= 1:
        return np.zeros(x.size, dtype=np.int64)
    centers = np.quantile(uniq, (np.arange(k) + 0.5) / k)
    labels = np.zeros(x.size, dtype=np.int64)
    for _ in range(iters):
        labels = np.abs(x[:, None] - centers[None, :]).argmin(axis=1)
        new = np.array(
            [x[labels == c].mean() if (labels == c).any() else centers[c] for c in range(k)]
        )
        if np.allclose(new, centers):
            break
        centers = new
    return labels


def _row_costs(syn: _Synapses, n_pre: int, table: np.ndarray) -> np.ndarray:
    """``cost[i, t]``: squared error of axon ``i``'s weights under type ``t``'s table row.

    Each synapse is connected only where that helps, so a synapse costs
    ``min(w^2, (w - table[t, j])^2)``.
    """
    err2 = syn.data**2
    return np.stack(
        [
            np.bincount(
                syn.rows,
                weights=np.minimum(err2, (syn.data - table[t, syn.cols]) ** 2),
                minlength=n_pre,
            )
            for t in range(table.shape[0])
        ],
        axis=1,
    )


def _plus_plus_start(
    w: sp.csr_matrix, syn: _Synapses, n_types: int, rng: np.random.Generator
) -> np.ndarray:
    """k-means++ start: axons' own weight rows as seeds, each drawn with probability ~ error."""
    n_pre, n_post = w.shape
    table = np.zeros((0, n_post))
    dist = np.full(n_pre, 1.0)
    for _ in range(n_types):
        total = dist.sum()
        if total <= 0:
            break
        i = int(rng.choice(n_pre, p=dist / total))
        table = np.vstack([table, w.getrow(i).toarray()])
        dist = _row_costs(syn, n_pre, table).min(axis=1)
    return _row_costs(syn, n_pre, table).argmin(axis=1)


def _fit_types(
    syn: _Synapses, n_pre: int, n_post: int, types: np.ndarray, n_types: int, iters: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Alternate the best table for the types and the best type for every axon.

    Both steps are exact minimisers of the same squared error (dropped
    synapses count ``w^2``), so the error never increases.
    """
    best = np.inf
    table = np.zeros((n_types, n_post))
    for _ in range(iters):
        table = _type_table(syn, types, n_types, n_post)
        cost = _row_costs(syn, n_pre, table)
        here = cost[np.arange(n_pre), types]
        new = cost.argmin(axis=1)
        new = np.where(cost[np.arange(n_pre), new] < here, new, types)  # ties keep the type
        best = float(here.sum())
        if (new == types).all():
            break
        types = new
    return types, table, best


def _table_scale(table: np.ndarray, qmax: int, search: bool) -> np.ndarray:
    """Per-neuron scale of the type table, ``peak / m``.

    ``m = qmax`` (the largest magnitude is the top level), unless ``search``
    and the neuron's entries are off that grid: then the largest ``m < qmax``
    that puts every entry within :data:`_LEVEL_TOL` levels of an integer, if
    any. A trained table already on a ``b``-bit grid whose top level no synapse
    uses (that type has no synapse into the neuron) is so kept exactly.
    """
    peak = np.abs(table).max(axis=0) if table.shape[1] else np.zeros(0)
    m = np.full(peak.shape, float(qmax))
    ratio = np.divide(table, peak[None, :], out=np.zeros_like(table), where=peak[None, :] > 0)
    off = np.abs(ratio * qmax - np.rint(ratio * qmax)).max(axis=0, initial=0.0)
    todo = np.flatnonzero((peak > 0) & (off > _LEVEL_TOL)) if search else np.zeros(0, dtype=int)
    cand = np.arange(qmax - 1, 0, -1, dtype=np.float64)
    chunk = max(1, _GRID_CELLS // max(cand.size * table.shape[0], 1))
    for s in range(0, todo.size if cand.size else 0, chunk):
        cols = todo[s : s + chunk]
        x = cand[:, None, None] * ratio[None, :, cols]  # (m, type, neuron)
        ok = (np.abs(x - np.rint(x)) <= _LEVEL_TOL).all(axis=1)
        hit = ok.any(axis=0)
        m[cols[hit]] = cand[ok[:, hit].argmax(axis=0)]
    return np.where(peak > 0, peak / m, 1.0)


def _quant_axon_type(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray, seed: int = 0):
    n_types = int(profile.get("weights.n_axon_types"))
    bits = int(profile.get("weights.bits"))
    qmax = int_levels(bits)
    n_pre, n_post = w.shape
    # fit on weights scaled to max 1 (squares of weights near 1e308 overflow); rescaled at the end
    top = float(np.abs(w.data).max()) if w.nnz else 0.0
    unit = top if top > 0 else 1.0
    w = sp.csr_matrix((w.data / unit, w.indices, w.indptr), shape=w.shape)
    syn = _Synapses.of(w)
    rows, cols = syn.rows, syn.cols
    out_deg = np.diff(w.indptr)
    mean_out = np.divide(
        np.bincount(rows, weights=w.data, minlength=n_pre),
        out_deg,
        out=np.zeros(n_pre),
        where=out_deg > 0,
    )
    # start 1: 1-D k-means of the mean outgoing weight (exact for sign-per-axon nets);
    # then seeded k-means++ starts on the axons' weight rows and random partitions, in turn;
    # the fit with the least error is kept
    start = _kmeans_1d(mean_out, n_types)
    types, table, err = _fit_types(syn, n_pre, n_post, start, n_types, _ITERS)
    # start 2: the grouping of axons that agree on their shared support, when one exists
    exact = exact_axon_types(w, n_types) if err > 0 else None
    if exact is not None:
        t1, tab1, e1 = _fit_types(syn, n_pre, n_post, exact, n_types, _ITERS)
        if e1 < err:
            types, table, err = t1, tab1, e1
    if err > 0 and n_types > 1:
        rng = np.random.default_rng(seed)
        for r in range(_RESTARTS):
            if (r + 1) * _ITERS * w.nnz > _BUDGET:
                break
            t0 = (
                _plus_plus_start(w, syn, n_types, rng)
                if r % 2 == 0
                else rng.integers(0, n_types, size=n_pre)
            )
            t1, tab1, e1 = _fit_types(syn, n_pre, n_post, t0, n_types, _ITERS)
            if e1 < err:
                types, table, err = t1, tab1, e1
    # a table that fits the weights exactly keeps its own level grid if it has one
    scale = _table_scale(table, qmax, search=err <= _EXACT_FIT * float(w.data @ w.data))
    itable = np.clip(round_half_away(table / scale[None, :]), -qmax, qmax)
    q = itable[types[rows], cols]
    # the crossbar bit: connect a synapse only where its type's value is closer than 0
    eff = q * scale[cols]
    q = np.where((w.data - eff) ** 2 < w.data**2, q, 0.0)
    return q, scale * unit, 0, {"axon_types": types, "type_weights": itable}


#: weights.kind -> quantizer (w, profile, group, seed=) -> (data, scale per post, n_clipped, extra)
QUANTIZERS: dict[str, Any] = {
    "float": _quant_float,
    "int": _quant_int,
    "binary": _quant_binary,
    "ternary": _quant_ternary,
    "axon_type": _quant_axon_type,
}


def _error_figures(
    wdata: np.ndarray, qdata: np.ndarray, scale: np.ndarray, indices: np.ndarray, n_post: int
) -> dict[str, Any]:
    """The error diagnostics of a quantized projection (see the module docstring).

    Computed chunk by chunk (:data:`_CHUNK` synapses): maxima and counts are
    exact; the mean and the norms add per-chunk sums.
    """
    n = wdata.size
    top = max(
        (float(np.abs(wdata[s : s + _CHUNK]).max()) for s in range(0, n, _CHUNK)), default=0.0
    )
    floor = REL_ERROR_FLOOR * top
    n_zeroed, n_zero_q, rel_max, rel_sum, w2, e2 = 0, 0, 0.0, 0.0, 0.0, 0.0
    for s in range(0, n, _CHUNK):
        wd, qd, ix = wdata[s : s + _CHUNK], qdata[s : s + _CHUNK], indices[s : s + _CHUNK]
        d = qd * scale[ix]
        d -= wd  # the effective weight's error
        if top > 0:
            # scaled by the largest magnitude: no overflow for weights near 1e308
            x = wd / top
            w2 += float(x.dot(x))
            x = d / top
            e2 += float(x.dot(x))
        denom = np.abs(wd)
        np.maximum(denom, floor, out=denom)
        if floor <= 0:
            denom[denom == 0] = 1.0
        rel = np.abs(d, out=d)
        rel /= denom
        rel_max = max(rel_max, float(rel.max()))
        rel_sum += float(rel.sum())
        zq = qd == 0
        n_zq = int(zq.sum())
        if n_zq:
            n_zero_q += n_zq
            n_zeroed += int((zq & (wd != 0)).sum())
    silent = 0
    if n_zero_q:  # post neurons with synapses, every one of them quantized to 0
        had = np.zeros(n_post, dtype=bool)
        has = np.zeros(n_post, dtype=bool)
        for s in range(0, n, _CHUNK):
            ix = indices[s : s + _CHUNK]
            had[ix] = True
            has[ix[qdata[s : s + _CHUNK] != 0]] = True
        silent = int((had & ~has).sum())
    norm, err_norm = float(np.sqrt(w2)), float(np.sqrt(e2))
    return {
        "n_zeroed": n_zeroed,
        "max_rel_error": rel_max,
        "mean_rel_error": rel_sum / n if n else 0.0,
        "rel_error_fro": err_norm / norm if norm > 0 else 0.0,
        "silent_neurons": silent,
    }


def quantize_projection(
    name: str,
    weights: sp.csr_matrix,
    profile: ChipProfile,
    *,
    post_core: np.ndarray | None = None,
    seed: int = 0,
) -> QuantizedProjection:
    """Quantize one projection's weights to the profile's precision.

    Parameters
    ----------
    name : str
        Hardware projection name.
    weights : csr_matrix, shape (n_pre, n_post)
    profile : ChipProfile
    post_core : ndarray of int, optional
        Core of each post neuron (for ``per_core`` and ``exponent`` scales).
    seed : int
        Seeds the random restarts of the ``axon_type`` fit (other kinds are
        deterministic).

    Returns
    -------
    QuantizedProjection
        New arrays; ``diagnostics`` as in the module docstring.
    """
    kind = profile.get("weights.kind")
    try:
        quantizer = QUANTIZERS[kind]
    except KeyError:
        raise MappingError(
            f"profile {profile.name}: weights.kind {kind!r} has no quantizer"
        ) from None
    w = sp.csr_matrix(weights, dtype=np.float64)
    w.sort_indices()
    group = _groups(post_core, w.shape[1], profile.get("weights.scale"))
    data, scale, n_clipped, extra = quantizer(w, profile, group, seed=seed)
    scale = np.asarray(scale, dtype=np.float64)
    q = sp.csr_matrix(
        (np.asarray(data, dtype=np.float64), w.indices.copy(), w.indptr.copy()), shape=w.shape
    )
    diagnostics = {
        "kind": kind,
        "bits": int(profile.get("weights.bits")),
        "n_synapses": int(w.nnz),
        "n_clipped": int(n_clipped),
        **_error_figures(w.data, q.data, scale, w.indices, w.shape[1]),
    }
    q.eliminate_zeros()
    return QuantizedProjection(
        name=name,
        weights=q,
        scale=scale,
        diagnostics=diagnostics,
        axon_types=extra.get("axon_types"),
        type_weights=extra.get("type_weights"),
    )
