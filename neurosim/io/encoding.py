"""Input encodings: static values in ``[0, 1]`` -> spike trains for spiking runs.

Each encoding takes ``values`` of shape ``(n_inputs, n_in)`` (a batch of
static samples, e.g. :attr:`neurosim.io.datasets.Dataset.x`) and a number of
time steps, and yields boolean spikes of shape ``(n_inputs, n_in)`` per step;
:func:`encode` stacks them into ``(n_steps, n_inputs, n_in)``.
:func:`iter_spikes` gives the same steps one at a time, so long runs need not
hold the whole train in memory.

Encodings (the explicit registry :data:`ENCODINGS`):

``rate``
    Deterministic rate code: an input of value ``v`` spikes at step ``t``
    (0-based) when ``floor((t + 1) * v) > floor(t * v)``: evenly spaced spikes,
    ``floor(n_steps * v)`` of them; ``v = 1`` spikes every step, ``v = 0`` never.
``poisson``
    Bernoulli approximation of a Poisson process: at each step an input
    spikes with probability ``v``, drawn from ``numpy.random.default_rng(seed)``
    (one ``(n_inputs, n_in)`` draw per step, so the train is the same whether
    taken at once or step by step).
``threshold``
    Binary: an input spikes at every step where ``v > threshold`` (default 0.5).

Registering a new encoding means adding a function with the signature
``f(values, n_steps, *, seed, **params) -> Iterator[ndarray]`` to
:data:`ENCODINGS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from neurosim.errors import DataError
from neurosim.util.registry import Registry

__all__ = ["ENCODINGS", "encode", "encoding_names", "iter_spikes"]

Encoder = Callable[..., Iterator[np.ndarray]]


def _rate(values: np.ndarray, n_steps: int, *, seed: int = 0) -> Iterator[np.ndarray]:
    prev = np.zeros_like(values)
    for t in range(n_steps):
        cur = np.floor((t + 1) * values)
        yield cur > prev
        prev = cur


def _poisson(values: np.ndarray, n_steps: int, *, seed: int = 0) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for _ in range(n_steps):
        yield rng.random(values.shape) < values


def _threshold(
    values: np.ndarray, n_steps: int, *, seed: int = 0, threshold: float = 0.5
) -> Iterator[np.ndarray]:
    thr = float(threshold)
    if not np.isfinite(thr):
        raise DataError(f"encoding threshold: threshold must be finite, got {threshold!r}")
    spikes = values > thr
    spikes.setflags(write=False)
    for _ in range(n_steps):
        yield spikes.copy()


#: encoding name -> generator of per-step spikes
ENCODINGS: Registry = Registry(
    "encoding",
    DataError,
    {"rate": _rate, "poisson": _poisson, "threshold": _threshold},
    lazy=False,
)


def encoding_names() -> tuple[str, ...]:
    """Names in :data:`ENCODINGS`."""
    return tuple(ENCODINGS)


def _check(values: Any, n_steps: Any) -> tuple[np.ndarray, int]:
    v = np.asarray(values)
    if v.dtype.kind not in "biuf":
        raise DataError(f"encoding: values have dtype {v.dtype}; expected numbers in [0, 1]")
    v = v.astype(np.float64)
    if v.ndim != 2:
        raise DataError(f"encoding: values have shape {v.shape}; expected (n_inputs, n_in)")
    if v.size and (not np.isfinite(v).all() or v.min() < 0.0 or v.max() > 1.0):
        raise DataError(
            "encoding: values must lie in [0, 1] (scale them first, e.g. load_dataset does)"
        )
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise DataError(f"encoding: n_steps must be a positive integer, got {n_steps!r}")
    return v, int(n_steps)


def _encoder(encoding: str | Encoder) -> Encoder:
    return ENCODINGS.resolve(encoding)


def iter_spikes(
    encoding: str | Encoder, values: Any, n_steps: int, *, seed: int = 0, **params: Any
) -> Iterator[np.ndarray]:
    """Yield ``n_steps`` boolean arrays of shape ``(n_inputs, n_in)``, one per time step.

    Parameters
    ----------
    encoding : str or callable
        A key of :data:`ENCODINGS` or an encoder function.
    values : array, shape (n_inputs, n_in)
        Static inputs in ``[0, 1]``.
    n_steps : int
    seed : int
        Seed of random encodings (ignored by deterministic ones).
    **params
        Encoding parameters (``threshold`` for ``threshold``).
    """
    fn = _encoder(encoding)
    v, n = _check(values, n_steps)
    try:
        gen = fn(v, n, seed=int(seed), **params)
    except TypeError as exc:
        raise DataError(f"encoding {encoding!r}: bad parameters ({exc})") from None
    return gen


def encode(
    encoding: str | Encoder, values: Any, n_steps: int, *, seed: int = 0, **params: Any
) -> np.ndarray:
    """Spike trains of shape ``(n_steps, n_inputs, n_in)``, dtype bool.

    Examples
    --------
    >>> encode("rate", [[0.5, 1.0]], 4)[:, 0, :].astype(int).tolist()
    [[0, 1], [1, 1], [0, 1], [1, 1]]
    """
    v, n = _check(values, n_steps)
    out = np.zeros((n,) + v.shape, dtype=bool)
    count = 0
    for t, s in enumerate(iter_spikes(encoding, v, n, seed=seed, **params)):
        s = np.asarray(s)
        if t >= n or s.shape != v.shape:
            raise DataError(
                f"encoding {encoding!r}: step {t} has shape {s.shape}; expected {n} steps of shape {v.shape}"
            )
        out[t] = s
        count += 1
    if count != n:
        raise DataError(f"encoding {encoding!r}: gave {count} steps; expected {n}")
    return out
