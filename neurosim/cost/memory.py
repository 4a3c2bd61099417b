"""Memory model: synapse and neuron-state memory per core, and storage savings.

A pure function of a :class:`~neurosim.mapping.mapped.MappedNetwork` and its
profile; the per-core counts come from the mapping's load table
(:func:`neurosim.mapping.loads.core_loads`), the bit formula from
:func:`neurosim.mapping.bits.synapse_memory_bits`, so that the mapper's
design rules and this report agree core by core.

Synapse memory of one core, in the profile's ``core.synapse_encoding``
(``b`` = ``weights.bits``, ``i`` = ``core.index_bits``):

``crossbar``
    ``axons x neurons x b`` -- every cell of the rows (input axons) and
    columns (neurons) the core uses is stored, zero or not. Binary and
    axon-type weights take 1 bit per cell; an axon-type chip adds a weight
    table of ``neurons x n_axon_types x b`` bits and ``axons x ceil(log2
    n_axon_types)`` bits of axon types (reported as ``table_bits``).
``dense``
    ``axons x neurons x b``: a dense matrix over the core's inputs.
``sparse``
    ``synapses x (b + i)``: one entry (weight and target index) per synapse.
``per_neuron_slots``
    ``synapses x (b + i)``: one filled slot (weight and source tag) per
    synapse; ``i`` defaults to ``ceil(log2 core.max_axons)`` when the profile
    gives no index width. The slots a neuron may hold are a design rule of the
    mapper (``core.max_synapses_per_neuron``), reported here as slot use.

On a chip that stores convolutions as shared kernels (``conv.storage``) a
core's synapse memory is its conv kernels, counted once, plus its other
synapses (:func:`neurosim.mapping.conv_rules.shared_kernel_bits`).

Neuron state memory is ``neurons x weights.state_bits``. Utilization is used
memory over ``core.synapse_memory_bits`` (``None`` when that capacity is
unknown). The same source network stored as dense float32, dense float64 and
CSR float32 (int32 indices and row pointers) gives the reference sizes; the
*weight storage* saving compares a dense matrix of the chip's weight width
with a dense float matrix (a 2-bit ternary network: 64 / 2 = 32x against
float64, the comparison CoNNTrA reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.mapping.bits import index_bits
from neurosim.mapping.conv_rules import shared_kernel_bits
from neurosim.mapping.loads import LoadTable, core_loads
from neurosim.mapping.mapped import MappedNetwork
from neurosim.network import Network

__all__ = [
    "REFERENCE_FORMATS",
    "MemoryReport",
    "memory_model",
    "reference_storage_bits",
]

#: reference storage formats of the source network: name -> description
REFERENCE_FORMATS: dict[str, str] = {
    "dense_float32": "dense matrix of float32 weights",
    "dense_float64": "dense matrix of float64 weights",
    "csr_float32": "CSR: float32 values, int32 column indices and row pointers",
}


def reference_storage_bits(network: Network) -> dict[str, int]:
    """Bits to store every projection of ``network`` in each :data:`REFERENCE_FORMATS`."""
    out = dict.fromkeys(REFERENCE_FORMATS, 0)
    for proj in network.projections:
        n_pre, n_post = proj.shape
        out["dense_float32"] += n_pre * n_post * 32
        out["dense_float64"] += n_pre * n_post * 64
        out["csr_float32"] += proj.n_synapses * (32 + 32) + (n_pre + 1) * 32
    return out


@dataclass(frozen=True, eq=False)
class MemoryReport:
    """Memory use of a mapping (see the module docstring for the formulas).

    Attributes
    ----------
    encoding : str
    weight_bits, state_bits : int
    index_bits : int or None
        Per synapse entry (sparse encodings), with ``index_bits_from`` saying
        whether the profile gave it or it was derived.
    load : LoadTable
        The mapping's load table (:func:`~neurosim.mapping.loads.core_loads`).
    synapse_bits, table_bits, state_bits_per_core : ndarray, shape (n_cores,)
    capacity_bits : int or None
        ``core.synapse_memory_bits``.
    reference_bits : dict
        The source network in each of :data:`REFERENCE_FORMATS`.
    dense_chip_bits : int
        The source network as dense matrices of ``weight_bits`` weights.
    figures : mapping of str to dict
        Each profile field used: ``value``, ``provenance``, ``source``.
    """

    encoding: str
    weight_bits: int
    state_bits: int
    index_bits: int | None
    index_bits_from: str | None
    load: LoadTable
    synapse_bits: np.ndarray
    table_bits: np.ndarray
    state_bits_per_core: np.ndarray
    capacity_bits: int | None
    max_neurons: int
    max_axons: int
    max_synapses_per_neuron: int | None
    reference_bits: Mapping[str, int]
    dense_chip_bits: int
    figures: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def estimated(self) -> tuple[str, ...]:
        """Profile fields with provenance ``estimated`` behind these figures."""
        return tuple(k for k, f in self.figures.items() if f.get("provenance") == "estimated")

    @property
    def total_synapse_bits(self) -> int:
        return int(self.synapse_bits.sum() + self.table_bits.sum())

    @property
    def total_state_bits(self) -> int:
        return int(self.state_bits_per_core.sum())

    @property
    def total_bits(self) -> int:
        return self.total_synapse_bits + self.total_state_bits

    def utilization(self) -> np.ndarray | None:
        """Synapse memory used over capacity per core (``None`` when capacity is unknown)."""
        if self.capacity_bits is None:
            return None
        return self.synapse_bits / float(self.capacity_bits)

    def saving_vs(self) -> dict[str, float | None]:
        """Reference storage over the chip's synapse storage (incl. indices and tables)."""
        total = self.total_synapse_bits
        return {k: (v / total if total else None) for k, v in self.reference_bits.items()}

    def weight_storage_saving(self) -> dict[str, float | None]:
        """Dense float storage over dense storage at the chip's weight width."""
        d = self.dense_chip_bits
        return {
            "dense_float32": self.reference_bits["dense_float32"] / d if d else None,
            "dense_float64": self.reference_bits["dense_float64"] / d if d else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (keys documented in docs/report.md)."""
        util = self.utilization()
        load = self.load
        per_core = []
        for c in range(load.n_cores):
            per_core.append(
                {
                    "core": c,
                    "neurons": int(load.neurons[c]),
                    "axons": int(load.axons[c]),
                    "synapses": int(load.synapses[c]),
                    "synapse_bits": int(self.synapse_bits[c]),
                    "table_bits": int(self.table_bits[c]),
                    "state_bits": int(self.state_bits_per_core[c]),
                    "utilization": None if util is None else float(util[c]),
                }
            )

        def _ratio_max(used: np.ndarray, cap: int | None) -> float | None:
            return float(used.max() / cap) if cap and used.size else None

        return {
            "encoding": self.encoding,
            "weight_bits": self.weight_bits,
            "state_bits": self.state_bits,
            "index_bits": self.index_bits,
            "index_bits_from": self.index_bits_from,
            "capacity_bits_per_core": self.capacity_bits,
            "synapse_bits": self.total_synapse_bits,
            "state_bits_total": self.total_state_bits,
            "total_bits": self.total_bits,
            "n_synapses": int(load.synapses.sum()),
            "utilization_mean": None if util is None or not util.size else float(util.mean()),
            "utilization_max": None if util is None or not util.size else float(util.max()),
            "neuron_utilization_max": _ratio_max(load.neurons, self.max_neurons),
            "axon_utilization_max": _ratio_max(load.axons, self.max_axons),
            "slot_utilization_max": _ratio_max(load.fan_in_max, self.max_synapses_per_neuron),
            "reference_bits": dict(self.reference_bits),
            "dense_chip_bits": self.dense_chip_bits,
            "saving_vs": self.saving_vs(),
            "weight_storage_saving": self.weight_storage_saving(),
            "estimated": list(self.estimated),
            "figures": [{"field": k, **dict(v)} for k, v in self.figures.items()],
            "per_core": per_core,
        }


def _figures(mapped: MappedNetwork, index_from: str | None) -> dict[str, dict[str, Any]]:
    """Value, provenance and source of every profile field the memory figures use."""
    profile = mapped.profile
    used = [
        "core.synapse_encoding",
        "weights.bits",
        "weights.state_bits",
        "core.synapse_memory_bits",
    ]
    if index_from is not None:
        used.append("core.index_bits" if index_from == "core.index_bits" else "core.max_axons")
    if profile.get("weights.kind") == "axon_type":
        used.append("weights.n_axon_types")
    figures = {}
    for path in used:
        fig = profile.figure(path)
        figures[path] = {"value": fig.value, "provenance": fig.provenance, "source": fig.source}
    return figures


def memory_model(mapped: MappedNetwork, load: LoadTable | None = None) -> MemoryReport:
    """Synapse and state memory of a mapping, per core and against dense/CSR storage.

    Parameters
    ----------
    mapped : MappedNetwork
    load : LoadTable, optional
        Precomputed :func:`~neurosim.mapping.loads.core_loads` of ``mapped``.

    Returns
    -------
    MemoryReport
    """
    profile = mapped.profile
    load = core_loads(mapped) if load is None else load
    shared = shared_kernel_bits(mapped)  # conv kernels stored once per core on shared-kernel chips
    encoding = profile.get("core.synapse_encoding")
    if encoding in ("sparse", "per_neuron_slots"):
        bits, index_from = index_bits(profile)
    else:
        bits, index_from = None, None
    weight_bits = int(profile.get("weights.bits"))
    dense_chip = sum(p.shape[0] * p.shape[1] * weight_bits for p in mapped.network.projections)
    cap = profile.get("core.synapse_memory_bits")
    spn = profile.get("core.max_synapses_per_neuron")
    return MemoryReport(
        encoding=encoding,
        weight_bits=weight_bits,
        state_bits=int(profile.get("weights.state_bits")),
        index_bits=bits,
        index_bits_from=index_from,
        load=load,
        synapse_bits=load.synapse_bits if shared is None else shared,
        table_bits=load.table_bits,
        state_bits_per_core=load.state_bits,
        capacity_bits=None if cap is None else int(cap),
        max_neurons=int(profile.get("core.max_neurons")),
        max_axons=int(profile.get("core.max_axons")),
        max_synapses_per_neuron=None if spn is None else int(spn),
        reference_bits=reference_storage_bits(mapped.network),
        dense_chip_bits=int(dense_chip),
        figures=_figures(mapped, index_from),
    )
