"""The mapper: place a network onto a chip's cores within every hardware limit."""

from neurosim.mapping.mapped import CoreUsage, MappedNetwork, Placement, QuantizedProjection, Violation

__all__ = ["CoreUsage", "MappedNetwork", "Placement", "QuantizedProjection", "Violation"]
