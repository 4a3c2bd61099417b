"""Number formats of tables: one format per column (standard library only, so the
CLI's light commands can use it without importing numpy)."""

from __future__ import annotations

import math

__all__ = ["fmt_count", "format_column"]

_COUNT_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def fmt_count(value: float | None, digits: int = 3) -> str:
    """A count in at most ``digits`` significant digits with k/M/G/T: ``4.29G``, ``51.2k``, ``0.5``.

    Examples
    --------
    >>> [fmt_count(v) for v in (4294967296, 1_000_000, 51200, 100, 0.5, None)]
    ['4.29G', '1M', '51.2k', '100', '0.5', '-']
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    mag = abs(value)
    for scale, prefix in _COUNT_PREFIXES:
        if mag >= scale * (1 - 0.5 * 10 ** -digits):
            return f"{value / scale:.{digits}g}{prefix}"
    return f"{value:.{digits}g}"


def format_column(values: list[float | int | None], *, max_exact: int = 100_000) -> list[str]:
    """One number format for a whole table column, so that rows compare at a glance.

    Integers below ``max_exact`` are written in full with thousands
    separators (``1,024``); a column holding larger or fractional numbers is
    written entirely with :func:`fmt_count` (``1.02k``, ``4.29G``, ``0.5``), so
    no cell is cut to ``4,294...`` at 80 columns. ``None`` is ``-``.

    Examples
    --------
    >>> format_column([1024, 1_000_000, None])
    ['1.02k', '1M', '-']
    >>> format_column([100, 8, 0])
    ['100', '8', '0']
    """
    known = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    exact = all(v.is_integer() and abs(v) < max_exact for v in known)
    if exact:
        return ["-" if v is None else f"{int(v):,}" for v in values]
    return [fmt_count(None if v is None else float(v)) for v in values]
