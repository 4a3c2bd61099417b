"""What a chip profile asks of a network under training, read once from the profile.

:func:`chip_constraints` turns a :class:`~neurosim.hardware.profile.ChipProfile`
into a :class:`ChipConstraints` value: the weight format (kind, bits, scale
mode, axon types), the fan-in per neuron and per core, whether the network
must run as rate-coded integrate-and-fire neurons (the chip has no graded
ReLU), the state and accumulator widths, and the time steps of the rate code.
Training methods read these fields and nothing else, so a constraint is never
typed twice: ``neurosim train dense --chip truenorth`` knows 4 axon types,
9-bit table weights, 256 inputs per core and IF neurons from the profile.

:func:`check_trainable` is the one place that rejects a combination a method
cannot train (a chip without ReLU or IF neurons; a connection budget below one
synapse per neuron).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from neurosim.errors import TrainingError
from neurosim.train.constraints import fan_in_cap_from_profile

__all__ = [
    "DEFAULT_STEPS",
    "ChipConstraints",
    "check_budget",
    "check_trainable",
    "chip_constraints",
    "load_chip",
]

#: rate-code time steps assumed for a spiking chip when none is given
DEFAULT_STEPS = 32


@dataclass(frozen=True)
class ChipConstraints:
    """The training-relevant facts of one chip profile.

    Attributes
    ----------
    chip : str
        Profile name.
    weight_kind : str
        ``float``, ``int``, ``ternary``, ``binary`` or ``axon_type``.
    weight_bits : int
    weight_scale : str
        ``none``, ``per_layer``, ``per_core`` or ``exponent``.
    n_axon_types : int or None
        TrueNorth-style axon types (each axon one of K types, each neuron one
        weight per type).
    fan_in_per_neuron : int or None
        Inputs one neuron may have without a fan-in split.
    fan_in_per_core : int or None
        Input axons one core may receive.
    neurons_per_core : int
    spiking : bool
        True when the chip has no graded ReLU and the network runs as
        rate-coded IF neurons (reset by subtraction) after conversion.
    neuron_models : tuple of str
    state_bits, accumulator_bits : int
        Neuron state and synaptic accumulator widths (saturation).
    steps : int
        Time steps of the rate code (spiking chips).
    """

    chip: str
    weight_kind: str
    weight_bits: int
    weight_scale: str
    n_axon_types: int | None
    fan_in_per_neuron: int | None
    fan_in_per_core: int | None
    neurons_per_core: int
    spiking: bool
    neuron_models: tuple[str, ...]
    state_bits: int
    accumulator_bits: int
    steps: int

    @property
    def quantized(self) -> bool:
        """True when the weights are not stored as floats."""
        return self.weight_kind != "float"

    def summary(self) -> dict[str, Any]:
        """Plain dict (for JSON and network metadata)."""
        out = asdict(self)
        out["neuron_models"] = list(self.neuron_models)
        return out


def load_chip(chip: Any, overrides: Any = None):
    """A :class:`ChipProfile` from a name, a YAML path or a profile, with ``--set`` overrides."""
    from neurosim.hardware.profile import ChipProfile, apply_overrides, load_profile

    if isinstance(chip, ChipProfile):
        return apply_overrides(chip, overrides)
    return load_profile(chip, overrides)


def chip_constraints(
    chip: Any,
    overrides: Any = None,
    *,
    steps: int | None = None,
    spiking: bool | None = None,
) -> ChipConstraints:
    """The constraints a chip profile imposes on training.

    Parameters
    ----------
    chip : str, path or ChipProfile
    overrides : ``section.field=value`` strings (``--set``)
    steps : int, optional
        Rate-code time steps (default :data:`DEFAULT_STEPS`).
    spiking : bool, optional
        Train through the IF rate code even on a chip with ReLU (True), e.g.
        when the scenario converts the network for every chip; default: only
        when the chip has no ReLU.

    Examples
    --------
    >>> c = chip_constraints("truenorth")
    >>> (c.weight_kind, c.n_axon_types, c.fan_in_per_neuron, c.spiking)
    ('axon_type', 4, 256, True)
    """
    p = load_chip(chip, overrides)
    models = tuple(str(m) for m in p.get("neuron.models"))
    n_steps = DEFAULT_STEPS if steps is None else int(steps)
    if n_steps < 1:
        raise TrainingError(f"chip {p.name}: steps = {steps}; expected >= 1")
    n_types = p.get("weights.n_axon_types")
    return ChipConstraints(
        chip=p.name,
        weight_kind=str(p.get("weights.kind")),
        weight_bits=int(p.get("weights.bits")),
        weight_scale=str(p.get("weights.scale")),
        n_axon_types=None if n_types is None else int(n_types),
        fan_in_per_neuron=fan_in_cap_from_profile(p),
        fan_in_per_core=None if p.get("core.max_axons") is None else int(p.get("core.max_axons")),
        neurons_per_core=int(p.get("core.max_neurons")),
        spiking=("relu" not in models) or bool(spiking),
        neuron_models=models,
        state_bits=int(p.get("weights.state_bits")),
        accumulator_bits=int(p.get("weights.accumulator_bits")),
        steps=n_steps,
    )


def check_trainable(method: str, c: ChipConstraints, sizes: Sequence[int]) -> None:
    """Reject a chip the method cannot train for, or a network the chip cannot hold.

    Every method trains ReLU networks; a chip without ReLU needs IF neurons
    (rate-coded conversion, reset by subtraction). A per-neuron fan-in below
    one input leaves a neuron unconnected.

    Raises
    ------
    TrainingError
        One line naming the chip, the field and what was expected.
    """
    if c.spiking and "if" not in c.neuron_models:
        raise TrainingError(
            f"chip {c.chip}: neuron.models = {', '.join(c.neuron_models)}; method {method} "
            "trains ReLU networks, which need relu or if (rate-coded conversion) neurons"
        )
    if c.fan_in_per_neuron is not None and c.fan_in_per_neuron < 1:
        raise TrainingError(
            f"chip {c.chip}: fan-in per neuron {c.fan_in_per_neuron}; expected >= 1 synapse per neuron"
        )
    del sizes  # every layer size is allowed: the mapper splits populations into cores


def check_budget(sizes: Sequence[int], budgets: Sequence[int]) -> None:
    """A connection budget must give every neuron of every layer at least one synapse.

    Raises
    ------
    TrainingError
        When ``budgets[l] < sizes[l + 1]``.
    """
    for i, k in enumerate(budgets):
        n_post = int(sizes[i + 1])
        if int(k) < n_post:
            raise TrainingError(
                f"layer {i + 1}: budget of {int(k)} connections for {n_post} neurons; "
                "expected at least one synapse per neuron"
            )
