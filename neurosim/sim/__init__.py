"""Simulation backends and the simulate() entry point."""

from neurosim.sim.backends import BACKENDS, SimRequest, backend_names, get_backend
from neurosim.sim.result import EVENT_TYPES, SimResult
from neurosim.sim.simulate import simulate

__all__ = [
    "BACKENDS",
    "EVENT_TYPES",
    "SimRequest",
    "SimResult",
    "backend_names",
    "get_backend",
    "simulate",
]
