"""Energy model: dynamic energy per event type plus static power x run time.

A pure function of a mapping, the event counts of a simulation
(:class:`~neurosim.sim.result.SimResult`, per core) and the profile's
``energy.*`` figures:

    E = sum over event types t and cores c of count[t][c] * energy.<t>_pj
        + energy.static_power_w * n_chips_used * run_time_s

Event types (:data:`ENERGY_FIGURES`; docs/energy.md):

``synop``           one per synaptic event (a spike reaching a stored synapse);
``neuron_update``   every neuron of every core, every step (reading its state);
``neuron_active``   neurons whose state changes in a step (the backend's count
                    when it reports one; otherwise every update: an upper bound);
``spike_out``       one per spike generated;
``packet``          one message per spike and target core, the own core included
                    (:mod:`neurosim.cost.traffic`);
``hop``             mesh hops of the packets to other cores;
``chip_hop``        packets crossing chips;
``host_packet``     input spikes the host delivers to a core (charged to no core).

``neuron_active``, ``packet`` and ``host_packet`` figures are optional in a
profile: left out (null), the cost is *not modelled*; it is charged 0 and the
report has a line for it (:attr:`EnergyReport.unmodelled`, ``notes``). Run
time is the latency model's time per inference times the number of inputs
(:func:`~neurosim.cost.latency.latency_model`).

Split and relay overhead is the part of the dynamic energy spent on the
partial-sum and relay populations the mapper added (their
:class:`~neurosim.mapping.roles.Role` in ``MappedNetwork.roles``, never their
names). Energy per layer and per
role (neuron, split, relay) is exact when each core holds neurons of one
(layer, role) group; otherwise a core's events are shared among its groups in
proportion to their synapses (synaptic ops) or neurons (other events), and the
report says so (``attribution = "apportioned"``).

Provenance: every figure used carries its profile provenance; a figure the
profile leaves unknown (``null``) makes the energy it would give unknown
(``None``), never 0, and so the total (the known part is ``known_pj``).
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
    "ENERGY_FIGURES",
    "OPTIONAL",
    "EnergyReport",
    "energy_counts",
    "EventEnergy",
    "energy_model",
]

#: event type -> profile field of its energy (pJ per event)
ENERGY_FIGURES: dict[str, str] = {
    "synop": "energy.synop_pj",
    "neuron_update": "energy.neuron_update_pj",
    "neuron_active": "energy.neuron_active_pj",
    "spike_out": "energy.spike_out_pj",
    "packet": "energy.packet_pj",
    "hop": "energy.hop_pj",
    "chip_hop": "energy.chip_hop_pj",
    "host_packet": "energy.host_packet_pj",
}
#: figures a profile may leave out (null): the cost is then not modelled (0, with a note)
OPTIONAL = frozenset({"energy.neuron_active_pj", "energy.packet_pj", "energy.host_packet_pj"})

_ROLES = ("neuron", "split", "relay")


@dataclass(frozen=True)
class EventEnergy:
    """Energy of one event type (or of static power) with its provenance.

    ``energy_pj`` is ``None`` when the figure is unknown and events occurred.
    """

    count: int
    figure: float | None
    unit: str
    field: str
    energy_pj: float | None
    provenance: str | None
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class EnergyReport:
    """Energy of one simulation on its mapping.

    Attributes
    ----------
    by_event : mapping of str to EventEnergy
        One entry per type of :data:`ENERGY_FIGURES`, plus ``"static"``
        (count 0, figure in W, ``run_time_s`` and ``n_chips`` in the dict).
    per_core_pj : ndarray, shape (n_cores,)
        Dynamic energy of each core over the whole run (NaN where a needed
        figure is unknown).
    by_layer : tuple of dict
        ``layer``, ``neuron_pj``, ``split_pj``, ``relay_pj``, ``total_pj``.
    n_inputs : int
    run_time_s : float or None
    n_chips : int
    attribution : str
        ``"exact"`` or ``"apportioned"`` (see module docstring).
    """

    by_event: Mapping[str, EventEnergy]
    per_core_pj: np.ndarray
    by_layer: tuple[Mapping[str, Any], ...]
    n_inputs: int
    run_time_s: float | None
    n_chips: int
    attribution: str
    split_pj: float | None = None
    relay_pj: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    counts: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def unmodelled(self) -> tuple[str, ...]:
        """Optional profile fields left out (null) although their events occurred."""
        return tuple(
            e.field
            for e in self.by_event.values()
            if e.figure is None and e.field in OPTIONAL and e.count > 0
        )

    @property
    def unknown(self) -> tuple[str, ...]:
        """Profile fields (or ``run_time``) that left a part of the energy unknown."""
        out = [e.field for e in self.by_event.values() if e.energy_pj is None]
        return tuple(out)

    @property
    def estimated(self) -> tuple[str, ...]:
        """Profile fields with provenance ``estimated`` that contributed energy."""
        out = []
        for kind, e in self.by_event.items():
            used = e.figure is not None if kind == "static" else e.count > 0
            if used and e.provenance == "estimated":
                out.append(e.field)
        return tuple(out)

    @property
    def dynamic_pj(self) -> float | None:
        parts = [e.energy_pj for k, e in self.by_event.items() if k != "static"]
        return None if any(p is None for p in parts) else float(sum(parts))

    @property
    def static_pj(self) -> float | None:
        return self.by_event["static"].energy_pj

    @property
    def known_pj(self) -> float:
        """Sum of the parts whose figures are known (a lower bound when some are unknown)."""
        return float(sum(e.energy_pj for e in self.by_event.values() if e.energy_pj is not None))

    @property
    def total_pj(self) -> float | None:
        return None if self.unknown else self.known_pj

    @property
    def per_inference_pj(self) -> float | None:
        t = self.total_pj
        return None if t is None else t / max(self.n_inputs, 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (keys documented in docs/report.md)."""

        def _num(x: Any) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)

        by_event = {k: e.to_dict() for k, e in self.by_event.items()}
        by_event["static"]["run_time_s"] = self.run_time_s
        by_event["static"]["n_chips"] = self.n_chips
        return {
            "total_pj": self.total_pj,
            "per_inference_pj": self.per_inference_pj,
            "dynamic_pj": self.dynamic_pj,
            "static_pj": self.static_pj,
            "known_pj": self.known_pj,
            "unknown": list(self.unknown),
            "unmodelled": list(self.unmodelled),
            "estimated": list(self.estimated),
            "n_inputs": self.n_inputs,
            "split_overhead_pj": _num(self.split_pj),
            "relay_overhead_pj": _num(self.relay_pj),
            "attribution": self.attribution,
            "by_event": by_event,
            "by_layer": [dict(r) for r in self.by_layer],
            "per_core_pj": [_num(x) for x in self.per_core_pj],
            "notes": list(self.notes),
        }


