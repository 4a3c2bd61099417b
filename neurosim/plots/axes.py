"""Axis helpers shared by the plots: integer ticks on integer axes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["integer_ticks"]


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
