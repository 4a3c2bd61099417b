"""Per-core resource usage of a mapping, as ``(used, capacity)`` arrays.

:func:`usage_table` pairs the :class:`~neurosim.mapping.loads.LoadTable`
(counted once, by :func:`~neurosim.mapping.loads.count_loads`) with the
capacity the profile gives each resource, for the design rules and the
per-core :class:`~neurosim.mapping.mapped.CoreUsage` of a mapping.

Resources (keys of :attr:`UsageTable.used`):

``neurons``                  neurons on the core (``core.max_neurons``)
``axons``                    distinct input axons: presynaptic neurons reaching the core (``core.max_axons``)
``synapses``                 stored synapses into the core's neurons (no own limit)
``fan_in_max``               most inputs of one neuron on the core (``core.max_fan_in``)
``synapses_per_neuron_max``  the same count against ``core.max_synapses_per_neuron``
``fan_out_max``              most target cores of one neuron on the core (1 for ``one_axon``, else ``core.max_target_cores``)
``fan_out_synapses_max``     most stored synapses out of one neuron on the core (``core.max_fan_out``)
``synapse_memory_bits``      synapse store in the profile's encoding (``core.synapse_memory_bits``)
``weight_table_bits``        axon-type weight tables (axon_type chips only; no own limit)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits
from neurosim.mapping.loads import LoadTable
from neurosim.mapping.mapped import CoreUsage

__all__ = ["RESOURCE_FIELDS", "UsageTable", "resource_capacity", "used_resources", "usage_table"]

#: resource -> profile field holding its per-core capacity (None: no limit)
RESOURCE_FIELDS: dict[str, str | None] = {
    "neurons": "core.max_neurons",
    "axons": "core.max_axons",
    "synapses": None,
    "fan_in_max": "core.max_fan_in",
    "synapses_per_neuron_max": "core.max_synapses_per_neuron",
    "fan_out_max": "core.fan_out",
    "fan_out_synapses_max": "core.max_fan_out",
    "synapse_memory_bits": "core.synapse_memory_bits",
    "weight_table_bits": None,
}


def used_resources(loads: LoadTable, profile: ChipProfile) -> dict[str, np.ndarray]:
    """Each resource of :data:`RESOURCE_FIELDS` per core, read from the load table."""
    used = {
        "neurons": loads.neurons,
        "axons": loads.axons,
        "synapses": loads.synapses,
        "fan_in_max": loads.fan_in_max,
        "synapses_per_neuron_max": loads.fan_in_max.copy(),
        "fan_out_max": loads.fan_out_max,
        "fan_out_synapses_max": loads.fan_out_synapses_max,
        "synapse_memory_bits": loads.synapse_bits,
    }
    if profile.get("weights.kind") == "axon_type":
        used["weight_table_bits"] = loads.table_bits
    return used


def resource_capacity(limits: CoreLimits, profile: ChipProfile) -> dict[str, float | None]:
    """Per-core capacity of each resource (``None``: no limit)."""
    capacity: dict[str, float | None] = {
        "neurons": limits.max_neurons,
        "axons": limits.max_axons,
        "synapses": None,
        "fan_in_max": limits.max_fan_in,
        "synapses_per_neuron_max": limits.max_slots,
        "fan_out_max": limits.max_target_cores,
        "fan_out_synapses_max": limits.max_fan_out,
        "synapse_memory_bits": limits.memory_bits,
    }
    if profile.get("weights.kind") == "axon_type":
        capacity["weight_table_bits"] = None
    return capacity


@dataclass(frozen=True, eq=False)
class UsageTable:
    """Usage of every core: the load table against the profile's capacities.

    Attributes
    ----------
    loads : LoadTable
    used : mapping of str to ndarray, shape (n_cores,)
    capacity : mapping of str to float or None
    """

    loads: LoadTable
    used: Mapping[str, np.ndarray]
    capacity: Mapping[str, float | None]

    @property
    def n_cores(self) -> int:
        return self.loads.n_cores

    def where(self, core: int) -> str:
        """``"layer2[0:256] on core 3"`` (``"layer1+layer2 on core 0"`` for a shared core)."""
        return self.loads.where(core)

    def core_usages(
        self, chip: np.ndarray, x: np.ndarray, y: np.ndarray, core_of: Mapping[str, np.ndarray]
    ) -> tuple[CoreUsage, ...]:
        """One :class:`CoreUsage` per core (neuron runs of consecutive indices)."""
        runs = _neuron_runs(core_of, self.n_cores)
        out = []
        for k in range(self.n_cores):
            res = {r: (_num(self.used[r][k]), self.capacity[r]) for r in self.used}
            out.append(CoreUsage(k, int(chip[k]), int(x[k]), int(y[k]), tuple(runs[k]), res))
        return tuple(out)


def _neuron_runs(
    core_of: Mapping[str, np.ndarray], n_cores: int
) -> list[list[tuple[str, int, int]]]:
    """Per core, the runs of consecutive neuron indices of each population on it."""
    runs: list[list[tuple[str, int, int]]] = [[] for _ in range(n_cores)]
    for name, cores in core_of.items():
        cores = np.asarray(cores)
        idx = np.flatnonzero(cores >= 0)
        if idx.size == 0:
            continue
        order = idx[np.lexsort((idx, cores[idx]))]
        c = cores[order]
        brk = np.flatnonzero((np.diff(order) != 1) | (np.diff(c) != 0)) + 1
        starts = np.concatenate([[0], brk])
        stops = np.concatenate([brk, [order.size]])
        for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
            runs[int(c[s])].append((name, int(order[s]), int(order[e - 1]) + 1))
    return runs


def _num(v: np.generic | float) -> float | int:
    v = v.item() if hasattr(v, "item") else v
    return int(v) if float(v).is_integer() else float(v)


def usage_table(loads: LoadTable, profile: ChipProfile, limits: CoreLimits) -> UsageTable:
    """The usage of every core of ``loads`` against the capacities of ``profile``."""
    return UsageTable(loads, used_resources(loads, profile), resource_capacity(limits, profile))
