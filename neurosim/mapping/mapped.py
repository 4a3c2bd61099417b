"""Values produced by the mapper: :class:`MappedNetwork` and its parts.

These are the contract between the mapper (which builds them), the simulator
(which executes them) and the reports (which read their usage, placement and
diagnostics). All are frozen; nothing here computes a mapping.

The central idea: mapping turns the source :class:`~neurosim.network.Network`
into a *hardware network* (``MappedNetwork.hw_network``), the network as the
chip runs it. It keeps every source population under its own name and adds

* partial-sum (dendritic) populations, named ``"{post}.partial{k}"``, model
  ``linear``, where a neuron's fan-in had to be split; the original neuron then
  accumulates the partial sums;
* relay (splitter) populations, named ``"{pre}.relay{k}"``, model ``linear``,
  where a neuron's outputs must reach more cores than its fan-out rule allows.

The names are for people; what a population is for is its
:class:`~neurosim.mapping.roles.Role` in ``MappedNetwork.roles``, set where it
is created (a source layer may itself be called ``"x.partial0"``; if an added
name is already taken the mapper appends ``"~"`` until it is free).

Added populations are evaluated within the same time step as the neuron they
serve (as dendritic compartments are), so the hardware network computes the
same function as the source network; their cost is counted as events and
latency stages, never hidden.

In both names ``k`` is the level of the tree: ``"{post}.partial0"`` sums the
original inputs, ``"{post}.partial1"`` sums ``partial0`` outputs when one level
was not enough; ``"{pre}.relay0"`` forwards to the target cores and
``"{pre}.relay1"`` feeds ``relay0`` when the relays of one neuron needed more
cores than it may reach. Source projections keep their names in
``hw_network``; synapses moved onto partial-sum or relay projections are
removed from them (a source projection may end up with no synapses).
``MappedNetwork.served`` says which neuron each added neuron serves. ``MappedNetwork.quantized`` holds, per hardware
projection, the weights in the chip's number format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.roles import Role, complete_roles
from neurosim.network import Network

__all__ = [
    "CoreUsage",
    "MappedNetwork",
    "Placement",
    "QuantizedProjection",
    "Violation",
]


@dataclass(frozen=True)
class Violation:
    """One broken design rule.

    Attributes
    ----------
    rule : str
        Name of the check that found it (e.g. ``"check_core_fan_in"``).
    where : str
        Layer, neuron range and core, e.g. ``"layer2[0:256] on core 3"``.
    resource : str
        What ran out, e.g. ``"distinct input axons"``.
    used, capacity : int or float
        How much is needed against how much the profile allows.
    field : str
        The profile field holding the capacity, e.g. ``"core.max_axons"``.
    fix : str
        What would make it fit.
    """

    rule: str
    where: str
    resource: str
    used: float
    capacity: float | None
    field: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.resource} {self.used} > {self.capacity} ({self.field}); fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CoreUsage:
    """What one core holds and how much of each resource it uses.

    Attributes
    ----------
    core : int
        Global core index (0 .. n_cores_used - 1).
    chip, x, y : int
        Placement on the chip mesh.
    neurons : tuple of (population, start, stop)
        Neuron ranges (or, for non-contiguous strategies, one entry per run of
        consecutive indices) of hardware populations on this core.
    resources : mapping of str to (used, capacity)
        Every resource the profile limits, e.g. ``"neurons"``, ``"axons"``,
        ``"synapse_memory_bits"``, ``"fan_in_max"``; capacity ``None`` = unlimited.
    """

    core: int
    chip: int
    x: int
    y: int
    neurons: tuple[tuple[str, int, int], ...]
    resources: Mapping[str, tuple[float, float | None]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "core": self.core,
            "chip": self.chip,
            "x": self.x,
            "y": self.y,
            "neurons": [list(n) for n in self.neurons],
            "resources": {k: [u, c] for k, (u, c) in self.resources.items()},
        }


@dataclass(frozen=True, eq=False)
class QuantizedProjection:
    """A hardware projection's weights in the chip's number format.

    The real-valued weight the chip applies is ``weights[i, j] * scale[j]``.
    For integer kinds ``weights.data`` holds integers (stored as float64 or
    int64); for float kinds ``scale`` is all ones and ``weights`` are rounded
    to the profile's float width.

    Attributes
    ----------
    name : str
        Projection name in ``MappedNetwork.hw_network``.
    weights : csr_matrix, shape (n_pre, n_post)
    scale : ndarray, shape (n_post,)
    diagnostics : mapping
        ``n_clipped``, ``n_zeroed``, ``max_rel_error``, ``mean_rel_error``,
        ``silent_neurons`` (post neurons left with no nonzero input), ...
    axon_types : ndarray or None
        TrueNorth-style: per pre neuron, its axon type index. The per-post-neuron
        signed integer weight table is ``type_weights`` (n_types, n_post), and
        ``weights.data`` holds ``type_weights[axon_types[i], j]`` for each stored
        synapse (i, j), so :meth:`effective` needs no table. Only synapses whose
        crossbar bit is set are stored: a source synapse the table serves worse
        than 0 is left unconnected (counted in ``diagnostics["n_zeroed"]``).
    type_weights : ndarray or None
    """

    name: str
    weights: sp.csr_matrix
    scale: np.ndarray
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    axon_types: np.ndarray | None = None
    type_weights: np.ndarray | None = None

    def effective(self) -> sp.csr_matrix:
        """Real-valued weights as the chip applies them (float64 CSR)."""
        return sp.csr_matrix(self.weights.multiply(self.scale[np.newaxis, :]), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Placement:
    """Cores placed on chip meshes.

    Attributes
    ----------
    chip, x, y : ndarray of int, shape (n_cores_used,)
        Position of each used core.
    method : str
        Placement method (``"row_major"``, ``"hilbert"``, ``"annealed"``, ...).
    traffic : csr_matrix, shape (n_cores_used, n_cores_used)
        Expected spike packets per time step from core a to core b: one packet
        per emitting neuron per target core, each neuron emitting the activity
        estimate given to ``map_network`` (default 0.1 spikes per step).
    total_link_load, max_link_load : float
        Sum over and maximum over mesh links of expected spikes per step.
    row_major_total_link_load : float
        The same total under row-major placement, for comparison.
    row_major_max_link_load : float
        The busiest link under row-major placement.
    chip_traffic : float
        Expected packets per step crossing chip boundaries (times chips crossed).
    """

    chip: np.ndarray
    x: np.ndarray
    y: np.ndarray
    method: str
    traffic: sp.csr_matrix
    total_link_load: float
    max_link_load: float
    row_major_total_link_load: float
    row_major_max_link_load: float = 0.0
    chip_traffic: float = 0.0

    def hops(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Manhattan hop distance between cores ``a`` and ``b`` (same chip)."""
        return np.abs(self.x[a] - self.x[b]) + np.abs(self.y[a] - self.y[b])


