"""Chip profiles, one YAML file per chip (package data; read with neurosim.load_profile)."""

__all__: list[str] = []
