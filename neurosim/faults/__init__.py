"""Faults on the chip: crashed neurons and cores, broken synapses, bit flips,
dropped spikes and device mismatch, applied to a mapped network (seeded), and
the El Mhamdi-Guerraoui-Rouault robustness bound. See ``docs/faults.md``.

Only the specifications are imported eagerly (the scenario schema reads
them); :func:`apply_fault` and the rest load on first use.
"""

from typing import Any

from neurosim.faults.spec import FAULT_KINDS, FaultSpec, FaultsSection, parse_fault_arg

__all__ = [
    "FAULTS",
    "FAULT_KINDS",
    "FaultSpec",
    "FaultsSection",
    "apply_fault",
    "apply_faults",
    "crash_bound",
    "parse_fault_arg",
]

_LAZY = {
    "FAULTS": "neurosim.faults.apply",
    "apply_fault": "neurosim.faults.apply",
    "apply_faults": "neurosim.faults.apply",
    "crash_bound": "neurosim.faults.bound",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neurosim.faults' has no attribute {name!r}")
