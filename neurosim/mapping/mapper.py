"""``map_network``: place a network onto a chip's cores within every hardware limit.

The stages, each a pure function of the previous stage's values:

1. **fan-in split** (:func:`neurosim.mapping.split.split_fan_in`) where
   ``core.split_fan_in`` allows it: neurons with more inputs than one core or
   neuron accepts get partial-sum neurons;
2. **partition** each population into cores with a strategy of
   :data:`neurosim.mapping.partition.STRATEGIES` (one population per core);
3. **fan-out relays** (:func:`neurosim.mapping.split.add_relays`) where
   ``core.relay_fan_out`` allows it;
4. **quantize** every hardware projection (:mod:`neurosim.mapping.quantize`);
5. **usage** of every core and the core-to-core **traffic**
   (:mod:`neurosim.mapping.usage`);
6. **placement** on the chip meshes (:mod:`neurosim.mapping.placement`);
7. **design rules** (:mod:`neurosim.mapping.rules`): every violation, together.

A network that does not fit is still mapped as far as it goes (so that the
violations can say where and by how much); ``MappedNetwork.fits`` tells.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.errors import MappingError
from neurosim.hardware.profile import ChipProfile, apply_overrides, load_profile
from neurosim.mapping.conv_rules import (
    check_conv,
    conv_cores,
    conv_report,
    quantize_conv,
    with_conv_usage,
)
from neurosim.mapping.limits import CoreLimits, ceil_div, incoming, memory_bits
from neurosim.mapping.loads import count_loads
from neurosim.mapping.mapped import MappedNetwork, Placement, QuantizedProjection
from neurosim.mapping.partition import Strategy, lower_bound, merge_cores, resolve_strategy
from neurosim.mapping.placement import PLACEMENTS, place_cores
from neurosim.mapping.quantize import quantize_projection
from neurosim.mapping.roles import ADDED_ROLES, Role, source_roles
from neurosim.mapping.rules import RuleContext, check_all
from neurosim.mapping.split import add_relays, split_fan_in
from neurosim.mapping.usage import usage_table
from neurosim.network import Network

__all__ = ["DEFAULT_RATE", "MAX_RELAY_LEVELS", "map_network"]

#: expected spikes per neuron per time step when no activity estimate is given
DEFAULT_RATE = 0.1

#: deepest splitter tree built for one neuron's fan-out
MAX_RELAY_LEVELS = 4


def _profile(
    profile: ChipProfile | str | Path, overrides: Mapping[str, Any] | Iterable[str] | None
) -> ChipProfile:
    if isinstance(profile, ChipProfile):
        return apply_overrides(profile, overrides)
    if isinstance(profile, (str, Path)):
        return load_profile(profile, overrides)
    raise MappingError(
        f"map_network: profile must be a ChipProfile or a profile name, got {type(profile).__name__}"
    )


def _rates(
    hw: Network,
    activity: float | Mapping[str, Any] | None,
    served: Mapping[str, tuple[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Expected spikes per step of every hardware neuron."""
    if activity is None or isinstance(activity, (int, float)):
        rate = DEFAULT_RATE if activity is None else float(activity)
        if not 0 <= rate:
            raise MappingError(f"map_network: activity must be >= 0 spikes per step, got {rate}")
        return {p.name: np.full(p.size, rate) for p in hw.populations}
    if not isinstance(activity, Mapping):
        raise MappingError(
            "map_network: activity must be a number or a mapping of population name to rates"
        )
    out: dict[str, np.ndarray] = {}
    unknown = sorted(set(activity) - {p.name for p in hw.populations})
    if unknown:
        raise MappingError(
            f"map_network: activity names unknown population(s) {', '.join(unknown)}"
        )
    for p in hw.populations:
        if p.name in activity:
            r = np.broadcast_to(np.asarray(activity[p.name], dtype=np.float64), (p.size,)).copy()
            if (r < 0).any() or not np.isfinite(r).all():
                raise MappingError(f"map_network: activity of {p.name} must be finite and >= 0")
            out[p.name] = r
    for p in hw.populations:
        if p.name in out:
            continue
        if p.name in served:
            base, idx = served[p.name]
            src = out.get(base)
            out[p.name] = src[idx] if src is not None else np.full(p.size, DEFAULT_RATE)
        else:
            out[p.name] = np.full(p.size, DEFAULT_RATE)
    return out


