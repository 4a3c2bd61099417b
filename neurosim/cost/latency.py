"""Latency and throughput model: time per step and per inference, EDP.

A pure function of a mapping (its placement), the event counts of a
simulation and the profile's ``latency.*`` figures.

The model
---------
Cores work in parallel; within a core events are processed one after the
other. For one input and one time step, core ``c`` is busy for

    t_core[c] = synop[c] * synop_ns + neuron_update[c] * neuron_update_ns
                + spike_out[c] * spike_out_ns

(event counts per input and step), so the busiest core bounds the step. Spikes
then travel the mesh: the longest route between two cores that exchange
spikes (``placement.traffic``) costs ``hops * hop_ns`` plus ``chip_hop_ns`` when
it crosses chips. The step takes ``max_c t_core[c] + t_route``; a chip with a
fixed time step (``chip.timestep_s``) takes at least that long. With per-step
event counts (``SimResult.events_per_step``) each step is bounded by its own
busiest core; otherwise the average step is used. Time per inference is the
sum over the run's steps, inferences per second its inverse (one input at a
time), and the energy-delay product is energy per inference x time per
inference.

A figure the profile leaves unknown (``null``) makes every time that needs it
unknown (``None``), never zero; a figure whose provenance is ``estimated`` is
listed in :attr:`LatencyReport.estimated`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.loads import LoadTable, core_loads, with_events
from neurosim.mapping.mapped import MappedNetwork
from neurosim.sim.result import SimResult

__all__ = [
    "LATENCY_FIGURES",
    "LatencyReport",
    "energy_delay_product",
    "latency_model",
]

#: event type -> profile field of its latency (ns per event)
LATENCY_FIGURES: dict[str, str] = {
    "synop": "latency.synop_ns",
    "neuron_update": "latency.neuron_update_ns",
    "spike_out": "latency.spike_out_ns",
}


@dataclass(frozen=True, eq=False)
class LatencyReport:
    """Latency and throughput of one simulation on its mapping.

    Attributes
    ----------
    per_core_step_s : ndarray, shape (n_cores,)
        Average busy time of each core per input and step (NaN when a needed
        figure is unknown).
    compute_step_s : float or None
        Busiest core's average busy time per step.
    busiest_core : int or None
    route_s : float or None
        Longest route between communicating cores.
    max_hops : int
    crosses_chips : bool
    timestep_s : float or None
        The chip's fixed time step (``None``: asynchronous).
    step_s : float or None
        Average modelled step (``max(timestep, compute + route)``).
    bound : str
        ``"timestep"`` when the fixed time step dominates every step,
        ``"compute"`` otherwise (``"unknown"`` when times are unknown).
    time_per_inference_s, inferences_per_s : float or None
    n_steps : int
    unknown : tuple of str
        Profile fields that were needed but are unknown.
    figures : mapping of str to dict
        Each used field: ``value``, ``provenance``, ``source``.
    """

    per_core_step_s: np.ndarray
    compute_step_s: float | None
    busiest_core: int | None
    route_s: float | None
    max_hops: int
    crosses_chips: bool
    timestep_s: float | None
    step_s: float | None
    bound: str
    time_per_inference_s: float | None
    inferences_per_s: float | None
    n_steps: int
    per_step_counts: bool
    unknown: tuple[str, ...] = ()
    figures: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def estimated(self) -> tuple[str, ...]:
        """Used profile fields whose provenance is ``estimated``."""
        return tuple(k for k, f in self.figures.items() if f.get("provenance") == "estimated")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (keys documented in docs/report.md)."""

        def _num(x: float) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)

        return {
            "time_per_inference_s": self.time_per_inference_s,
            "inferences_per_s": self.inferences_per_s,
            "step_s": self.step_s,
            "compute_step_s": self.compute_step_s,
            "route_s": self.route_s,
            "timestep_s": self.timestep_s,
            "bound": self.bound,
            "busiest_core": self.busiest_core,
            "max_hops": self.max_hops,
            "crosses_chips": self.crosses_chips,
            "n_steps": self.n_steps,
            "per_step_counts": self.per_step_counts,
            "unknown": list(self.unknown),
            "estimated": list(self.estimated),
            "figures": [{"field": k, **dict(v)} for k, v in self.figures.items()],
            "per_core_step_s": [_num(x) for x in self.per_core_step_s],
        }


def _figure(profile: ChipProfile, path: str) -> tuple[float | None, dict[str, Any]]:
    fig = profile.figure(path)
    info = {"value": fig.value, "provenance": fig.provenance, "source": fig.source}
    return (None if fig.value is None else float(fig.value)), info


def _event_array(load: LoadTable, kind: str, n_steps: int, per_step: bool) -> np.ndarray:
    """Counts of ``kind`` per core (per step and core with ``per_step``); zeros when absent."""
    src = load.events_per_step if per_step else load.events
    arr = (src or {}).get(kind)
    if arr is None:
        return np.zeros((n_steps, load.n_cores) if per_step else (load.n_cores,))
    return arr


def _route(mapped: MappedNetwork) -> tuple[int, bool]:
    """Longest hop count and whether any traffic crosses chips."""
    pl = mapped.placement
    t = pl.traffic.tocoo() if pl.traffic is not None else None
    if t is None or t.nnz == 0:
        return 0, False
    keep = (t.row != t.col) & (t.data != 0)
    a, b = t.row[keep], t.col[keep]
    if a.size == 0:
        return 0, False
    hops = np.asarray(pl.hops(a, b), dtype=np.int64)
    cross = np.asarray(pl.chip)[a] != np.asarray(pl.chip)[b]
    return int(hops.max()), bool(cross.any())


