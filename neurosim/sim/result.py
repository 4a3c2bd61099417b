"""The value every simulator backend returns: :class:`SimResult`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EVENT_TYPES", "SimResult"]

#: Event types counted per core. Energy and latency models multiply these by
#: the profile's per-event figures (``energy.<type>_pj``, ``latency.<type>_ns``;
#: ``packet`` and ``hop`` use ``hop``; ``chip_hop`` uses ``chip_hop``).
EVENT_TYPES: tuple[str, ...] = (
    "synop",  # synaptic operations (one per nonzero weight reached by a nonzero input)
    "neuron_update",  # neuron state updates
    "spike_out",  # spikes (or nonzero graded outputs) emitted
    "packet",  # packets sent between cores (one per emitting neuron per target core)
    "hop",  # mesh hops travelled by those packets
    "chip_hop",  # packets crossing chip boundaries
)


@dataclass(frozen=True, eq=False)
class SimResult:
    """Outputs and event counts of one simulation.

    Attributes
    ----------
    backend : str
    outputs : ndarray, shape (n_inputs, n_out)
        Final activations (graded models) or output spike counts (spiking),
        of the network's output populations concatenated in order.
    spike_counts : mapping of str to ndarray, shape (n_inputs, n_neurons)
        Per source population: spikes emitted over the run (spiking) or number
        of steps with nonzero output (graded).
    events : mapping of str to ndarray, shape (n_cores,)
        Totals over all inputs and steps, per core, for each of
        :data:`EVENT_TYPES` (empty for backends that run no mapping).
    events_per_step : mapping of str to ndarray, shape (n_steps, n_cores), or None
    n_inputs, n_steps : int
    dt_s : float
    raster : mapping of str to ndarray (n_steps, n_record, n_neurons) of bool, or None
    saturations : int
        Accumulator or state values clipped to their bit width.
    overflows : int
        Values that would have wrapped (counted where saturation is off).
    wall_time_s : float
    info : mapping
    """

    backend: str
    outputs: np.ndarray
    spike_counts: Mapping[str, np.ndarray]
    events: Mapping[str, np.ndarray]
    n_inputs: int
    n_steps: int
    dt_s: float
    events_per_step: Mapping[str, np.ndarray] | None = None
    raster: Mapping[str, np.ndarray] | None = None
    saturations: int = 0
    overflows: int = 0
    wall_time_s: float = 0.0
    info: Mapping[str, Any] = field(default_factory=dict)

    def total_events(self, kind: str) -> int:
        """Total count of one event type over all cores."""
        arr = self.events.get(kind)
        return int(np.sum(arr)) if arr is not None else 0