def _renumber(
    hw: Network, core_of: dict[str, np.ndarray], n_cores: int
) -> tuple[dict[str, np.ndarray], int]:
    """Number cores in the hardware network's topological population order."""
    new_id = np.full(n_cores, -1, dtype=np.int64)
    k = 0
    for name in hw.order():
        cores = np.unique(core_of[name])
        cores = cores[cores >= 0]
        fresh = cores[new_id[cores] < 0]
        new_id[fresh] = k + np.arange(fresh.size)
        k += fresh.size
    return {n: np.where(c >= 0, new_id[np.maximum(c, 0)], -1) for n, c in core_of.items()}, k


@dataclass
class _Draft:
    """The mapping under construction, passed from stage to stage of :func:`map_network`."""

    profile: ChipProfile
    limits: CoreLimits
    hw: Network
    roles: dict[str, Role]
    served: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    core_of: dict[str, np.ndarray] = field(default_factory=dict)
    per_population: dict[str, dict[str, int]] = field(default_factory=dict)
    n_cores: int = 0
    lower_bound: int = 0
    totals: dict[str, int] = field(default_factory=lambda: {"neurons": 0, "synapses": 0})
    added: dict[str, int] = field(
        default_factory=lambda: {"split_levels": 0, "relay_levels": 0, "relay_cores": 0}
    )
    shared_cores: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def _split_stage(network: Network, draft: _Draft) -> None:
    """1. Partial-sum trees for neurons with more inputs than one neuron may take."""
    if not draft.limits.split_fan_in:
        return
    split = split_fan_in(network, draft.limits.neuron_input_limit(draft.profile))
    draft.hw = split.network
    draft.served.update(split.served)
    draft.roles.update(split.roles)
    draft.added["split_neurons"] = int(split.n_added)
    draft.added["split_levels"] = int(split.n_levels)


def _partition_one(
    draft: _Draft, name: str, strategy_name: str, partition: Strategy, seed: int
) -> None:
    """Cores of one population (numbered after the cores used so far)."""
    pop = draft.hw.population(name)
    inc = incoming(draft.hw, name)
    local = conv_cores(draft.hw, name, draft.profile)  # shared-kernel conv layers: by channel/rows
    if local is None:
        local = np.asarray(partition(inc.matrix, draft.profile, draft.limits, seed=seed))
    if (
        local.shape != (pop.size,)
        or not np.issubdtype(local.dtype, np.integer)
        or (local < 0).any()
    ):
        raise MappingError(
            f"partition strategy {strategy_name!r} returned {local.shape} {local.dtype} for population "
            f"{name}; expected ({pop.size},) non-negative integer core indices"
        )
    _, dense = np.unique(local, return_inverse=True)
    dense = dense.ravel()
    n_here = int(dense.max()) + 1
    draft.core_of[name] = draft.n_cores + dense
    draft.n_cores += n_here
    lb = lower_bound(inc.matrix, draft.profile, draft.limits)
    draft.lower_bound += lb
    draft.totals["neurons"] += pop.size
    draft.totals["synapses"] += inc.matrix.nnz
    draft.per_population[name] = {"cores": n_here, "lower_bound": lb}


def _partition_stage(draft: _Draft, strategy_name: str, partition: Strategy, seed: int) -> None:
    """2. Partition each population into cores (one population per core); inputs get none."""
    for name in draft.hw.order():
        pop = draft.hw.population(name)
        if pop.model.kind == "input":
            draft.core_of[name] = np.full(pop.size, -1, dtype=np.int64)
        else:
            _partition_one(draft, name, strategy_name, partition, seed)


def _relay_stage(draft: _Draft) -> None:
    """3. Relay (splitter) trees for neurons whose outputs reach too many cores or synapses."""
    if not draft.limits.relay_fan_out:
        return
    for level in range(MAX_RELAY_LEVELS):
        relays = add_relays(
            draft.hw, draft.core_of, draft.profile, draft.limits, draft.n_cores, level=level
        )
        if not relays.served:
            break
        draft.hw, draft.core_of = relays.network, relays.core_of
        draft.served.update(relays.served)
        draft.roles.update(relays.roles)
        draft.added["relay_neurons"] = draft.added.get("relay_neurons", 0) + relays.n_added
        draft.added["relay_cores"] += relays.n_cores_added
        draft.added["relay_levels"] += 1
        draft.n_cores += relays.n_cores_added
        for rname in relays.served:
            cores = int(np.unique(draft.core_of[rname]).size)
            draft.per_population[rname] = {"cores": cores, "lower_bound": 0}


