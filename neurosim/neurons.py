"""Neuron models: their declaration (:class:`NeuronModel`) and their dynamics.

A model is a kind plus parameters. Parameters are scalars or one value per
neuron (arrays of shape ``(n,)``), following NIR's conventions:

``input``
    A source population; its activity is given from outside.
``relu``
    Graded (non-spiking) rectified linear unit: ``y = min(cap, max(0, I + bias))``;
    ``cap`` is ``inf`` for an uncapped ReLU (the Graph Challenge uses 32).
``linear``
    Graded identity ``y = I + bias``; used for partial-sum (dendritic) and relay
    neurons that the mapper adds, and for readouts.
``if``
    Integrate-and-fire (NIR ``IF``): ``v += r * (I + bias)``.
``lif``
    Leaky integrate-and-fire (NIR ``LIF``):
    ``v += dt / tau_mem_s * (v_leak - v + r * (I + bias))``.
``cuba_lif``
    Current-based leaky integrate-and-fire (NIR ``CubaLIF``), a synaptic
    current ``i_syn`` in front of a LIF membrane. NIR's equations
    ``tau_syn di/dt = -i + w_in S`` and ``tau_mem dv/dt = v_leak - v + r i``
    discretised by forward Euler with ``dt``, exactly as ``lif`` is, the input
    ``S = I + bias`` held constant over the step::

        i_syn += dt / tau_syn_s * (w_in * (I + bias) - i_syn)
        v     += dt / tau_mem_s * (v_leak - v + r * i_syn)

    The membrane update uses the ``i_syn`` of the same step (as Lava's and
    Loihi's CUBA neurons do), so an input reaches ``v`` in the step it
    arrives. Hardware that adds each input to the current without the factor
    ``dt / tau_syn_s`` (Loihi, Xylo, Norse) corresponds, up to the order of
    the updates within a step, to ``w_in * tau_syn_s / dt`` here.
``threshold``
    Stateless spiking unit (NIR ``Threshold``, a Heaviside step): it spikes in
    a step when ``I + bias >= threshold`` and keeps no state.

For ``if``, ``lif`` and ``cuba_lif`` a neuron spikes when ``v >= threshold`` and is then reset:
``reset="zero"`` sets ``v = v_reset``, ``reset="subtract"`` subtracts ``threshold``
(``threshold`` has nothing to reset and accepts only ``reset="zero"``). NIR
fires on ``>``; neurosim compares with ``>=`` for every spiking kind, so the two
agree except when the compared value equals the threshold exactly.
The step functions (:func:`relu_step`, :func:`linear_step`, :func:`if_step`,
:func:`lif_step`, :func:`cuba_lif_step`, :func:`threshold_step` and their
``*_fixed`` integer forms) are pure and shared by every backend; each
backend wraps them in its own number format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from neurosim.errors import NetworkError

__all__ = [
    "FixedDecay",
    "FixedFire",
    "GRADED_KINDS",
    "NEURON_KINDS",
    "SPIKING_KINDS",
    "NeuronModel",
    "cuba_lif_step",
    "cuba_lif_step_fixed",
    "if_step",
    "if_step_fixed",
    "lif_step",
    "lif_step_fixed",
    "linear_step",
    "relu_step",
    "round_shift",
    "saturate",
    "threshold_step",
    "threshold_step_fixed",
]

NEURON_KINDS: tuple[str, ...] = ("input", "relu", "linear", "if", "lif", "cuba_lif", "threshold")
SPIKING_KINDS: frozenset[str] = frozenset({"if", "lif", "cuba_lif", "threshold"})
GRADED_KINDS: frozenset[str] = frozenset({"relu", "linear"})

_PARAM_DEFAULTS: dict[str, float] = {
    "cap": np.inf,
    "threshold": 1.0,
    "v_reset": 0.0,
    "v_leak": 0.0,
    "tau_mem_s": 0.02,
    "tau_syn_s": 0.005,
    "r": 1.0,
    "w_in": 1.0,
}
_PARAMS_OF_KIND: dict[str, tuple[str, ...]] = {
    "input": (),
    "relu": ("cap",),
    "linear": (),
    "if": ("threshold", "v_reset", "r"),
    "lif": ("threshold", "v_reset", "v_leak", "tau_mem_s", "r"),
    "cuba_lif": ("threshold", "v_reset", "v_leak", "tau_mem_s", "tau_syn_s", "r", "w_in"),
    "threshold": ("threshold",),
}
_RESETS = ("zero", "subtract")


@dataclass(frozen=True, eq=False)
class NeuronModel:
    """A neuron model: a kind and its parameters.

    Parameters
    ----------
    kind : str
        One of :data:`NEURON_KINDS`.
    params : mapping of str to float or array
        Parameters of the kind (see the module docstring); missing ones take
        their defaults. Each is stored as a float64 array, scalar (shape ``()``)
        or per neuron (shape ``(n,)``).
    reset : {"zero", "subtract"}
        Reset rule of spiking kinds.

    Examples
    --------
    >>> NeuronModel("relu", {"cap": 32.0}).param("cap")
    array(32.)
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    reset: str = "zero"

    def __post_init__(self) -> None:
        if self.kind not in NEURON_KINDS:
            raise NetworkError(
                f"neuron model: unknown kind {self.kind!r}; expected one of {', '.join(NEURON_KINDS)}"
            )
        if self.reset not in _RESETS:
            raise NetworkError(
                f"neuron model {self.kind}: reset {self.reset!r}; expected 'zero' or 'subtract'"
            )
        allowed = _PARAMS_OF_KIND[self.kind]
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise NetworkError(
                f"neuron model {self.kind}: unknown parameter(s) {', '.join(unknown)}; "
                f"expected {', '.join(allowed) or 'none'}"
            )
        full = {}
        for name in allowed:
            value = np.asarray(self.params.get(name, _PARAM_DEFAULTS[name]), dtype=np.float64)
            if value.ndim > 1:
                raise NetworkError(
                    f"neuron model {self.kind}: parameter {name} must be a scalar or 1-D"
                )
            if np.isnan(value).any():
                raise NetworkError(f"neuron model {self.kind}: parameter {name} contains NaN")
            full[name] = value
        for tau in ("tau_mem_s", "tau_syn_s"):
            if tau in full and (full[tau] <= 0).any():
                raise NetworkError(f"neuron model {self.kind}: {tau} must be > 0")
        if self.kind == "threshold" and self.reset != "zero":
            raise NetworkError(
                "neuron model threshold: reset 'subtract'; a stateless threshold unit has "
                "nothing to reset, expected 'zero'"
            )
        if self.kind == "relu" and (full["cap"] <= 0).any():
            raise NetworkError("neuron model relu: cap must be > 0")
        object.__setattr__(self, "params", full)

    @property
    def is_spiking(self) -> bool:
        """True for models that emit binary spikes (:data:`SPIKING_KINDS`)."""
        return self.kind in SPIKING_KINDS

    def param(self, name: str) -> np.ndarray:
        """Return one parameter as a float64 array (scalar or per neuron)."""
        try:
            return self.params[name]
        except KeyError:
            raise NetworkError(f"neuron model {self.kind} has no parameter {name!r}") from None

    def check_size(self, n: int, where: str) -> None:
        """Raise NetworkError unless every per-neuron parameter has length ``n``."""
        for name, value in self.params.items():
            if value.ndim == 1 and value.shape[0] != n:
                raise NetworkError(
                    f"{where}: parameter {name} has {value.shape[0]} values; expected 1 or {n}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists for arrays), for JSON and ``.npz`` metadata."""
        return {
            "kind": self.kind,
            "reset": self.reset,
            "params": {k: (v.tolist()) for k, v in self.params.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NeuronModel:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                str(data["kind"]), dict(data.get("params", {})), str(data.get("reset", "zero"))
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NetworkError(f"neuron model: malformed description ({exc})") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NeuronModel):
            return NotImplemented
        return (
            self.kind == other.kind
            and self.reset == other.reset
            and self.params.keys() == other.params.keys()
            and all(np.array_equal(self.params[k], other.params[k]) for k in self.params)
        )

    __hash__ = None  # type: ignore[assignment]


# ------------------------------------------------------------------ dynamics
# Pure step functions shared by every backend. Each takes the synaptic input
# ``current`` of one time step (shape ``(n_inputs, n)``) and returns new arrays; the
# float forms fix the order of the floating-point operations, which the
# Brian2 backend reproduces literally (see docs/simulator.md), and the
# ``*_fixed`` forms are their integer (fixed-point) counterparts used by the
# chip backend.


def relu_step(current: np.ndarray, bias: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Capped ReLU: ``min(cap, max(0, current + bias))``."""
    return np.minimum(np.maximum(current + bias, 0), cap)


def linear_step(current: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Identity with bias: ``current + bias``."""
    return current + bias


def _reset(
    v: np.ndarray, spikes: np.ndarray, threshold: np.ndarray, v_reset: np.ndarray, reset: str
) -> np.ndarray:
    if reset == "zero":
        return np.where(spikes, v_reset, v)
    return np.where(spikes, v - threshold, v)


def _fire(
    v: np.ndarray, threshold: np.ndarray, v_reset: np.ndarray, reset: str
) -> tuple[np.ndarray, np.ndarray]:
    """Spike where ``v >= threshold`` and reset there; returns ``(v_after_reset, spikes)``."""
    spikes = v >= threshold
    return _reset(v, spikes, threshold, v_reset, reset), spikes


def saturate(
    x: np.ndarray, lo: int, hi: int, out: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """Clip ``x`` to ``[lo, hi]`` (into ``out``, as :func:`numpy.clip`) and count the clipped values.

    Returns ``(clipped, n_saturated)``.
    """
    n_sat = int(np.count_nonzero((x > hi) | (x < lo)))
    return np.clip(x, lo, hi, out=out), n_sat


def if_step(
    v: np.ndarray,
    current: np.ndarray,
    bias: np.ndarray,
    r: np.ndarray,
    threshold: np.ndarray,
    v_reset: np.ndarray,
    reset: str = "zero",
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate-and-fire, one step: ``v = v + r * (current + bias)``; spike when ``v >= threshold``.

    Returns ``(v_after_reset, spikes)``.
    """
    v = v + r * (current + bias)
    return _fire(v, threshold, v_reset, reset)


def lif_step(
    v: np.ndarray,
    current: np.ndarray,
    bias: np.ndarray,
    r: np.ndarray,
    alpha: np.ndarray,
    v_leak: np.ndarray,
    threshold: np.ndarray,
    v_reset: np.ndarray,
    reset: str = "zero",
) -> tuple[np.ndarray, np.ndarray]:
    """Leaky integrate-and-fire, forward Euler with ``alpha = dt / tau_mem_s``.

    ``v = v + alpha * (v_leak - v + r * (current + bias))``; spike when ``v >= threshold``.
    Returns ``(v_after_reset, spikes)``.
    """
    v = v + alpha * (v_leak - v + r * (current + bias))
    return _fire(v, threshold, v_reset, reset)


def cuba_lif_step(
    v: np.ndarray,
    i_syn: np.ndarray,
    current: np.ndarray,
    bias: np.ndarray,
    w_in: np.ndarray,
    alpha_syn: np.ndarray,
    r: np.ndarray,
    alpha: np.ndarray,
    v_leak: np.ndarray,
    threshold: np.ndarray,
    v_reset: np.ndarray,
    reset: str = "zero",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Current-based LIF, forward Euler with ``alpha_syn = dt / tau_syn_s``, ``alpha = dt / tau_mem_s``.

    ``i_syn = i_syn + alpha_syn * (w_in * (current + bias) - i_syn)``, then
    ``v = v + alpha * (v_leak - v + r * i_syn)``; spike when ``v >= threshold``.
    Returns ``(v_after_reset, i_syn, spikes)``.
    """
    i_syn = i_syn + alpha_syn * (w_in * (current + bias) - i_syn)
    v = v + alpha * (v_leak - v + r * i_syn)
    v, spikes = _fire(v, threshold, v_reset, reset)
    return v, i_syn, spikes


def threshold_step(current: np.ndarray, bias: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Stateless threshold unit: spikes where ``current + bias >= threshold``."""
    return (current + bias) >= threshold


def round_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """Integer ``x / 2**shift`` rounded half up (arithmetic shift; ``shift >= 0``)."""
    if shift <= 0:
        return x << -shift if shift < 0 else x
    return (x + (1 << (shift - 1))) >> shift


class FixedFire(NamedTuple):
    """What every integer spiking step ends with: saturate to ``[lo, hi]``, fire, reset.

    Attributes
    ----------
    threshold, v_reset : ndarray
        Per-neuron threshold and reset potential in v's fixed point.
    reset : {"zero", "subtract"}
        Reset to ``v_reset``, or subtract the threshold.
    lo, hi : int
        The state register's range.
    """

    threshold: np.ndarray
    v_reset: np.ndarray
    reset: str
    lo: int
    hi: int


class FixedDecay(NamedTuple):
    """An integer leak: ``v += round(alpha_q * (v_leak - v + drive) / 2**alpha_shift)``.

    Attributes
    ----------
    alpha_q : ndarray
        ``dt / tau_mem_s`` in fixed point (``alpha_q / 2**alpha_shift``).
    alpha_shift : int
        Fraction bits of ``alpha_q``.
    v_leak : ndarray
        Resting potential in v's fixed point.
    """

    alpha_q: np.ndarray
    alpha_shift: int
    v_leak: np.ndarray


def _saturate_fire(v: np.ndarray, fire: FixedFire) -> tuple[np.ndarray, np.ndarray, int]:
    """Saturate ``v`` to ``[lo, hi]`` in place, then fire and reset: ``(v_after_reset, spikes, n_saturated)``."""
    v, n_sat = saturate(v, fire.lo, fire.hi, out=v)
    v, spikes = _fire(v, fire.threshold, fire.v_reset, fire.reset)
    return v, spikes, n_sat


def if_step_fixed(v: np.ndarray, J: np.ndarray, fire: FixedFire) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer IF: ``v = sat(v + J)`` with ``J = r (current + bias)`` already in v's fixed point.

    Returns ``(v_after_reset, spikes, n_saturated)``.
    """
    return _saturate_fire(v + J, fire)


def lif_step_fixed(
    v: np.ndarray, J: np.ndarray, decay: FixedDecay, fire: FixedFire
) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer LIF: ``v = sat(v + round((alpha_q * (v_leak - v + J)) / 2**alpha_shift))``.

    ``J`` is ``r (current + bias)`` in v's fixed point. Returns
    ``(v_after_reset, spikes, n_saturated)``.
    """
    v = v + round_shift(decay.alpha_q * (decay.v_leak - v + J), decay.alpha_shift)
    return _saturate_fire(v, fire)


def cuba_lif_step_fixed(
    v: np.ndarray,
    u: np.ndarray,
    J: np.ndarray,
    alpha_syn_q: np.ndarray,
    decay: FixedDecay,
    fire: FixedFire,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Integer current-based LIF.

    ``u`` is ``r * i_syn`` in v's fixed point and ``J`` is
    ``r * w_in * (current + bias)`` in the same fixed point, so ``r`` costs no
    multiply in the step::

        u = sat(u + round(alpha_syn_q * (J - u) / 2**alpha_shift))
        v = sat(v + round(alpha_q * (v_leak - v + u) / 2**alpha_shift))

    Returns ``(v_after_reset, u, spikes, n_saturated)``.
    """
    u = u + round_shift(alpha_syn_q * (J - u), decay.alpha_shift)
    u, n_sat_u = saturate(u, fire.lo, fire.hi, out=u)
    # the membrane step is the plain LIF step driven by u
    v, spikes, n_sat_v = lif_step_fixed(v, u, decay, fire)
    return v, u, spikes, n_sat_u + n_sat_v


def threshold_step_fixed(
    J: np.ndarray, threshold: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, int]:
    """Integer threshold unit: ``J = current + bias`` saturated to ``[lo, hi]``, spikes where ``J >= threshold``.

    Returns ``(spikes, n_saturated)``.
    """
    J, n_sat = saturate(J, lo, hi)
    return J >= threshold, n_sat
