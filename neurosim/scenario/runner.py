"""Running a scenario: call the library stage by stage, collect the values.

:func:`run_scenario` computes and returns a :class:`ScenarioResult`; it writes
nothing (see :mod:`neurosim.scenario.output` for that). Each stage is a call
of the public API: ``load_dataset``, a topology generator / ``train_network`` /
``load_network``, ``load_profile``, ``map_network``, ``simulate``,
``make_report``, ``compare_reports`` and ``run_sweep``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.scenario.schema import ChipSpec, Scenario

__all__ = ["ScenarioResult", "count_steps", "run_scenario"]

Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Everything a scenario run produced.

    Attributes
    ----------
    scenario : Scenario
        As resolved (defaults filled in, paths absolute).
    dataset : Dataset
        The evaluation inputs (split and limit applied), in the order simulated.
    network : Network
    network_info : mapping
        How the network was obtained (generator, training history, file).
    profiles : mapping of chip key to ChipProfile
    mapped : mapping of chip key to MappedNetwork
    results : mapping of chip key to mapping of backend to SimResult
    reports : mapping of chip key to Report
    comparison : Any
        ``compare_reports`` of every chip's report.
    sweep : Any or None
        The sweep result, when the scenario has a sweep.
    timings : mapping
        Wall times in seconds (kept apart: they differ from run to run).
    """

    scenario: Scenario
    dataset: Any
    network: Any
    network_info: Mapping[str, Any]
    profiles: Mapping[str, Any]
    mapped: Mapping[str, Any]
    results: Mapping[str, Mapping[str, Any]]
    reports: Mapping[str, Any]
    comparison: Any
    sweep: Any
    timings: Mapping[str, Any] = field(default_factory=dict)

    def summary_tables(self) -> list[Any]:
        """Renderables (rich) summarising the run: the chip comparison, the sweep."""
        from neurosim.scenario.output import summary_tables

        return summary_tables(self)


def count_steps(scenario: Scenario) -> int:
    """Number of progress steps :func:`run_scenario` reports (for a progress bar)."""
    n_chips = len(scenario.chips)
    n_backends = len(scenario.simulation.backends)
    return 2 + n_chips * (2 + n_backends) + 1 + (1 if scenario.sweep is not None else 0)


# ---------------------------------------------------------------- stages
def load_data(scenario: Scenario) -> tuple[Any, Any]:
    """The evaluation dataset and, for trained networks, the training dataset."""
    from neurosim.io.datasets import load_dataset

    ds = scenario.dataset
    kwargs = dict(path=ds.path, seed=scenario.seed, **ds.options)
    evaluation = load_dataset(ds.name, split=ds.split, limit=ds.limit, **kwargs)
    train = None
    if scenario.network.train is not None:
        train = load_dataset(ds.name, split="train", limit=ds.train_limit, **kwargs)
    return evaluation, train


def build_network(scenario: Scenario, train: Any) -> tuple[Any, dict[str, Any]]:
    """Generate, train or load the network the scenario names."""
    spec = scenario.network
    if spec.generate is not None:
        from neurosim.topology import generate

        net = generate(spec.generate.generator, seed=scenario.seed, **spec.generate.parameters)
        return net, {
            "source": "generate",
            "generator": spec.generate.generator,
            **spec.generate.parameters,
        }
    if spec.train is not None:
        from neurosim.train import train_network

        trained = train_network(
            spec.train.method, train, seed=scenario.seed, **spec.train.parameters
        )
        net = getattr(trained, "network", trained)
        info: dict[str, Any] = {"source": "train", "method": spec.train.method}
        if hasattr(trained, "to_dict"):
            info.update(trained.to_dict())
        return net, info
    from neurosim.io.formats import load_network

    load = spec.load
    assert load is not None  # guaranteed by NetworkSpec's validator
    net = load_network(load.path, load.format, **load.options)
    return net, {"source": "load", "path": load.path, "format": load.format}


def chip_profile(chip: ChipSpec) -> Any:
    """The chip's profile with its overrides."""
    from neurosim.hardware.profile import load_profile

    return load_profile(chip.name, chip.overrides)


