"""Chip profiles and the energy, memory and latency models."""

from neurosim.hardware.profile import (
    ChipProfile,
    Figure,
    apply_overrides,
    load_profile,
    parse_override,
    profile_names,
)

__all__ = ["ChipProfile", "Figure", "apply_overrides", "load_profile", "parse_override", "profile_names"]
