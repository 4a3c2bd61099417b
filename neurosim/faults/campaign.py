"""Monte Carlo fault campaigns: many faulty chips, accuracy per kind and rate.

A campaign is a list of independent points, one per (chip, strategy,
fault spec, trial). Each point draws its faulty chip from its own seed,
runs it on the ``chip`` backend and returns a small JSON-ready record
(:func:`run_trial`, a module-level function so that Dask workers can import
it). The points go through :func:`neurosim.execute.run_points` (serial, a
LocalCluster or any Dask scheduler); :func:`summarize` turns the records
into mean accuracy with a 95 % Student-t interval over trials.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.faults.spec import FaultSpec

__all__ = [
    "CampaignResult",
    "baseline",
    "baseline_of",
    "campaign_points",
    "interval95",
    "run_campaign",
    "TrialSetup",
    "run_trial",
    "summarize",
]


@dataclass(frozen=True, eq=False)
class CampaignResult:
    """Records of every trial, their summary and the fault-free baselines.

    Attributes
    ----------
    records : list of dict
        One per trial: ``chip``, ``strategy``, ``kind``, ``rate``, ``trial``,
        ``seed``, ``accuracy``, ``output_error`` (mean l1 distance of the
        outputs from the fault-free chip's), what the fault did (``fault``).
    summary : list of dict
        One per (chip, strategy, kind, rate): ``accuracy_mean``,
        ``accuracy_low``, ``accuracy_high`` (95 % interval of the mean), ``trials``.
    baselines : mapping of "chip/strategy" -> dict
        Fault-free accuracy, cores used, energy per inference.
    """

    records: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    baselines: Mapping[str, Mapping[str, Any]]
    bounds: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "baselines": dict(self.baselines),
            "bounds": self.bounds,
            "records": self.records,
        }


def interval95(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95 % Student-t interval of the mean (the mean itself for one value)."""
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if v.size < 2:
        return mean, mean, mean
    from scipy.stats import t

    half = float(t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def _clip01(interval: tuple[float, float, float]) -> tuple[float, float, float]:
    """An accuracy interval clipped to [0, 1] (the t interval ignores the bounds)."""
    mean, low, high = interval
    return mean, max(low, 0.0), min(high, 1.0)


def _top1(outputs: np.ndarray, y: np.ndarray | None) -> float | None:
    if y is None:
        return None
    from neurosim.report.accuracy import top1

    return top1(outputs, y)


def baseline_of(sim: Any, report: Any, mapped: Any, y: np.ndarray | None) -> dict[str, Any]:
    """The fault-free chip from one chip-backend run and its report.

    Accuracy, outputs, cores used, energy (total, dynamic) and packets per inference.
    """
    en = report.energy
    dynamic = None if en is None or en.dynamic_pj is None else en.dynamic_pj / sim.n_inputs
    return {
        "accuracy": _top1(sim.outputs, y),
        "outputs": sim.outputs,
        "n_cores": int(mapped.n_cores_used),
        "fits": bool(mapped.fits),
        "energy_per_inference_pj": None if en is None else en.per_inference_pj,
        "dynamic_energy_per_inference_pj": dynamic,
        "packets_per_inference": sim.total_events("packet") / sim.n_inputs,
        "hops_per_inference": sim.total_events("hop") / sim.n_inputs,
    }


def baseline(
    mapped: Any, x: np.ndarray, y: np.ndarray | None, n_steps: int | None, seed: int
) -> dict[str, Any]:
    """The fault-free chip of an already mapped network (see :func:`baseline_of`)."""
    from neurosim.report import make_report
    from neurosim.sim.simulate import simulate

    res = simulate(mapped, x, "chip", n_steps=n_steps, seed=seed)
    return baseline_of(res, make_report(mapped, {"chip": res}, y), mapped, y)


def campaign_points(
    keys: Sequence[str], specs: Sequence[FaultSpec], trials: int, seed: int
) -> list[tuple[str, dict[str, Any]]]:
    """One point per key, spec and trial; trial ``t`` of every spec uses seed ``seed + t``."""
    out = []
    for key in keys:
        for spec in specs:
            for t in range(trials):
                name = f"{key}|{spec.label}|{t}"
                out.append(
                    (name, {"key": key, "spec": spec.to_dict(), "trial": t, "seed": seed + t})
                )
    return out


@dataclass(frozen=True, eq=False)
class TrialSetup:
    """What every trial reads (scattered once to Dask workers, as one value).

    Attributes
    ----------
    mapped : mapping of "chip/strategy" -> MappedNetwork
    x, y : inputs and labels
    clean : mapping of "chip/strategy" -> fault-free chip outputs
    n_steps, sim_seed : simulation settings
    """

    mapped: Mapping[str, Any]
    x: np.ndarray
    y: np.ndarray | None
    clean: Mapping[str, np.ndarray]
    n_steps: int | None = None
    sim_seed: int = 0


def run_trial(point_key: str, point: Mapping[str, Any], setup: TrialSetup) -> dict[str, Any]:
    """One faulty chip, simulated: a JSON-ready record (see :class:`CampaignResult`)."""
    from neurosim.faults.apply import apply_fault
    from neurosim.sim.simulate import simulate

    key = point["key"]
    spec = FaultSpec(**point["spec"])
    faulty = apply_fault(setup.mapped[key], spec, seed=int(point["seed"]))
    res = simulate(
        faulty, setup.x, "chip", n_steps=setup.n_steps, seed=setup.sim_seed, spike_counts="outputs"
    )
    chip, _, strategy = key.partition("/")
    return {
        "key": point_key,
        "chip": chip,
        "strategy": strategy,
        "kind": spec.kind,
        "rate": spec.rate,
        "trial": int(point["trial"]),
        "seed": int(point["seed"]),
        "accuracy": _top1(res.outputs, setup.y),
        "output_error": float(np.abs(res.outputs - setup.clean[key]).sum(axis=1).mean()),
        "fault": faulty.info["faults"][-1],
    }


def summarize(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (chip, strategy, kind, rate), in first-seen order: mean and 95 % interval."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in records:
        if "error" in r:
            continue
        groups.setdefault((r["chip"], r["strategy"], r["kind"], r["rate"]), []).append(r)
    rows = []
    for (chip, strategy, kind, rate), rs in groups.items():
        row: dict[str, Any] = {
            "chip": chip,
            "strategy": strategy,
            "kind": kind,
            "rate": rate,
            "trials": len(rs),
        }
        if rs[0]["accuracy"] is not None:
            mean, low, high = _clip01(interval95([r["accuracy"] for r in rs]))
            row.update(accuracy_mean=mean, accuracy_low=low, accuracy_high=high)
        row["output_error_mean"] = float(np.mean([r["output_error"] for r in rs]))
        if "sigma" in rs[0]["fault"]:
            row["sigma"] = rs[0]["fault"]["sigma"]
        rows.append(row)
    return rows


def _run_points(
    shared: Mapping[str, Any],
    points: Sequence[tuple[str, Any]],
    done: Callable[[str, Mapping[str, Any]], None],
    execution: Any,
    say: Callable[[str], None] | None,
) -> None:
    """Through :func:`neurosim.execute.run_points` (default serial); a plain loop without it."""
    try:
        from neurosim.execute import Execution, run_points
    except ImportError:  # the executor is not installed in this tree: same calls, in order
        for key, point in points:
            done(key, run_trial(point_key=key, point=point, **shared))
        return
    run_points(run_trial, shared, points, done, execution or Execution("serial"), say=say)


def run_campaign(
    mapped: Mapping[str, Any],
    x: np.ndarray,
    y: np.ndarray | None,
    plan: Mapping[str, Sequence[FaultSpec]],
    *,
    trials: int,
    seed: int = 0,
    n_steps: int | None = None,
    execution: Any = None,
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
    say: Callable[[str], None] | None = None,
) -> CampaignResult:
    """Run every (key, spec, trial) point of ``plan`` (key "chip/strategy" -> specs).

    ``execution`` is a :class:`neurosim.execute.Execution` (default serial);
    ``baselines`` (key -> :func:`baseline_of`) saves the fault-free runs
    already made.
    """
    given = dict(baselines or {})
    base = {k: given.get(k) or baseline(m, x, y, n_steps, seed) for k, m in mapped.items()}
    clean = {k: b["outputs"] for k, b in base.items()}
    points = [p for key, specs in plan.items() for p in campaign_points([key], specs, trials, seed)]
    records: dict[str, dict[str, Any]] = {}

    def done(key: str, record: Mapping[str, Any]) -> None:
        records[key] = dict(record)
        if say is not None:
            say(f"{len(records)}/{len(points)} {key}")

    shared = {"setup": TrialSetup(dict(mapped), x, y, clean, n_steps, seed)}
    _run_points(shared, points, done, execution, say)
    ordered = [records[k] for k, _ in points if k in records]
    errors = [r for r in ordered if "error" in r]
    if errors:
        from neurosim.errors import FaultError

        raise FaultError(
            f"fault campaign: {len(errors)} trial(s) failed; first: {errors[0]['key']}: {errors[0]['error']}"
        )
    baselines = {k: {kk: vv for kk, vv in b.items() if kk != "outputs"} for k, b in base.items()}
    return CampaignResult(ordered, summarize(ordered), baselines)
