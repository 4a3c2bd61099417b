"""Faults on the chip: crashed neurons and cores, broken synapses, bit flips,
dropped spikes and device mismatch, applied to a mapped network (seeded), and
the El Mhamdi-Guerraoui-Rouault robustness bound. See ``docs/faults.md``.
"""

from neurosim.faults.apply import FAULTS, apply_fault, apply_faults
from neurosim.faults.spec import FAULT_KINDS, FaultSpec, FaultsSection, parse_fault_arg

__all__ = [
    "FAULTS",
    "FAULT_KINDS",
    "FaultSpec",
    "FaultsSection",
    "apply_fault",
    "apply_faults",
    "parse_fault_arg",
]
