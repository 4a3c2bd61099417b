"""The :class:`Report` of one network on one chip, and :func:`make_report`.

A report gathers, for one mapping and the simulations run on it, the fit
(cores used, violations), memory, energy, latency and accuracy, each from its
pure model in :mod:`neurosim.hardware` and :mod:`neurosim.report.accuracy`.
:meth:`Report.to_dict` is the JSON form, with the stable keys documented in
``docs/report.md`` and a ``schema_version``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.cost.energy import EnergyReport, energy_model
from neurosim.cost.latency import LatencyReport, energy_delay_product, latency_model
from neurosim.cost.memory import MemoryReport, memory_model
from neurosim.mapping.loads import core_loads
from neurosim.report.accuracy import AccuracyReport, accuracy_report

__all__ = [
    "ADDED_KEYS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Report",
    "fit_reason",
    "json_safe",
    "make_report",
]

#: version of the JSON layout of :meth:`Report.to_dict` (bump on any key change)
SCHEMA_VERSION = 1

#: ``ok``: fits and was reported; ``does_not_fit``: design rules violated;
#: ``error``: mapping or simulation refused the request (reason says why)
STATUSES = ("ok", "does_not_fit", "error")

#: keys of ``MappedNetwork.added`` copied into the report (0 when absent)
ADDED_KEYS = ("split_neurons", "relay_neurons", "extra_cores", "extra_stages")

#: violations listed in a report (all are counted)
MAX_LISTED_VIOLATIONS = 10


def fit_reason(violations: Any, first: int = 3) -> str:
    """One line saying why a mapping does not fit: the count and the first violations.

    Examples
    --------
    >>> from neurosim.mapping.mapped import Violation
    >>> v = Violation("check_neurons", "layer1[0:300] on core 0", "neurons", 300, 256, "core.max_neurons", "use more cores")
    >>> fit_reason([v])
    '1 violation: layer1[0:300] on core 0: neurons 300 > 256 (core.max_neurons)'
    """
    violations = list(violations)
    n = len(violations)
    parts = [
        f"{v.where}: {v.resource} {_num(v.used)} > {_num(v.capacity)} ({v.field})"
        for v in violations[:first]
    ]
    more = f"; and {n - first} more" if n > first else ""
    return f"{n} violation{'s' if n != 1 else ''}: " + "; ".join(parts) + more


def _num(x: Any) -> str:
    if x is None:
        return "unknown"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True, eq=False)
class Report:
    """Accuracy, memory, energy and latency of one network on one chip.

    Build with :func:`make_report` (or :meth:`failed` for a chip where mapping
    raised). Sections a report could not compute are ``None``.

    Attributes
    ----------
    chip, chip_title : str
        Profile name and title.
    network : str
    status : str
        One of :data:`STATUSES`.
    reason : str or None
        Why the status is not ``ok``.
    label : str
        How tables and plots name this report (default: the chip name), e.g.
        ``generic_int8`` for one of several runs on one chip.
    overrides : tuple of str
        Profile fields set by the user, as ``field=value``.
    mapping : dict
        Fit summary (JSON-ready).
    violations : tuple of Violation
    memory, energy, latency, accuracy : model reports or None
    mapped : MappedNetwork or None
        Kept for plots (placement); not part of the JSON.
    notes : tuple of str
    """

    chip: str
    chip_title: str
    network: str
    status: str
    reason: str | None = None
    label: str = ""
    overrides: tuple[str, ...] = ()
    mapping: Mapping[str, Any] = field(default_factory=dict)
    violations: tuple[Any, ...] = ()
    memory: MemoryReport | None = None
    energy: EnergyReport | None = None
    latency: LatencyReport | None = None
    accuracy: AccuracyReport | None = None
    mapped: Any = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    @classmethod
    def failed(
        cls,
        chip: str,
        network: str,
        reason: str,
        *,
        chip_title: str = "",
        overrides: tuple[str, ...] = (),
    ) -> Report:
        """A report for a chip where mapping or simulation refused the network."""
        return cls(
            chip=chip,
            chip_title=chip_title or chip,
            network=network,
            status="error",
            reason=reason,
            overrides=overrides,
        )

    @property
    def name(self) -> str:
        """The label, or the chip name when there is none."""
        return self.label or self.chip

    @property
    def fits(self) -> bool:
        return self.status == "ok"

    @property
    def edp_j_s(self) -> float | None:
        """Energy-delay product per inference (J s)."""
        if self.energy is None or self.latency is None:
            return None
        return energy_delay_product(self.energy.per_inference_pj, self.latency.time_per_inference_s)

    @property
    def estimated(self) -> tuple[str, ...]:
        """Profile fields with provenance ``estimated`` behind this report's figures."""
        out: list[str] = []
        for part in (self.memory, self.energy, self.latency):
            if part is not None:
                out.extend(part.estimated)
        return tuple(sorted(set(out)))

    @property
    def unknown(self) -> tuple[str, ...]:
        """Profile fields left unknown that a figure of this report needed."""
        out: list[str] = []
        for part in (self.energy, self.latency):
            if part is not None:
                out.extend(part.unknown)
        return tuple(sorted(set(out)))

    def summary(self) -> dict[str, Any]:
        """The headline figures (one row of a comparison)."""
        acc, en, lat, mem = self.accuracy, self.energy, self.latency, self.memory
        return {
            "chip": self.chip,
            "label": self.name,
            "status": self.status,
            "reason": self.reason,
            "n_cores_used": self.mapping.get("n_cores_used"),
            "n_chips_used": self.mapping.get("n_chips_used"),
            "chip_top1": None if acc is None else acc.chip_top1,
            "reference_top1": None if acc is None else acc.reference_top1,
            "accuracy_drop": None if acc is None else acc.drop,
            "agreement": None if acc is None else acc.agreement,
            "synapse_memory_bits": None if mem is None else mem.total_synapse_bits,
            "memory_utilization_max": None if mem is None else mem.to_dict()["utilization_max"],
            "saving_vs_dense_float32": None if mem is None else mem.saving_vs()["dense_float32"],
            "energy_per_inference_pj": None if en is None else en.per_inference_pj,
            "dynamic_energy_per_inference_pj": None
            if en is None or en.dynamic_pj is None
            else en.dynamic_pj / max(en.n_inputs, 1),
            "time_per_inference_s": None if lat is None else lat.time_per_inference_s,
            "inferences_per_s": None if lat is None else lat.inferences_per_s,
            "edp_j_s": self.edp_j_s,
            "estimated": bool(self.estimated),
            "memory_estimated": bool(mem is not None and mem.estimated),
            "unknown": list(self.unknown),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; keys documented in ``docs/report.md``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "chip": {
                "name": self.chip,
                "title": self.chip_title,
                "label": self.name,
                "overrides": list(self.overrides),
            },
            "network": self.network,
            "status": self.status,
            "reason": self.reason,
            "summary": self.summary(),
            "provenance": {"estimated": list(self.estimated), "unknown": list(self.unknown)},
            "mapping": dict(self.mapping),
            "violations": [v.to_dict() for v in self.violations[:MAX_LISTED_VIOLATIONS]],
            "accuracy": None if self.accuracy is None else self.accuracy.to_dict(),
            "memory": None if self.memory is None else self.memory.to_dict(),
            "energy": None if self.energy is None else self.energy.to_dict(),
            "latency": None if self.latency is None else self.latency.to_dict(),
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (non-finite numbers become ``null``)."""
        return json.dumps(json_safe(self.to_dict()), indent=indent)


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinities replaced by None and numpy scalars by Python ones."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    return obj


def _overrides(profile: Any) -> tuple[str, ...]:
    return tuple(
        f"{k}={f.value}" for k, f in profile.fields().items() if f.provenance == "override"
    )


def _mapping_summary(mapped: Any) -> dict[str, Any]:
    pl = mapped.placement
    added = dict(mapped.added or {})
    return {
        "fits": bool(mapped.fits),
        "n_cores_used": int(mapped.n_cores_used),
        "n_chips_used": int(mapped.n_chips_used),
        "lower_bound_cores": int(mapped.lower_bound_cores),
        "strategy": mapped.strategy,
        "seed": int(mapped.seed),
        "placement_method": getattr(pl, "method", None),
        "total_link_load": None if pl is None else float(pl.total_link_load),
        "max_link_load": None if pl is None else float(pl.max_link_load),
        "row_major_total_link_load": None if pl is None else float(pl.row_major_total_link_load),
        "added": {k: int(added.get(k, 0)) for k in ADDED_KEYS},
        "n_violations": len(mapped.violations),
        **({"conv": mapped.info["conv"]} if (mapped.info or {}).get("conv") else {}),  # per conv/pool layer
    }


def _run_costs(
    mapped: Any, results: Mapping[str, Any], chip_backend: str, load: Any
) -> tuple[Any, Any, list[str]]:
    """``(energy, latency, notes)`` of the chip run (or the first result with event counts)."""
    run = results.get(chip_backend)
    if run is None or not run.events:
        run = next((r for r in results.values() if r.events), None)
    if run is None:
        return None, None, ["no result with event counts: energy and latency not computed"]
    latency = latency_model(mapped, run, load=load)
    t = latency.time_per_inference_s
    energy = energy_model(
        mapped, run, run_time_s=None if t is None else t * run.n_inputs, load=load
    )
    return energy, latency, list(energy.notes)


def make_report(
    mapped: Any,
    results: Mapping[str, Any] | Any | None = None,
    labels: Any = None,
    *,
    chip_backend: str = "chip",
    reference_backend: str = "reference",
    label: str | None = None,
) -> Report:
    """Report one mapping and the simulations run on it.

    Parameters
    ----------
    mapped : MappedNetwork
    results : mapping of backend name to SimResult, or one SimResult, optional
        Usually ``{"chip": ..., "reference": ...}``. A single result is taken
        as the chip run. Without results the report holds the fit and memory.
    labels : array of int, optional
        Class of each input, for top-1 accuracy.
    chip_backend, reference_backend : str
        Keys of ``results`` for the chip and the reference runs. Energy and
        latency come from the chip run (or, if absent, the first result with
        event counts).
    label : str, optional
        Name of the report in tables and plots (default: the chip name).

    Returns
    -------
    Report
    """
    profile = mapped.profile
    if results is not None and not isinstance(results, Mapping):
        results = {chip_backend: results}
    results = dict(results or {})
    load = core_loads(mapped)
    memory = memory_model(mapped, load)
    accuracy = energy = latency = None
    notes: list[str] = []
    if results:
        accuracy = accuracy_report(
            mapped, results, labels, chip=chip_backend, reference=reference_backend
        )
        energy, latency, notes = _run_costs(mapped, results, chip_backend, load)
    return Report(
        chip=profile.name,
        chip_title=profile.title,
        network=mapped.network.name,
        status="ok" if mapped.fits else "does_not_fit",
        reason=None if mapped.fits else fit_reason(mapped.violations),
        label=label or "",
        overrides=_overrides(profile),
        mapping=_mapping_summary(mapped),
        violations=tuple(mapped.violations),
        memory=memory,
        energy=energy,
        latency=latency,
        accuracy=accuracy,
        mapped=mapped,
        notes=tuple(notes),
    )
