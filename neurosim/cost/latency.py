"""Latency and throughput model: time per step and per inference, EDP.

A pure function of a mapping (its placement), the event counts of a
simulation and the profile's ``latency.*`` figures.

The model
---------
Each time step is scheduled as the hardware runs it (the scheme of SANA-FE's
detailed scheduler, Boyle et al.): every core has a *sending* pipeline (soma:
read every neuron, update the active ones, generate spikes; axon out: one
message per spike and target core) and a *receiving* pipeline (axon in: one
per message; synapses: one per synaptic event; dendrite), which work in
parallel; messages cross the mesh between them; a barrier ends the step.
Per core ``c``, per input and step:

    G[c] = neuron_update[c] * neuron_update_ns + active[c] * neuron_active_ns
           + spike_out[c] * spike_out_ns + sent[c] * packet_ns
    R[c] = received[c] * message_in_ns + synop[c] * synop_ns

A receiving core ``d`` fed by cores ``S_d`` (and the host, which sends its
input spikes one after the other at ``packet_ns`` each) finishes at

    F[d] = max(first[d] + R[d], last[d] + R[d] / received[d])

where ``last[d] = max_s (G[s] + route(s, d))`` is when its last message
arrives, ``first[d] = min_s (G[s] / sent[s] + route(s, d))`` when its first
does (messages leave a core spread over its sending time), and
``route = hops * hop_ns (+ chip_hop_ns across chips)``. The step takes

    step = max(max_c G[c], max_d F[d]) + barrier(cores in use)

and at least ``chip.timestep_s`` on a chip with a fixed tick. ``sent``,
``received`` and the host's messages come from the run's spikes and the
mapping (:mod:`neurosim.cost.traffic`); without spike counts the packets
of the event counts are the messages sent and the placement's traffic says
who feeds whom. With per-step event counts (``SimResult.events_per_step``)
each step is scheduled on its own counts (messages per step in proportion to
each core's spikes and synaptic events); otherwise the average step is. A
figure a profile does not state (``neuron_active_ns``, ``packet_ns``,
``message_in_ns``, ``barrier_ns``: null) is a stage the model leaves out and
lists in :attr:`LatencyReport.unmodelled`. Time per inference is the sum
over the run's steps, inferences per second its inverse (one input at a
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
import scipy.sparse as sp

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

#: event type -> profile field of its latency (ns per event); the stage it belongs to
#: is in :data:`SENDING` or :data:`RECEIVING`
LATENCY_FIGURES: dict[str, str] = {
    "synop": "latency.synop_ns",
    "neuron_update": "latency.neuron_update_ns",
    "neuron_active": "latency.neuron_active_ns",
    "spike_out": "latency.spike_out_ns",
    "packet": "latency.packet_ns",
    "message_in": "latency.message_in_ns",
}
SENDING = ("neuron_update", "neuron_active", "spike_out", "packet")
RECEIVING = ("message_in", "synop")
#: figures a profile may leave out (null): the stage is then not modelled
OPTIONAL = frozenset(
    {"latency.neuron_active_ns", "latency.packet_ns", "latency.message_in_ns", "latency.barrier_ns"}
)


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
    unmodelled : tuple of str
        Optional fields the profile leaves out while their events occurred
        (the stage takes no time in the model).
    barrier_s : float
        End-of-step barrier included in every step.
    counts : mapping of str to ndarray
        Events per core (whole run) that the model timed, by kind of
        :data:`LATENCY_FIGURES`.
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
    unmodelled: tuple[str, ...] = ()
    barrier_s: float = 0.0
    counts: Mapping[str, np.ndarray] = field(default_factory=dict)

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
            "unmodelled": list(self.unmodelled),
            "barrier_s": self.barrier_s,
            "estimated": list(self.estimated),
            "figures": [{"field": k, **dict(v)} for k, v in self.figures.items()],
            "per_core_step_s": [_num(x) for x in self.per_core_step_s],
        }


def _figure(profile: ChipProfile, path: str) -> tuple[float | None, dict[str, Any]]:
    fig = profile.figure(path)
    info = {"value": fig.value, "provenance": fig.provenance, "source": fig.source}
    return (None if fig.value is None else float(fig.value)), info


def _figure_or(profile: ChipProfile, path: str, used: bool, acc: dict) -> float:
    """A latency figure in seconds: NaN when unknown, 0 when optional and not stated."""
    value, info = _figure(profile, path)
    if used:
        acc["figures"][path] = info
    if value is None:
        if path in OPTIONAL:
            if used:
                acc["unmodelled"].append(path)
            return 0.0
        if used:
            acc["unknown"].append(path)
            return float("nan")
        return 0.0
    return value * 1e-9


def _counts(mapped: MappedNetwork, result: SimResult, load: LoadTable) -> tuple[dict, Any]:
    """Whole-run counts per core of every timed kind, and the traffic (None without spikes)."""
    from neurosim.cost.traffic import traffic

    ev = load.events or {}
    zero = np.zeros(load.n_cores)
    out = {
        k: np.asarray(ev.get(k, zero), dtype=np.float64)
        for k in ("synop", "neuron_update", "spike_out")
    }
    out["neuron_active"] = np.asarray(
        ev.get("neuron_active", out["neuron_update"]), dtype=np.float64
    )
    tr = traffic(mapped, result) if result.spike_counts else None
    if tr is None or not tr.complete:
        out["packet"] = np.asarray(ev.get("packet", zero), dtype=np.float64)
        out["message_in"] = zero.copy()
        return out, None
    out["packet"] = tr.sent
    out["message_in"] = tr.received
    return out, tr


def _per_step(counts: dict, load: LoadTable, n_steps: int, per_step: bool) -> dict:
    """Counts per core and step (``(n_steps, n_cores)``, or ``(1, n_cores)`` averaged)."""
    if not per_step:
        return {k: v[None, :] / n_steps for k, v in counts.items()}
    ps = load.events_per_step or {}
    out = {}
    for k, v in counts.items():
        base = {"packet": "spike_out", "message_in": "synop", "neuron_active": "neuron_update"}.get(
            k, k
        )
        arr = ps.get(base)
        if arr is None:
            out[k] = np.broadcast_to(v / n_steps, (n_steps, v.size)).copy()
            continue
        arr = np.asarray(arr, dtype=np.float64)
        tot = arr.sum(axis=0)
        share = np.divide(arr, tot, out=np.full_like(arr, 1.0 / n_steps), where=tot > 0)
        out[k] = share * v
    return out


def _routes(mapped: MappedNetwork, tr: Any, profile: ChipProfile, acc: dict) -> tuple:
    """Sender, receiver and route time (s) of every communicating core pair; hops, chips."""
    pl = mapped.placement
    if tr is not None:
        t = tr.pairs.tocoo()
    else:
        t = pl.traffic.tocoo() if pl.traffic is not None else sp.coo_matrix((0, 0))
    keep = t.data != 0
    a, b = t.row[keep].astype(np.int64), t.col[keep].astype(np.int64)
    if a.size == 0:
        return a, b, np.zeros(0), 0, False
    hops = np.asarray(pl.hops(a, b), dtype=np.int64)
    cross = np.asarray(pl.chip)[a] != np.asarray(pl.chip)[b]
    hop_s = _figure_or(profile, "latency.hop_ns", bool(hops.max() > 0), acc)
    chip_s = _figure_or(profile, "latency.chip_hop_ns", bool(cross.any()), acc)
    route = hops * hop_s + np.where(cross, chip_s, 0.0)
    return a, b, route, int(hops.max()), bool(cross.any())


def _host_cores(mapped: MappedNetwork, tr: Any, n_cores: int) -> np.ndarray:
    """Messages per core from the host (whole run; structural 1/0 without spike counts)."""
    if tr is not None:
        return tr.host
    fed = np.zeros(n_cores)
    hw = mapped.hw_network
    for pr in hw.projections:
        if np.all(np.asarray(mapped.core_of[pr.pre]) < 0):
            cores = np.asarray(mapped.core_of[pr.post])
            fed[np.unique(cores[cores >= 0])] = 1.0
    return fed


def _finish(
    G: np.ndarray, R: np.ndarray, sent: np.ndarray, recv: np.ndarray, links: tuple, host: tuple
) -> np.ndarray:
    """``F[t, d]``: when core ``d`` has processed every message of step ``t`` (0 if none)."""
    a, b, route = links
    h_first, h_last, h_cores = host
    n_t, n_c = R.shape
    last = np.full((n_c, n_t), -np.inf)
    first = np.full((n_c, n_t), np.inf)
    if a.size:
        send_last = G[:, a] + route[None, :]
        send_first = G[:, a] / np.maximum(sent[:, a], 1.0) + route[None, :]
        np.maximum.at(last, b, send_last.T)
        np.minimum.at(first, b, send_first.T)
    if h_cores.size:
        last[h_cores] = np.maximum(last[h_cores], h_last[None, :])
        first[h_cores] = np.minimum(first[h_cores], h_first[None, :])
    last, first = last.T, first.T
    fed = last != -np.inf  # NaN (an unknown route) stays NaN
    last = np.where(fed, last, 0.0)
    first = np.where(fed, first, 0.0)
    per_msg = np.divide(R, recv, out=R.copy(), where=recv > 1.0)
    return np.where(R != 0, np.maximum(first + R, last + per_msg), 0.0)  # NaN stays NaN


def _barrier(profile: ChipProfile, n_cores: int, acc: dict) -> float:
    """End-of-step barrier (s) for ``n_cores`` cores in use (step function of a table)."""
    value = profile.figure("latency.barrier_ns").value
    if value is None:
        return _figure_or(profile, "latency.barrier_ns", n_cores > 0, acc)
    fig = profile.figure("latency.barrier_ns")
    acc["figures"]["latency.barrier_ns"] = {
        "value": value,
        "provenance": fig.provenance,
        "source": fig.source,
    }
    if not isinstance(value, dict):
        return float(value) * 1e-9
    keys = sorted(k for k in value if k <= max(n_cores, 1)) or [min(value)]
    return float(value[keys[-1]]) * 1e-9


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


def _schedule(mapped: MappedNetwork, result: SimResult, load: LoadTable, acc: dict) -> dict:
    """Sending and receiving time per step and core, finish times, route and barrier."""
    prof = mapped.profile
    n_in = max(int(result.n_inputs), 1)
    n_steps = max(int(result.n_steps), 1)
    per_step = bool(load.events_per_step)
    counts, tr = _counts(mapped, result, load)
    steps = _per_step(counts, load, n_steps, per_step)
    secs = {k: _figure_or(prof, p, bool(counts[k].any()), acc) for k, p in LATENCY_FIGURES.items()}
    G = sum(steps[k] * secs[k] for k in SENDING) / n_in
    R = sum(steps[k] * secs[k] for k in RECEIVING) / n_in
    a, b, route, max_hops, crosses = _routes(mapped, tr, prof, acc)
    host_msgs = _host_cores(mapped, tr, load.n_cores)
    h_cores = np.flatnonzero(host_msgs > 0)
    h_total = float(host_msgs.sum()) / (n_in * n_steps) if tr is not None else 0.0
    h_last = np.full(G.shape[0], h_total * secs["packet"] if h_total else 0.0)
    h_first = h_last / max(h_total, 1.0)
    F = _finish(
        G,
        R,
        steps["packet"] / n_in,
        steps["message_in"] / n_in,
        (a, b, route),
        (h_first, h_last, h_cores),
    )
    busy = np.maximum(G.max(axis=1, initial=0.0), F.max(axis=1, initial=0.0))
    barrier = _barrier(prof, load.n_cores, acc)
    return {
        "work": (G + R),
        "step": busy + barrier,
        "compute": busy,
        "barrier": barrier,
        "route": float(route.max()) if route.size else 0.0,
        "max_hops": max_hops,
        "crosses": crosses,
        "per_step": per_step,
        "counts": counts,
        "n_steps": n_steps,
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
    acc: dict[str, Any] = {"figures": {}, "unknown": [], "unmodelled": []}
    sch = _schedule(mapped, result, load, acc)
    timestep = _timestep(mapped.profile, acc["figures"])
    n_steps = sch["n_steps"]
    raw = sch["step"]
    per_core = sch["work"].mean(axis=0) if sch["per_step"] else sch["work"][0]
    if np.isnan(raw).any():
        step_s = time_inf = ips = compute = None
        bound = "unknown"
    else:
        steps = np.maximum(raw, timestep or 0.0)
        time_inf = float(steps.sum()) if sch["per_step"] else float(steps[0]) * n_steps
        step_s = time_inf / n_steps
        ips = 1.0 / time_inf if time_inf > 0 else None
        bound = "timestep" if timestep is not None and bool((raw <= timestep).all()) else "compute"
        compute = float(np.mean(sch["compute"]))
    busiest = (
        int(np.nanargmax(per_core)) if per_core.size and not np.isnan(per_core).all() else None
    )
    route = sch["route"]
    return LatencyReport(
        per_core_step_s=per_core,
        compute_step_s=compute,
        busiest_core=busiest,
        route_s=None if np.isnan(route) else route,
        max_hops=sch["max_hops"],
        crosses_chips=sch["crosses"],
        timestep_s=timestep,
        step_s=step_s,
        bound=bound,
        time_per_inference_s=time_inf,
        inferences_per_s=ips,
        n_steps=n_steps,
        per_step_counts=sch["per_step"],
        unknown=tuple(dict.fromkeys(acc["unknown"])),
        figures=acc["figures"],
        unmodelled=tuple(dict.fromkeys(acc["unmodelled"])),
        barrier_s=0.0 if np.isnan(sch["barrier"]) else sch["barrier"],
        counts=sch["counts"],
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
