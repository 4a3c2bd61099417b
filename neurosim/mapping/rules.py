"""Design rules: small named checks, each reading its limit from the profile.

Every check takes a :class:`RuleContext` and returns a list of
:class:`~neurosim.mapping.mapped.Violation` (empty when the rule holds).
:func:`check_all` runs every function in :data:`RULES` and collects all
violations; no check raises on the first problem.

Rules:

``check_neurons_per_core``   neurons on a core vs ``core.max_neurons``
``check_axons_per_core``     distinct input axons vs ``core.max_axons``
``check_fan_in``             inputs of one neuron vs ``core.max_fan_in``
``check_synapse_slots``      synapses of one neuron vs ``core.max_synapses_per_neuron``
``check_fan_out``            target cores of one neuron vs ``core.fan_out`` / ``core.max_target_cores``
``check_fan_out_synapses``   synapses out of one neuron vs ``core.max_fan_out``
``check_synapse_memory``     synapse store in the profile's encoding vs ``core.synapse_memory_bits``
``check_neuron_model``       population models vs ``neuron.models``
``check_cores_per_chip``     cores used vs ``chip.n_cores`` on a single-chip system (``chip.max_chips`` = 1)
``check_chips``              chips needed vs ``chip.max_chips``

Added partial-sum and relay populations are the mapper's own construct
(dendritic compartments and splitter neurons); ``check_neuron_model`` exempts
them, every other rule counts them like any neuron.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits, ceil_div
from neurosim.mapping.mapped import Violation
from neurosim.mapping.usage import UsageTable
from neurosim.network import Network

__all__ = [
    "RULES",
    "RuleContext",
    "check_all",
    "check_axons_per_core",
    "check_chips",
    "check_cores_per_chip",
    "check_fan_in",
    "check_fan_out",
    "check_fan_out_synapses",
    "check_neuron_model",
    "check_neurons_per_core",
    "check_synapse_memory",
    "check_synapse_slots",
]


@dataclass(frozen=True, eq=False)
class RuleContext:
    """What the rules read: the profile, its limits, the hardware network and usage."""

    profile: ChipProfile
    limits: CoreLimits
    hw_network: Network
    usage: UsageTable
    added: frozenset[str]

    @property
    def n_cores(self) -> int:
        return self.usage.n_cores


def _over(ctx: RuleContext, resource: str) -> np.ndarray:
    cap = ctx.usage.capacity[resource]
    if cap is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(ctx.usage.used[resource] > cap)


def _per_core(
    ctx: RuleContext, rule: str, resource: str, label: str, field: str, fix: str
) -> list[Violation]:
    cap = ctx.usage.capacity[resource]
    used = ctx.usage.used[resource]
    return [
        Violation(rule, ctx.usage.where(int(c)), label, int(used[c]), cap, field, fix)
        for c in _over(ctx, resource)
    ]


def check_neurons_per_core(ctx: RuleContext) -> list[Violation]:
    """Neurons on a core must not exceed ``core.max_neurons``."""
    return _per_core(
        ctx,
        "check_neurons_per_core",
        "neurons",
        "neurons",
        "core.max_neurons",
        "use a partition strategy that respects core.max_neurons (sequential, axon_sharing, metis)",
    )


def check_axons_per_core(ctx: RuleContext) -> list[Violation]:
    """Distinct input axons of a core must not exceed ``core.max_axons``."""
    fix = (
        "a neuron alone has more inputs than a core has axons: prune its inputs"
        if ctx.limits.split_fan_in
        else "allow fan-in splitting (core.split_fan_in=true) or prune inputs"
    )
    return _per_core(
        ctx,
        "check_axons_per_core",
        "axons",
        "distinct input axons",
        "core.max_axons",
        f"{fix} to <= {ctx.limits.max_axons} per neuron",
    )


def check_fan_in(ctx: RuleContext) -> list[Violation]:
    """Inputs of one neuron must not exceed ``core.max_fan_in``."""
    cap = ctx.limits.max_fan_in
    fix = f"allow fan-in splitting (core.split_fan_in=true) or prune to <= {cap} inputs per neuron"
    return _per_core(
        ctx, "check_fan_in", "fan_in_max", "fan-in of one neuron", "core.max_fan_in", fix
    )


def check_synapse_slots(ctx: RuleContext) -> list[Violation]:
    """Synapses of one neuron must not exceed ``core.max_synapses_per_neuron``."""
    cap = ctx.limits.max_slots
    fix = f"allow fan-in splitting (core.split_fan_in=true) or prune to <= {cap} synapses per neuron"
    return _per_core(
        ctx,
        "check_synapse_slots",
        "synapses_per_neuron_max",
        "synapse slots of one neuron",
        "core.max_synapses_per_neuron",
        fix,
    )


def check_fan_out(ctx: RuleContext) -> list[Violation]:
    """Cores reached by one neuron's output must respect the fan-out rule."""
    rule = ctx.profile.get("core.fan_out")
    field = "core.fan_out" if rule == "one_axon" else "core.max_target_cores"
    fix = (
        "allow relay (splitter) neurons (core.relay_fan_out=true), or use the axon_sharing "
        "partition strategy so that a neuron's targets share fewer cores"
    )
    return _per_core(ctx, "check_fan_out", "fan_out_max", "target cores of one neuron", field, fix)


