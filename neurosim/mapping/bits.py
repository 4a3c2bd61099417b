"""Synapse-store bits of a core in the profile's encoding: one formula for mapper and cost.

``b`` = ``weights.bits``, ``i`` = the index bits of :func:`index_bits`:

``crossbar``, ``dense``
    ``axons x neurons x b`` (1 bit per cell for binary and axon-type weights);
``sparse``, ``per_neuron_slots``
    ``synapses x (b + i)``.

An axon-type chip also keeps per-neuron weight tables of ``neurons x
n_axon_types x b`` bits plus ``axons x ceil(log2 n_axon_types)`` bits of axon
types (the *table* bits). See :mod:`neurosim.cost.memory` for the report.
"""

from __future__ import annotations

import math

import numpy as np

from neurosim.hardware.profile import ChipProfile

__all__ = ["index_bits", "synapse_memory_bits"]


def index_bits(profile: ChipProfile) -> tuple[int, str]:
    """Index bits per synapse entry and the profile field that number comes from."""
    bits = profile.get("core.index_bits")
    if bits is not None:
        return int(bits), "core.index_bits"
    max_axons = int(profile.get("core.max_axons"))
    return max(1, math.ceil(math.log2(max_axons))), "ceil(log2(core.max_axons))"


def synapse_memory_bits(
    profile: ChipProfile, n_axons: np.ndarray, n_neurons: np.ndarray, n_synapses: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Synapse memory of cores in the profile's encoding.

    Parameters
    ----------
    profile : ChipProfile
    n_axons, n_neurons, n_synapses : array of int
        Per core: distinct input axons, neurons, stored synapses.

    Returns
    -------
    synapse_bits, table_bits : ndarray of int
        Bits of the synapse store (what ``core.synapse_memory_bits`` bounds)
        and of per-neuron axon-type weight tables (0 unless ``weights.kind``
        is ``axon_type``).

    Examples
    --------
    >>> from neurosim.hardware.profile import load_profile
    >>> p = load_profile("generic", {"core.synapse_encoding": "crossbar", "weights.bits": 4})
    >>> synapse_memory_bits(p, np.array([10]), np.array([3]), np.array([7]))[0]
    array([120])
    """
    n_axons = np.asarray(n_axons, dtype=np.int64)
    n_neurons = np.asarray(n_neurons, dtype=np.int64)
    n_synapses = np.asarray(n_synapses, dtype=np.int64)
    encoding = profile.get("core.synapse_encoding")
    kind = profile.get("weights.kind")
    bits = int(profile.get("weights.bits"))
    table = np.zeros_like(n_neurons)
    if encoding in ("crossbar", "dense"):
        cell = 1 if kind in ("binary", "axon_type") else bits
        syn = n_axons * n_neurons * cell
    else:  # sparse, per_neuron_slots
        syn = n_synapses * (bits + index_bits(profile)[0])
    if kind == "axon_type":
        n_types = int(profile.get("weights.n_axon_types"))
        type_bits = max(1, math.ceil(math.log2(n_types))) if n_types > 1 else 0
        table = n_neurons * n_types * bits + n_axons * type_bits
    return syn, table
