"""Input handling: static values (encoded per step) or explicit per-step trains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.neurons import SPIKING_KINDS

__all__ = ["PreparedInputs", "prepare_inputs"]


@dataclass(frozen=True, eq=False)
class PreparedInputs:
    """Inputs ready for a backend.

    ``values`` is ``(n_steps, n_inputs, n_in)`` for per-step inputs or
    ``(n_inputs, n_in)`` for static ones fed unchanged at every step
    (``encoding=None``: direct, graded input).
    """

    values: np.ndarray
    n_inputs: int
    n_steps: int
    per_step: bool
    sizes: tuple[tuple[str, int], ...]

    def at(self, t: int) -> np.ndarray:
        """All input values of step ``t``, ``(n_inputs, n_in)``."""
        return self.values[t] if self.per_step else self.values

    def split(self, t: int, convert: Callable[[np.ndarray], np.ndarray]) -> dict[str, np.ndarray]:
        """Step ``t``'s values per input population, passed through ``convert``."""
        x = self.at(t)
        out, start = {}, 0
        for name, n in self.sizes:
            out[name] = convert(x[:, start : start + n])
            start += n
        return out

    @property
    def max_abs(self) -> float:
        return float(np.max(np.abs(self.values))) if self.values.size else 0.0

    @property
    def is_integer(self) -> bool:
        return bool(np.array_equal(self.values, np.round(self.values)))


def _encode(x: np.ndarray, encoding: str, n_steps: int, seed: int) -> np.ndarray:
    from neurosim.io.encoding import encode

    return np.asarray(encode(encoding, x, n_steps, seed=seed), dtype=np.float64)


def prepare_inputs(
    network: Network,
    inputs: np.ndarray,
    *,
    n_steps: int | None,
    encoding: str | None = None,
    seed: int = 0,
) -> PreparedInputs:
    """Check and normalise ``inputs`` for ``network``.

    Parameters
    ----------
    inputs : ndarray
        ``(n_inputs, n_in)`` static values, or ``(n_steps, n_inputs, n_in)``
        explicit per-step values (spike trains). ``n_in`` is the total size of
        the network's input populations, in ``network.inputs`` order.
    n_steps : int or None
        Steps to run; default: the first axis of per-step inputs, else 1 for
        a graded feed-forward network and 100 otherwise.
    encoding : str, optional
        Turn static values into spike trains with the encodings registry of
        :mod:`neurosim.io.encoding` (``rate``, ``poisson``, ...); default: feed
        the values unchanged at every step.
    """
    x = np.asarray(inputs, dtype=np.float64)
    sizes = tuple((n, network.population(n).size) for n in network.inputs)
    n_in = sum(s for _, s in sizes)
    if x.ndim == 1 and n_in == x.shape[0]:
        x = x[np.newaxis, :]
    if x.ndim not in (2, 3) or x.shape[-1] != n_in:
        raise SimulationError(
            f"inputs: shape {x.shape}; expected (n_inputs, {n_in}) or (n_steps, n_inputs, {n_in})"
        )
    if not np.isfinite(x).all():
        raise SimulationError("inputs: contain NaN or inf")
    if x.ndim == 3:
        if encoding is not None:
            raise SimulationError(
                "inputs: per-step inputs (3-D) are already encoded; leave encoding unset"
            )
        if n_steps is not None and n_steps != x.shape[0]:
            raise SimulationError(f"inputs: {x.shape[0]} steps given but n_steps={n_steps}")
        return PreparedInputs(x, x.shape[1], x.shape[0], True, sizes)
    if n_steps is None:
        graded = all(p.model.kind not in SPIKING_KINDS for p in network.populations)
        n_steps = 1 if graded and network.is_feedforward and encoding is None else 100
    if int(n_steps) < 1:
        raise SimulationError(f"n_steps: expected a positive integer, got {n_steps}")
    n_steps = int(n_steps)
    if encoding is not None:
        trains = _encode(x, encoding, n_steps, seed)
        if trains.shape != (n_steps,) + x.shape:
            raise SimulationError(
                f"encoding {encoding!r} returned shape {trains.shape}; expected {(n_steps,) + x.shape}"
            )
        return PreparedInputs(trains, x.shape[0], n_steps, True, sizes)
    return PreparedInputs(x, x.shape[0], n_steps, False, sizes)
