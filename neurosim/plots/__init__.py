"""matplotlib figures (imported inside the functions that draw, Agg backend).

``neurosim.plots.mapping``: core utilization and placement of a mapping.
"""

__all__: list[str] = []
