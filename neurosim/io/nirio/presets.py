"""Export presets: the NIR form each library's importer reads correctly.

Each preset rewrites a network (a new :class:`~neurosim.network.Network`,
same names) so that the target library, importing the written file with its
own ``from_nir``/``import_from_nir``, steps the same dynamics as neurosim at
the simulation time step ``dt``:

``nir``
    Unchanged: NIR's equations, exactly (neurosim -> NIR -> neurosim is exact).
``snntorch`` (snnTorch 1.0 ``import_from_nir``, which assumes dt = 1e-4 s)
    ``lif``: ``tau`` rescaled to ``tau * 1e-4 / dt`` so that ``beta = 1 - dt/tau``;
    ``if``: written as a ``LIF`` with ``tau = 1e30`` s and ``r = r * 1e34``
    (``beta`` = 1 exactly, ``r dt/tau = r``), since snnTorch reads ``IF`` as a
    leaky neuron with ``beta = 0.9``. Needs zero reset to ``v_reset = 0``,
    ``v_leak = 0`` and one threshold (and one ``r``) per layer.
``norse`` (Norse 1.1 ``from_nir`` with its dt = 1e-3 s)
    time constants rescaled to ``tau * 1e-3 / dt``; ``lif``/``if``: ``r`` folded
    into the incoming weights and bias (Norse ignores ``r``); zero reset to 0;
    ``cuba_lif`` needs ``v_leak = 0`` (Norse gives its synapse the membrane's leak).
``sinabs`` (sinabs 2.0 ``from_nir``)
    ``if`` only, reset by subtraction (sinabs' only reset); ``r`` folded into
    the incoming weights and bias (sinabs ignores it). sinabs then emits
    several spikes per step (``MultiSpike``) and clips ``v`` at ``-threshold``
    unless told otherwise: see docs/formats.md.
"""

from __future__ import annotations

import numpy as np

from neurosim.errors import NetworkError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel

__all__ = ["TARGETS", "prepare"]

#: export targets
TARGETS: tuple[str, ...] = ("nir", "snntorch", "norse", "sinabs")
_SNNTORCH_DT = 1e-4
_NORSE_DT = 1e-3
_IF_TAU, _IF_R = 1e30, 1e34
_ALLOWED = {
    "snntorch": ("input", "linear", "lif", "if"),
    "norse": ("input", "linear", "lif", "if", "cuba_lif"),
    "sinabs": ("input", "linear", "if"),
}


def _fail(network: Network, p: Population, target: str, why: str) -> NetworkError:
    return NetworkError(f"network {network.name}: population {p.name!r} ({p.model.kind}): {why} for --target {target}")


def _uniform(network: Network, p: Population, target: str, name: str) -> float:
    v = np.unique(p.model.param(name))
    if v.size != 1:
        raise _fail(network, p, target, f"{name} varies across neurons; the importer takes one value per layer")
    return float(v[0])


def _zero(network: Network, p: Population, target: str, *names: str) -> None:
    for name in names:
        if np.any(p.model.param(name) != 0):
            raise _fail(network, p, target, f"{name} must be 0")


def _scale_inputs(network: Network, p: Population, factor: np.ndarray) -> tuple[list[Projection], np.ndarray]:
    """Incoming projections and bias of ``p`` multiplied by ``factor`` (scalar or per neuron)."""
    f = np.broadcast_to(np.asarray(factor, dtype=np.float64), (p.size,))
    projs = []
    for pr in network.projections_into(p.name):
        if (f == f[0]).all():
            projs.append(pr.scaled(float(f[0])))
        elif pr.spec is None:
            projs.append(Projection(pr.pre, pr.post, pr.weights.multiply(f[None, :]).tocsr(), pr.name))
        else:
            raise NetworkError(f"network {network.name}: projection {pr.name!r} ({pr.kind}): per-neuron r "
                               "cannot be folded into a shared kernel")
    return projs, p.bias * f


def _snntorch(network: Network, p: Population, dt: float) -> tuple[NeuronModel, np.ndarray | None]:
    t = "snntorch"
    if p.model.reset != "zero":
        raise _fail(network, p, t, "snnTorch's importer resets to zero; reset 'subtract' is not written")
    _zero(network, p, t, "v_reset")
    _uniform(network, p, t, "threshold")
    _uniform(network, p, t, "r")
    prm = dict(p.model.params)
    if p.model.kind == "if":
        prm = {"threshold": prm["threshold"], "v_reset": prm["v_reset"], "v_leak": 0.0,
               "tau_mem_s": _IF_TAU, "r": prm["r"] * _IF_R}
        return NeuronModel("lif", prm), None
    _zero(network, p, t, "v_leak")
    prm["tau_mem_s"] = prm["tau_mem_s"] * _SNNTORCH_DT / dt
    return NeuronModel("lif", prm), None


def _norse(network: Network, p: Population, dt: float) -> tuple[NeuronModel, np.ndarray | None]:
    t = "norse"
    if p.model.reset != "zero":
        raise _fail(network, p, t, "Norse resets to v_reset; reset 'subtract' is not written")
    prm = dict(p.model.params)
    if p.model.kind in ("lif", "if"):
        _zero(network, p, t, "v_reset")
        r = prm["r"]
        prm["r"] = np.ones_like(r)
    else:
        _zero(network, p, t, "v_leak")
        r = None
    for tau in ("tau_mem_s", "tau_syn_s"):
        if tau in prm:
            prm[tau] = prm[tau] * _NORSE_DT / dt
    return NeuronModel(p.model.kind, prm), r


def _sinabs(network: Network, p: Population, dt: float) -> tuple[NeuronModel, np.ndarray | None]:
    if p.model.reset != "subtract":
        raise _fail(network, p, "sinabs", "sinabs resets by subtraction; convert with reset 'subtract'")
    prm = dict(p.model.params)
    r = prm["r"]
    prm["r"] = np.ones_like(r)
    return NeuronModel("if", prm, "subtract"), r


_REWRITE = {"snntorch": _snntorch, "norse": _norse, "sinabs": _sinabs}


def prepare(network: Network, target: str, dt_s: float | None = None) -> Network:
    """The network as ``target``'s importer should read it (see the module docstring)."""
    if target not in TARGETS:
        raise NetworkError(f"export target {target!r}; expected one of {', '.join(TARGETS)}")
    if target == "nir":
        return network
    from neurosim.io.nirio.reader import network_dt_s

    dt = float(dt_s or network_dt_s(network) or 1e-3)
    pops, projs = [], {pr.name: pr for pr in network.projections}
    for p in network.populations:
        if p.model.kind not in _ALLOWED[target]:
            raise _fail(network, p, target, f"kind {p.model.kind!r} has no {target} form "
                        f"(supported: {', '.join(_ALLOWED[target][2:])})")
        if not p.model.is_spiking:
            pops.append(p)
            continue
        model, r = _REWRITE[target](network, p, dt)
        bias = p.bias
        if r is not None and np.any(r != 1):
            scaled, bias = _scale_inputs(network, p, r)
            projs.update({pr.name: pr for pr in scaled})
        pops.append(Population(p.name, p.size, model, bias, shape=p.shape))
    meta = {**network.metadata, "nir_export": {"target": target, "dt_s": dt}}
    return network.replace(populations=tuple(pops), projections=tuple(projs[pr.name] for pr in network.projections),
                           metadata=meta)
