"""Chip profiles: data, loading, overrides and validation (cost models: :mod:`neurosim.cost`)."""

from neurosim.hardware.profile import (
    ChipProfile,
    Figure,
    apply_overrides,
    load_profile,
    parse_override,
    profile_names,
)

__all__ = ["ChipProfile", "Figure", "apply_overrides", "load_profile", "parse_override", "profile_names"]
