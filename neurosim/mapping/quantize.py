"""Quantize hardware projections to a chip's synapse precision.

Returns new arrays (:class:`~neurosim.mapping.mapped.QuantizedProjection`);
the float weights are never modified. The chip applies
``weights[i, j] * scale[j]``.

Semantics per ``weights.kind`` (``b`` = ``weights.bits``):

``float``
    Round to float16 / float32 / float64 (``b``); ``scale`` = 1. Values beyond
    the format's largest finite number are clipped to it.
``int``
    ``b``-bit signed symmetric integers, levels ``-(2^(b-1)-1) .. 2^(b-1)-1``
    (no ``-2^(b-1)``, so the range is symmetric). ``b = 1`` means the binary
    sign: levels ``{-1, +1}``, scale = mean magnitude. The scale follows
    ``weights.scale``: ``none`` (integers as given: scale 1, values rounded
    and clipped), ``per_layer`` (one scale per projection, ``max|w| / qmax``),
    ``per_core`` (one per post core), ``exponent`` (per post core, the
    power of two ``2^e`` with the least ``e`` such that ``max|w| <= qmax 2^e``,
    Loihi's shared weight exponent).
``ternary``
    Levels ``{-1, 0, +1}`` times a scale: threshold ``0.7 mean|w|`` (ternary
    weight networks), scale = mean magnitude of the weights kept, per layer
    (or per core with ``per_core``/``exponent``). Weights already ternary are
    kept exactly.
``binary``
    Levels ``{-1, +1}`` times the mean magnitude (per layer or per core).
``axon_type``
    TrueNorth: each presynaptic neuron gets one of ``n_axon_types`` axon
    types and each post neuron a signed ``b``-bit weight per type. Types are
    chosen by 1-D k-means of each presynaptic neuron's mean outgoing weight
    (sign and magnitude); the table entry of (type, post) is the least-squares
    value (the mean of the weights it replaces), then quantized to ``b``-bit
    integers with a per-neuron scale. ``weights.data`` holds
    ``type_weights[axon_types[i], j]`` so that :meth:`effective` needs no table.

Diagnostics: ``n_synapses``, ``n_clipped`` (magnitude beyond the largest
level), ``n_zeroed`` (nonzero weights that became 0), ``max_rel_error`` and
``mean_rel_error`` (per synapse ``|q - w| / |w|``), ``rel_error_fro``
(``||Q - W||_F / ||W||_F``) and ``silent_neurons`` (post neurons with nonzero
input before and none after).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.mapped import QuantizedProjection

__all__ = ["QUANTIZERS", "int_levels", "quantize_projection"]

_FLOATS = {16: np.float16, 32: np.float32, 64: np.float64}


def int_levels(bits: int) -> int:
    """Largest level ``qmax`` of a ``bits``-bit signed symmetric integer (1 for the binary sign)."""
    return 1 if bits <= 1 else 2 ** (bits - 1) - 1


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


def _quant_float(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray):
    dtype = _FLOATS[int(profile.get("weights.bits"))]
    big = float(np.finfo(dtype).max)
    clipped = np.abs(w.data) > big
    data = np.clip(w.data, -big, big).astype(dtype).astype(np.float64)
    return data, np.ones(w.shape[1]), int(clipped.sum()), {}


def _scale_int(
    w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray, qmax: int, mode: str
) -> np.ndarray:
    """Scale per post neuron for integer-like kinds."""
    n_groups = int(group.max()) + 1 if group.size else 1
    col = w.indices
    mag = np.abs(w.data)
    if qmax == 1:  # binary sign: least-squares scale = mean magnitude
        g = _group_reduce(mag, group[col], n_groups, "mean")
    elif mode == "none":
        g = np.ones(n_groups)
    else:
        g = _group_reduce(mag, group[col], n_groups, "max") / qmax
        if mode == "exponent":
            with np.errstate(divide="ignore"):
                g = np.where(g > 0, 2.0 ** np.ceil(np.log2(np.where(g > 0, g, 1.0))), 1.0)
    g = np.where(g > 0, g, 1.0)
    return g[group]


def _quant_int(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray):
    bits = int(profile.get("weights.bits"))
    mode = profile.get("weights.scale")
    qmax = int_levels(bits)
    scale = _scale_int(w, profile, group, qmax, mode)
    x = w.data / scale[w.indices]
    if qmax == 1:
        q = np.sign(x)
        clipped = 0
    else:
        clipped = int((np.abs(x) > qmax + 0.5).sum())
        q = np.clip(np.rint(x), -qmax, qmax)
    return q, scale, clipped, {}


def _quant_binary(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray):
    scale = _scale_int(w, profile, group, 1, "per_layer")
    return np.sign(w.data), scale, 0, {}


def _quant_ternary(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray):
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


def _kmeans_1d(x: np.ndarray, k: int, seed: int, iters: int = 30) -> np.ndarray:
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
    # relabel in increasing center order
    order = np.argsort(centers)
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[labels]


def _quant_axon_type(w: sp.csr_matrix, profile: ChipProfile, group: np.ndarray, seed: int = 0):
    n_types = int(profile.get("weights.n_axon_types"))
    bits = int(profile.get("weights.bits"))
    qmax = int_levels(bits)
    n_pre, n_post = w.shape
    rows = np.repeat(np.arange(n_pre), np.diff(w.indptr))
    out_deg = np.diff(w.indptr)
    mean_out = np.divide(
        np.bincount(rows, weights=w.data, minlength=n_pre),
        out_deg,
        out=np.zeros(n_pre),
        where=out_deg > 0,
    )
    types = _kmeans_1d(mean_out, n_types, seed)
    t_syn = types[rows]
    # least-squares table: mean of the weights each (type, post) entry replaces
    key = t_syn * n_post + w.indices
    sums = np.bincount(key, weights=w.data, minlength=n_types * n_post)
    counts = np.bincount(key, minlength=n_types * n_post)
    table = np.divide(sums, counts, out=np.zeros(n_types * n_post), where=counts > 0).reshape(
        n_types, n_post
    )
    peak = np.abs(table).max(axis=0) if n_post else np.zeros(0)
    scale = np.where(peak > 0, peak / qmax, 1.0)
    itable = np.clip(np.rint(table / scale[None, :]), -qmax, qmax)
    q = itable[t_syn, w.indices]
    return q, scale, 0, {"axon_types": types, "type_weights": itable}


#: weights.kind -> quantizer (w, profile, group) -> (data, scale per post, n_clipped, extra)
QUANTIZERS: dict[str, Any] = {
    "float": _quant_float,
    "int": _quant_int,
    "binary": _quant_binary,
    "ternary": _quant_ternary,
    "axon_type": _quant_axon_type,
}


def quantize_projection(
    name: str,
    weights: sp.csr_matrix,
    profile: ChipProfile,
    *,
    post_core: np.ndarray | None = None,
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
    data, scale, n_clipped, extra = quantizer(w, profile, group)
    scale = np.asarray(scale, dtype=np.float64)
    q = sp.csr_matrix(
        (np.asarray(data, dtype=np.float64), w.indices.copy(), w.indptr.copy()), shape=w.shape
    )
    eff = q.data * scale[w.indices]
    mag = np.abs(w.data)
    rel = np.abs(eff - w.data) / np.where(mag > 0, mag, 1.0)
    zeroed = (q.data == 0) & (w.data != 0)
    had = np.zeros(w.shape[1], dtype=bool)
    had[w.indices] = True
    has = np.zeros(w.shape[1], dtype=bool)
    has[w.indices[q.data != 0]] = True
    norm = float(np.sqrt((w.data**2).sum()))
    diagnostics = {
        "kind": kind,
        "bits": int(profile.get("weights.bits")),
        "n_synapses": int(w.nnz),
        "n_clipped": int(n_clipped),
        "n_zeroed": int(zeroed.sum()),
        "max_rel_error": float(rel.max()) if rel.size else 0.0,
        "mean_rel_error": float(rel.mean()) if rel.size else 0.0,
        "rel_error_fro": float(np.sqrt(((eff - w.data) ** 2).sum()) / norm) if norm > 0 else 0.0,
        "silent_neurons": int((had & ~has).sum()),
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