def map_chip(scenario: Scenario, network: Any, profile: Any) -> Any:
    """``map_network`` with the scenario's strategy, options and seed."""
    from neurosim.mapping.mapper import map_network

    kwargs: dict[str, Any] = dict(scenario.mapping.options)
    if scenario.mapping.strategy is not None:
        kwargs["strategy"] = scenario.mapping.strategy
    return map_network(network, profile, seed=scenario.seed, **kwargs)


def simulate_backend(scenario: Scenario, mapped: Any, inputs: np.ndarray, backend: str) -> Any:
    """``simulate`` one backend with the scenario's steps, encoding and seed."""
    from neurosim.sim.simulate import simulate

    sim = scenario.simulation
    kwargs: dict[str, Any] = dict(sim.options)
    if sim.steps is not None:
        kwargs["steps"] = sim.steps
    if sim.encoding is not None:
        kwargs["encoding"] = sim.encoding.kind
        kwargs["encoding_params"] = dict(sim.encoding.parameters)
    return simulate(mapped, inputs, backend=backend, seed=scenario.seed, **kwargs)


# ---------------------------------------------------------------- runner
def run_scenario(scenario: Scenario, *, progress: Progress | None = None) -> ScenarioResult:
    """Run every stage of ``scenario`` and return the values it produced.

    Parameters
    ----------
    scenario : Scenario
        From :func:`~neurosim.scenario.load_scenario`.
    progress : callable, optional
        Called with a short description at the start of each step
        (:func:`count_steps` of them), e.g. to drive a progress bar.

    Returns
    -------
    ScenarioResult
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, Any] = {}
    t_all = time.perf_counter()

    say(f"loading dataset {scenario.dataset.name}")
    t0 = time.perf_counter()
    dataset, train = load_data(scenario)
    timings["dataset_s"] = time.perf_counter() - t0

    say(f"building network ({scenario.network.source})")
    t0 = time.perf_counter()
    network, network_info = build_network(scenario, train)
    timings["network_s"] = time.perf_counter() - t0

    from neurosim.report import compare_reports, make_report

    profiles: dict[str, Any] = {}
    mapped: dict[str, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    reports: dict[str, Any] = {}
    chip_times: dict[str, Any] = {}
    for chip in scenario.chip_specs:
        key = chip.key
        times: dict[str, Any] = {}
        say(f"{key}: mapping")
        t0 = time.perf_counter()
        profiles[key] = chip_profile(chip)
        mapped[key] = map_chip(scenario, network, profiles[key])
        times["map_s"] = time.perf_counter() - t0
        results[key] = {}
        for backend in scenario.simulation.backends:
            say(f"{key}: simulating ({backend})")
            t0 = time.perf_counter()
            results[key][backend] = simulate_backend(scenario, mapped[key], dataset.x, backend)
            times[f"simulate_{backend}_s"] = time.perf_counter() - t0
        say(f"{key}: report")
        t0 = time.perf_counter()
        reports[key] = make_report(mapped[key], results[key], labels=dataset.y)
        times["report_s"] = time.perf_counter() - t0
        chip_times[key] = times
    timings["chips"] = chip_times

    say("comparing chips")
    comparison = compare_reports(list(reports.values()))

    sweep = None
    if scenario.sweep is not None:
        say("sweep")
        t0 = time.perf_counter()
        sweep = run_sweep_stage(scenario, network, dataset, profiles)
        timings["sweep_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_all
    return ScenarioResult(
        scenario=scenario,
        dataset=dataset,
        network=network,
        network_info=network_info,
        profiles=profiles,
        mapped=mapped,
        results=results,
        reports=reports,
        comparison=comparison,
        sweep=sweep,
        timings=timings,
    )


def run_sweep_stage(
    scenario: Scenario, network: Any, dataset: Any, profiles: Mapping[str, Any]
) -> Any:
    """``run_sweep`` over the scenario's grid on its sweep chip."""
    from neurosim.sweep import run_sweep

    spec = scenario.sweep
    assert spec is not None
    key = spec.chip or scenario.chip_specs[0].key
    return run_sweep(
        network,
        profiles[key],
        spec.grid,
        inputs=dataset.x,
        labels=dataset.y,
        backends=spec.backends or scenario.simulation.backends,
        seed=scenario.seed,
    )
