"""The mapper: place a network onto a chip's cores within every hardware limit.

``map_network(network, profile, strategy=..., seed=...) -> MappedNetwork``;
design rules in :mod:`neurosim.mapping.rules` (``RULES``), partition strategies in
:mod:`neurosim.mapping.partition` (``STRATEGIES``), quantization in
:mod:`neurosim.mapping.quantize`, placement in :mod:`neurosim.mapping.placement`,
saving and loading in :mod:`neurosim.mapping.store`; the role of every hardware
population in :mod:`neurosim.mapping.roles` (``Role``), the per-core load table
in :mod:`neurosim.mapping.loads` (``core_loads``).
"""

from neurosim.mapping.loads import LoadTable, core_loads
from neurosim.mapping.mapped import (
    CoreUsage,
    MappedNetwork,
    Placement,
    QuantizedProjection,
    Violation,
)
from neurosim.mapping.mapper import map_network
from neurosim.mapping.roles import Role
from neurosim.mapping.store import load_mapped, save_mapped

__all__ = [
    "CoreUsage",
    "LoadTable",
    "MappedNetwork",
    "Placement",
    "QuantizedProjection",
    "Role",
    "Violation",
    "core_loads",
    "load_mapped",
    "map_network",
    "save_mapped",
]
