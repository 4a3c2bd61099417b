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
                      :func:`neurosim.mapping.map_network`,
                      :func:`neurosim.sim.simulate.simulate`,
                      :func:`neurosim.report.make_report`
comparison            :func:`neurosim.report.compare_reports`
sweep                 :func:`neurosim.sweep.run_sweep` (profile fields), or
                      :func:`run_scenario` again per point (scenario fields)
====================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.errors import NeurosimError, ScenarioError
from neurosim.scenario.schema import ChipSpec, Scenario

__all__ = ["EvalData", "ScenarioResult", "count_steps", "run_scenario"]

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
    vectors = None
    if spec.generate is not None:
        from neurosim.topology import generate

        out = generate(spec.generate.generator, seed=scenario.seed, **spec.generate.parameters)
        info: dict[str, Any] = {
            "source": "generate",
            "generator": spec.generate.generator,
            "parameters": dict(spec.generate.parameters),
        }
        if hasattr(out, "expected_outputs") and hasattr(
            out, "network"
        ):  # exact-solution test vectors
            x = np.asarray(out.inputs, dtype=np.float64)
            vectors = EvalData(
                f"{spec.generate.generator} test vectors",
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
    if spec.train is not None:
        from neurosim.train import train_network

        extra: dict[str, Any] = {}
        init_info = None
        if spec.train.init is not None:  # start from another network (e.g. DEEP R, then ternary)
            extra["init"], init_info, _ = _build_source(spec.train.init, scenario, train)
        trained = train_network(
            spec.train.method, train, seed=scenario.seed, **spec.train.parameters, **extra
        )
        info = {
            "source": "train",
            "method": spec.train.method,
            "parameters": dict(spec.train.parameters),
            "training": trained.summary(),
            "history": list(trained.history),
            "info": dict(trained.info),
        }
        if init_info is not None:
            info["init"] = init_info
        return trained.network, info, None
    from neurosim.io.formats import load_network

    load = spec.load
    if load is None:  # pragma: no cover - the schema guarantees one source
        raise ScenarioError("network: expected one of generate, train or load")
    net = load_network(load.path, load.format, **load.options)
    net = net.to_network() if hasattr(net, "to_network") else net
    return net, {"source": "load", "path": load.path, "format": load.format}, None


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


def evaluate_one_chip(
    scenario: Scenario,
    network: Any,
    profile: Any,
    inputs: np.ndarray,
    labels: np.ndarray | None,
    reference: Any,
    say: Progress,
    key: str,
) -> tuple[Any, Any, dict[str, Any], dict[str, float]]:
    """Map, simulate every backend, report: ``(mapped, report, results, times)``.

    A network that does not fit gets a report saying why (no simulation); a
    mapping or simulation the library refuses gets a failed report.
    """
    from neurosim.mapping.mapper import map_network
    from neurosim.report import Report, make_report
    from neurosim.sim.simulate import simulate

    times: dict[str, float] = {}
    kwargs: dict[str, Any] = dict(scenario.mapping.options)
    if scenario.mapping.strategy is not None:
        kwargs["strategy"] = scenario.mapping.strategy
    say(f"{key}: mapping")
    t0 = time.perf_counter()
    try:
        mapped = map_network(network, profile, seed=scenario.seed, **kwargs)
    except (TypeError, ValueError) as exc:
        raise _bad_options(scenario, f"mapping on {key} (mapping.options)", exc) from exc
    except NeurosimError as exc:
        times["map_s"] = time.perf_counter() - t0
        failed = Report.failed(
            profile.name, network.name, f"mapping: {exc}", chip_title=profile.title
        )
        return None, failed, {}, times
    times["map_s"] = time.perf_counter() - t0
    results: dict[str, Any] = {}
    for backend in scenario.simulation.backends:
        say(f"{key}: simulating ({backend})")
        if backend == "reference" and reference is not None:
            results[backend] = reference
            continue
        if not mapped.fits:
            continue
        t0 = time.perf_counter()
        try:
            results[backend] = simulate(
                mapped,
                inputs,
                backend,
                n_steps=_steps(scenario),
                seed=scenario.seed,
                **scenario.simulation.options,
            )
        except (TypeError, ValueError) as exc:
            raise _bad_options(scenario, f"simulation on {key} (simulation.options)", exc) from exc
        except NeurosimError as exc:
            reason = f"simulation ({backend}): {exc}"
            return (
                mapped,
                Report.failed(profile.name, network.name, reason, chip_title=profile.title),
                results,
                times,
            )
        times[f"simulate_{backend}_s"] = time.perf_counter() - t0
        times[f"simulate_{backend}_inferences_per_s"] = _rate(
            len(inputs_of(inputs)), times[f"simulate_{backend}_s"]
        )
    if not mapped.fits:
        return mapped, make_report(mapped), {}, times
    return mapped, make_report(mapped, results, labels), results, times


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

    Raises
    ------
    NeurosimError
        Of the class the library raised, its message prefixed with the
        scenario file and the stage.
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, Any] = {}
    t_all = time.perf_counter()

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
    if scenario.report.topology_score:
        from neurosim.topology.score import score_topology

        # a method that appends layers of its own (fixed_topology's readout) says how many
        # leading layers are the topology; only those are scored
        n_topo = network_info.get("info", {}).get("topology_layers")
        scored = network if n_topo is None else [p.weights for p, _ in network.layers()][:n_topo]
        network_info = {
            **network_info,
            "topology_score": score_topology(scored, seed=scenario.seed).to_dict(),
        }
    n_in = sum(network.population(p).size for p in network.inputs)
    if data.n_features != n_in:
        raise ScenarioError(
            f"{scenario.path or scenario.name}: dataset {data.name} has {data.n_features} features; "
            f"network {network.name} expects {n_in} inputs"
        )
    try:
        inputs = encode_inputs(scenario, data.x)
    except NeurosimError as exc:
        raise _context(scenario, "encoding", exc) from None

    reference = None
    if "reference" in scenario.simulation.backends:
        from neurosim.sim.simulate import simulate

        t0 = time.perf_counter()
        try:
            reference = simulate(
                network, inputs, "reference", n_steps=_steps(scenario), seed=scenario.seed
            )
        except NeurosimError as exc:
            raise _context(scenario, "simulation (reference)", exc) from None
        timings["reference_s"] = time.perf_counter() - t0
        timings["reference_inferences_per_s"] = _rate(len(data), timings["reference_s"])

    profiles: dict[str, Any] = {}
    mapped: dict[str, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    reports: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    chip_times: dict[str, Any] = {}
    for chip in scenario.chip_specs:
        key = chip.key
        try:
            profiles[key] = chip_profile(chip)
        except NeurosimError as exc:
            raise _context(scenario, f"chip {key}", exc) from None
        m, rep, res, times = evaluate_one_chip(
            scenario, network, profiles[key], inputs, data.y, reference, say, key
        )
        if rep.chip != key:  # a labelled chip (one profile listed twice): name it by its label
            rep = dataclasses.replace(rep, label=key)
        if m is not None:
            mapped[key] = m
        results[key], reports[key], chip_times[key] = res, rep, times
        if data.expected is not None and res:
            checks[key] = _exactness(res, data.expected)
    timings["chips"] = chip_times

    say("comparing chips")
    from neurosim.report import compare_reports

    comparison = compare_reports(list(reports.values()))

    sweep = None
    kind = sweep_kind(scenario)
    if kind is not None:
        t0 = time.perf_counter()
        try:
            if kind == "profile":
                sweep = _profile_sweep(scenario, network, inputs, data.y, profiles, say)
            else:
                sweep = _scenario_sweep(scenario, say)
        except NeurosimError as exc:
            raise _context(scenario, "sweep", exc) from None
        timings["sweep_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_all
    return ScenarioResult(
        scenario=scenario,
        data=data,
        network=network,
        network_info=network_info,
        profiles=profiles,
        mapped=mapped,
        results=results,
        reports=reports,
        comparison=comparison,
        checks=checks,
        sweep=sweep,
        timings=timings,
    )


def _profile_sweep(
    scenario: Scenario,
    network: Any,
    inputs: np.ndarray,
    labels: np.ndarray | None,
    profiles: Mapping[str, Any],
    say: Progress,
) -> Any:
    """``run_sweep`` over the grid of profile fields on the sweep chip."""
    from neurosim.sweep import run_sweep

    spec = scenario.sweep
    key = spec.chip or scenario.chip_specs[0].key
    return run_sweep(
        network,
        profiles[key],
        spec.grid,
        inputs=inputs,
        labels=labels,
        backends=spec.backends or scenario.simulation.backends,
        strategy=scenario.mapping.strategy,
        seed=scenario.seed,
        n_steps=_steps(scenario),
        progress=lambda line: say(f"sweep {line}"),
    )


def _scenario_sweep(scenario: Scenario, say: Progress) -> list[dict[str, Any]]:
    """The scenario without its sweep, run once per grid point of scenario fields."""
    from neurosim.scenario.loader import scenario_from_dict
    from neurosim.sweep import expand_grid

    spec = scenario.sweep
    base = scenario.model_dump(mode="python")
    base["sweep"] = None
    base["reduced"] = {}
    rows = []
    for point in expand_grid(spec.grid):
        say(f"sweep {point}")
        variant = scenario_from_dict(
            base, overrides=point, where=f"{scenario.path or scenario.name} (sweep point {point})"
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
        rows.append(row)
    return rows
