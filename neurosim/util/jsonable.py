"""Turn numpy values into plain Python for JSON: one helper for every writer."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["json_default", "to_jsonable"]


def json_default(obj: Any) -> Any:
    """``default=`` hook for :func:`json.dump`: numpy scalars and arrays as Python values.

    Raises
    ------
    TypeError
        For anything else, as :func:`json.dump` expects.
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def to_jsonable(obj: Any) -> Any:
    """``obj`` with mapping keys as strings and numpy values as Python ones, recursively.

    Examples
    --------
    >>> to_jsonable({1: np.int64(2), "a": (np.float32(0.5), np.arange(2))})
    {'1': 2, 'a': [0.5, [0, 1]]}
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.generic, np.ndarray)):
        return json_default(obj)
    return obj