def _shares(load: LoadTable, group: tuple[str, str], kind: str) -> np.ndarray:
    """Fraction of a core's events of type ``kind`` attributed to ``group``."""
    neurons = load.neurons_by_group.get(group, np.zeros(load.n_cores))
    n_share = np.divide(neurons, load.neurons, out=np.zeros(load.n_cores), where=load.neurons > 0)
    if kind != "synop":
        return n_share
    syn = load.synapses_by_group.get(group, np.zeros(load.n_cores))
    s_share = np.divide(syn, load.synapses, out=np.zeros(load.n_cores), where=load.synapses > 0)
    return np.where(load.synapses > 0, s_share, n_share)


def energy_counts(
    mapped: MappedNetwork, result: SimResult, load: LoadTable
) -> dict[str, np.ndarray]:
    """Events per core of every kind of :data:`ENERGY_FIGURES` (whole run).

    ``packet`` counts one message per spike and target core, the own core
    included; ``host_packet`` the input spikes the host delivers, by receiving
    core (:mod:`neurosim.cost.traffic`; without spike counts: the packets of
    the event counts and ``info["host_packets"]`` on no core). ``neuron_active``
    is the backend's count when it reports one, else every neuron update (every
    neuron taken as active: an upper bound).
    """
    from neurosim.cost.traffic import traffic

    ev = load.events or {}
    zero = np.zeros(load.n_cores)
    out = {k: np.asarray(ev.get(k, zero), dtype=np.float64) for k in ENERGY_FIGURES}
    if "neuron_active" not in ev:
        out["neuron_active"] = out["neuron_update"].copy()
    tr = traffic(mapped, result) if result.spike_counts else None
    if tr is not None and tr.complete:
        out["packet"] = out["packet"] + tr.local
        out["host_packet"] = tr.host
    return out


def _dynamic(
    profile: ChipProfile, load: LoadTable, counts: Mapping[str, np.ndarray], host_total: float
) -> tuple[dict[str, EventEnergy], dict[str, np.ndarray], list[str]]:
    """Energy of each event type, in total and per core (NaN where the figure is unknown).

    Host packets are charged to no core (they enter from outside the mesh).
    """
    by_event: dict[str, EventEnergy] = {}
    per_type_core: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for kind, path in ENERGY_FIGURES.items():
        per_count = counts[kind]
        total_f = host_total if kind == "host_packet" and not per_count.any() else per_count.sum()
        total = int(round(float(total_f)))
        fig = profile.figure(path)
        if fig.value is None:
            optional = path in OPTIONAL
            energy = 0.0 if (optional or not total) else None
            per_core = np.where(per_count > 0, 0.0 if optional else np.nan, 0.0)
            if optional and total:
                notes.append(
                    f"not modelled by this profile: {kind} ({path}), {total} events charged 0"
                )
        else:
            per_core = per_count * float(fig.value)
            energy = float(total_f) * float(fig.value)
        if kind != "host_packet":
            per_type_core[kind] = per_core
        by_event[kind] = EventEnergy(
            total, fig.value, "pJ", path, energy, fig.provenance, fig.source
        )
    return by_event, per_type_core, notes


