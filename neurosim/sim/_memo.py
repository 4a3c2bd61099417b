"""Per-object memo: work that depends only on a frozen object, done once per object.

A :class:`~neurosim.mapping.mapped.MappedNetwork` (frozen) is simulated many
times in a sweep or a benchmark; what the chip backend derives from it alone
(the float plan, the compiled kernel's global layout, the event model) is the
same on every call. :func:`memo` keeps such values beside the object in a
:class:`weakref.WeakKeyDictionary`, so they are freed with the object, and
only for objects small enough (``size`` under :data:`MAX_CACHED_SYNAPSES`)
that keeping a copy costs little memory.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["MAX_CACHED_SYNAPSES", "clear", "memo"]

T = TypeVar("T")

#: networks with more stored synapses than this are not cached (a cached float
#: plan and kernel layout cost about 40 bytes per synapse)
MAX_CACHED_SYNAPSES = 1 << 22

_STORE: weakref.WeakKeyDictionary[Any, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def memo(owner: Any, key: Hashable, build: Callable[[], T], size: int = 0) -> T:
    """``build()``, computed once per ``(owner, key)`` while ``owner`` lives.

    Parameters
    ----------
    owner : object
        A frozen object the value depends on (weak reference; identity, not equality).
    key : hashable
        What else the value depends on (dtype, time step, ...).
    build : callable
        Computes the value.
    size : int
        Stored synapses behind the value: above :data:`MAX_CACHED_SYNAPSES`
        the value is built and not kept.
    """
    if size > MAX_CACHED_SYNAPSES:
        return build()
    try:
        entries = _STORE.setdefault(owner, {})
    except TypeError:  # not weakly referenceable
        return build()
    if key not in entries:
        entries[key] = build()
    return entries[key]


def clear() -> None:
    """Forget every cached value (tests, or after changing an object in place)."""
    _STORE.clear()