def _busy(
    profile: ChipProfile, result: SimResult, load: LoadTable, per_step: bool
) -> tuple[np.ndarray, dict[str, dict[str, Any]], list[str]]:
    """Busy time of every core (per step, or averaged), the figures used, and unknown fields."""
    n_in = max(int(result.n_inputs), 1)
    n_steps = max(int(result.n_steps), 1)
    figures: dict[str, dict[str, Any]] = {}
    unknown: list[str] = []
    busy = np.zeros((n_steps, load.n_cores) if per_step else (load.n_cores,))
    for kind, path in LATENCY_FIGURES.items():
        counts = _event_array(load, kind, n_steps, per_step)
        value, info = _figure(profile, path)
        if not counts.any():
            continue
        figures[path] = info
        if value is None:
            unknown.append(path)
            busy = busy + np.where(counts > 0, np.nan, 0.0)
        else:
            busy = busy + counts * value * 1e-9
    busy = busy / n_in if per_step else busy / (n_in * n_steps)
    return busy, figures, unknown


def _route_time(
    profile: ChipProfile, max_hops: int, crosses: bool, figures: dict, unknown: list[str]
) -> float:
    """Time of the longest route (NaN when a needed figure is unknown); fills ``figures``."""
    route = 0.0
    for path, used in (("latency.hop_ns", max_hops > 0), ("latency.chip_hop_ns", crosses)):
        if not used:
            continue
        value, info = _figure(profile, path)
        figures[path] = info
        if value is None:
            unknown.append(path)
            route = float("nan")
        else:
            route += (max_hops if path == "latency.hop_ns" else 1) * value * 1e-9
    return route


def _timestep(profile: ChipProfile, figures: dict) -> float | None:
    """The chip's fixed time step (``None``: asynchronous); fills ``figures``."""
    ts_fig = profile.figure("chip.timestep_s")
    if ts_fig.value is None:
        return None
    figures["chip.timestep_s"] = {
        "value": ts_fig.value,
        "provenance": ts_fig.provenance,
        "source": ts_fig.source,
    }
    return float(ts_fig.value)


def _step_times(
    busy: np.ndarray, route: float, timestep: float | None, n_steps: int, per_step: bool
) -> dict[str, Any]:
    """Step, inference and throughput figures from core busy times and the route."""
    n_cores = busy.shape[-1]
    if n_cores:
        step_compute = busy.max(axis=-1)  # per step (per_step) or scalar
    else:
        step_compute = np.zeros(n_steps) if per_step else np.float64(0.0)
    raw = np.asarray(step_compute, dtype=np.float64) + route
    if np.isnan(raw).any():
        return {"step_s": None, "time_inf": None, "ips": None, "bound": "unknown", "compute": None}
    steps = np.maximum(raw, timestep or 0.0)
    time_inf = float(steps.sum()) if per_step else float(steps) * n_steps
    return {
        "step_s": time_inf / n_steps,
        "time_inf": time_inf,
        "ips": 1.0 / time_inf if time_inf > 0 else None,
        "bound": "timestep"
        if timestep is not None and bool((raw <= timestep).all())
        else "compute",
        "compute": float(np.mean(step_compute)),
    }


def latency_model(
    mapped: MappedNetwork, result: SimResult, *, load: LoadTable | None = None
) -> LatencyReport:
    """Time per step and per inference, and throughput, of a simulation on its mapping.

    Parameters
    ----------
    mapped : MappedNetwork
    result : SimResult
        A result with event counts per core (the ``chip`` backend).
    load : LoadTable, optional
        Precomputed :func:`~neurosim.mapping.loads.core_loads` of ``mapped``;
        the events per core are read through it (:func:`~neurosim.mapping.loads.with_events`).

    Returns
    -------
    LatencyReport

    Raises
    ------
    SimulationError
        When ``result`` has no event counts, or not one count per core (and step).
    """
    load = with_events(core_loads(mapped) if load is None else load, result)
    n_cores = load.n_cores
    n_steps = max(int(result.n_steps), 1)
    per_step = bool(load.events_per_step)
    busy, figures, unknown = _busy(mapped.profile, result, load, per_step)
    max_hops, crosses = _route(mapped)
    route = _route_time(mapped.profile, max_hops, crosses, figures, unknown)
    timestep = _timestep(mapped.profile, figures)
    t = _step_times(busy, route, timestep, n_steps, per_step)
    per_core_avg = busy.mean(axis=0) if per_step else busy
    busiest = (
        int(np.nanargmax(per_core_avg)) if n_cores and not np.isnan(per_core_avg).all() else None
    )
    return LatencyReport(
        per_core_step_s=per_core_avg,
        compute_step_s=t["compute"],
        busiest_core=busiest,
        route_s=None if np.isnan(route) else route,
        max_hops=max_hops,
        crosses_chips=crosses,
        timestep_s=timestep,
        step_s=t["step_s"],
        bound=t["bound"],
        time_per_inference_s=t["time_inf"],
        inferences_per_s=t["ips"],
        n_steps=n_steps,
        per_step_counts=per_step,
        unknown=tuple(unknown),
        figures=figures,
    )


def energy_delay_product(
    energy_per_inference_pj: float | None, time_per_inference_s: float | None
) -> float | None:
    """Energy-delay product in joule-seconds (``None`` when either factor is unknown).

    Examples
    --------
    >>> energy_delay_product(2e6, 1e-3)  # 2 uJ x 1 ms
    2e-09
    """
    if energy_per_inference_pj is None or time_per_inference_s is None:
        return None
    return float(energy_per_inference_pj) * 1e-12 * float(time_per_inference_s)
