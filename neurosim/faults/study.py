"""A fault study: one network on several chips under a list of faults.

:func:`run_study` maps the network on every chip (and, for the mitigation
comparison, with every extra partition strategy), runs the Monte Carlo
campaign (:mod:`neurosim.faults.campaign`) and, where the network meets the
bound's assumptions, the measured-vs-bound table (:mod:`neurosim.faults.bound`).
The CLI (``neurosim faults``) and fault scenarios both call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.errors import FaultError, NeurosimError
from neurosim.faults.campaign import CampaignResult, run_campaign
from neurosim.faults.spec import MISMATCH_FIELDS, FaultSpec, check_for_profile

__all__ = ["BOUND_KINDS", "StudyResult", "bound_table", "run_study"]

#: fault kinds the El Mhamdi et al. bound covers
BOUND_KINDS = ("neuron_crash", "synapse_stuck_zero")


@dataclass(frozen=True, eq=False)
class StudyResult:
    """The campaign, the bound table and what was skipped (with why)."""

    network: str
    chips: list[str]
    strategy: str
    campaign: CampaignResult
    bounds: list[dict[str, Any]] = field(default_factory=list)
    bound_note: str = ""
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "chips": self.chips,
            "strategy": self.strategy,
            **self.campaign.to_dict(),
            "bounds": self.bounds,
            "bound_note": self.bound_note,
            "skipped": self.skipped,
        }


def _plan(
    profiles: Sequence[Any],
    specs: Sequence[FaultSpec],
    strategy: str,
    extra: Sequence[str],
    strict: bool,
) -> tuple[dict[str, list[FaultSpec]], list[str]]:
    """Key "chip/strategy" -> specs; mismatch kinds only on chips with a sigma."""
    plan: dict[str, list[FaultSpec]] = {}
    skipped: list[str] = []
    for prof in profiles:
        ok = []
        for s in specs:
            try:
                check_for_profile(s, prof)
                ok.append(s)
            except FaultError as exc:
                if strict:
                    raise
                if s.kind in MISMATCH_FIELDS:
                    skipped.append(f"{s.label} on {prof.name}: {exc}")
        plan[f"{prof.name}/{strategy}"] = ok
        for st in extra:
            if st != strategy:
                plan[f"{prof.name}/{st}"] = [s for s in ok if s.kind == "core_failure"]
    return plan, skipped


def bound_table(
    network: Any, x: np.ndarray, specs: Sequence[FaultSpec], trials: int, seed: int
) -> tuple[list[dict[str, Any]], str]:
    """Measured output error (reference backend) beside the bound, per bound kind and rate."""
    from neurosim.faults.bound import check_assumptions, crash_bound, measured_error

    try:
        check_assumptions(network)
    except FaultError as exc:
        return [], f"bound not evaluated: {exc}"
    rows = []
    for s in specs:
        if s.kind not in BOUND_KINDS or s.rate is None:
            continue
        b = crash_bound(network, x, s.kind, s.rate)
        m = measured_error(network, x, s.kind, s.rate, trials, seed)
        mean = float(m.mean())
        rows.append(
            {
                **b.to_dict(),
                "measured": mean,
                "measured_max_trial": float(m.max()),
                "looseness": b.bound / mean if mean > 0 else None,
                "paper_looseness": b.paper_bound / mean if mean > 0 else None,
                "trials": trials,
            }
        )
    return rows, "" if rows else "bound not evaluated: no neuron_crash or synapse_stuck_zero rates"


def _fault_free(
    network: Any,
    profile: Any,
    x: np.ndarray,
    y: np.ndarray | None,
    strategy: str,
    seed: int,
    n_steps: int | None,
    map_options: Mapping[str, Any] | None,
) -> tuple[Any, dict[str, Any]]:
    """Map and run once through :func:`neurosim.evaluate.evaluate`: (mapped, baseline)."""
    from neurosim.evaluate import EvalInputs, EvalOptions, evaluate
    from neurosim.faults.campaign import baseline_of

    options = EvalOptions(
        backends=("chip",),
        strategy=strategy,
        mapping_options=dict(map_options or {}),
        seed=seed,
        n_steps=n_steps,
        ignore_fit=True,
        on_error="raise",
    )
    try:
        ev = evaluate(network, profile, EvalInputs(x, y), options)
    except NeurosimError as exc:
        raise type(exc)(f"fault-free run on {profile.name} ({strategy}): {exc}") from None
    return ev.mapped, baseline_of(ev.results["chip"], ev.report, ev.mapped, y)


def run_study(
    network: Any,
    profiles: Sequence[Any],
    x: np.ndarray,
    y: np.ndarray | None,
    specs: Sequence[FaultSpec],
    *,
    trials: int,
    seed: int = 0,
    n_steps: int | None = None,
    strategy: str = "sequential",
    spread: Sequence[str] = (),
    bound: bool = True,
    bound_network: Any = None,
    strict: bool = True,
    execution: Any = None,
    map_options: Mapping[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
) -> StudyResult:
    """Map, run the campaign and the bound table (see the module docstring).

    ``bound_network`` is the graded network the bound is checked on (default
    ``network``; a spiking conversion's graded source). ``strict``: a
    mismatch fault on a chip without a sigma is an error (else skipped).
    """
    plan, skipped = _plan(profiles, specs, strategy, spread, strict)
    mapped, baselines = {}, {}
    for key in plan:
        chip, _, st = key.partition("/")
        prof = next(p for p in profiles if p.name == chip)
        if say is not None:
            say(f"mapping and simulating {network.name} on {chip} ({st}), fault-free")
        mapped[key], baselines[key] = _fault_free(
            network, prof, x, y, st, seed, n_steps, map_options
        )
        if not mapped[key].fits and say is not None:
            say(
                f"warning: {network.name} does not fit {key} ({len(mapped[key].violations)} "
                "violation(s)); simulated anyway, its baseline says fits=False"
            )
    camp = run_campaign(
        mapped,
        x,
        y,
        plan,
        trials=trials,
        seed=seed,
        n_steps=n_steps,
        execution=execution,
        baselines=baselines,
        say=say,
    )
    rows, note = ([], "bound not requested")
    if bound:
        rows, note = bound_table(
            bound_network or network, np.asarray(x if x.ndim == 2 else x[0]), specs, trials, seed
        )
    return StudyResult(
        network.name, [p.name for p in profiles], strategy, camp, rows, note, skipped
    )