def _static(
    profile: ChipProfile, n_chips: int, run_time_s: float | None
) -> tuple[EventEnergy, list[str]]:
    """Static energy (power x chips x run time) and a note when the run time is unknown."""
    sfig = profile.figure("energy.static_power_w")
    if sfig.value is None:
        static = None
    elif float(sfig.value) == 0.0 or n_chips == 0:
        static = 0.0
    elif run_time_s is None:
        static = None
    else:
        static = float(sfig.value) * n_chips * float(run_time_s) * 1e12
    notes = []
    if static is None and sfig.value is not None:
        notes.append("static energy unknown: the run time is unknown")
    entry = EventEnergy(
        0, sfig.value, "W", "energy.static_power_w", static, sfig.provenance, sfig.source
    )
    return entry, notes


def _by_layer(
    mapped: MappedNetwork, load: LoadTable, per_type_core: Mapping[str, np.ndarray]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Dynamic energy per source layer and billing role, and the total of each role."""
    layer_rows: dict[str, dict[str, Any]] = {}
    order = [p.name for p in mapped.network.populations]
    role_totals = dict.fromkeys(_ROLES, 0.0)
    for group in sorted(load.neurons_by_group):
        layer, role = group
        value = 0.0
        for kind, per_core in per_type_core.items():
            value += float(np.sum(per_core * _shares(load, group, kind)))
        row = layer_rows.setdefault(
            layer,
            {"layer": layer, "neuron_pj": 0.0, "split_pj": 0.0, "relay_pj": 0.0, "total_pj": 0.0},
        )
        row[f"{role}_pj"] += value
        row["total_pj"] += value
        role_totals[role] += value
    rows = sorted(
        layer_rows.values(),
        key=lambda r: order.index(r["layer"]) if r["layer"] in order else len(order),
    )
    for r in rows:
        for k in ("neuron_pj", "split_pj", "relay_pj", "total_pj"):
            r[k] = None if not np.isfinite(r[k]) else float(r[k])
    return rows, role_totals


def energy_model(
    mapped: MappedNetwork,
    result: SimResult,
    *,
    run_time_s: float | None = None,
    load: LoadTable | None = None,
) -> EnergyReport:
    """Energy per event type, per core, per layer, plus static energy.

    Parameters
    ----------
    mapped : MappedNetwork
    result : SimResult
        Result with event counts per core (``events``), e.g. of the ``chip``
        backend.
    run_time_s : float, optional
        Time the chip runs for all of ``result``'s inputs, used for static
        energy; ``None`` = unknown (static energy is then unknown unless the
        static power is 0). :func:`neurosim.report.make_report` passes the
        latency model's time per inference x ``n_inputs``.
    load : LoadTable, optional
        Precomputed :func:`~neurosim.mapping.loads.core_loads` of ``mapped``.

    Returns
    -------
    EnergyReport

    Raises
    ------
    SimulationError
        When ``result`` has no event counts, or not one count per core.
    """
    n_cores = len(mapped.cores)
    load = with_events(core_loads(mapped) if load is None else load, result)
    counts = energy_counts(mapped, result, load)
    host_total = float(result.info.get("host_packets", 0)) if result.info else 0.0
    by_event, per_type_core, unmodelled = _dynamic(mapped.profile, load, counts, host_total)
    n_chips = max(int(mapped.n_chips_used), 1) if n_cores else 0
    by_event["static"], notes = _static(mapped.profile, n_chips, run_time_s)
    notes = unmodelled + notes
    per_core_pj = np.sum(np.stack(list(per_type_core.values())), axis=0) if n_cores else np.zeros(0)
    rows, role_totals = _by_layer(mapped, load, per_type_core)
    exact = load.single_group_cores()
    if not exact:
        notes.append(
            "per-layer energy apportioned: some cores hold neurons of several layers or roles"
        )
    return EnergyReport(
        by_event=by_event,
        per_core_pj=per_core_pj,
        by_layer=tuple(rows),
        n_inputs=int(result.n_inputs),
        run_time_s=run_time_s,
        n_chips=n_chips,
        attribution="exact" if exact else "apportioned",
        split_pj=role_totals["split"],
        relay_pj=role_totals["relay"],
        notes=tuple(notes),
        counts=counts,
    )
