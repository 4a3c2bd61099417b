"""The one evaluation chain: map -> simulate on the requested backends -> cost -> report.

:func:`evaluate` runs one network on one chip profile, once. The CLI
(``simulate``, ``compare``, ``sweep``), the sweeps (:mod:`neurosim.sweep`)
and the scenario runner all call it; running many evaluations is the job of
:mod:`neurosim.execute`.

A network that does not fit its chip is reported (status ``does_not_fit``,
the violations counted) and not simulated, unless
:attr:`EvalOptions.ignore_fit`: then it is simulated and every figure of the
report carries a note saying it comes from a mapping that does not fit. A
mapping or simulation the library refuses gives a failed report (status
``error``), or raises with ``on_error="raise"``.

With :attr:`EvalOptions.run_as` ``"rates"`` the chip runs the rate-equivalent
graded network of a rate-coded IF network
(:func:`neurosim.sim.conversion.graded_equivalent`: IF neurons as ReLU capped
at 1), on the inputs the rate code represents, for chips whose neurons are
graded (Akida). Every backend then runs that graded network; the report says
so in a note, with the IF network's reference top-1 when a shared reference
run and labels are given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from neurosim.errors import NeurosimError

__all__ = [
    "RUN_AS",
    "UNFIT_NOTE",
    "EvalInputs",
    "EvalOptions",
    "EvaluationResult",
    "OptionError",
    "evaluate",
]

#: what a chip runs (:attr:`EvalOptions.run_as`): the network as given, or its rate-equivalent graded network
RUN_AS: tuple[str, ...] = ("network", "rates")
#: note added to a report whose figures come from a mapping that does not fit
UNFIT_NOTE = "figures from a mapping that does not fit this chip (simulated with ignore_fit)"


class OptionError(NeurosimError):
    """A mapping or simulation option has a value the library cannot use."""

    def __init__(self, stage: str, exc: Exception) -> None:
        super().__init__(f"{stage}: bad option value ({type(exc).__name__}: {exc})")
        self.stage = stage


@dataclass(frozen=True, eq=False)
class EvalInputs:
    """Inputs to simulate and their classes.

    Attributes
    ----------
    x : ndarray
        ``(n_inputs, n_in)`` static values or ``(n_steps, n_inputs, n_in)`` spike trains.
    y : ndarray of int or None
    """

    x: np.ndarray
    y: np.ndarray | None = None

    @property
    def n_inputs(self) -> int:
        """Number of inputs (the per-input axis of static or per-step inputs)."""
        return int(self.x.shape[0] if self.x.ndim == 2 else self.x.shape[1])


@dataclass(frozen=True)
class EvalOptions:
    """How to map and simulate.

    Attributes
    ----------
    backends : tuple of str
        Backends to run (names of :data:`neurosim.sim.backends.BACKENDS`).
    strategy, placement : str or None
        Partition strategy and placement method (default: the mapper's).
    mapping_options : mapping
        Further keyword arguments of :func:`~neurosim.mapping.mapper.map_network`.
    seed : int
        Seed of every random choice (mapping, encoding).
    n_steps : int or None
    encoding : str or None
        Spike encoding of static inputs.
    sim_options : mapping
        Further keyword arguments of :func:`~neurosim.sim.simulate.simulate`.
    ignore_fit : bool
        Simulate a mapping that does not fit (its report says so).
    on_error : {"report", "raise"}
        A refused mapping or simulation: a failed report, or the error raised.
    run_as : {"network", "rates"}
        Run the network as given, or its rate-equivalent graded network
        (see the module docstring).
    """

    backends: tuple[str, ...] = ("chip", "reference")
    strategy: str | None = None
    placement: str | None = None
    mapping_options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    n_steps: int | None = None
    encoding: str | None = None
    sim_options: Mapping[str, Any] = field(default_factory=dict)
    ignore_fit: bool = False
    on_error: str = "report"
    run_as: str = "network"

    def __post_init__(self) -> None:
        if self.run_as not in RUN_AS:
            raise OptionError(
                "evaluation options", ValueError(f"run_as {self.run_as!r}; expected one of {', '.join(RUN_AS)}")
            )

    def map_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``map_network``."""
        kw: dict[str, Any] = dict(self.mapping_options)
        if self.strategy is not None:
            kw["strategy"] = self.strategy
        if self.placement is not None:
            kw["placement"] = self.placement
        return {"seed": self.seed, **kw}

    def sim_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``simulate`` (besides the mapped network, inputs and backend)."""
        kw: dict[str, Any] = {"n_steps": self.n_steps, "seed": self.seed}
        if self.encoding is not None:
            kw["encoding"] = self.encoding
        return {**kw, **dict(self.sim_options)}


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """What one evaluation produced.

    Attributes
    ----------
    profile : ChipProfile
    mapped : MappedNetwork or None
        None when mapping was refused.
    results : mapping of backend to SimResult
        Empty when nothing was simulated.
    report : Report
    timings : mapping of str to float
        Wall times: ``map_s``, ``simulate_<backend>_s`` and
        ``simulate_<backend>_inferences_per_s``.
    run_as_note : str or None
        With ``run_as="rates"``: what ran (also the last of the report's notes).
    """

    profile: Any
    mapped: Any
    results: Mapping[str, Any]
    report: Any
    timings: Mapping[str, float | None] = field(default_factory=dict)
    run_as_note: str | None = None

    @property
    def fits(self) -> bool:
        """The mapping fits the chip."""
        return self.mapped is not None and bool(self.mapped.fits)


Progress = Callable[[str], None]
Simulator = Callable[..., Any]


def _inputs(data: Any) -> EvalInputs | None:
    if data is None or isinstance(data, EvalInputs):
        return data
    if isinstance(data, np.ndarray):
        return EvalInputs(data)
    return EvalInputs(np.asarray(data.x), None if data.y is None else np.asarray(data.y))


def _failed(network: Any, profile: Any, reason: str) -> Any:
    from neurosim.report import Report

    return Report.failed(profile.name, network.name, reason, chip_title=profile.title)


def _map(network: Any, profile: Any, options: EvalOptions) -> tuple[Any, str | None]:
    """``(mapped, None)``, or ``(None, reason)`` when the library refuses the mapping."""
    from neurosim.mapping.mapper import map_network

    try:
        return map_network(network, profile, **options.map_kwargs()), None
    except (TypeError, ValueError) as exc:
        raise OptionError("mapping options", exc) from exc
    except NeurosimError as exc:
        if options.on_error == "raise":
            raise
        return None, f"mapping: {exc}"


def _simulate_all(
    mapped: Any,
    data: EvalInputs,
    options: EvalOptions,
    reference: Any,
    say: Progress,
    simulator: Simulator,
) -> tuple[dict[str, Any], dict[str, float | None], str | None]:
    """Run every backend: ``(results, timings, reason of the first refusal or None)``."""
    run = mapped.fits or options.ignore_fit
    results: dict[str, Any] = {}
    times: dict[str, float | None] = {}
    for backend in options.backends:
        say(f"simulating ({backend})")
        if backend == "reference" and reference is not None:
            results[backend] = reference
            continue
        if not run:
            continue
        t0 = time.perf_counter()
        try:
            results[backend] = simulator(mapped, data.x, backend, **options.sim_kwargs())
        except (TypeError, ValueError) as exc:
            raise OptionError("simulation options", exc) from exc
        except NeurosimError as exc:
            if options.on_error == "raise":
                raise
            return results, times, f"simulation ({backend}): {exc}"
        took = time.perf_counter() - t0
        times[f"simulate_{backend}_s"] = took
        times[f"simulate_{backend}_inferences_per_s"] = data.n_inputs / took if took > 0 else None
    return results, times, None


def _rates_note(profile: Any, graded: Any, steps: Any, reference: Any, labels: Any) -> str:
    """The report note of a chip that ran the rate-equivalent graded network."""
    if not graded.gains:
        return f"run_as rates on {profile.name}: no IF population to convert; the network ran as given"
    note = (
        f"{profile.name} ran the rate-equivalent graded network of this IF network (IF neurons "
        "as ReLU capped at 1, weights and bias scaled by r / threshold; inputs as the rates of "
        "their code): outputs are rates, accuracy is their argmax, and every backend ran the "
        "graded network (the reference in float64)"
    )
    if graded.reset_zero:
        note += f"; {', '.join(graded.reset_zero)} reset to zero (graded rate an upper bound)"
    if reference is not None and labels is not None:
        from neurosim.report.accuracy import top1

        note += (
            f"; the IF network on the reference backend ({steps} steps): top-1 "
            f"{top1(reference.outputs, labels):.1%}"
        )
    return note


def _as_rates(
    network: Any, profile: Any, data: EvalInputs | None, options: EvalOptions, reference: Any
) -> tuple[Any, EvalInputs | None, EvalOptions, str]:
    """The graded network, its rate inputs, options without steps or encoding, and the report note."""
    from neurosim.sim.conversion import graded_equivalent, rate_inputs

    graded = graded_equivalent(network)
    steps = reference.n_steps if reference is not None else options.n_steps
    note = _rates_note(profile, graded, steps, reference, None if data is None else data.y)
    if data is not None:
        x = rate_inputs(
            network, data.x, n_steps=options.n_steps, encoding=options.encoding, seed=options.seed
        )
        data = EvalInputs(x, data.y)
    return graded.network, data, replace(options, n_steps=None, encoding=None), note


def _report(mapped: Any, results: Mapping[str, Any], labels: Any, options: EvalOptions) -> Any:
    from neurosim.report import make_report

    if not mapped.fits and not options.ignore_fit:
        return make_report(mapped)
    report = make_report(mapped, results, labels)
    if not mapped.fits and results:
        report = replace(report, notes=(*report.notes, UNFIT_NOTE))
    return report


def evaluate(
    network: Any,
    profile: Any,
    data: Any = None,
    options: EvalOptions | None = None,
    *,
    reference: Any = None,
    progress: Progress | None = None,
    simulator: Simulator | None = None,
) -> EvaluationResult:
    """Map ``network`` onto ``profile``, simulate it on ``data``, cost and report it, once.

    Parameters
    ----------
    network : Network
    profile : ChipProfile
    data : EvalInputs, Dataset, ndarray or None
        Anything with ``x`` (and ``y``) attributes, or the inputs alone.
        Without data the report holds the fit and memory only.
    options : EvalOptions, optional
    reference : SimResult, optional
        A reference run computed once for many chips (it does not depend on
        the chip), used instead of running ``"reference"`` again.
    progress : callable, optional
        Called with ``"mapping"`` and ``"simulating (<backend>)"``.
    simulator : callable, optional
        ``simulate``-compatible function (default
        :func:`neurosim.sim.simulate.simulate`); :mod:`neurosim.execute`
        passes one that splits the inputs into blocks over a cluster.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    OptionError
        A mapping or simulation option of a wrong type or value.
    NeurosimError
        With ``options.on_error == "raise"``, what mapping or simulation raised.
    """
    options = options or EvalOptions()
    say = progress or (lambda _msg: None)
    data = _inputs(data)
    note = None
    if options.run_as == "rates":
        try:
            network, data, options, note = _as_rates(network, profile, data, options, reference)
        except NeurosimError as exc:
            if options.on_error == "raise":
                raise
            return EvaluationResult(profile, None, {}, _failed(network, profile, f"rates: {exc}"))
        reference = None  # a shared reference ran the spiking network
    ev = _evaluate(network, profile, data, options, reference, say, simulator)
    if note is None:
        return ev
    return replace(ev, report=replace(ev.report, notes=(*ev.report.notes, note)), run_as_note=note)


def _evaluate(
    network: Any,
    profile: Any,
    data: EvalInputs | None,
    options: EvalOptions,
    reference: Any,
    say: Progress,
    simulator: Simulator | None,
) -> EvaluationResult:
    """:func:`evaluate` after its arguments are normalised."""
    say("mapping")
    t0 = time.perf_counter()
    mapped, reason = _map(network, profile, options)
    timings: dict[str, float | None] = {"map_s": time.perf_counter() - t0}
    if mapped is None:
        return EvaluationResult(profile, None, {}, _failed(network, profile, reason), timings)
    if data is None:
        return EvaluationResult(profile, mapped, {}, _report(mapped, {}, None, options), timings)
    if simulator is None:
        from neurosim.sim.simulate import simulate as simulator
    results, sim_times, reason = _simulate_all(mapped, data, options, reference, say, simulator)
    timings.update(sim_times)
    if reason is not None:
        return EvaluationResult(
            profile, mapped, results, _failed(network, profile, reason), timings
        )
    if not mapped.fits and not options.ignore_fit:
        results = {}
    report = _report(mapped, results, data.y, options)
    return EvaluationResult(profile, mapped, results, report, timings)
