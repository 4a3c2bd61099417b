"""Per-core limits read from a chip profile, and the input structure of a population.

:class:`CoreLimits` gathers, once, every per-core figure the partitioner, the
splitter and the design rules need, so that no hardware number is read twice
or hard-coded. :func:`incoming` stacks every projection into one hardware
population into a single ``(n_inputs, n_neurons)`` CSC matrix: the rows are
the population's possible input axons (one per presynaptic neuron of every
source population), the columns its neurons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.bits import synapse_memory_bits
from neurosim.network import Network

__all__ = ["CoreLimits", "Incoming", "incoming", "memory_bits"]


@dataclass(frozen=True)
class CoreLimits:
    """Per-core limits of a profile (``None`` = unlimited or unknown).

    Attributes
    ----------
    max_neurons, max_axons : int
        ``core.max_neurons``, ``core.max_axons``.
    max_fan_in : int or None
        ``core.max_fan_in`` (distinct inputs of one neuron).
    max_slots : int or None
        ``core.max_synapses_per_neuron``.
    memory_bits : int or None
        ``core.synapse_memory_bits``.
    max_target_cores : int or None
        Cores one neuron's output may reach: 1 for ``core.fan_out: one_axon``,
        ``core.max_target_cores`` for ``multicast``.
    split_fan_in, relay_fan_out : bool
    max_fan_out : int or None
        ``core.max_fan_out``: synapses out of one neuron.
    """

    max_neurons: int
    max_axons: int
    max_fan_in: int | None
    max_slots: int | None
    memory_bits: int | None
    max_target_cores: int | None
    split_fan_in: bool
    relay_fan_out: bool
    max_fan_out: int | None = None

    @classmethod
    def from_profile(cls, profile: ChipProfile) -> CoreLimits:
        rule = profile.get("core.fan_out")
        targets = 1 if rule == "one_axon" else profile.get("core.max_target_cores")
        return cls(
            max_neurons=int(profile.get("core.max_neurons")),
            max_axons=int(profile.get("core.max_axons")),
            max_fan_in=profile.get("core.max_fan_in"),
            max_slots=profile.get("core.max_synapses_per_neuron"),
            memory_bits=profile.get("core.synapse_memory_bits"),
            max_target_cores=targets,
            split_fan_in=bool(profile.get("core.split_fan_in")),
            relay_fan_out=bool(profile.get("core.relay_fan_out")),
            max_fan_out=profile.get("core.max_fan_out"),
        )

    def neuron_input_limit(self, profile: ChipProfile) -> int:
        """Most inputs one neuron may have and still fit a core alone.

        The least of ``core.max_fan_in``, ``core.max_axons``,
        ``core.max_synapses_per_neuron`` and the synapses one neuron's memory
        allows (``core.synapse_memory_bits`` in the profile's encoding).
        """
        limit = self.max_axons
        for value in (self.max_fan_in, self.max_slots):
            if value is not None:
                limit = min(limit, int(value))
        if self.memory_bits is not None:
            one = memory_bits(profile, np.array([1]), np.array([1]), np.array([1]))[0]
            # memory grows linearly in synapses (= axons) for one neuron
            limit = min(limit, max(1, int(self.memory_bits // max(int(one), 1))))
        return max(1, int(limit))


def memory_bits(
    profile: ChipProfile, n_axons: np.ndarray, n_neurons: np.ndarray, n_synapses: np.ndarray
) -> np.ndarray:
    """Synapse-store bits of cores (what ``core.synapse_memory_bits`` bounds).

    Thin wrapper over :func:`neurosim.mapping.bits.synapse_memory_bits`
    (one formula for the mapper and the memory report); the axon-type weight
    table is reported apart.
    """
    syn, _ = synapse_memory_bits(profile, n_axons, n_neurons, n_synapses)
    return syn


@dataclass(frozen=True, eq=False)
class Incoming:
    """All inputs of one hardware population, stacked.

    Attributes
    ----------
    matrix : csc_matrix, shape (n_inputs, n_neurons)
        Weights from every source population, stacked row-wise in the order
        of ``sources``.
    sources : tuple of (projection name, pre population, row offset)
    """

    matrix: sp.csc_matrix
    sources: tuple[tuple[str, str, int], ...]

    @property
    def fan_in(self) -> np.ndarray:
        """Distinct inputs of each neuron."""
        return np.diff(self.matrix.indptr)


def incoming(network: Network, name: str) -> Incoming:
    """Stack the projections into population ``name`` (see :class:`Incoming`).

    Two projections from the same source population share axons: their rows
    are merged (a synapse is one (pre, post) pair whatever its projection).
    """
    size = network.population(name).size
    raw: list[list[sp.spmatrix]] = []  # weights of each source population
    sources: list[tuple[str, str, int]] = []
    offset_of: dict[str, int] = {}
    offset = 0
    for pr in network.projections_into(name):
        if pr.pre in offset_of:
            sources.append((pr.name, pr.pre, offset_of[pr.pre]))
            raw[list(offset_of).index(pr.pre)].append(pr.weights)
            continue
        offset_of[pr.pre] = offset
        sources.append((pr.name, pr.pre, offset))
        raw.append([pr.weights])
        offset += pr.shape[0]
    if len(raw) == 1 and len(raw[0]) == 1:
        # one projection: a single transposed copy, magnitudes taken in place
        w = raw[0][0]
        mat = w.tocsc(copy=True) if w.format == "csc" else sp.csc_matrix(w)
        np.abs(mat.data, out=mat.data)
    elif raw:
        blocks = []
        for ws in raw:
            block = abs(ws[0])
            for w in ws[1:]:
                block = block + abs(w)
            blocks.append(block)
        mat = sp.vstack(blocks, format="csc") if len(blocks) > 1 else blocks[0].tocsc()
    else:
        mat = sp.csc_matrix((0, size))
    mat.sort_indices()
    return Incoming(mat, tuple(sources))


def ceil_div(a: float, b: float) -> int:
    """``ceil(a / b)`` for non-negative numbers."""
    return int(math.ceil(a / b)) if b else 0