def check_fan_out_synapses(ctx: RuleContext) -> list[Violation]:
    """Synapses out of one neuron must not exceed ``core.max_fan_out`` (Xylo: 64).

    Host-fed inputs have no core and are exempt. With ``core.relay_fan_out``
    the mapper already splits such neurons over relay neurons, so a
    violation left then means a splitter tree deeper than the mapper builds.
    """
    cap = ctx.limits.max_fan_out
    if ctx.limits.relay_fan_out:
        fix = (
            f"the relay (splitter) tree needed is deeper than the mapper builds: prune or retrain "
            f"to <= {cap} outgoing synapses per neuron"
        )
    else:
        fix = (
            "allow relay (splitter) neurons (core.relay_fan_out=true), or prune or retrain "
            f"to <= {cap} outgoing synapses per neuron"
        )
    return _per_core(
        ctx,
        "check_fan_out_synapses",
        "fan_out_synapses_max",
        "synapses out of one neuron",
        "core.max_fan_out",
        fix,
    )


def check_synapse_memory(ctx: RuleContext) -> list[Violation]:
    """A core's synapse store must fit ``core.synapse_memory_bits``."""
    enc = ctx.profile.get("core.synapse_encoding")
    return _per_core(
        ctx,
        "check_synapse_memory",
        "synapse_memory_bits",
        f"synapse memory bits ({enc} encoding)",
        "core.synapse_memory_bits",
        "lower weight precision (weights.bits), prune synapses, or spread inputs over more cores "
        "(fan-in splitting)",
    )


def check_neuron_model(ctx: RuleContext) -> list[Violation]:
    """Every source population's model must be one the chip implements."""
    models = list(ctx.profile.get("neuron.models"))
    out = []
    for p in ctx.hw_network.populations:
        if p.model.kind == "input" or p.name in ctx.added or p.model.kind in models:
            continue
        if p.model.kind in ("relu", "linear") and "if" in models:
            fix = (
                f"the chip implements only {', '.join(models)} neurons: convert the relu/linear "
                "network to rate-coded IF neurons (neurosim.convert_to_spiking with calibration "
                "data; network.spiking in a scenario), or choose a chip with relu/linear neurons"
            )
        else:
            have = " or ".join(models) or "no"
            fix = (
                f"the chip implements only {have} neurons: build the network from {have} "
                f"neurons, or choose a chip that implements {p.model.kind} (neuron.models)"
            )
        out.append(
            Violation(
                "check_neuron_model",
                f"{p.name}[0:{p.size}]",
                f"neurons of unsupported model {p.model.kind!r}",
                p.size,
                0,
                "neuron.models",
                fix,
            )
        )
    return out


def check_cores_per_chip(ctx: RuleContext) -> list[Violation]:
    """A single-chip system must hold every core on its ``chip.n_cores``."""
    per_chip = int(ctx.profile.get("chip.n_cores"))
    if int(ctx.profile.get("chip.max_chips")) != 1 or ctx.n_cores <= per_chip:
        return []
    return [
        Violation(
            "check_cores_per_chip",
            "whole network",
            "cores",
            ctx.n_cores,
            per_chip,
            "chip.n_cores",
            "reduce the network (fewer neurons or inputs per neuron), use the axon_sharing partition "
            "strategy to pack cores tighter, or a system with more chips (chip.max_chips)",
        )
    ]


def check_chips(ctx: RuleContext) -> list[Violation]:
    """The chips needed must not exceed ``chip.max_chips``."""
    per_chip = int(ctx.profile.get("chip.n_cores"))
    max_chips = int(ctx.profile.get("chip.max_chips"))
    need = ceil_div(ctx.n_cores, per_chip)
    if max_chips == 1 or need <= max_chips:
        return []
    return [
        Violation(
            "check_chips",
            "whole network",
            "chips",
            need,
            max_chips,
            "chip.max_chips",
            f"the network needs {ctx.n_cores} cores of {per_chip} per chip: reduce it, pack cores "
            "tighter (the axon_sharing partition strategy) or allow more chips (chip.max_chips)",
        )
    ]


#: every design rule, run in this order by :func:`check_all`
RULES: list[Callable[[RuleContext], list[Violation]]] = [
    check_neurons_per_core,
    check_axons_per_core,
    check_fan_in,
    check_synapse_slots,
    check_fan_out,
    check_fan_out_synapses,
    check_synapse_memory,
    check_neuron_model,
    check_cores_per_chip,
    check_chips,
]


def check_all(ctx: RuleContext) -> tuple[Violation, ...]:
    """Run every rule of :data:`RULES`; all violations together."""
    out: list[Violation] = []
    for rule in RULES:
        out.extend(rule(ctx))
    return tuple(out)
