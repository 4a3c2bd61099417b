"""Small shared helpers (atomic file writing, lazy imports)."""

__all__: list[str] = []
