"""Hardware constraints for training: connection budgets and per-neuron fan-in caps.

The fan-in cap a chip imposes on one neuron comes from its profile
(:func:`fan_in_cap_from_profile`); a network trained under that cap maps onto
the chip without fan-in splitting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neurosim.errors import TrainingError

__all__ = [
    "BUDGET_MODES",
    "fan_in_cap_from_profile",
    "layer_budgets",
    "resolve_fan_in_cap",
]

BUDGET_MODES = ("per_layer", "global")


def _per_layer(value: Any, n_layers: int, what: str) -> list[Any]:
    if isinstance(value, (str, bytes)):
        raise TrainingError(f"{what} = {value!r}; expected a number or one number per layer")
    if np.ndim(value) == 0:
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise TrainingError(
            f"{what} has {len(values)} values; expected 1 or {n_layers} (one per layer)"
        )
    return values


def layer_budgets(
    sizes: Sequence[int],
    *,
    connectivity: float | Sequence[float] | None = None,
    n_connections: int | Sequence[int] | None = None,
    fan_in_cap: int | None = None,
    default_connectivity: float = 0.1,
) -> tuple[int, ...]:
    """Number of active connections of each layer.

    Parameters
    ----------
    sizes : layer sizes ``(n_0, ..., n_L)``
    connectivity : float or one float per layer, optional
        Fraction of the ``n_l * n_{l+1}`` possible connections.
    n_connections : int or one int per layer, optional
        Exact counts (takes precedence over ``connectivity``).
    fan_in_cap : int, optional
        Per-neuron fan-in cap; a layer cannot hold more than ``n_{l+1} * cap``.
    default_connectivity : float
        Used when neither ``connectivity`` nor ``n_connections`` is given.

    Raises
    ------
    TrainingError
        A budget below 1 or above what the layer (and the cap) can hold.
    """
    n = len(sizes) - 1
    possible = [sizes[i] * sizes[i + 1] for i in range(n)]
    if n_connections is not None:
        ks = [int(k) for k in _per_layer(n_connections, n, "n_connections")]
    else:
        fr = _per_layer(
            default_connectivity if connectivity is None else connectivity, n, "connectivity"
        )
        for f in fr:
            if not 0 < float(f) <= 1:
                raise TrainingError(f"connectivity {f}; expected a fraction in (0, 1]")
        ks = [max(1, int(round(float(f) * p))) for f, p in zip(fr, possible, strict=True)]
    for i, (k, p) in enumerate(zip(ks, possible, strict=True)):
        if k < 1 or k > p:
            raise TrainingError(f"layer {i + 1}: budget of {k} connections; expected 1..{p}")
        if fan_in_cap is not None and k > sizes[i + 1] * fan_in_cap:
            raise TrainingError(
                f"layer {i + 1}: budget of {k} connections exceeds {sizes[i + 1]} neurons x fan-in cap {fan_in_cap}"
            )
    return tuple(ks)


def fan_in_cap_from_profile(profile: Any) -> int | None:
    """The largest number of inputs one neuron may have on a chip, without splitting.

    The smallest known figure among ``core.max_fan_in`` (inputs per neuron),
    ``core.max_synapses_per_neuron`` and ``core.max_axons`` (a neuron cannot
    receive more inputs than its core has axons). ``None`` when none is known.
    """
    figures = [
        profile.get(k)
        for k in ("core.max_fan_in", "core.max_synapses_per_neuron", "core.max_axons")
    ]
    known = [int(v) for v in figures if v is not None]
    return min(known) if known else None


def resolve_fan_in_cap(
    fan_in_cap: int | None = None, chip: Any = None, overrides: Sequence[str] | None = None
) -> int | None:
    """An explicit cap, or the cap of a chip profile (name, path or ChipProfile), or None.

    With both, the smaller one applies.
    """
    caps = []
    if fan_in_cap is not None:
        if int(fan_in_cap) != fan_in_cap or fan_in_cap < 1:
            raise TrainingError(f"fan_in_cap = {fan_in_cap!r}; expected a positive integer")
        caps.append(int(fan_in_cap))
    if chip is not None:
        from neurosim.hardware.profile import ChipProfile, apply_overrides, load_profile

        profile = (
            apply_overrides(chip, overrides)
            if isinstance(chip, ChipProfile)
            else load_profile(chip, overrides)
        )
        cap = fan_in_cap_from_profile(profile)
        if cap is not None:
            caps.append(cap)
    return min(caps) if caps else None
