"""Bit-level encodings of stored weights, for bit flips.

A stored synapse is ``weights.bits`` weight bits (bit 0 = least
significant), followed on sparse cores (``core.synapse_encoding: sparse``)
by ``core.index_bits`` bits of the target neuron's index within its core.

Weight encodings by ``weights.kind`` (``b`` = ``weights.bits``):

``int``, ``ternary`` (``b >= 2``)
    ``b``-bit two's complement; bit ``b - 1`` is the sign bit, worth
    ``-2^(b-1)``: flipping it moves an 8-bit weight by 128 levels, flipping
    bit 0 by one level. (The mapper's levels are symmetric, ``|w| <= 2^(b-1) - 1``;
    a flip may reach ``-2^(b-1)``, which the register can hold.)
``int`` with ``b = 1``, ``binary``
    one bit for the sign of ``+-1``: a flip negates the weight.
``float``
    IEEE 754 half, single or double (``b`` = 16, 32, 64), bit ``b - 1`` the
    sign. A flip that makes the number infinite or NaN saturates it to the
    largest finite value of its sign (counted as ``non_finite``).
``axon_type``
    the stored bit of a synapse is its crossbar bit: a flip disconnects it.
    (Flips of unset crossbar bits, which would connect new synapses, and of
    the per-neuron type table are not modelled.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["flip_weight_bits", "weight_bits", "xor_weights"]

_FLOAT = {16: (np.float16, np.uint16), 32: (np.float32, np.uint32), 64: (np.float64, np.uint64)}


def weight_bits(kind: str, bits: int) -> int:
    """Stored weight bits per synapse for a weight kind."""
    if kind == "axon_type":
        return 1
    if kind == "binary":
        return 1
    return int(bits)


def flip_weight_bits(
    values: np.ndarray, bit: np.ndarray, kind: str, bits: int
) -> tuple[np.ndarray, int]:
    """``values`` (stored weights) with bit ``bit[k]`` of entry ``k`` flipped.

    Returns the new values and the number that became non-finite (floats;
    saturated). See :func:`xor_weights` for several bits at once.

    Examples
    --------
    >>> flip_weight_bits(np.array([5.0, 5.0]), np.array([7, 0]), "int", 8)[0]
    array([-123.,    4.])
    """
    mask = np.left_shift(np.uint64(1), np.asarray(bit, dtype=np.uint64))
    return xor_weights(values, mask, kind, bits)


def xor_weights(
    values: np.ndarray, mask: np.ndarray, kind: str, bits: int
) -> tuple[np.ndarray, int]:
    """``values`` with their stored bit patterns XOR-ed with ``mask`` (uint64, one per entry)."""
    v = np.asarray(values, dtype=np.float64)
    mask = np.asarray(mask, dtype=np.uint64)
    if kind == "float":
        ftype, utype = _FLOAT[int(bits)]
        raw = v.astype(ftype).view(utype) ^ mask.astype(utype)
        with np.errstate(invalid="ignore", over="ignore"):
            out = raw.view(ftype).astype(np.float64)
        bad = ~np.isfinite(out)
        sign = np.where(np.signbit(raw.view(ftype)), -1.0, 1.0)
        out[bad] = sign[bad] * float(np.finfo(ftype).max)
        return out, int(np.count_nonzero(bad))
    if kind == "binary" or int(bits) == 1:
        return np.where(mask & np.uint64(1), -v, v), 0
    b = int(bits)
    code = (np.round(v).astype(np.int64) & ((1 << b) - 1)) ^ mask.astype(np.int64)
    out = np.where(code >= (1 << (b - 1)), code - (1 << b), code)
    return out.astype(np.float64), 0
