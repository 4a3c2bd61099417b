"""Simulation backends and the simulate() entry point."""

from neurosim.sim.result import EVENT_TYPES, SimResult

__all__ = ["EVENT_TYPES", "SimResult"]
