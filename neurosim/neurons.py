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

For ``if`` and ``lif`` a neuron spikes when ``v >= threshold`` and is then reset:
``reset="zero"`` sets ``v = v_reset``, ``reset="subtract"`` subtracts ``threshold``.
The step functions (:func:`relu_step`, :func:`linear_step`, :func:`if_step`,
:func:`lif_step` and their ``*_fixed`` integer forms) are pure and shared by every backend; each
backend wraps them in its own number format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.errors import NetworkError

__all__ = [
    "GRADED_KINDS",
    "NEURON_KINDS",
    "SPIKING_KINDS",
    "NeuronModel",
    "if_step",
    "if_step_fixed",
    "lif_step",
    "lif_step_fixed",
    "linear_step",
    "relu_step",
    "round_shift",
]

NEURON_KINDS: tuple[str, ...] = ("input", "relu", "linear", "if", "lif")
SPIKING_KINDS: frozenset[str] = frozenset({"if", "lif"})
GRADED_KINDS: frozenset[str] = frozenset({"relu", "linear"})

_PARAM_DEFAULTS: dict[str, float] = {
    "cap": np.inf,
    "threshold": 1.0,
    "v_reset": 0.0,
    "v_leak": 0.0,
    "tau_mem_s": 0.02,
    "r": 1.0,
}
_PARAMS_OF_KIND: dict[str, tuple[str, ...]] = {
    "input": (),
    "relu": ("cap",),
    "linear": (),
    "if": ("threshold", "v_reset", "r"),
    "lif": ("threshold", "v_reset", "v_leak", "tau_mem_s", "r"),
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
        if self.kind == "lif" and (full["tau_mem_s"] <= 0).any():
            raise NetworkError("neuron model lif: tau_mem_s must be > 0")
        if self.kind == "relu" and (full["cap"] <= 0).any():
            raise NetworkError("neuron model relu: cap must be > 0")
        object.__setattr__(self, "params", full)

    @property
    def is_spiking(self) -> bool:
        """True for models that emit binary spikes (``if``, ``lif``)."""
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
    spikes = v >= threshold
    return _reset(v, spikes, threshold, v_reset, reset), spikes


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
    spikes = v >= threshold
    return _reset(v, spikes, threshold, v_reset, reset), spikes


def round_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """Integer ``x / 2**shift`` rounded half up (arithmetic shift; ``shift >= 0``)."""
    if shift <= 0:
        return x << -shift if shift < 0 else x
    return (x + (1 << (shift - 1))) >> shift


def if_step_fixed(
    v: np.ndarray,
    J: np.ndarray,
    threshold: np.ndarray,
    v_reset: np.ndarray,
    reset: str,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer IF: ``v = sat(v + J)`` with ``J = r (current + bias)`` already in v's fixed point.

    Returns ``(v_after_reset, spikes, n_saturated)``.
    """
    v = v + J
    n_sat = int(np.count_nonzero((v > hi) | (v < lo)))
    np.clip(v, lo, hi, out=v)
    spikes = v >= threshold
    return _reset(v, spikes, threshold, v_reset, reset), spikes, n_sat


def lif_step_fixed(
    v: np.ndarray,
    J: np.ndarray,
    alpha_q: np.ndarray,
    alpha_shift: int,
    v_leak: np.ndarray,
    threshold: np.ndarray,
    v_reset: np.ndarray,
    reset: str,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer LIF: ``v = sat(v + round((alpha_q * (v_leak - v + J)) / 2**alpha_shift))``.

    ``alpha_q / 2**alpha_shift`` is ``dt / tau_mem_s`` in fixed point; ``J`` is
    ``r (current + bias)`` in v's fixed point. Returns ``(v_after_reset, spikes, n_saturated)``.
    """
    v = v + round_shift(alpha_q * (v_leak - v + J), alpha_shift)
    n_sat = int(np.count_nonzero((v > hi) | (v < lo)))
    np.clip(v, lo, hi, out=v)
    spikes = v >= threshold
    return _reset(v, spikes, threshold, v_reset, reset), spikes, n_sat