@dataclass(frozen=True, eq=False)
class MappedNetwork:
    """A network placed on a chip.

    Attributes
    ----------
    network : Network
        The source network, unquantized (what the ``reference`` backend runs).
    profile : ChipProfile
        The profile mapped to (with overrides applied).
    hw_network : Network
        The network as the chip runs it (source populations plus partial-sum
        and relay populations; see module docstring). Float weights before
        quantization.
    quantized : mapping of str to QuantizedProjection
        One per projection of ``hw_network``.
    core_of : mapping of str to ndarray of int
        For each hardware population, the core of each neuron (``-1`` for
        input populations, which are fed from the host).
    cores : tuple of CoreUsage
    placement : Placement
    violations : tuple of Violation
    strategy : str
    seed : int
    lower_bound_cores : int
        max over resources of ceil(total / capacity per core).
    added : mapping
        ``split_neurons``, ``relay_neurons``, ``extra_cores``, ``extra_stages``.
    info : mapping
        Anything else worth reporting (timings, per-strategy notes).
    served : mapping of str to (str, ndarray)
        For each added (partial-sum or relay) population: the population it
        serves and, per added neuron, the index of the served neuron (the
        post neuron a partial sum feeds; the pre neuron a relay copies).
    roles : mapping of str to Role
        The :class:`~neurosim.mapping.roles.Role` of every hardware
        population, set by the mapper where it creates the population. A
        hand-built mapping may leave it out: the missing roles are then filled
        in from the structure (:func:`~neurosim.mapping.roles.complete_roles`).
    """

    network: Network
    profile: ChipProfile
    hw_network: Network
    quantized: Mapping[str, QuantizedProjection]
    core_of: Mapping[str, np.ndarray]
    cores: tuple[CoreUsage, ...]
    placement: Placement
    violations: tuple[Violation, ...]
    strategy: str
    seed: int
    lower_bound_cores: int
    added: Mapping[str, int] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)
    served: Mapping[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", complete_roles(self.hw_network, self.roles, self.served))

    def with_role(self, *roles: Role) -> frozenset[str]:
        """Names of the hardware populations whose role is one of ``roles``."""
        return frozenset(k for k, r in self.roles.items() if r in roles)

    @property
    def fits(self) -> bool:
        """True when no design rule is violated."""
        return not self.violations

    @property
    def n_cores_used(self) -> int:
        return len(self.cores)

    @property
    def n_chips_used(self) -> int:
        return int(np.unique(self.placement.chip).size) if len(self.cores) else 0
