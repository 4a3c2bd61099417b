"""Chip profiles: the schema, loading from ``hwmodels/``, and overrides.

A profile is a YAML file. Every hardware figure is a :class:`Figure`: its
``value`` (or ``null`` when unknown, with a ``note``), its ``source`` (a key of
the profile's ``sources`` table or a free-text citation) and its
``provenance``: ``measured`` (on silicon), ``simulated`` (SPICE or
pre-silicon), ``datasheet`` (vendor or paper figure), ``estimated`` (ours, with
the reasoning in ``note``), ``definition`` (a figure that holds by construction,
such as the generic profile's ideal limits) or ``override`` (set by the user).

Profiles are validated by pydantic; any problem becomes a one-line
:class:`~neurosim.errors.ProfileError` naming the file and the field. The file
format, every field and the shipped chips are described in ``docs/profiles.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from neurosim.errors import ProfileError
from neurosim.util.yamlsafe import load_yaml

__all__ = [
    "PROVENANCES",
    "ChipProfile",
    "Figure",
    "apply_overrides",
    "load_profile",
    "parse_override",
    "profile_names",
    "profile_path",
]

PROVENANCES = ("measured", "simulated", "datasheet", "estimated", "definition", "override")
Provenance = Literal["measured", "simulated", "datasheet", "estimated", "definition", "override"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Figure(BaseModel):
    """One hardware figure with its source and provenance."""

    model_config = _STRICT

    value: Any = None
    source: str | None = None
    provenance: Provenance | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _documented(self) -> Figure:
        if self.value is None:
            if not self.note:
                raise ValueError("an unknown (null) figure needs a 'note' saying why")
        else:
            if self.provenance is None:
                raise ValueError(f"expected a 'provenance' ({', '.join(PROVENANCES)})")
            if self.provenance not in ("definition", "override") and not self.source:
                raise ValueError("expected a 'source' for this figure")
            if self.provenance == "estimated" and not self.note:
                raise ValueError("an estimated figure needs a 'note' with the reasoning")
        return self


def _figure_type(
    kind: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    nullable: bool = True,
):
    """A Figure subclass whose value is checked for type and range."""

    class _Checked(Figure):
        @field_validator("value")
        @classmethod
        def _check(cls, v: Any) -> Any:
            if v is None:
                if not nullable:
                    raise ValueError("value is required (null is not allowed for this field)")
                return v
            if kind == "int":
                if isinstance(v, bool) or not isinstance(v, int):
                    if isinstance(v, float) and v.is_integer():
                        v = int(v)
                    else:
                        raise ValueError(f"expected an integer, got {v!r}")
            elif kind == "number":
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ValueError(f"expected a finite number, got {v!r}")
                v = float(v)
            elif kind == "bool":
                if not isinstance(v, bool):
                    raise ValueError(f"expected true or false, got {v!r}")
            elif kind == "choice":
                if v not in choices:  # type: ignore[operator]
                    raise ValueError(f"expected one of {', '.join(choices)}, got {v!r}")  # type: ignore[arg-type]
            elif kind == "choices":
                if not isinstance(v, list) or not v or any(x not in choices for x in v):  # type: ignore[operator]
                    raise ValueError(
                        f"expected a non-empty list of {', '.join(choices)}, got {v!r}"
                    )  # type: ignore[arg-type]
            if minimum is not None and v < minimum:
                raise ValueError(f"expected a value >= {minimum}, got {v!r}")
            if maximum is not None and v > maximum:
                raise ValueError(f"expected a value <= {maximum}, got {v!r}")
            return v

    return _Checked


#: upper bounds of profile figures: far above any chip, far below what overflows
#: the int64 and float arithmetic of the mapper and the cost models
MAX_COUNT = 2**40  # a generic count (axons, fan-in, synapses per neuron)
MAX_PER_CORE_NEURONS = 2**24
MAX_CORES = 2**24
MAX_MESH_SIDE = 2**16
MAX_MEMORY_BITS = 2**50
MAX_EVENT_PJ = 1e9  # 1 mJ per event
MAX_EVENT_NS = 1e12  # 1000 s per event
MAX_POWER_W = 1e4
MAX_TIMESTEP_S = 3600.0
MAX_SIGMA = 10.0

PositiveInt = _figure_type("int", minimum=1, maximum=MAX_COUNT, nullable=False)
PositiveIntOrNone = _figure_type("int", minimum=1, maximum=MAX_COUNT)
NonNegative = _figure_type("number", minimum=0, maximum=MAX_EVENT_PJ)
PositiveOrNone = _figure_type("number", minimum=0, maximum=MAX_SIGMA)
CoreNeurons = _figure_type("int", minimum=1, maximum=MAX_PER_CORE_NEURONS, nullable=False)
Cores = _figure_type("int", minimum=1, maximum=MAX_CORES, nullable=False)
CoresOrNone = _figure_type("int", minimum=1, maximum=MAX_CORES)
MeshSide = _figure_type("int", minimum=1, maximum=MAX_MESH_SIDE, nullable=False)
MemoryBits = _figure_type("int", minimum=1, maximum=MAX_MEMORY_BITS)
TimeStep = _figure_type("number", minimum=0, maximum=MAX_TIMESTEP_S)
EventNs = _figure_type("number", minimum=0, maximum=MAX_EVENT_NS)
PowerW = _figure_type("number", minimum=0, maximum=MAX_POWER_W)
AxonTypes = _figure_type("int", minimum=1, maximum=2**16)
Bits = _figure_type("int", minimum=1, maximum=64, nullable=False)
BitsOrNone = _figure_type("int", minimum=1, maximum=64)
FlagFigure = _figure_type("bool", nullable=False)


class BarrierNs(Figure):
    """End-of-step barrier (ns): a number, or a table ``{cores in use: ns}`` read as a step
    function (the entry of the largest key not above the cores in use)."""

    @field_validator("value")
    @classmethod
    def _check(cls, v: Any) -> Any:
        if v is None:
            return v
        table = v if isinstance(v, dict) else {1: v}
        out = {}
        for k, x in table.items():
            key = int(k) if not isinstance(k, bool) and str(k).isdigit() else None
            ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            if key is None or key < 1 or not ok or not 0 <= x <= MAX_EVENT_NS:
                raise ValueError(
                    f"expected a number of ns or a table of cores (>= 1) to ns, got {v!r}"
                )
            out[key] = float(x)
        return out if isinstance(v, dict) else float(v)

SYNAPSE_ENCODINGS = ("crossbar", "sparse", "dense", "per_neuron_slots")
WEIGHT_KINDS = ("float", "int", "ternary", "binary", "axon_type")
WEIGHT_SCALES = ("none", "per_layer", "per_core", "exponent")
NEURON_MODELS = ("lif", "if", "relu", "linear", "cuba_lif", "threshold")
FAN_OUT_RULES = ("one_axon", "multicast")

Encoding = _figure_type("choice", choices=SYNAPSE_ENCODINGS, nullable=False)
WeightKind = _figure_type("choice", choices=WEIGHT_KINDS, nullable=False)
WeightScale = _figure_type("choice", choices=WEIGHT_SCALES, nullable=False)
FanOutRule = _figure_type("choice", choices=FAN_OUT_RULES, nullable=False)
Models = _figure_type("choices", choices=NEURON_MODELS, nullable=False)


class _Section(BaseModel):
    model_config = _STRICT

    def figures(self) -> dict[str, Figure]:
        return {name: getattr(self, name) for name in type(self).model_fields}


class ChipSection(_Section):
    """Whole-chip figures."""

    n_cores: Cores
    mesh_width: MeshSide
    mesh_height: MeshSide
    max_chips: Cores
    timestep_s: TimeStep


class CoreSection(_Section):
    """Per-core limits.

    ``max_fan_out`` (synapses out of one neuron, e.g. Xylo's 64) is optional in
    a file (null when absent); every shipped profile states it.
    """

    max_neurons: CoreNeurons
    max_axons: PositiveInt
    max_fan_in: PositiveIntOrNone
    fan_out: FanOutRule
    max_target_cores: CoresOrNone
    max_fan_out: PositiveIntOrNone = PositiveIntOrNone(
        value=None, note="not stated in the profile: no per-neuron limit on outgoing synapses"
    )
    synapse_memory_bits: MemoryBits
    synapse_encoding: Encoding
    index_bits: BitsOrNone
    max_synapses_per_neuron: PositiveIntOrNone
    split_fan_in: FlagFigure
    relay_fan_out: FlagFigure


class WeightSection(_Section):
    """Synapse precision and arithmetic widths."""

    kind: WeightKind
    bits: Bits
    scale: WeightScale
    n_axon_types: AxonTypes
    accumulator_bits: Bits
    state_bits: Bits
    mismatch_sigma: PositiveOrNone = PositiveOrNone(
        value=None, note="not stated in the profile: no device mismatch of synaptic weights (digital)"
    )


class NeuronSection(_Section):
    """Neuron models the chip implements.

    ``mismatch_sigma`` (optional; null on digital chips) is the relative
    standard deviation of an analog neuron's threshold (gain) from circuit to
    circuit after calibration; ``weights.mismatch_sigma`` the same for a
    synapse's weight. Both are read by :mod:`neurosim.faults`.
    """

    models: Models
    mismatch_sigma: PositiveOrNone = PositiveOrNone(
        value=None, note="not stated in the profile: no device mismatch of neuron thresholds (digital)"
    )


def _unmodelled(what: str) -> str:
    return f"not modelled by this profile: {what}"


class EnergySection(_Section):
    """Energy per event (pJ) and static power (W).

    ``neuron_update_pj`` is paid by every neuron every step (reading its
    state); ``neuron_active_pj``, ``packet_pj`` and ``host_packet_pj`` are
    optional in a file (null when absent: the cost is not modelled, and the
    energy report says so in a line of its own).
    """

    synop_pj: NonNegative
    neuron_update_pj: NonNegative
    neuron_active_pj: NonNegative = NonNegative(
        value=None, note=_unmodelled("no extra energy for a neuron whose state changes")
    )
    spike_out_pj: NonNegative
    packet_pj: NonNegative = NonNegative(
        value=None, note=_unmodelled("a message costs only its hops")
    )
    hop_pj: NonNegative
    chip_hop_pj: NonNegative
    host_packet_pj: NonNegative = NonNegative(
        value=None, note=_unmodelled("input spikes from the host are free")
    )
    static_power_w: PowerW


class LatencySection(_Section):
    """Latency per event (ns); ``neuron_active_ns``, ``packet_ns``, ``message_in_ns``
    and ``barrier_ns`` are optional in a file (null: not modelled)."""

    synop_ns: EventNs
    neuron_update_ns: EventNs
    neuron_active_ns: EventNs = EventNs(
        value=None, note=_unmodelled("no extra time for a neuron whose state changes")
    )
    spike_out_ns: EventNs
    packet_ns: EventNs = EventNs(value=None, note=_unmodelled("sending a message takes no time"))
    message_in_ns: EventNs = EventNs(
        value=None, note=_unmodelled("receiving a message takes only its synapses' time")
    )
    hop_ns: EventNs
    chip_hop_ns: EventNs
    barrier_ns: BarrierNs = BarrierNs(
        value=None, note=_unmodelled("a time step ends without a synchronisation cost")
    )


CONV_STORAGES = ("shared_kernel", "unrolled")
CONV_SPLITS = ("none", "channel", "spatial", "channel_spatial")
CONV_LAYOUTS = ("exact", "power_of_two")
ConvStorage = _figure_type("choice", choices=CONV_STORAGES)
ConvSplit = _figure_type("choice", choices=CONV_SPLITS)
ConvLayout = _figure_type("choice", choices=CONV_LAYOUTS)


def _unstated(what: str) -> str:
    return f"not stated in the profile: {what}"


class ConvSection(_Section):
    """How the chip stores convolutions (optional in a file; see docs/convolution.md).

    ``storage``: ``shared_kernel`` (a kernel stored once per core, shared by
    every position of the feature map: Speck/DYNAP-CNN, Akida, Loihi 2) or
    ``unrolled`` (one synapse per connection; the mapper unrolls and says so).
    The other fields bound shared-kernel cores: kernel memory, feature-map
    neurons, destination layers and layers per core, how a layer may be split
    across cores, and whether memories are padded to powers of two. A null
    ``storage`` means ``unrolled``, a null ``split`` ``channel_spatial``, a
    null ``memory_layout`` ``exact``.
    """

    storage: ConvStorage = ConvStorage(value=None, note=_unstated("convolutions are unrolled into synapses"))
    kernel_memory_bits: MemoryBits = MemoryBits(value=None, note=_unstated("no kernel memory"))
    max_feature_map_neurons: PositiveIntOrNone = PositiveIntOrNone(
        value=None, note=_unstated("feature-map neurons are bounded by core.max_neurons")
    )
    max_destinations: PositiveIntOrNone = PositiveIntOrNone(
        value=None, note=_unstated("no limit on the destination layers of a core")
    )
    max_layers_per_core: PositiveIntOrNone = PositiveIntOrNone(
        value=None, note=_unstated("no limit on the conv layers of a core")
    )
    split: ConvSplit = ConvSplit(value=None, note=_unstated("a layer may span cores (channel_spatial)"))
    memory_layout: ConvLayout = ConvLayout(value=None, note=_unstated("memories hold exactly the entries used"))


SECTIONS = ("chip", "core", "conv", "weights", "neuron", "energy", "latency")


class ChipProfile(BaseModel):
    """A validated chip profile.

    Use :meth:`get` for a value by dotted path (``profile.get("core.max_fan_in")``)
    and :meth:`figure` for the full :class:`Figure` with source and provenance.
    """

    model_config = _STRICT

    name: str
    title: str
    vendor: str
    description: str
    sources: dict[str, str]
    chip: ChipSection
    core: CoreSection
    conv: ConvSection = ConvSection()
    weights: WeightSection
    neuron: NeuronSection
    energy: EnergySection
    latency: LatencySection
    path: str | None = None

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not v or not all(c.islower() or c.isdigit() or c == "_" for c in v):
            raise ValueError(f"expected a lowercase snake_case id, got {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ChipProfile:
        for section in SECTIONS:
            for fname, fig in getattr(self, section).figures().items():
                src = fig.source
                if (
                    src
                    and fig.provenance not in ("override",)
                    and src not in self.sources
                    and " " not in src
                ):
                    raise ValueError(
                        f"{section}.{fname}.source: {src!r} is not a key of 'sources' "
                        f"(expected one of {', '.join(self.sources) or 'none: sources is empty'})"
                    )
        c = self.chip
        if c.mesh_width.value * c.mesh_height.value < c.n_cores.value:
            raise ValueError(
                f"chip.mesh_width x chip.mesh_height = {c.mesh_width.value * c.mesh_height.value} "
                f"is less than chip.n_cores = {c.n_cores.value}; expected a mesh with a place for every core"
            )
        if c.timestep_s.value is not None and c.timestep_s.value <= 0:
            raise ValueError(
                f"chip.timestep_s: expected a positive time step in seconds (or null for continuous time), got {c.timestep_s.value!r}"
            )
        k = self.core
        if (
            k.max_fan_in.value is not None
            and k.max_fan_in.value > k.max_axons.value
            and k.synapse_encoding.value == "crossbar"
        ):
            raise ValueError(
                f"core.max_fan_in = {k.max_fan_in.value} exceeds core.max_axons = "
                f"{k.max_axons.value} on a crossbar, whose columns hold one synapse per input axon"
            )
        if k.synapse_encoding.value == "sparse" and k.index_bits.value is None:
            raise ValueError(
                "core.index_bits: a sparse synapse encoding needs index bits per synapse"
            )
        if k.fan_out.value == "one_axon" and k.max_target_cores.value not in (None, 1):
            raise ValueError(
                "core.max_target_cores: must be 1 (or null) when core.fan_out is one_axon"
            )
        w = self.weights
        if w.kind.value == "float" and w.bits.value not in (16, 32, 64):
            raise ValueError(
                f"weights.bits: float weights need 16, 32 or 64 bits, got {w.bits.value}"
            )
        if w.kind.value == "ternary" and w.bits.value < 2:
            raise ValueError("weights.bits: ternary weights need at least 2 bits")
        if w.kind.value == "binary" and w.bits.value != 1:
            raise ValueError(f"weights.bits: binary weights take 1 bit, got {w.bits.value}")
        if w.kind.value == "axon_type" and w.n_axon_types.value is None:
            raise ValueError(
                "weights.n_axon_types: an axon_type weight table needs the number of axon types"
            )
        return self

    # -------------------------------------------------------------- access
    def figure(self, dotted: str) -> Figure:
        """The :class:`Figure` at ``section.field``."""
        section, _, fname = dotted.partition(".")
        if section not in SECTIONS or not fname:
            raise ProfileError(
                f"profile {self.name}: unknown field {dotted!r}; expected section.field with section in {', '.join(SECTIONS)}"
            )
        sec = getattr(self, section)
        if fname not in type(sec).model_fields:
            raise ProfileError(
                f"profile {self.name}: unknown field {dotted!r}; {section} has {', '.join(type(sec).model_fields)}"
            )
        return getattr(sec, fname)

    def get(self, dotted: str) -> Any:
        """The value at ``section.field`` (``None`` when unknown)."""
        return self.figure(dotted).value

    def fields(self) -> dict[str, Figure]:
        """Every figure of the profile by dotted path, in schema order."""
        return {f"{s}.{n}": fig for s in SECTIONS for n, fig in getattr(self, s).figures().items()}

    def estimated_fields(self) -> list[str]:
        """Dotted paths of figures whose provenance is ``estimated``."""
        return [
            k
            for k, f in self.fields().items()
            if f.provenance == "estimated" and f.value is not None
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable), as in the YAML file."""
        return self.model_dump(exclude={"path"}, mode="json")

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # pickled as its plain dict (the checked figure classes are local classes): lets a
        # profile, and a MappedNetwork holding one, travel to Dask workers (neurosim.execute)
        return (type(self).model_validate, (self.model_dump(mode="json"),))


# ------------------------------------------------------------------ loading
def _hwmodels_dir():
    return resources.files("hwmodels")


def profile_names() -> list[str]:
    """Names of the profiles shipped in ``hwmodels/``, sorted."""
    return sorted(
        p.name[: -len(".yaml")] for p in _hwmodels_dir().iterdir() if p.name.endswith(".yaml")
    )


def profile_path(name_or_path: str | Path) -> Path:
    """Resolve a profile name (``truenorth``) or a YAML path to a file path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ProfileError(f"{p}: profile file not found")
        return p
    candidate = _hwmodels_dir() / f"{name_or_path}.yaml"
    if not candidate.is_file():
        raise ProfileError(
            f"unknown chip profile {str(name_or_path)!r}; expected one of {', '.join(profile_names())} or a .yaml path"
        )
    return Path(str(candidate))


def _loc(loc: Iterable[Any]) -> str:
    parts = [str(x) for x in loc if not str(x).startswith("function-after") and x != "_Checked"]
    return ".".join(parts)


_FIGURE_KEYS = "a mapping with value, provenance, source and note"


def _allowed(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed where an unknown key ``loc`` was found."""
    model: type[BaseModel] = ChipProfile
    if len(loc) == 2 and loc[0] in SECTIONS:
        model = ChipProfile.model_fields[str(loc[0])].annotation  # type: ignore[assignment]
    elif len(loc) == 3:
        model = Figure
    return [name for name in model.model_fields if name != "path"]


def _message(err: Mapping[str, Any]) -> str:
    """One readable clause for one pydantic error."""
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown field; expected one of {', '.join(_allowed(err['loc']))}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        expected = _FIGURE_KEYS if err["loc"] and len(err["loc"]) == 2 else "a mapping"
        return f"expected {expected}, got {err.get('input')!r}"
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"expected one of {expected.replace(' or ', ', ')}, got {err.get('input')!r}"
    return str(err["msg"]).removeprefix("Value error, ")


def _validate(data: Any, where: str) -> ChipProfile:
    if not isinstance(data, Mapping):
        raise ProfileError(f"{where}: expected a mapping of profile fields at the top level")
    try:
        return ChipProfile.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        loc = _loc(err["loc"])
        # a figure's value is named by its field: 'chip.n_cores', not 'chip.n_cores.value'
        loc = loc.removesuffix(".value")
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        msg = _message(err)
        if not loc:  # a whole-profile check: its message names its fields
            raise ProfileError(f"{where}: {msg}{more}") from None
        raise ProfileError(f"{where}: field '{loc}': {msg}{more}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``section.field=value`` (value in YAML syntax) into ``(path, value)``."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or "." not in key:
        raise ProfileError(
            f"override {text!r}: expected section.field=value, e.g. core.max_fan_in=256"
        )
    try:
        value = load_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw.strip()
    return key, value


#: weight width implied by setting weights.kind alone
_KIND_BITS = {"ternary": 2, "binary": 1}


def apply_overrides(
    profile: ChipProfile, overrides: Mapping[str, Any] | Iterable[str] | None
) -> ChipProfile:
    """A new profile with some values replaced; each replaced figure is marked ``override``.

    Parameters
    ----------
    profile : ChipProfile
    overrides : mapping of dotted path to value, or iterable of ``"path=value"`` strings

    Notes
    -----
    Setting ``weights.bits`` below 16 on a profile with float weights (and not
    setting ``weights.kind``) switches ``weights.kind`` to ``int``: a sweep over
    weight bits on the generic profile means integer weights of those widths.
    Setting ``weights.kind`` to ``ternary`` or ``binary`` without
    ``weights.bits`` sets the bits to 2 or 1. In both cases a ``weights.scale``
    of ``none`` becomes ``per_layer`` (integer weights need a scale).
    """
    if not overrides:
        return profile
    items = (
        dict(parse_override(o) for o in overrides)
        if not isinstance(overrides, Mapping)
        else dict(overrides)
    )
    data = profile.model_dump(mode="python")
    where = f"profile {profile.name} (override)"
    if (
        "weights.bits" in items
        and "weights.kind" not in items
        and data["weights"]["kind"]["value"] == "float"
    ):
        bits = items["weights.bits"]
        if isinstance(bits, int) and not isinstance(bits, bool) and bits < 16:
            items["weights.kind"] = "int"
            if data["weights"]["scale"]["value"] == "none":
                items.setdefault("weights.scale", "per_layer")
    kind = items.get("weights.kind")
    if kind in _KIND_BITS and "weights.bits" not in items:
        items["weights.bits"] = _KIND_BITS[kind]
        if data["weights"]["scale"]["value"] == "none":
            items.setdefault("weights.scale", "per_layer")
    for key, value in items.items():
        profile.figure(key)  # raises on unknown field
        section, _, fname = key.partition(".")
        data[section][fname] = {
            "value": value,
            "provenance": "override",
            "source": "user override",
            "note": f"set by the user (was {data[section][fname]['value']!r})",
        }
    return _validate(data, where)


def load_profile(
    name_or_path: str | Path, overrides: Mapping[str, Any] | Iterable[str] | None = None
) -> ChipProfile:
    """Load and validate a chip profile, optionally with overrides.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped profile name (see :func:`profile_names`) or a YAML file.
    overrides : mapping or iterable of "section.field=value", optional

    Raises
    ------
    ProfileError
        One line naming the file, the field and what was expected.

    Examples
    --------
    >>> load_profile("generic", {"core.max_fan_in": 256}).get("core.max_fan_in")
    256
    """
    path = profile_path(name_or_path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read profile ({exc})") from None
    try:
        data = load_yaml(text)  # safe, and a key given twice is an error
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(
            f"{path}:{line}: invalid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if (
        isinstance(data, Mapping)
        and "name" in data
        and data["name"] != path.stem
        and path.parent == Path(str(_hwmodels_dir()))
    ):
        raise ProfileError(
            f"{path}: field 'name': {data['name']!r} must equal the file stem {path.stem!r}"
        )
    profile = _validate(data, str(path))
    profile = profile.model_copy(update={"path": str(path)})
    return apply_overrides(profile, overrides)