def _share_stage(draft: _Draft, share_cores: bool | None) -> None:
    """4. Merge partly filled cores first-fit when asked, or when the chips would overflow."""
    prof, limits = draft.profile, draft.limits
    capacity = int(prof.get("chip.n_cores")) * int(prof.get("chip.max_chips"))
    if not (share_cores or (share_cores is None and draft.n_cores > capacity)):
        return
    pre = count_loads(draft.hw, draft.core_of, draft.n_cores, prof)
    draft.core_of, draft.n_cores = merge_cores(
        draft.core_of, draft.n_cores, pre.neurons, pre.axons, pre.synapses, prof, limits
    )
    draft.shared_cores = True
    # shared cores: the bound is over the whole network, not per population
    lb = ceil_div(draft.totals["neurons"], limits.max_neurons)
    if limits.memory_bits is not None and draft.totals["synapses"]:
        one = int(memory_bits(prof, np.array([1]), np.array([1]), np.array([1]))[0])
        lb = max(lb, ceil_div(one * draft.totals["synapses"], limits.memory_bits))
    draft.lower_bound = max(1, lb)


def _quantize_stage(draft: _Draft, seed: int) -> dict[str, QuantizedProjection]:
    """5. Every hardware projection in the chip's number format."""
    return {
        pr.name: quantize_conv(pr, draft.profile, seed)  # a conv kernel is quantized once
        or quantize_projection(
            pr.name, pr.weights, draft.profile, post_core=draft.core_of[pr.post], seed=seed
        )
        for pr in draft.hw.projections
    }


def _added_counts(draft: _Draft) -> dict[str, int]:
    """Neurons, cores and latency stages the mapper added (by role, never by name)."""
    split_cores = sum(
        v["cores"]
        for k, v in draft.per_population.items()
        if draft.roles.get(k) is Role.PARTIAL_SUM
    )
    a = draft.added
    return {
        "split_neurons": int(a.get("split_neurons", 0)),
        "relay_neurons": int(a.get("relay_neurons", 0)),
        "extra_cores": int(split_cores + a["relay_cores"]),
        "extra_stages": int(a["split_levels"] + a["relay_levels"]),
    }


def _info(
    draft: _Draft,
    activity: float | Mapping[str, Any] | None,
    placed: Placement,
    quantized: Mapping[str, QuantizedProjection],
) -> dict[str, Any]:
    """What the mapping reports besides its cores: per population, timings, placement gain."""
    rm = placed.row_major_total_link_load
    if activity is None:
        kind = "default"
    else:
        kind = "uniform" if isinstance(activity, (int, float)) else "per population"
    return {
        "per_population": draft.per_population,
        "shared_cores": draft.shared_cores,
        "gap_to_lower_bound": int(draft.n_cores - draft.lower_bound),
        "timings_s": draft.timings,
        "activity": kind,
        "default_rate": DEFAULT_RATE,
        "link_load_improvement": (rm / placed.total_link_load)
        if placed.total_link_load > 0
        else None,
        "quantization": {k: dict(q.diagnostics) for k, q in quantized.items()},
    }


def _timed(draft: _Draft, key: str, t0: float) -> float:
    """Record the seconds since ``t0`` under ``key``; the time now."""
    now = time.perf_counter()
    draft.timings[key] = now - t0
    return now


def _check_arguments(network: Network, placement: str, seed: int) -> int:
    if not isinstance(network, Network):
        raise MappingError(f"map_network: expected a Network, got {type(network).__name__}")
    PLACEMENTS.lookup(placement)  # an unknown name is an error before any work
    if int(seed) != seed:
        raise MappingError(f"map_network: seed must be an integer, got {seed!r}")
    return int(seed)


def _lay_out(
    draft: _Draft,
    network: Network,
    strategy: tuple[str, Strategy],
    seed: int,
    share_cores: bool | None,
) -> None:
    """Stages 1-4: split fan-in, partition, relay fan-out, share cores; number the cores."""
    t = time.perf_counter()
    _split_stage(network, draft)
    t = _timed(draft, "split_s", t)
    _partition_stage(draft, strategy[0], strategy[1], seed)
    t = _timed(draft, "partition_s", t)
    _relay_stage(draft)
    _share_stage(draft, share_cores)
    draft.core_of, draft.n_cores = _renumber(draft.hw, draft.core_of, draft.n_cores)
    _timed(draft, "relay_s", t)


