"""Memory model: synapse and neuron-state memory per core, and storage savings.

A pure function of a :class:`~neurosim.mapping.mapped.MappedNetwork` (its
hardware network, quantized weights, core assignment) and its profile.

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

Neuron state memory is ``neurons x weights.state_bits``. Utilization is used
memory over ``core.synapse_memory_bits`` (``None`` when that capacity is
unknown). The same source network stored as dense float32, dense float64 and
CSR float32 (int32 indices and row pointers) gives the reference sizes; the
*weight storage* saving compares a dense matrix of the chip's weight width
with a dense float matrix (a 2-bit ternary network: 64 / 2 = 32x against
float64, the comparison CoNNTrA reports).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "REFERENCE_FORMATS",
    "CoreLoad",
    "MemoryReport",
    "core_load",
    "hw_population_role",
    "memory_model",
    "reference_storage_bits",
    "synapse_memory_bits",
]

#: reference storage formats of the source network: name -> description
REFERENCE_FORMATS: dict[str, str] = {
    "dense_float32": "dense matrix of float32 weights",
    "dense_float64": "dense matrix of float64 weights",
    "csr_float32": "CSR: float32 values, int32 column indices and row pointers",
}

_ADDED = re.compile(r"^(?P<base>.+)\.(?P<role>partial|relay)\d+$")


def hw_population_role(name: str) -> tuple[str, str]:
    """The source layer a hardware population serves, and its role.

    Returns ``(layer, role)`` with role ``"neuron"`` for a source population,
    ``"split"`` for a partial-sum population ``"{post}.partial{k}"`` (serving
    ``post``) and ``"relay"`` for a relay population ``"{pre}.relay{k}"``
    (serving ``pre``).

    Examples
    --------
    >>> hw_population_role("layer2.partial0")
    ('layer2', 'split')
    >>> hw_population_role("layer1")
    ('layer1', 'neuron')
    """
    m = _ADDED.match(name)
    if m is None:
        return name, "neuron"
    base, role = m.group("base"), m.group("role")
    # nested additions (a relay of a partial population) serve the innermost source layer
    layer, _ = hw_population_role(base)
    return layer, "split" if role == "partial" else "relay"


@dataclass(frozen=True, eq=False)
class CoreLoad:
    """Counts per used core, derived from a mapping.

    Attributes
    ----------
    n_neurons, n_axons, n_synapses : ndarray of int, shape (n_cores,)
        Hardware neurons placed on each core, distinct input axons (distinct
        presynaptic neurons) reaching it, and stored synapses (nonzero
        quantized weights) into its neurons.
    max_synapses_per_neuron : ndarray of int, shape (n_cores,)
        Largest number of synapses into one neuron of the core.
    neurons_by_group, synapses_by_group : mapping of (layer, role) to ndarray
        The same counts split by the source layer and role
        (:func:`hw_population_role`) of the hardware population.
    """

    n_neurons: np.ndarray
    n_axons: np.ndarray
    n_synapses: np.ndarray
    max_synapses_per_neuron: np.ndarray
    neurons_by_group: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)
    synapses_by_group: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)

    @property
    def n_cores(self) -> int:
        return int(self.n_neurons.size)

    def single_group_cores(self) -> bool:
        """True when every core holds neurons of one (layer, role) group only."""
        if not self.neurons_by_group:
            return True
        stacked = np.stack([v > 0 for v in self.neurons_by_group.values()])
        return bool((stacked.sum(axis=0) <= 1).all())


def _stored_pattern(mapped: Any, proj: Any) -> sp.csr_matrix:
    """The synapses a chip stores for one hardware projection (CSR, pattern in data != 0)."""
    q = mapped.quantized.get(proj.name) if mapped.quantized else None
    if q is None or q.axon_types is not None:
        # axon-type weights index a table (index 0 is a real type): use the connectivity
        return proj.weights
    w = sp.csr_matrix(q.weights)
    w = w.copy()
    w.eliminate_zeros()
    return w


def core_load(mapped: Any) -> CoreLoad:
    """Neurons, axons and synapses per used core of a mapping.

    Parameters
    ----------
    mapped : MappedNetwork

    Returns
    -------
    CoreLoad
    """
    n_cores = len(mapped.cores)
    hw = mapped.hw_network
    n_neurons = np.zeros(n_cores, dtype=np.int64)
    n_synapses = np.zeros(n_cores, dtype=np.int64)
    neurons_by_group: dict[tuple[str, str], np.ndarray] = {}
    synapses_by_group: dict[tuple[str, str], np.ndarray] = {}
    syn_per_neuron: dict[str, np.ndarray] = {}
    for pop in hw.populations:
        cores = np.asarray(mapped.core_of.get(pop.name, np.full(pop.size, -1)), dtype=np.int64)
        placed = cores[cores >= 0]
        counts = np.bincount(placed, minlength=n_cores)[:n_cores]
        n_neurons += counts
        if placed.size:
            group = hw_population_role(pop.name)
            neurons_by_group.setdefault(group, np.zeros(n_cores, dtype=np.int64))
            neurons_by_group[group] = neurons_by_group[group] + counts
        syn_per_neuron[pop.name] = np.zeros(pop.size, dtype=np.int64)
    axon_pairs: dict[str, list[np.ndarray]] = {}
    for proj in hw.projections:
        w = _stored_pattern(mapped, proj).tocoo()
        post_core = np.asarray(mapped.core_of[proj.post], dtype=np.int64)[w.col]
        ok = post_core >= 0
        rows, post_core, cols = w.row[ok].astype(np.int64), post_core[ok], w.col[ok]
        counts = np.bincount(post_core, minlength=n_cores)[:n_cores]
        n_synapses += counts
        group = hw_population_role(proj.post)
        synapses_by_group.setdefault(group, np.zeros(n_cores, dtype=np.int64))
        synapses_by_group[group] = synapses_by_group[group] + counts
        syn_per_neuron[proj.post] = syn_per_neuron[proj.post] + np.bincount(
            cols, minlength=syn_per_neuron[proj.post].size
        )
        # an axon is one presynaptic neuron arriving at one core
        axon_pairs.setdefault(proj.pre, []).append(rows * max(n_cores, 1) + post_core)
    n_axons = np.zeros(n_cores, dtype=np.int64)
    for keys in axon_pairs.values():
        uniq = np.unique(np.concatenate(keys))
        n_axons += np.bincount(uniq % max(n_cores, 1), minlength=n_cores)[:n_cores]
    max_spn = np.zeros(n_cores, dtype=np.int64)
    for pop in hw.populations:
        cores = np.asarray(mapped.core_of.get(pop.name, np.full(pop.size, -1)), dtype=np.int64)
        ok = cores >= 0
        if ok.any():
            np.maximum.at(max_spn, cores[ok], syn_per_neuron[pop.name][ok])
    return CoreLoad(n_neurons, n_axons, n_synapses, max_spn, neurons_by_group, synapses_by_group)


def _index_bits(profile: Any) -> tuple[int, str]:
    """Index bits per synapse entry and where that number comes from."""
    bits = profile.get("core.index_bits")
    if bits is not None:
        return int(bits), "core.index_bits"
    max_axons = int(profile.get("core.max_axons"))
    return max(1, math.ceil(math.log2(max_axons))), "ceil(log2(core.max_axons))"


def synapse_memory_bits(
    profile: Any, n_axons: np.ndarray, n_neurons: np.ndarray, n_synapses: np.ndarray
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
        syn = n_synapses * (bits + _index_bits(profile)[0])
    if kind == "axon_type":
        n_types = int(profile.get("weights.n_axon_types"))
        type_bits = max(1, math.ceil(math.log2(n_types))) if n_types > 1 else 0
        table = n_neurons * n_types * bits + n_axons * type_bits
    return syn, table


def reference_storage_bits(network: Any) -> dict[str, int]:
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
    load : CoreLoad
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
    load: CoreLoad
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
                    "neurons": int(load.n_neurons[c]),
                    "axons": int(load.n_axons[c]),
                    "synapses": int(load.n_synapses[c]),
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
            "n_synapses": int(load.n_synapses.sum()),
            "utilization_mean": None if util is None or not util.size else float(util.mean()),
            "utilization_max": None if util is None or not util.size else float(util.max()),
            "neuron_utilization_max": _ratio_max(load.n_neurons, self.max_neurons),
            "axon_utilization_max": _ratio_max(load.n_axons, self.max_axons),
            "slot_utilization_max": _ratio_max(
                load.max_synapses_per_neuron, self.max_synapses_per_neuron
            ),
            "reference_bits": dict(self.reference_bits),
            "dense_chip_bits": self.dense_chip_bits,
            "saving_vs": self.saving_vs(),
            "weight_storage_saving": self.weight_storage_saving(),
            "estimated": list(self.estimated),
            "figures": [{"field": k, **dict(v)} for k, v in self.figures.items()],
            "per_core": per_core,
        }


def memory_model(mapped: Any, load: CoreLoad | None = None) -> MemoryReport:
    """Synapse and state memory of a mapping, per core and against dense/CSR storage.

    Parameters
    ----------
    mapped : MappedNetwork
    load : CoreLoad, optional
        Precomputed :func:`core_load` of ``mapped``.

    Returns
    -------
    MemoryReport
    """
    profile = mapped.profile
    load = core_load(mapped) if load is None else load
    syn, table = synapse_memory_bits(profile, load.n_axons, load.n_neurons, load.n_synapses)
    encoding = profile.get("core.synapse_encoding")
    if encoding in ("sparse", "per_neuron_slots"):
        index_bits, index_from = _index_bits(profile)
    else:
        index_bits, index_from = None, None
    state_bits = int(profile.get("weights.state_bits"))
    weight_bits = int(profile.get("weights.bits"))
    ref = reference_storage_bits(mapped.network)
    dense_chip = sum(p.shape[0] * p.shape[1] * weight_bits for p in mapped.network.projections)
    cap = profile.get("core.synapse_memory_bits")
    spn = profile.get("core.max_synapses_per_neuron")
    used = [
        "core.synapse_encoding",
        "weights.bits",
        "weights.state_bits",
        "core.synapse_memory_bits",
    ]
    if encoding in ("sparse", "per_neuron_slots"):
        used.append("core.index_bits" if index_from == "core.index_bits" else "core.max_axons")
    if profile.get("weights.kind") == "axon_type":
        used.append("weights.n_axon_types")
    figures = {}
    for path in used:
        fig = profile.figure(path)
        figures[path] = {"value": fig.value, "provenance": fig.provenance, "source": fig.source}
    return MemoryReport(
        encoding=encoding,
        weight_bits=weight_bits,
        state_bits=state_bits,
        index_bits=index_bits,
        index_bits_from=index_from,
        load=load,
        synapse_bits=syn,
        table_bits=table,
        state_bits_per_core=load.n_neurons * state_bits,
        capacity_bits=None if cap is None else int(cap),
        max_neurons=int(profile.get("core.max_neurons")),
        max_axons=int(profile.get("core.max_axons")),
        max_synapses_per_neuron=None if spn is None else int(spn),
        reference_bits=ref,
        dense_chip_bits=int(dense_chip),
        figures=figures,
    )
