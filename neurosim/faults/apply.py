"""Apply faults to a mapped network: :func:`apply_fault`, :func:`apply_faults`.

Faults act on what the chip holds (``MappedNetwork.hw_network``, its
quantized weights, its placement), never on the abstract network, and
return a new :class:`~neurosim.mapping.mapped.MappedNetwork`; the input is
not modified. ``mapped.network`` (what the reference backend runs) stays
fault-free, so reference vs chip shows the loss. Every random draw comes
from ``seed`` and the fault kind: the same seed gives the same faulty chip.
What was done (counts per kind) is appended to ``info["faults"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from neurosim.errors import FaultError
from neurosim.faults.mismatch import threshold_mismatch, weight_mismatch
from neurosim.faults.neurons import byzantine, core_failure, neuron_crash
from neurosim.faults.routing import spike_drop
from neurosim.faults.spec import FAULT_KINDS, FaultSpec, check_for_profile
from neurosim.faults.synapses import bit_flip, synapse_stuck_zero

__all__ = ["FAULTS", "apply_fault", "apply_faults", "fault_rng"]

#: fault kind -> function ``(mapped, rate, rng, **options) -> MappedNetwork``
FAULTS: dict[str, Callable[..., Any]] = {
    "neuron_crash": neuron_crash,
    "byzantine": byzantine,
    "core_failure": core_failure,
    "synapse_stuck_zero": synapse_stuck_zero,
    "bit_flip": bit_flip,
    "spike_drop": spike_drop,
    "threshold_mismatch": threshold_mismatch,
    "weight_mismatch": weight_mismatch,
}


def fault_rng(seed: int, kind: str) -> np.random.Generator:
    """The generator of one fault kind's draws: a function of ``seed`` and the kind only."""
    return np.random.default_rng([int(seed), FAULT_KINDS.index(kind)])


def apply_fault(mapped: Any, spec: FaultSpec, seed: int = 0) -> Any:
    """A new mapped network with one fault applied.

    Parameters
    ----------
    mapped : MappedNetwork
    spec : FaultSpec
    seed : int
        Draws the faulty chip; the same seed gives the same chip.

    Raises
    ------
    FaultError
        Not a mapped network, or a mismatch fault on a chip without a sigma.
    """
    if not hasattr(mapped, "hw_network") or not hasattr(mapped, "quantized"):
        raise FaultError(f"apply_fault: expected a MappedNetwork, got {type(mapped).__name__}")
    if int(seed) != seed:
        raise FaultError(f"apply_fault: seed must be an integer, got {seed!r}")
    sigma = check_for_profile(spec, mapped.profile)
    rate = float(spec.rate) if spec.rate is not None else float(sigma)
    options: dict[str, Any] = {"bound": spec.bound}
    if sigma is not None:
        options["sigma"] = sigma
    out = FAULTS[spec.kind](mapped, rate, fault_rng(seed, spec.kind), **options)
    return out


def apply_faults(mapped: Any, specs: Iterable[FaultSpec], seed: int = 0) -> Any:
    """Several faults, applied in order (each from its own stream of ``seed``)."""
    for spec in specs:
        mapped = apply_fault(mapped, spec, seed)
    return mapped
