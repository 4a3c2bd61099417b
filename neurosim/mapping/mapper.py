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
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.errors import MappingError
from neurosim.hardware.profile import ChipProfile, apply_overrides, load_profile
from neurosim.mapping.limits import CoreLimits, ceil_div, incoming, memory_bits
from neurosim.mapping.mapped import MappedNetwork
from neurosim.mapping.partition import Strategy, lower_bound, merge_cores, resolve_strategy
from neurosim.mapping.placement import PLACEMENTS, place_cores
from neurosim.mapping.quantize import quantize_projection
from neurosim.mapping.rules import RuleContext, check_all
from neurosim.mapping.split import add_relays, split_fan_in
from neurosim.mapping.usage import core_usage
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
    if not isinstance(network, Network):
        raise MappingError(f"map_network: expected a Network, got {type(network).__name__}")
    PLACEMENTS.lookup(placement)  # an unknown name is an error before any work
    if int(seed) != seed:
        raise MappingError(f"map_network: seed must be an integer, got {seed!r}")
    seed = int(seed)
    prof = _profile(profile, overrides)
    limits = CoreLimits.from_profile(prof)
    strategy_name, partition = resolve_strategy(strategy)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    # 1. fan-in split
    if limits.split_fan_in:
        split = split_fan_in(network, limits.neuron_input_limit(prof))
    else:
        split = None
    hw = split.network if split is not None else network
    served: dict[str, tuple[str, np.ndarray]] = dict(split.served) if split is not None else {}
    timings["split_s"] = time.perf_counter() - t

    # 2. partition, one population at a time
    t = time.perf_counter()
    core_of: dict[str, np.ndarray] = {}
    per_population: dict[str, dict[str, int]] = {}
    next_core = 0
    lb_total = 0
    totals = {"neurons": 0, "synapses": 0}
    for name in hw.order():
        pop = hw.population(name)
        if pop.model.kind == "input":
            core_of[name] = np.full(pop.size, -1, dtype=np.int64)
            continue
        inc = incoming(hw, name)
        local = np.asarray(partition(inc.matrix, prof, limits, seed=seed))
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
        core_of[name] = next_core + dense
        next_core += n_here
        lb = lower_bound(inc.matrix, prof, limits)
        lb_total += lb
        totals["neurons"] += pop.size
        totals["synapses"] += inc.matrix.nnz
        per_population[name] = {"cores": n_here, "lower_bound": lb}
    timings["partition_s"] = time.perf_counter() - t

    # 3. fan-out relays
    t = time.perf_counter()
    n_relays = relay_cores = relay_levels = 0
    if limits.relay_fan_out:
        for level in range(MAX_RELAY_LEVELS):
            relays = add_relays(hw, core_of, prof, limits, next_core, level=level)
            if not relays.served:
                break
            hw, core_of = relays.network, relays.core_of
            served.update(relays.served)
            n_relays += relays.n_added
            relay_cores += relays.n_cores_added
            relay_levels += 1
            next_core += relays.n_cores_added
            for rname in relays.served:
                per_population[rname] = {
                    "cores": int(np.unique(core_of[rname]).size),
                    "lower_bound": 0,
                }
    merged = False
    capacity = int(prof.get("chip.n_cores")) * int(prof.get("chip.max_chips"))
    if share_cores or (share_cores is None and next_core > capacity):
        pre = core_usage(hw, core_of, next_core, prof, limits)
        core_of, next_core = merge_cores(
            core_of,
            next_core,
            pre.used["neurons"],
            pre.used["axons"],
            pre.used["synapses"],
            prof,
            limits,
        )
        merged = True
        # shared cores: the bound is over the whole network, not per population
        lb_total = ceil_div(totals["neurons"], limits.max_neurons)
        if limits.memory_bits is not None and totals["synapses"]:
            one = int(memory_bits(prof, np.array([1]), np.array([1]), np.array([1]))[0])
            lb_total = max(lb_total, ceil_div(one * totals["synapses"], limits.memory_bits))
        lb_total = max(1, lb_total)
    core_of, n_cores = _renumber(hw, core_of, next_core)
    timings["relay_s"] = time.perf_counter() - t

    # 4. quantize
    t = time.perf_counter()
    quantized = {
        pr.name: quantize_projection(
            pr.name, pr.weights, prof, post_core=core_of[pr.post], seed=seed
        )
        for pr in hw.projections
    }
    timings["quantize_s"] = time.perf_counter() - t

    # 5. usage and traffic
    t = time.perf_counter()
    rates = _rates(hw, activity, served)
    usage = core_usage(hw, core_of, n_cores, prof, limits, quantized, rates)
    timings["usage_s"] = time.perf_counter() - t

    # 6. placement
    t = time.perf_counter()
    placed = place_cores(
        usage.traffic, prof, method=placement, seed=seed, anneal_steps=anneal_steps
    )
    timings["placement_s"] = time.perf_counter() - t

    # 7. design rules
    t = time.perf_counter()
    ctx = RuleContext(prof, limits, hw, usage, frozenset(served))
    violations = check_all(ctx)
    cores = usage.core_usages(placed.chip, placed.x, placed.y, core_of)
    timings["rules_s"] = time.perf_counter() - t

    split_neurons = split.n_added if split is not None else 0
    split_cores = sum(v["cores"] for k, v in per_population.items() if ".partial" in k)
    added = {
        "split_neurons": int(split_neurons),
        "relay_neurons": int(n_relays),
        "extra_cores": int(split_cores + relay_cores),
        "extra_stages": int((split.n_levels if split is not None else 0) + relay_levels),
    }
    rm = placed.row_major_total_link_load
    info = {
        "per_population": per_population,
        "shared_cores": merged,
        "gap_to_lower_bound": int(n_cores - lb_total),
        "timings_s": timings,
        "activity": "default"
        if activity is None
        else ("uniform" if isinstance(activity, (int, float)) else "per population"),
        "default_rate": DEFAULT_RATE,
        "link_load_improvement": (rm / placed.total_link_load)
        if placed.total_link_load > 0
        else None,
        "quantization": {k: dict(q.diagnostics) for k, q in quantized.items()},
    }
    return MappedNetwork(
        network=network,
        profile=prof,
        hw_network=hw,
        quantized=quantized,
        core_of=core_of,
        cores=cores,
        placement=placed,
        violations=violations,
        strategy=strategy_name,
        seed=seed,
        lower_bound_cores=int(lb_total),
        added=added,
        info=info,
        served=served,
    )
