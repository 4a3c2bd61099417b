"""Fault specifications: which fault, how often, validated like profiles.

A fault is data: a :class:`FaultSpec` names a kind of :data:`FAULT_KINDS` and
a rate in ``[0, 1]`` whose meaning depends on the kind
(:data:`RATE_MEANING`). ``--fault KIND=RATE[,RATE...]`` on the command line
and the ``faults:`` section of a scenario (:class:`FaultsSection`) both come
here; every problem is a one-line :class:`~neurosim.errors.FaultError` naming
the field and what was expected.

The two mismatch kinds model analog device variation: they need the chip's
sigma (``neuron.mismatch_sigma`` for thresholds, ``weights.mismatch_sigma``
for weights). A rate given for them is a relative sigma used instead of the
profile's; a rate of ``chip`` (``None``) takes the profile's. On a chip whose
profile states no sigma (every digital chip) a mismatch fault is an error
(:func:`check_for_profile`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from neurosim.errors import FaultError

__all__ = [
    "FAULT_KINDS",
    "MISMATCH_FIELDS",
    "RATE_MEANING",
    "FaultSpec",
    "FaultsSection",
    "check_for_profile",
    "group_by_kind",
    "parse_fault_arg",
    "parse_fault_args",
]

#: what the rate of each kind means
RATE_MEANING: dict[str, str] = {
    "neuron_crash": "probability that each hardware neuron (source, partial-sum, relay) crashes: its output is 0",
    "byzantine": "probability that each hardware neuron emits a random bounded value (a random firing rate when spiking)",
    "core_failure": "probability that each used core dies, with every neuron placed on it",
    "synapse_stuck_zero": "probability that each stored synapse is stuck at weight 0",
    "bit_flip": "probability that each stored synapse-memory bit flips (weight bits; index bits on sparse cores)",
    "spike_drop": "probability that a spike packet is dropped on each mesh hop it travels",
    "threshold_mismatch": "relative sigma of each analog neuron's threshold (gain); 'chip' = neuron.mismatch_sigma",
    "weight_mismatch": "relative sigma of each analog synapse's weight; 'chip' = weights.mismatch_sigma",
}

#: the fault kinds, in report order
FAULT_KINDS: tuple[str, ...] = tuple(RATE_MEANING)

#: mismatch kind -> the profile field holding its sigma
MISMATCH_FIELDS: dict[str, str] = {
    "threshold_mismatch": "neuron.mismatch_sigma",
    "weight_mismatch": "weights.mismatch_sigma",
}

#: the word standing for "the profile's sigma" in a rate list
CHIP_SIGMA = "chip"


@dataclass(frozen=True)
class FaultSpec:
    """One fault kind at one rate.

    Parameters
    ----------
    kind : str
        One of :data:`FAULT_KINDS`.
    rate : float or None
        In ``[0, 1]`` (see :data:`RATE_MEANING`). ``None`` only for the
        mismatch kinds: the chip's sigma.
    bound : float or None
        Byzantine only: the largest value a Byzantine neuron emits (default:
        the population's ReLU cap when finite, else 1; for spiking neurons
        the threshold, i.e. up to one spike per step).

    Examples
    --------
    >>> FaultSpec("neuron_crash", 0.01).label
    'neuron_crash=0.01'
    """

    kind: str
    rate: float | None
    bound: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(
                f"fault kind {self.kind!r}: unknown; expected one of {', '.join(FAULT_KINDS)}"
            )
        if self.rate is None:
            if self.kind not in MISMATCH_FIELDS:
                raise FaultError(
                    f"fault {self.kind}: rate: expected a number in [0, 1] "
                    f"('{CHIP_SIGMA}' is only for {', '.join(MISMATCH_FIELDS)})"
                )
        else:
            rate = _number(self.rate, f"fault {self.kind}: rate")
            if not 0.0 <= rate <= 1.0:
                raise FaultError(
                    f"fault {self.kind}: rate: expected a number in [0, 1], got {self.rate!r}"
                )
            object.__setattr__(self, "rate", rate)
        if self.bound is not None:
            if self.kind != "byzantine":
                raise FaultError(f"fault {self.kind}: bound: only byzantine faults take a bound")
            bound = _number(self.bound, "fault byzantine: bound")
            if not bound > 0:
                raise FaultError(
                    f"fault byzantine: bound: expected a number > 0, got {self.bound!r}"
                )
            object.__setattr__(self, "bound", bound)

    @property
    def label(self) -> str:
        """``kind=rate`` as on the command line."""
        return f"{self.kind}={CHIP_SIGMA if self.rate is None else format(self.rate, 'g')}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rate": self.rate, "bound": self.bound}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FaultError(f"{where}: expected a finite number in [0, 1], got {value!r}")
    return float(value)


def _rate(text: str, kind: str) -> float | None:
    text = text.strip()
    if text == CHIP_SIGMA:
        return None
    try:
        return float(text)
    except ValueError:
        raise FaultError(
            f"fault {kind}: rate {text!r}: expected a number in [0, 1]"
            + (f" or '{CHIP_SIGMA}'" if kind in MISMATCH_FIELDS else "")
        ) from None


def parse_fault_arg(text: str) -> list[FaultSpec]:
    """``"KIND=RATE[,RATE...]"`` -> one :class:`FaultSpec` per rate.

    Examples
    --------
    >>> [f.rate for f in parse_fault_arg("neuron_crash=0.001,0.01")]
    [0.001, 0.01]
    """
    kind, sep, rates = text.partition("=")
    kind = kind.strip()
    if not sep or not kind or not rates.strip():
        raise FaultError(
            f"fault {text!r}: expected KIND=RATE[,RATE...], e.g. neuron_crash=0.001,0.01"
        )
    if kind not in FAULT_KINDS:
        FaultSpec(kind, 0.0)  # raises the unknown-kind error
    return [FaultSpec(kind, _rate(r, kind)) for r in rates.split(",")]


def parse_fault_args(texts: Iterable[str]) -> list[FaultSpec]:
    """Every ``KIND=RATE[,RATE...]`` of a list, in order."""
    return [spec for text in texts for spec in parse_fault_arg(text)]


def check_for_profile(spec: FaultSpec, profile: Any) -> float | None:
    """Check ``spec`` against a chip; return the mismatch sigma to use (``None`` otherwise).

    Raises
    ------
    FaultError
        A mismatch fault on a chip whose profile has no sigma (digital chips).
    """
    field = MISMATCH_FIELDS.get(spec.kind)
    if field is None:
        return None
    chip_sigma = profile.get(field)
    if chip_sigma is None:
        raise FaultError(
            f"fault {spec.label} on chip {profile.name}: the profile has no {field} "
            "(a digital chip has no device mismatch); expected an analog chip such as brainscales2 or dynapse2"
        )
    return float(chip_sigma) if spec.rate is None else float(spec.rate)


class FaultsSection(BaseModel):
    """The ``faults:`` section of a scenario.

    ``kinds`` maps a fault kind to its rates (numbers in [0, 1], or ``chip``
    for a mismatch kind); ``trials`` faulty chips are drawn per kind and
    rate; ``spread`` lists partition strategies whose accuracy under
    ``core_failure`` is compared (e.g. ``[sequential, spread]``); ``bound``
    adds the El Mhamdi et al. crash bound next to the measured output error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[str, list[float | str]] = Field(min_length=1)
    trials: int = Field(default=5, ge=1)
    spread: list[str] = Field(default_factory=list)
    bound: bool = True

    @field_validator("kinds")
    @classmethod
    def _valid(cls, v: dict[str, list[float | str]]) -> dict[str, list[float | str]]:
        for kind, rates in v.items():
            if not rates:
                raise ValueError(f"kinds.{kind}: expected a non-empty list of rates")
            try:
                for r in rates:
                    FaultSpec(kind, _rate(r, kind) if isinstance(r, str) else r)
            except FaultError as exc:
                raise ValueError(str(exc)) from None
        return v

    def specs(self) -> list[FaultSpec]:
        """One :class:`FaultSpec` per kind and rate, in file order."""
        return [
            FaultSpec(kind, _rate(r, kind) if isinstance(r, str) else r)
            for kind, rates in self.kinds.items()
            for r in rates
        ]


def group_by_kind(specs: Sequence[FaultSpec]) -> Mapping[str, list[FaultSpec]]:
    """Specs grouped by kind, kinds in first-seen order."""
    out: dict[str, list[FaultSpec]] = {}
    for s in specs:
        out.setdefault(s.kind, []).append(s)
    return out
