"""Cost models of a mapped, simulated network: memory, energy, latency.

They sit above mapping and simulation: each reads a
:class:`~neurosim.mapping.mapped.MappedNetwork`, its load table
(:func:`neurosim.mapping.loads.core_loads`) and, for energy and latency, a
:class:`~neurosim.sim.result.SimResult`, together with the figures of the
profile (:class:`~neurosim.hardware.profile.ChipProfile`).
"""

from neurosim.cost.energy import EnergyReport, energy_model
from neurosim.cost.latency import LatencyReport, energy_delay_product, latency_model
from neurosim.cost.memory import MemoryReport, memory_model

__all__ = [
    "EnergyReport",
    "LatencyReport",
    "MemoryReport",
    "energy_delay_product",
    "energy_model",
    "latency_model",
    "memory_model",
]
