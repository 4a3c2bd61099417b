"""The backend and execution-mode registries and the request every backend receives.

:data:`MODES` maps an execution mode (``batch``, ``stream``) to the function
that runs it; :data:`BACKENDS` maps a backend name to the function implementing it, given
as ``"module:function"`` (imported on first use) so heavy dependencies load
only when their backend runs. A backend is a callable
``(SimRequest) -> SimResult``. :func:`get_backend` also accepts a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.sim.inputs import PreparedInputs
from neurosim.util.registry import Registry

__all__ = [
    "BACKENDS",
    "MODES",
    "SimRequest",
    "backend_names",
    "get_backend",
    "register_backend",
]

#: backend name -> "module:function"
BACKENDS: Registry = Registry(
    "backend",
    SimulationError,
    {
        "reference": "neurosim.sim.reference:run_reference",
        "chip": "neurosim.sim.chip:run_chip",
        "brian2": "neurosim.sim.brian2_backend:run_brian2",
    },
)

#: execution mode -> "module:function" ``(target, inputs, backend, **settings) -> SimResult``:
#: ``batch`` runs every input through the whole (mapped) network at once, one
#: time step after the other; ``stream`` runs a layered network one layer at a
#: time (graded single-step inference of networks too large to build)
MODES: Registry = Registry(
    "mode",
    SimulationError,
    {
        "batch": "neurosim.sim.simulate:run_batch",
        "stream": "neurosim.sim.stream:run_stream",
    },
)


@dataclass(frozen=True, eq=False)
class SimRequest:
    """Everything a backend needs to run.

    Attributes
    ----------
    mapped : MappedNetwork or None
        None when a plain network is simulated (reference backend only).
    network : Network
        The source network.
    inputs : PreparedInputs
    dt_s : float
    seed : int
    v0 : mapping population -> initial membrane potential (scalar or per neuron)
    record : int
        Inputs whose raster is recorded.
    per_step : bool
        Event counts per step as well as totals.
    progress : bool
        Show a progress bar.
    options : mapping
        Backend-specific options (``frac_bits`` for chip; ``target`` for brian2).
    keep_counts : {"all", "outputs"}
        Per-input spike counts of every population, or of the outputs only
        (large networks: the totals per neuron are always kept for events).
    """

    mapped: Any
    network: Network
    inputs: PreparedInputs
    dt_s: float
    seed: int = 0
    v0: Mapping[str, Any] = field(default_factory=dict)
    record: int = 0
    per_step: bool = False
    progress: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    keep_counts: str = "all"

    def kept(self) -> tuple[str, ...] | None:
        """Populations whose per-input counts are kept (None: all)."""
        return None if self.keep_counts == "all" else tuple(self.network.outputs)

    def v0_for(self, name: str, size: int) -> np.ndarray:
        """Initial potential of population ``name`` (float64, shape ``(size,)``)."""
        return np.broadcast_to(np.asarray(self.v0.get(name, 0.0), dtype=np.float64), (size,)).copy()


def backend_names() -> tuple[str, ...]:
    """Names of the registered backends."""
    return tuple(BACKENDS)


def register_backend(name: str, fn: str | Callable[..., Any], registry: dict | None = None) -> None:
    """Add a backend to ``registry`` (default :data:`BACKENDS`); a name may be registered once."""
    reg = BACKENDS if registry is None else Registry.over(registry, "backend", SimulationError)
    reg.register(name, fn)


def get_backend(backend: str | Callable[..., Any]) -> Callable[..., Any]:
    """The backend function for a name (or the callable itself)."""
    return BACKENDS.resolve(backend)
