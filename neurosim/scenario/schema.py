"""The scenario schema: what a scenario file may say, validated by pydantic.

A scenario only *names* the inputs of the pipeline (dataset, network, chips,
mapping, simulation, report, sweep); it holds no logic. Every model forbids
unknown fields, so a typo is an error naming the field. The runner
(:mod:`neurosim.scenario.runner`) turns a validated :class:`Scenario` into
calls of the library.

See ``docs/scenarios.md`` for every field with an example.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neurosim.faults.spec import FaultsSection
from neurosim.io.datasets import SPLITS
from neurosim.io.formats import FORMATS

__all__ = [
    "DATASET_NAMES",
    "REPORT_FORMATS",
    "SCENARIO_SWEEP_SECTIONS",
    "ChipSpec",
    "DatasetSpec",
    "EncodingSpec",
    "GenerateSpec",
    "InitSpec",
    "LoadSpec",
    "MappingSpec",
    "NetworkSpec",
    "ReportSpec",
    "Scenario",
    "SimulationSpec",
    "SpikingSpec",
    "SweepSpec",
    "TrainSpec",
    "VariantSpec",
    "variant_network",
]

#: Datasets a scenario may name (``dataset.name``).
DATASET_NAMES = ("digits", "iris", "mnist", "npz", "graph_challenge", "generated")
#: first parts of scenario fields a sweep grid may vary (the whole scenario reruns per point)
SCENARIO_SWEEP_SECTIONS = ("dataset", "network", "mapping", "simulation", "seed")
#: Report renderings a scenario may ask for (``report.formats``); json and md are always written.
REPORT_FORMATS = ("json", "md", "csv")
#: the ways a network (or a training start) is obtained; exactly one is given
_SOURCES = ("generate", "train", "load")


def _plain_name(v: str) -> str:
    """``v`` when it is a non-empty name of letters, digits, '_' and '-' (scenario and variant names)."""
    if not v or not all(c.isalnum() or c in "_-" for c in v):
        raise ValueError(f"expected a name of letters, digits, '_' or '-', got {v!r}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _OneSource(_Strict):
    """A network source: exactly one of the fields ``generate``, ``train`` or ``load`` is set.

    Subclasses declare the three fields; this base checks the choice and names it.
    """

    @model_validator(mode="after")
    def _exactly_one(self) -> _OneSource:
        given = [k for k in _SOURCES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"expected exactly one of generate, train or load, got {', '.join(given) or 'none'}"
            )
        return self

    @property
    def source(self) -> str:
        """``"generate"``, ``"train"`` or ``"load"``."""
        return next(k for k in _SOURCES if getattr(self, k) is not None)


class DatasetSpec(_Strict):
    """Where the inputs (and labels) come from.

    ``path`` is a file or folder (relative to the scenario file; ``${VAR}`` is
    expanded); without it MNIST and the Graph Challenge images are looked up
    under ``$NEUROSIM_DATA``. ``generated`` takes the test vectors that come
    with a generated network (``exact``).
    """

    name: Literal[DATASET_NAMES]  # type: ignore[valid-type]
    path: str | None = None
    split: Literal[SPLITS] = "test"  # type: ignore[valid-type]
    limit: int | None = Field(default=None, ge=1)
    train_limit: int | None = Field(default=None, ge=1)
    labelled: bool = True

    @model_validator(mode="after")
    def _path_needed(self) -> DatasetSpec:
        if self.name == "npz" and not self.path:
            raise ValueError(
                "field 'path' is required when name is npz (a .npz file of inputs and optional labels)"
            )
        return self


class GenerateSpec(_Strict):
    """A generated network: a topology generator and its parameters."""

    generator: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class TrainSpec(_Strict):
    """A trained network: a training method and its parameters (trained on the dataset's train split).

    ``parameters`` are the method's options: the fields of its options class
    (:mod:`neurosim.train.options`, listed by
    :func:`~neurosim.train.registry.method_options`) but ``seed``, which is the
    scenario's, and ``init``, given below.
    ``init`` names a network the method starts from (its ``init`` parameter):
    a generated, trained or loaded one, e.g. DEEP R followed by ternary
    quantization (``method: ternary`` with ``init: {train: {method: deep_r}}``).
    """

    method: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    init: InitSpec | None = None
    #: train for this chip profile (its quantizer, fan-in, neuron model; see docs/training.md)
    chip: str | None = None
    chip_overrides: dict[str, Any] = Field(default_factory=dict)


class InitSpec(_OneSource):
    """The network a training method starts from: exactly one of ``generate``, ``train``, ``load``."""

    generate: GenerateSpec | None = None
    train: TrainSpec | None = None
    load: LoadSpec | None = None


class LoadSpec(_Strict):
    """A network read from a file: ``.npz``, NIR, or a Graph Challenge directory."""

    path: str
    format: Literal[tuple(FORMATS)] | None = None  # type: ignore[valid-type]
    options: dict[str, Any] = Field(default_factory=dict)


class SpikingSpec(_Strict):
    """Convert a ReLU network to rate-coded IF neurons by threshold balancing
    (:func:`neurosim.sim.conversion.convert_to_spiking`), for chips without ReLU."""

    percentile: float = Field(default=99.9, gt=0, le=100)
    calibration: int = Field(default=256, ge=1)
    reset: Literal["subtract", "zero"] = "subtract"


class NetworkSpec(_OneSource):
    """Exactly one of ``generate``, ``train`` or ``load``; optionally ``spiking``."""

    generate: GenerateSpec | None = None
    train: TrainSpec | None = None
    load: LoadSpec | None = None
    spiking: SpikingSpec | None = None


class VariantSpec(_Strict):
    """A variant of the scenario's network, evaluated beside it in the same report.

    ``network`` holds only what differs: its fields are merged over the
    scenario's ``network`` (nested mappings merged key by key; naming another
    source, e.g. ``load`` instead of ``train``, replaces the source). ``chips``
    picks some of the scenario's chips (by key; default all of them).
    """

    name: str
    network: dict[str, Any] = Field(min_length=1)
    chips: list[str] | None = Field(default=None, min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _plain_name(v)


class ChipSpec(_Strict):
    """A chip profile (shipped name or YAML path) with optional field overrides.

    ``limit`` simulates this chip on the first ``limit`` evaluation inputs only
    (its report says so; the reference run is then repeated on those inputs).
    ``run_as: rates`` runs the rate-equivalent graded network of a rate-coded
    IF network on this chip (IF neurons as ReLU capped at 1, for chips with
    graded neurons such as Akida; :func:`neurosim.sim.conversion.graded_equivalent`).
    """

    name: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None
    limit: int | None = Field(default=None, ge=1)
    run_as: Literal["network", "rates"] = "network"

    @field_validator("name")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("expected a chip profile name")
        return v

    @property
    def key(self) -> str:
        """The name this chip has in reports (``label``, else ``name``)."""
        return self.label or self.name


class MappingSpec(_Strict):
    """Mapper settings: partition strategy and its options."""

    strategy: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class EncodingSpec(_Strict):
    """How dataset features become network input (see ``neurosim.io.encoding``)."""

    kind: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class SimulationSpec(_Strict):
    """Which backends run, for how many steps, with which input encoding."""

    backends: list[str] = Field(default_factory=lambda: ["reference", "chip"], min_length=1)
    steps: int | None = Field(default=None, ge=1)
    encoding: EncodingSpec | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    ignore_fit: bool = False  # simulate a mapping that does not fit (its figures are marked)

    @field_validator("backends")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"backends are listed twice: {v}")
        return v

    @model_validator(mode="after")
    def _encoding_steps(self) -> SimulationSpec:
        if self.encoding is not None and self.steps is None:
            raise ValueError("an encoding needs 'steps' (the length of the spike trains)")
        return self


class ReportSpec(_Strict):
    """What the report contains: extra formats and the plots to draw."""

    formats: list[Literal[REPORT_FORMATS]] = Field(default_factory=lambda: ["json", "md"])  # type: ignore[valid-type]
    plots: list[str] | None = None
    topology_score: bool = False


class SweepSpec(_Strict):
    """A grid of profile overrides run on one chip (the first one by default), or a
    grid of scenario fields (``network.``, ``dataset.``, ``mapping.``,
    ``simulation.``, ``seed``) for which the whole scenario runs once per point."""

    chip: str | None = None
    grid: dict[str, list[Any]] = Field(min_length=1)
    backends: list[str] | None = None

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if "." not in key:
                raise ValueError(
                    f"grid key {key!r}: expected a profile field section.field, e.g. core.max_fan_in"
                )
            if not values:
                raise ValueError(f"grid key {key!r}: expected a non-empty list of values")
        return v


class ExecutionSpec(_Strict):
    """Where the work runs (see ``docs/distributed.md``): ``scheduler`` null (sweeps on
    ``$DASK_SCHEDULER_ADDRESS`` or a LocalCluster; simulations here), ``serial``,
    ``local`` or ``tcp://HOST:8786`` (then simulations too are split into row blocks
    of ``block_rows`` inputs over the workers). With ``scheduler`` null or ``serial``,
    ``block_rows`` runs simulations here one block after the other, keeping per-input
    spike counts of the output populations only (memory bounded by one block;
    :func:`neurosim.sim.blocks.simulate_in_blocks`). ``points_per_task``: consecutive
    sweep points one Dask task runs (default: chosen from the points and workers)."""

    scheduler: str | None = None
    workers: int | None = Field(default=None, ge=1)
    block_rows: int | None = Field(default=None, ge=1)
    points_per_task: int | None = Field(default=None, ge=1)

    @field_validator("scheduler")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and v not in ("serial", "local") and "://" not in v:
            raise ValueError(f"expected serial, local or an address like tcp://HOST:8786, got {v!r}")
        return v


class Scenario(_Strict):
    """One experiment, end to end (see ``docs/scenarios.md``).

    ``path`` is the scenario file (set by :func:`~neurosim.scenario.load_scenario`);
    relative paths inside the scenario are resolved against its folder.
    ``reduced`` holds the overrides that shrink the scenario for smoke tests
    (``neurosim run --reduced``).
    """

    name: str
    description: str = ""
    seed: int = Field(default=0, ge=0, lt=2**32)  # numpy and scikit-learn take 32-bit seeds
    dataset: DatasetSpec
    network: NetworkSpec
    chips: list[ChipSpec | str] = Field(min_length=1)
    mapping: MappingSpec = Field(default_factory=MappingSpec)
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    report: ReportSpec = Field(default_factory=ReportSpec)
    sweep: SweepSpec | None = None
    faults: FaultsSection | None = None  # fault campaign (neurosim.faults; `neurosim faults --scenario`)
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    variants: list[VariantSpec] = Field(default_factory=list)
    reduced: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        return _plain_name(v)

    @field_validator("chips")
    @classmethod
    def _normalise(cls, v: list[ChipSpec | str]) -> list[ChipSpec | str]:
        chips = [ChipSpec(name=c) if isinstance(c, str) else c for c in v]
        keys = [c.key for c in chips]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"chip {dup[0]!r} is listed twice; give each a distinct 'label'")
        return chips

    @model_validator(mode="after")
    def _generated_needs_generator(self) -> Scenario:
        if self.dataset.name == "generated" and self.network.generate is None:
            raise ValueError(
                "dataset 'generated' takes the test vectors of a generated network; give network.generate"
            )
        return self

    @model_validator(mode="after")
    def _sweep_chip(self) -> Scenario:
        if self.sweep is not None and self.sweep.chip is not None:
            keys = [c.key for c in self.chip_specs]
            if self.sweep.chip not in keys:
                raise ValueError(
                    f"sweep.chip {self.sweep.chip!r} is not one of the scenario's chips ({', '.join(keys)})"
                )
        return self

    @model_validator(mode="after")
    def _variants_valid(self) -> Scenario:
        keys = [c.key for c in self.chip_specs]
        names = [v.name for v in self.variants]
        for v in self.variants:
            if names.count(v.name) > 1:
                raise ValueError(f"variant {v.name!r} is listed twice; give each a distinct name")
            unknown = [c for c in v.chips or () if c not in keys]
            if unknown:
                raise ValueError(
                    f"variant {v.name!r}: chip {unknown[0]!r} is not one of the scenario's chips "
                    f"({', '.join(keys)})"
                )
            try:
                NetworkSpec.model_validate(variant_network(self.network, v))
            except ValueError as exc:
                first = exc.errors()[0] if hasattr(exc, "errors") else {"msg": str(exc), "loc": ()}
                where = ".".join(str(p) for p in first.get("loc", ()))
                raise ValueError(
                    f"variant {v.name!r}: network{'.' + where if where else ''}: {first['msg']}"
                ) from None
        return self

    @property
    def chip_specs(self) -> list[ChipSpec]:
        """The chips, each as a :class:`ChipSpec`."""
        return [c if isinstance(c, ChipSpec) else ChipSpec(name=c) for c in self.chips]


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def variant_network(network: NetworkSpec, variant: VariantSpec) -> dict[str, Any]:
    """The network section of ``variant``: its fields merged over ``network`` (see :class:`VariantSpec`)."""
    base = network.model_dump(mode="python", exclude_none=True)
    if any(src in variant.network for src in _SOURCES):
        base = {k: v for k, v in base.items() if k not in _SOURCES or k in variant.network}
    return _merged(base, dict(variant.network))


TrainSpec.model_rebuild()
InitSpec.model_rebuild()
NetworkSpec.model_rebuild()
Scenario.model_rebuild()
