"""Running a scenario: call the library stage by stage, collect the values.

:func:`run_scenario` computes and returns a :class:`ScenarioResult`; it writes
nothing (:mod:`neurosim.scenario.output` does). Every stage is a call of the
public API:

====================  ==========================================================
stage                 library call
====================  ==========================================================
data                  :func:`neurosim.io.datasets.load_dataset`,
                      :func:`neurosim.io.graph_challenge.read_sparse_images`, or
                      the test vectors of a generated exact-solution network
network               :func:`neurosim.topology.generate`,
                      :func:`neurosim.train.train_network`,
                      :func:`neurosim.io.formats.load_network`
topology score        :func:`neurosim.topology.score.score_topology`
encoding              :func:`neurosim.io.encoding.encode`
chip                  :func:`neurosim.hardware.profile.load_profile`,
                      :func:`neurosim.evaluate.evaluate` (map, simulate,
                      cost, report), with block-split batch inference
                      (:func:`neurosim.execute.simulate_blocks`) when
                      ``execution.scheduler`` is set
comparison            :func:`neurosim.report.compare_reports`
sweep                 :func:`neurosim.sweep.run_sweep` (profile fields), or
                      :func:`run_scenario` again per point (scenario fields),
                      points on :func:`neurosim.execute.run_points`
====================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.errors import NeurosimError, ScenarioError
from neurosim.scenario.schema import ChipSpec, Scenario

__all__ = [
    "EvalData",
    "ScenarioResult",
    "count_steps",
    "eval_options",
    "network_row",
    "run_scenario",
    "scenario_point",
]

Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class EvalData:
    """The inputs a scenario evaluates, in the order simulated.

    Attributes
    ----------
    name : str
        Where they came from (``digits:test``, ``exact test vectors``, ...).
    x : ndarray, shape (n_inputs, n_features)
    y : ndarray of int or None
        Class labels, when the data has them.
    n_classes : int
    index : ndarray of int
        Position of each input within the split it was taken from.
    expected : ndarray or None
        Exact expected outputs (test vectors of exact-solution networks).
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    n_classes: int
    index: np.ndarray
    expected: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Everything a scenario run produced.

    Attributes
    ----------
    scenario : Scenario
        As resolved (defaults filled in, paths absolute).
    data : EvalData
        The evaluation inputs (split and limit applied), in the order simulated.
    network : Network
    network_info : mapping
        How the network was obtained (generator, training summary, file) and,
        when asked for, its data-free topology score.
    profiles : mapping of chip key to ChipProfile
    mapped : mapping of chip key to MappedNetwork (absent where mapping raised)
    results : mapping of chip key to mapping of backend to SimResult
    reports : mapping of chip key to Report
    comparison : Comparison
        ``compare_reports`` of every chip's report, in scenario order.
    checks : mapping
        Per chip and backend, the error against exact expected outputs (test vectors).
    sweep : SweepResult, list of dict, or None
        Profile-field sweeps give ``run_sweep``'s result; scenario-field
        sweeps give one summary row per point.
    variants : list of dict or None
        With ``variants:`` in the scenario, one row per network (the
        scenario's own first, then each variant): how it was obtained, its
        trained parameters, stored weights and synapses, and every chip's
        report summary (:func:`network_row`).
    timings : mapping
        Wall times in seconds (kept apart: they differ from run to run).
    """

    scenario: Scenario
    data: EvalData
    network: Any
    network_info: Mapping[str, Any]
    profiles: Mapping[str, Any]
    mapped: Mapping[str, Any]
    results: Mapping[str, Mapping[str, Any]]
    reports: Mapping[str, Any]
    comparison: Any
    checks: Mapping[str, Any] = field(default_factory=dict)
    sweep: Any = None
    variants: list[dict[str, Any]] | None = None
    timings: Mapping[str, Any] = field(default_factory=dict)

    def summary_tables(self) -> list[Any]:
        """Rich renderables: the chip comparison and, if any, the sweep."""
        from neurosim.scenario.output import summary_tables

        return summary_tables(self)


# ------------------------------------------------------------------ helpers
def _context(scenario: Scenario, stage: str, exc: NeurosimError) -> NeurosimError:
    """The same error class, its message prefixed with the scenario file and stage."""
    where = scenario.path or scenario.name
    err = type(exc).__new__(type(exc))
    NeurosimError.__init__(err, f"{where}: {stage}: {exc}")
    return err


def sweep_kind(scenario: Scenario) -> str | None:
    """``"profile"`` (grid of profile fields), ``"scenario"`` (grid of scenario fields) or None."""
    if scenario.sweep is None:
        return None
    from neurosim.hardware.profile import SECTIONS

    first = {key.split(".", 1)[0] for key in scenario.sweep.grid}
    return "profile" if first <= set(SECTIONS) else "scenario"


def count_steps(scenario: Scenario) -> int:
    """Number of progress steps :func:`run_scenario` reports (for a progress bar)."""
    n_chips = len(scenario.chips)
    n_backends = len(scenario.simulation.backends)
    n = 2 + n_chips * (1 + n_backends) + 1
    for v in scenario.variants:  # each runs the stages data, network, chips, comparison again
        n += 3 + len(v.chips or scenario.chips) * (1 + n_backends)
    if scenario.sweep is not None:
        from neurosim.sweep import expand_grid

        n += len(expand_grid(scenario.sweep.grid))
        if sweep_kind(scenario) == "profile":
            n += 1  # run_sweep's opening line (points to compute, points already done)
    return n


# ------------------------------------------------------------------- stages
def _from_dataset(ds: Any, index: np.ndarray | None = None) -> EvalData:
    idx = np.arange(len(ds), dtype=np.int64) if index is None else index
    return EvalData(
        ds.name, np.asarray(ds.x), None if ds.y is None else np.asarray(ds.y), ds.n_classes, idx
    )


def _challenge_images(scenario: Scenario) -> EvalData:
    """Graph Challenge inputs: the official sparse-images TSV, or MNIST made challenge-like.

    With ``dataset.path`` naming a ``sparse-images-*.tsv[.gz]`` file the
    images are read as they are. Otherwise MNIST images (``dataset.path`` or
    ``$NEUROSIM_DATA``) are centred on a 32 x 32 canvas and binarised at
    0.5, the construction of the challenge's own inputs (1024 features).
    """
    from pathlib import Path

    ds = scenario.dataset
    if ds.path and Path(ds.path).is_file():
        from neurosim.io.graph_challenge import read_sparse_images

        images = read_sparse_images(ds.path)
        x = np.asarray(images.todense(), dtype=np.float64)
        if ds.limit is not None:
            x = x[: ds.limit]
        return EvalData(Path(ds.path).name, x, None, 0, np.arange(x.shape[0], dtype=np.int64))
    from neurosim.io.datasets import load_dataset

    mnist = load_dataset("mnist", path=ds.path, split=ds.split, limit=ds.limit, seed=scenario.seed)
    canvas = np.zeros((len(mnist), 32, 32))
    canvas[:, 2:30, 2:30] = mnist.x.reshape(-1, 28, 28)
    x = (canvas.reshape(len(mnist), 1024) >= 0.5).astype(np.float64)
    # no labels: the challenge network does not classify digits; chip and
    # reference are compared output by output (agreement, max_abs_diff)
    return EvalData(
        f"{mnist.name} on 32x32, binarised", x, None, 0, np.arange(len(mnist), dtype=np.int64)
    )


def load_data(scenario: Scenario) -> tuple[EvalData | None, Any]:
    """The evaluation inputs and, for trained networks, the training dataset.

    For ``dataset.name: generated`` the evaluation inputs come with the
    network (see :func:`build_network`) and ``None`` is returned here.
    """
    from neurosim.io.datasets import load_dataset

    ds = scenario.dataset
    train = None
    if scenario.network.train is not None:
        train = load_dataset(
            ds.name, path=ds.path, split="train", limit=ds.train_limit, seed=scenario.seed
        )
    if ds.name == "generated":
        return None, train
    if ds.name == "graph_challenge":
        return _challenge_images(scenario), train
    evaluation = _from_dataset(
        load_dataset(ds.name, path=ds.path, split=ds.split, limit=ds.limit, seed=scenario.seed)
    )
    if not ds.labelled:
        evaluation = dataclasses.replace(evaluation, y=None, n_classes=0)
    return evaluation, train


def build_network(scenario: Scenario, train: Any) -> tuple[Any, dict[str, Any], EvalData | None]:
    """Generate, train or load the network; also the test vectors a generator gives."""
    return _build_source(scenario.network, scenario, train)


def _build_source(
    spec: Any, scenario: Scenario, train: Any
) -> tuple[Any, dict[str, Any], EvalData | None]:
    """One network source (``generate``, ``train`` or ``load`` of a NetworkSpec or InitSpec)."""
    if spec.generate is not None:
        return _generated(spec.generate, scenario)
    if spec.train is not None:
        net, info = _trained(spec.train, scenario, train)
        return net, info, None
    if spec.load is None:  # pragma: no cover - the schema guarantees one source
        raise ScenarioError("network: expected one of generate, train or load")
    return (*_loaded(spec.load), None)


def _generated(gen: Any, scenario: Scenario) -> tuple[Any, dict[str, Any], EvalData | None]:
    """A generated network, and the test vectors of an exact-solution generator."""
    from neurosim.topology import generate

    out = generate(gen.generator, seed=scenario.seed, **gen.parameters)
    info: dict[str, Any] = {
        "source": "generate",
        "generator": gen.generator,
        "parameters": dict(gen.parameters),
    }
    vectors = None
    if hasattr(out, "expected_outputs") and hasattr(out, "network"):  # exact-solution test vectors
        x = np.asarray(out.inputs, dtype=np.float64)
        vectors = EvalData(
            f"{gen.generator} test vectors",
            x,
            None,
            0,
            np.arange(x.shape[0], dtype=np.int64),
            expected=np.asarray(out.expected_outputs, dtype=np.float64),
        )
        info["exact_in"] = {str(k): str(v) for k, v in getattr(out, "fixed_point", {}).items()}
        out = out.network
    net = out.to_network() if hasattr(out, "to_network") else out
    return net, info, vectors


def _trained(spec: Any, scenario: Scenario, train: Any) -> tuple[Any, dict[str, Any]]:
    """A trained network (from scratch, or starting from another source: ``init``)."""
    from neurosim.train import train_network

    extra: dict[str, Any] = {}
    init_info = None
    if spec.init is not None:  # start from another network (e.g. DEEP R, then ternary)
        extra["init"], init_info, _ = _build_source(spec.init, scenario, train)
    if getattr(spec, "chip", None) is not None:  # train for a chip: the profile gives the limits
        from neurosim.train.for_chip import scenario_chip_options

        extra.update(scenario_chip_options(spec, scenario))
    trained = train_network(spec.method, train, seed=scenario.seed, **spec.parameters, **extra)
    info = {
        "source": "train",
        "method": spec.method,
        "parameters": dict(spec.parameters),
        "training": trained.summary(),
        "history": list(trained.history),
        "info": dict(trained.info),
    }
    if init_info is not None:
        info["init"] = init_info
    return trained.network, info


def _loaded(load: Any) -> tuple[Any, dict[str, Any]]:
    """A network read from a file."""
    from neurosim.io.formats import load_network

    net = load_network(load.path, load.format, **load.options)
    net = net.to_network() if hasattr(net, "to_network") else net
    return net, {"source": "load", "path": load.path, "format": load.format}


def to_spiking(
    scenario: Scenario,
    network: Any,
    info: Mapping[str, Any],
    train: Any,
    data: EvalData | None,
    vectors: EvalData | None,
) -> tuple[Any, dict[str, Any]]:
    """The network converted to IF neurons, balanced on the first calibration samples.

    Calibration inputs are the training split when the network was trained,
    else the evaluation inputs.
    """
    from neurosim.sim.conversion import convert_to_spiking

    spec = scenario.network.spiking
    source = train if train is not None else (data if data is not None else vectors)
    calib = np.asarray(source.x[: spec.calibration], dtype=np.float64)
    conv = convert_to_spiking(network, calib, percentile=spec.percentile, reset=spec.reset)
    extra = {
        "spiking": {
            "percentile": spec.percentile,
            "calibration_samples": int(calib.shape[0]),
            "reset": spec.reset,
            "scales": dict(conv.scales),
        }
    }
    return conv.network, {**info, **extra}


def encode_inputs(scenario: Scenario, x: np.ndarray) -> np.ndarray:
    """Static inputs, or spike trains ``(n_steps, n_inputs, n_in)`` when an encoding is named."""
    enc = scenario.simulation.encoding
    if enc is None:
        return x
    from neurosim.io.encoding import encode

    steps = scenario.simulation.steps
    return np.asarray(
        encode(enc.kind, x, steps, seed=scenario.seed, **enc.parameters), dtype=np.float64
    )


def chip_profile(chip: ChipSpec) -> Any:
    """The chip's profile with its overrides."""
    from neurosim.hardware.profile import load_profile

    return load_profile(chip.name, chip.overrides)


def _steps(scenario: Scenario) -> int | None:
    return None if scenario.simulation.encoding is not None else scenario.simulation.steps


def inputs_of(inputs: np.ndarray) -> np.ndarray:
    """The per-input axis of static ``(n, n_in)`` or encoded ``(steps, n, n_in)`` inputs."""
    return inputs if inputs.ndim == 2 else inputs[0]


def _rate(n: int, seconds: float) -> float | None:
    """Simulated inferences per second of wall time (the simulator's throughput)."""
    return n / seconds if seconds > 0 else None


def _bad_options(scenario: Scenario, stage: str, exc: Exception) -> ScenarioError:
    return ScenarioError(
        f"{scenario.path or scenario.name}: {stage}: bad option value ({type(exc).__name__}: {exc})"
    )


def eval_options(scenario: Scenario) -> Any:
    """The scenario's mapping and simulation settings as :class:`~neurosim.evaluate.EvalOptions`."""
    from neurosim.evaluate import EvalOptions

    return EvalOptions(
        backends=tuple(scenario.simulation.backends),
        strategy=scenario.mapping.strategy,
        mapping_options=dict(scenario.mapping.options),
        seed=scenario.seed,
        n_steps=_steps(scenario),
        sim_options=dict(scenario.simulation.options),
        ignore_fit=scenario.simulation.ignore_fit,
    )


def _evaluate_chip(
    scenario: Scenario,
    network: Any,
    profile: Any,
    data: Any,
    reference: Any,
    say: Progress,
    key: str,
    simulator: Any = None,
    run_as: str = "network",
) -> Any:
    """:func:`neurosim.evaluate.evaluate` on one chip (``run_as``: the chip's ``run_as``); bad options name the scenario field."""
    from neurosim.evaluate import OptionError, evaluate

    try:
        return evaluate(
            network,
            profile,
            data,
            dataclasses.replace(eval_options(scenario), run_as=run_as),
            reference=reference,
            progress=lambda msg: say(f"{key}: {msg}"),
            simulator=simulator,
        )
    except OptionError as exc:
        field = "mapping.options" if exc.stage.startswith("mapping") else "simulation.options"
        stage = "mapping" if field == "mapping.options" else "simulation"
        cause = exc.__cause__ or exc
        raise _bad_options(scenario, f"{stage} on {key} ({field})", cause) from exc


def _exactness(results: Mapping[str, Any], expected: np.ndarray) -> dict[str, Any]:
    out = {}
    for backend, sim in results.items():
        got = np.asarray(sim.outputs, dtype=np.float64)
        if got.shape != expected.shape:
            out[backend] = {"error": f"outputs of shape {got.shape}; expected {expected.shape}"}
            continue
        err = np.abs(got - expected)
        out[backend] = {
            "max_abs_error": float(err.max()) if err.size else 0.0,
            "exact_rows": int(np.sum(err.max(axis=1) == 0)) if err.size else 0,
            "n_rows": int(expected.shape[0]),
            "exact": bool(err.size == 0 or err.max() == 0),
        }
    return out


# ------------------------------------------------------------------- runner
def _data_and_network(
    scenario: Scenario, say: Progress, timings: dict[str, Any]
) -> tuple[EvalData, Any, dict[str, Any]]:
    """Stages data and network: the evaluation inputs, the network and how it was obtained."""
    say(f"loading dataset {scenario.dataset.name}")
    t0 = time.perf_counter()
    try:
        data, train = load_data(scenario)
    except NeurosimError as exc:
        raise _context(scenario, "dataset", exc) from None
    timings["dataset_s"] = time.perf_counter() - t0
    say(f"building network ({scenario.network.source})")
    t0 = time.perf_counter()
    try:
        network, network_info, vectors = build_network(scenario, train)
    except NeurosimError as exc:
        raise _context(scenario, f"network ({scenario.network.source})", exc) from None
    except (TypeError, ValueError) as exc:  # a parameter of the wrong type reached the library
        raise ScenarioError(
            f"{scenario.path or scenario.name}: network ({scenario.network.source}): "
            f"bad parameter value ({type(exc).__name__}: {exc})"
        ) from exc
    if scenario.network.spiking is not None:
        try:
            network, network_info = to_spiking(
                scenario, network, network_info, train, data, vectors
            )
        except NeurosimError as exc:
            raise _context(scenario, "network (spiking conversion)", exc) from None
    timings["network_s"] = time.perf_counter() - t0
    if data is None:
        if vectors is None:
            raise ScenarioError(
                f"{scenario.path or scenario.name}: dataset 'generated' needs a generator that "
                "gives test vectors (network.generate.generator: exact)"
            )
        data = vectors
    return data, network, network_info


def _scored(scenario: Scenario, network: Any, info: dict[str, Any]) -> dict[str, Any]:
    """``info`` with the data-free topology score, when the report asks for it."""
    if not scenario.report.topology_score:
        return info
    from neurosim.topology.score import score_topology

    # a method that appends layers of its own (fixed_topology's readout) says how many
    # leading layers are the topology; only those are scored
    n_topo = info.get("info", {}).get("topology_layers")
    scored = network if n_topo is None else [p.weights for p, _ in network.layers()][:n_topo]
    return {**info, "topology_score": score_topology(scored, seed=scenario.seed).to_dict()}


def _encoded(scenario: Scenario, network: Any, data: EvalData) -> np.ndarray:
    """The inputs as simulated (encoded when the scenario names an encoding)."""
    n_in = sum(network.population(p).size for p in network.inputs)
    if data.n_features != n_in:
        raise ScenarioError(
            f"{scenario.path or scenario.name}: dataset {data.name} has {data.n_features} features; "
            f"network {network.name} expects {n_in} inputs"
        )
    try:
        return encode_inputs(scenario, data.x)
    except NeurosimError as exc:
        raise _context(scenario, "encoding", exc) from None


def _reference_run(
    scenario: Scenario, network: Any, inputs: np.ndarray, simulate: Any, timings: dict[str, Any]
) -> Any:
    """The reference run, once for every chip (None when the scenario does not ask for it)."""
    if "reference" not in scenario.simulation.backends:
        return None
    t0 = time.perf_counter()
    try:
        reference = simulate(
            network, inputs, "reference", n_steps=_steps(scenario), seed=scenario.seed
        )
    except NeurosimError as exc:
        raise _context(scenario, "simulation (reference)", exc) from None
    timings["reference_s"] = time.perf_counter() - t0
    timings["reference_inferences_per_s"] = _rate(len(inputs_of(inputs)), timings["reference_s"])
    return reference


@dataclass
class _Chips:
    """What the chip stage collects, per chip key."""

    profiles: dict[str, Any] = field(default_factory=dict)
    mapped: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    times: dict[str, Any] = field(default_factory=dict)


def _chip_inputs(
    chip: ChipSpec, inputs: np.ndarray, y: np.ndarray | None, reference: Any
) -> tuple[np.ndarray, np.ndarray | None, Any, str | None]:
    """The inputs, labels and reference run of one chip, and a report note when it has a ``limit``."""
    n = len(inputs_of(inputs))
    if chip.limit is None or chip.limit >= n:
        return inputs, y, reference, None
    rows = slice(0, chip.limit)
    x = inputs[rows] if inputs.ndim == 2 else inputs[:, rows]
    note = f"simulated on the first {chip.limit:,} of the {n:,} evaluation inputs (chips[].limit)"
    return x, None if y is None else y[rows], None, note  # reference rerun on those inputs


def _run_chips(
    scenario: Scenario,
    network: Any,
    data: EvalData,
    inputs: np.ndarray,
    reference: Any,
    say: Progress,
    simulator: Any,
) -> _Chips:
    """Stage chips: every chip of the scenario evaluated, in scenario order."""
    from neurosim.evaluate import EvalInputs

    out = _Chips()
    for chip in scenario.chip_specs:
        key = chip.key
        try:
            out.profiles[key] = chip_profile(chip)
        except NeurosimError as exc:
            raise _context(scenario, f"chip {key}", exc) from None
        x, y, ref, note = _chip_inputs(chip, inputs, data.y, reference)
        ev = _evaluate_chip(
            scenario, network, out.profiles[key], EvalInputs(x, y), ref, say, key, simulator,
            chip.run_as,
        )
        rep = ev.report if note is None else dataclasses.replace(
            ev.report, notes=(*ev.report.notes, note)
        )
        if rep.chip != key:  # a labelled chip (one profile listed twice): name it by its label
            rep = dataclasses.replace(rep, label=key)
        if ev.mapped is not None:
            out.mapped[key] = ev.mapped
        out.results[key], out.reports[key], out.times[key] = dict(ev.results), rep, dict(ev.timings)
        if data.expected is not None and ev.results:
            out.checks[key] = _exactness(ev.results, data.expected[: len(inputs_of(x))])
    return out


def _execution(scenario: Scenario) -> Any:
    from neurosim.execute import Execution

    spec = scenario.execution
    return Execution(spec.scheduler, spec.workers, points_per_task=spec.points_per_task)


@contextmanager
def _simulator(scenario: Scenario, note: Progress | None = None) -> Iterator[Any]:
    """``simulate``, or block-split batch inference when the scenario names a scheduler."""
    from neurosim.sim.simulate import simulate

    spec = scenario.execution
    if spec.scheduler is None or spec.scheduler == "serial":
        if spec.block_rows is None:
            yield simulate
            return
        from neurosim.sim.blocks import simulate_in_blocks  # memory bounded by one block

        yield functools.partial(simulate_in_blocks, block_rows=spec.block_rows)
        return
    from neurosim.execute import open_client, simulate_blocks

    with open_client(_execution(scenario), say=note) as client:
        yield functools.partial(simulate_blocks, client, block_rows=spec.block_rows)


def run_scenario(
    scenario: Scenario, *, progress: Progress | None = None, notes: Progress | None = None
) -> ScenarioResult:
    """Run every stage of ``scenario`` and return the values it produced.

    Parameters
    ----------
    scenario : Scenario
        From :func:`~neurosim.scenario.load_scenario`.
    progress : callable, optional
        Called with a short description at the start of each step
        (:func:`count_steps` of them), e.g. to drive a progress bar.
    notes : callable, optional
        Called with lines that are not steps: the Dask scheduler and
        dashboard line of each client the sweep or the simulations open.

    Returns
    -------
    ScenarioResult

    Raises
    ------
    NeurosimError
        Of the class the library raised, its message prefixed with the
        scenario file and the stage.
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, Any] = {}
    t_all = time.perf_counter()
    data, network, network_info = _data_and_network(scenario, say, timings)
    network_info = _scored(scenario, network, network_info)
    inputs = _encoded(scenario, network, data)
    with _simulator(scenario, notes) as simulator:
        reference = _reference_run(scenario, network, inputs, simulator, timings)
        chips = _run_chips(scenario, network, data, inputs, reference, say, simulator)
    timings["chips"] = chips.times
    say("comparing chips")
    from neurosim.report import compare_reports

    comparison = compare_reports(list(chips.reports.values()))
    variants = _variants(scenario, (network, network_info, chips.reports), say, timings)
    sweep = _sweep(scenario, network, inputs, data.y, chips.profiles, say, timings, notes)
    timings["total_s"] = time.perf_counter() - t_all
    return ScenarioResult(
        scenario=scenario,
        data=data,
        network=network,
        network_info=network_info,
        profiles=chips.profiles,
        mapped=chips.mapped,
        results=chips.results,
        reports=chips.reports,
        comparison=comparison,
        checks=chips.checks,
        sweep=sweep,
        variants=variants,
        timings=timings,
    )


def _sweep(
    scenario: Scenario,
    network: Any,
    inputs: np.ndarray,
    labels: np.ndarray | None,
    profiles: Mapping[str, Any],
    say: Progress,
    timings: dict[str, Any],
    note: Progress | None = None,
) -> Any:
    """Stage sweep (None without a sweep).

    A sweep of profile fields is ``run_sweep`` of ``network`` over the grid on
    the sweep chip; a sweep of scenario fields runs the scenario once per point.
    """
    kind = sweep_kind(scenario)
    if kind is None:
        return None
    t0 = time.perf_counter()
    spec = scenario.sweep
    try:
        if kind == "profile":
            from neurosim.sweep import run_sweep

            sweep = run_sweep(
                network,
                profiles[spec.chip or scenario.chip_specs[0].key],
                spec.grid,
                inputs=inputs,
                labels=labels,
                backends=spec.backends or scenario.simulation.backends,
                strategy=scenario.mapping.strategy,
                seed=scenario.seed,
                n_steps=_steps(scenario),
                execution=_execution(scenario),
                progress=_progress_lines(say, note),
            )
        else:
            sweep = _scenario_sweep(scenario, say, note)
    except NeurosimError as exc:
        raise _context(scenario, "sweep", exc) from None
    timings["sweep_s"] = time.perf_counter() - t0
    return sweep


def network_row(name: str, network: Any, info: Mapping[str, Any], reports: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the variants table: a network, how it was obtained, its size and its chips' summaries."""
    training = info.get("training", {})
    return {
        "name": name,
        "source": info.get("source"),
        "method": info.get("method"),
        "parameters": dict(info.get("parameters", {})),
        "trained_parameters": training.get("n_parameters"),
        "train_accuracy": training.get("train_accuracy"),
        "stored_weights": int(network.stats().n_params),
        "n_synapses": int(network.n_synapses),
        "layers": info.get("info", {}).get("layers"),
        "chips": {k: rep.summary() for k, rep in reports.items()},
    }


def _variants(
    scenario: Scenario, main: tuple[Any, Mapping[str, Any], Mapping[str, Any]], say: Progress,
    timings: dict[str, Any],
) -> list[dict[str, Any]] | None:
    """Stage variants: the scenario run again per network variant, one row each (None without)."""
    if not scenario.variants:
        return None
    t0 = time.perf_counter()
    from neurosim.scenario.loader import variant_scenario

    rows = [network_row("(scenario network)", *main)]
    for variant in scenario.variants:
        sub = variant_scenario(scenario, variant)
        res = run_scenario(sub, progress=lambda msg, v=variant.name: say(f"variant {v}: {msg}"))
        row = network_row(variant.name, res.network, res.network_info, res.reports)
        rows.append({**row, "overrides": dict(variant.network), "wall_time_s": res.timings.get("total_s")})
    timings["variants_s"] = time.perf_counter() - t0
    return rows


def _progress_lines(say: Progress, note: Progress | None = None) -> Progress:
    """Sweep lines as progress steps; the scheduler line is not a step: it goes to ``note``."""

    def line(text: str) -> None:
        if not text.startswith("dask:"):
            say(f"sweep {text}")
        elif note is not None:
            note(text)

    return line


def scenario_point(
    point_key: str, point: Mapping[str, Any], base: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """One point of a scenario-field sweep (run on a worker): the scenario run at the point, summarised."""
    from neurosim.scenario.loader import scenario_from_dict

    variant = scenario_from_dict(
        dict(base), overrides=dict(point), where=f"{where} (sweep point {point})"
    )
    res = run_scenario(variant)
    row: dict[str, Any] = {"point": dict(point)}
    info = res.network_info
    if "topology_score" in info:
        row["topology_score"] = info["topology_score"]["score"]
    if "training" in info:
        row["train_accuracy"] = info["training"].get("train_accuracy")
        row["val_accuracy"] = info["training"].get("val_accuracy")
    row["n_synapses"] = int(res.network.n_synapses)
    row["chips"] = {k: rep.summary() for k, rep in res.reports.items()}
    row["wall_time_s"] = res.timings.get("total_s")
    return row


def _scenario_sweep(
    scenario: Scenario, say: Progress, note: Progress | None = None
) -> list[dict[str, Any]]:
    """The scenario without its sweep, run once per grid point of scenario fields (on the executor)."""
    from neurosim.execute import run_points
    from neurosim.sweep import expand_grid, point_key

    base = scenario.model_dump(mode="python")
    base["sweep"] = None
    base["reduced"] = {}
    base["execution"] = {"scheduler": "serial"}  # a point runs where it is sent
    points = [(point_key(p), p) for p in expand_grid(scenario.sweep.grid)]
    rows: dict[str, dict[str, Any]] = {}

    def done(key: str, row: Mapping[str, Any]) -> None:
        if "error" in row and "point" not in row:
            raise ScenarioError(f"sweep point {dict(points)[key]}: {row['error']}")
        say(f"sweep {row['point']}")
        rows[key] = dict(row)

    shared = {"base": base, "where": str(scenario.path or scenario.name)}
    run_points(scenario_point, shared, points, done, _execution(scenario), say=note)
    return [rows[k] for k, _ in points]
