"""Axis helpers shared by the plots: integer ticks on integer axes, the per-core x axis."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["core_axis", "integer_ticks"]


def integer_ticks(axis: Any, n: int, max_ticks: int = 10) -> None:
    """Put ticks on whole numbers ``0 .. n-1`` of ``axis`` (an x or y axis), at most ``max_ticks``.

    Unlike ``MaxNLocator(integer=True)``, which falls back to fractional
    ticks on a short range (a 1-row mesh), every tick is an integer slot.
    """
    from matplotlib.ticker import FixedLocator, NullLocator

    n = max(int(n), 1)
    step = max(1, math.ceil(n / max_ticks))
    for nice in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if nice >= step:
            step = nice
            break
    axis.set_major_locator(FixedLocator(np.arange(0, n, step)))
    axis.set_minor_locator(NullLocator())


def core_axis(ax: Any, n: int) -> None:
    """The x axis of a per-core plot: ``n`` whole-number core slots; the y axis starts at 0."""
    integer_ticks(ax.xaxis, n)
    ax.set_xlim(-0.5, max(n, 1) - 0.5)
    ax.set_ylim(bottom=0)
