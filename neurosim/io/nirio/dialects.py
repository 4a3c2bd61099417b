"""The conventions of each NIR exporter, and how ``source="auto"`` recognises them.

A NIR file carries no time step, no reset rule and no spike function; each
library fills that gap its own way. :class:`ImportOptions` says which
library wrote a file (or ``auto``), the time step the network was trained
with, and the reset rule; :func:`resolve_dialect` turns them into a
:class:`Dialect` (source, dt, reset, and one line saying what was assumed).

=========  ==================================================================
source     what the exporter writes (versions tested: docs/formats.md)
=========  ==================================================================
snntorch   ``LIF`` with ``tau = dt / (1 - beta)``, ``r = tau / dt`` and dt =
           1e-4 s, so ``dt = tau / r``; ``CubaLIF`` with ``w_in = tau_syn / dt``;
           0-d parameters for a scalar ``beta``; ``v_reset = 0`` although the
           default reset is by subtraction, applied one step late
           (``reset_delay=True``: ``U[t] = beta U[t-1] + I[t] - thr S[t-1]``)
norse      ``tau = dt * tau_true`` (Norse 1.1 divides ``dt`` by the inverse
           time constant), dt = 1e-3 s, ``r = 1``, 0-d parameters, an
           ``Input`` with a leading batch dimension; ``CubaLIF`` inputs are
           added to the current unscaled (``i += S``), reset to ``v_reset``
sinabs     ``IF`` with ``r = 1`` and parameters of the full layer shape, an
           ``Input`` whose leading dimension is the number of time steps;
           reset by subtraction, threshold compared with ``>=``; the default
           spike function emits several spikes per step (``MultiSpike``)
lava       as Loihi's CUBA neurons: ``i += -dt/tau_syn i + w_in S``, the
           membrane reads the new current; reset to ``v_reset``
nir        the file read literally (NIR's ODEs, reset to ``v_reset``)
neurosim   written by neurosim (its metadata entry): read back exactly
=========  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.errors import NetworkError

__all__ = [
    "RESETS",
    "SOURCES",
    "Dialect",
    "ImportOptions",
    "detect_source",
    "neuron_params",
    "resolve_dialect",
]

#: values of ``ImportOptions.source``
SOURCES: tuple[str, ...] = ("auto", "snntorch", "norse", "sinabs", "lava", "nir", "neurosim")
#: values of ``ImportOptions.reset``
RESETS: tuple[str, ...] = ("zero", "subtract")

_DEFAULT_DT = {"snntorch": 1e-4, "norse": 1e-3}
_MAX_SNNTORCH_DT = 1e-3  # snnTorch 1.0 writes dt = 1e-4; a larger tau / r is no snnTorch step
_DEFAULT_RESET = {"snntorch": "subtract", "sinabs": "subtract"}
_SPIKING = ("IF", "LIF", "CubaLIF", "Threshold")
_TAU_FIELDS = {"LIF": ("tau",), "CubaLIF": ("tau_mem", "tau_syn")}


@dataclass(frozen=True)
class ImportOptions:
    """How to read a NIR file written by another library.

    Parameters
    ----------
    source : str
        One of :data:`SOURCES`; ``auto`` recognises the exporter.
    dt_s : float, optional
        Time step the network was trained with (overrides the exporter's).
    reset : {"zero", "subtract"}, optional
        Reset of every spiking neuron (default: the exporter's).
    fold : bool
        Fold chains of linear nodes between two neuron layers into one
        projection (default); False keeps each weight node that feeds another
        one as a ``linear`` population of its own.
    snntorch_reset_delay : bool
        snnTorch's default ``reset_delay=True`` (subtract the threshold one
        step late, after the decay): reproduced exactly by a self-projection
        of weight ``-threshold / r`` per neuron. False: neurosim's subtractive
        reset alone (snnTorch with ``reset_delay=False``).
    """

    source: str = "auto"
    dt_s: float | None = None
    reset: str | None = None
    fold: bool = True
    snntorch_reset_delay: bool = True

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise NetworkError(f"NIR import: source {self.source!r}; expected one of {', '.join(SOURCES)}")
        if self.reset is not None and self.reset not in RESETS:
            raise NetworkError(f"NIR import: reset {self.reset!r}; expected one of {', '.join(RESETS)}")
        if self.dt_s is not None:
            dt = float(self.dt_s)
            if not np.isfinite(dt) or dt <= 0 or dt > 10:
                raise NetworkError(f"NIR import: dt_s {self.dt_s!r}; expected a time step in (0, 10] seconds")
            object.__setattr__(self, "dt_s", dt)


@dataclass(frozen=True)
class Dialect:
    """What the import assumes: source, network time step, reset, and why."""

    source: str
    dt_s: float | None
    reset: str
    reason: str
    reset_delay: bool = False

    def summary(self) -> str:
        """One line: ``source snntorch (reason); dt 0.1 ms; reset subtract``."""
        dt = "dt not set (the chip's)" if self.dt_s is None else f"dt {self.dt_s * 1e3:g} ms"
        reset = self.reset + (" one step late (reset_delay)" if self.reset_delay else "")
        return f"source {self.source} ({self.reason}); {dt}; reset {reset}"


def _arr(node: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(getattr(node, name), dtype=np.float64)
    except (TypeError, ValueError):
        return np.full(1, np.nan)


def _snntorch_dt(nodes: dict[str, Any]) -> float | None:
    """``tau / r`` shared by every LIF/CubaLIF node (snnTorch's dt), else None."""
    dts = []
    for node in nodes.values():
        k = type(node).__name__
        if k not in _TAU_FIELDS:
            continue
        tau = _arr(node, "tau" if k == "LIF" else "tau_mem")
        r, leak = _arr(node, "r"), _arr(node, "v_leak")
        # snnTorch: r = 1 / (1 - beta) > 1 for 0 < beta < 1
        if not (np.isfinite(tau).all() and np.isfinite(r).all()) or (r <= 1).any():
            return None
        if np.any(leak != 0):
            return None
        dts.append((tau / r).ravel())
    if not dts:
        return None
    dt = np.concatenate(dts)
    if not (dt > 0).all() or np.ptp(dt) > 1e-4 * dt.max() or dt.max() > _MAX_SNNTORCH_DT:
        return None
    return float(f"{float(np.median(dt)):.6g}")


def _norse_like(nodes: dict[str, Any]) -> bool:
    """0-d parameters, ``r = 1``, and time constants below Norse's dt (it writes ``dt * tau``)."""
    found = False
    for node in nodes.values():
        k = type(node).__name__
        if k not in ("IF", "LIF", "CubaLIF"):
            continue
        found = True
        if np.ndim(getattr(node, "v_threshold", 0)) != 0 or not np.all(_arr(node, "r") == 1):
            return False
        if any(np.any(_arr(node, f) >= _DEFAULT_DT["norse"]) for f in _TAU_FIELDS.get(k, ())):
            return False
    return found


def _time_leading_input(nodes: dict[str, Any], edges: list[tuple[str, str]]) -> bool:
    """An Input with one dimension more than its consumer takes (sinabs writes ``(T, *shape)``)."""
    for a, b in edges:
        node, nxt = nodes[a], nodes[b]
        if type(node).__name__ != "Input":
            continue
        shape = np.asarray(node.input_type.get("input") if isinstance(node.input_type, dict) else [])
        kind = type(nxt).__name__
        w = np.asarray(getattr(nxt, "weight", np.zeros(0)))
        if kind in ("Affine", "Linear") and shape.size == 2 and w.ndim == 2:
            return bool(shape[-1] == w.shape[1] and shape[0] > 1)
        if kind in ("Conv1d", "Conv2d") and shape.size == w.ndim:
            return bool(shape[0] > 1 or w.shape[1] != 1)
    return False


def _sinabs_like(nodes: dict[str, Any], edges: list[tuple[str, str]]) -> bool:
    ifs = [n for n in nodes.values() if type(n).__name__ == "IF"]
    if not ifs or any(type(n).__name__ in ("LIF", "CubaLIF") for n in nodes.values()):
        return False
    full = all(np.ndim(n.v_threshold) >= 1 and np.all(_arr(n, "r") == 1) for n in ifs)
    maps = any(np.ndim(n.v_threshold) >= 2 for n in ifs)  # IAFSqueeze on feature maps
    return full and (maps or _time_leading_input(nodes, edges))


def detect_source(nodes: dict[str, Any], edges: list[tuple[str, str]], meta: dict[str, Any]) -> tuple[str, str]:
    """``(source, reason)``: which exporter wrote these nodes, from its fingerprints."""
    if "neurosim" in meta:
        return "neurosim", "graph metadata 'neurosim'"
    dt = _snntorch_dt(nodes)
    if dt is not None:
        return "snntorch", f"every LIF has r = tau/dt with dt = {dt:g} s, v_leak = 0"
    if _norse_like(nodes):
        return "norse", "0-d neuron parameters, r = 1, tau below 1 ms (Norse writes dt * tau)"
    if _sinabs_like(nodes, edges):
        return "sinabs", "IF nodes with r = 1 and parameters of the full layer shape"
    return "nir", "no exporter fingerprint"


def resolve_dialect(
    opts: ImportOptions, nodes: dict[str, Any], edges: list[tuple[str, str]], meta: dict[str, Any]
) -> Dialect:
    """The :class:`Dialect` of a graph under ``opts`` (auto-detected or given)."""
    if opts.source == "auto":
        source, reason = detect_source(nodes, edges, meta)
    else:
        source, reason = opts.source, "given"
    dt = opts.dt_s
    if dt is None and source == "snntorch":
        dt = _snntorch_dt(nodes) or _DEFAULT_DT["snntorch"]
    elif dt is None:
        dt = _DEFAULT_DT.get(source)
    has_spiking = any(type(n).__name__ in _SPIKING[:3] for n in nodes.values())
    reset = opts.reset or _DEFAULT_RESET.get(source, "zero")
    delay = (
        source == "snntorch" and reset == "subtract" and opts.snntorch_reset_delay and has_spiking
    )
    return Dialect(source, dt, reset, reason, delay)


def neuron_params(kind: str, values: dict[str, np.ndarray], dialect: Dialect) -> dict[str, np.ndarray]:
    """NIR parameters (NIR names) of one neuron node rewritten for neurosim's dynamics.

    ``norse``: time constants divided by dt (Norse writes ``dt * tau``) and
    ``CubaLIF`` ``w_in`` multiplied by ``tau_syn / dt`` (Norse adds each input
    to the current unscaled); ``lava``: the same ``w_in`` rule. Every other
    source: unchanged (NIR's equations; snnTorch's ``r = tau/dt`` already
    carries the scaling).
    """
    out = dict(values)
    dt = dialect.dt_s
    if dialect.source == "norse" and dt is not None:
        for name in _TAU_FIELDS.get(kind, ()):
            out[name] = values[name] / dt
    if dialect.source in ("norse", "lava") and kind == "CubaLIF" and dt is not None:
        out["w_in"] = out["w_in"] * out["tau_syn"] / dt
    return out