def _finish(
    draft: _Draft,
    network: Network,
    strategy_name: str,
    seed: int,
    activity: float | Mapping[str, Any] | None,
    placement: str,
    anneal_steps: int,
) -> MappedNetwork:
    """Stages 5-8: quantize, count loads and traffic, place cores, check every design rule."""
    prof = draft.profile
    t = time.perf_counter()
    quantized = _quantize_stage(draft, seed)
    t = _timed(draft, "quantize_s", t)
    rates = _rates(draft.hw, activity, draft.served)
    loads = count_loads(
        draft.hw,
        draft.core_of,
        draft.n_cores,
        prof,
        quantized,
        roles=draft.roles,
        served=draft.served,
        rates=rates,
    )
    usage = usage_table(loads, prof, draft.limits)
    usage = with_conv_usage(usage, draft.hw, draft.core_of, prof, quantized)
    t = _timed(draft, "usage_s", t)
    placed = place_cores(
        loads.traffic, prof, method=placement, seed=seed, anneal_steps=anneal_steps
    )
    t = _timed(draft, "placement_s", t)
    added = frozenset(k for k, r in draft.roles.items() if r in ADDED_ROLES)
    ctx = RuleContext(prof, draft.limits, draft.hw, usage, added)
    violations = (*check_all(ctx), *check_conv(ctx, draft.core_of))
    conv = conv_report(network, draft.hw, draft.core_of, prof)
    cores = usage.core_usages(placed.chip, placed.x, placed.y, draft.core_of)
    _timed(draft, "rules_s", t)
    return MappedNetwork(
        network=network,
        profile=prof,
        hw_network=draft.hw,
        quantized=quantized,
        core_of=draft.core_of,
        cores=cores,
        placement=placed,
        violations=violations,
        strategy=strategy_name,
        seed=seed,
        lower_bound_cores=int(draft.lower_bound),
        added=_added_counts(draft),
        info={**_info(draft, activity, placed, quantized), **({"conv": conv} if conv else {})},
        served=draft.served,
        roles=draft.roles,
    )


def map_network(
    network: Network,
    profile: ChipProfile | str | Path,
    *,
    strategy: str | Strategy = "sequential",
    seed: int = 0,
    placement: str = "annealed",
    activity: float | Mapping[str, Any] | None = None,
    anneal_steps: int = 20_000,
    share_cores: bool | None = None,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> MappedNetwork:
    """Map ``network`` onto the chip described by ``profile``.

    Parameters
    ----------
    network : Network
    profile : ChipProfile or str
        A profile, or a profile name / YAML path for :func:`load_profile`.
    strategy : str or callable
        Partition strategy: a key of :data:`~neurosim.mapping.partition.STRATEGIES`
        (``sequential``, ``axon_sharing``, ``metis``) or a callable with the
        same signature.
    seed : int
        Seeds every random choice (tie breaks, metis, annealing).
    placement : str
        ``row_major``, ``hilbert`` or ``annealed``
        (:data:`~neurosim.mapping.placement.PLACEMENTS`).
    activity : float or mapping, optional
        Expected spikes per neuron per time step, for traffic and link loads:
        one number for all neurons, or per population a number or an array.
        Default :data:`DEFAULT_RATE` (0.1); added populations inherit the rate
        of the neuron they serve.
    anneal_steps : int
        Moves tried by the ``annealed`` placement.
    share_cores : bool, optional
        Let one core hold neurons of several populations (partly filled cores
        merged first-fit). Default ``None``: only when one population per core
        needs more cores than ``chip.n_cores x chip.max_chips``.
    overrides : mapping or iterable of "section.field=value", optional
        Applied to the profile first.

    Returns
    -------
    MappedNetwork
        ``fits`` is False when any design rule is violated; ``violations``
        lists them all.

    Examples
    --------
    >>> import numpy as np
    >>> from neurosim.network import Network
    >>> net = Network.from_layers([np.ones((4, 3))])
    >>> m = map_network(net, "generic")
    >>> (m.fits, m.n_cores_used, m.lower_bound_cores)
    (True, 1, 1)
    """
    seed = _check_arguments(network, placement, seed)
    prof = _profile(profile, overrides)
    strategy_name, partition = resolve_strategy(strategy)
    draft = _Draft(prof, CoreLimits.from_profile(prof), network, source_roles(network))
    _lay_out(draft, network, (strategy_name, partition), seed, share_cores)
    return _finish(draft, network, strategy_name, seed, activity, placement, anneal_steps)
