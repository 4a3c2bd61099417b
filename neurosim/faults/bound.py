"""The crash bound of El Mhamdi, Guerraoui and Rouault (SRDS 2017, arXiv 1707.08167).

For a layered feed-forward network ``y^0 = x``, ``y^l = phi_l(W_l^T y^{l-1} + b_l)``
(``l = 1 .. L``; ``N_l`` neurons in layer ``l``; ``phi_l`` ``K_l``-Lipschitz),
in which each neuron of layer ``l`` crashes (outputs 0) independently with
probability ``p_l``, the expected output error obeys

    E ||F_fail(x) - F(x)||_1 <= sum_l p_l A_l(x) prod_{l'=l+1}^{L} K_{l'} ||W_{l'}||_row

with ``A_l(x) = sum_i |y^l_i(x)|`` and ``||W||_row = max_i sum_j |W_ij|`` (the
largest total outgoing weight of one neuron). A crash at layer ``l`` sets an
output to 0, an error of ``|y^l_i|``; a later layer multiplies an l1 error
by at most ``K ||W||_row``; a neuron that crashes downstream of an error
contributes its clean value, no more (its output is 0 whatever its input),
so the errors of all layers add. Taking ``A_l <= N_l C_l`` (``C_l`` the
largest activation of layer ``l``) and ``||W||_row <= N_{l'} w_max`` gives
the paper's form, a polynomial in the Lipschitz constants and an
exponential in the depth ``L - l`` of the failing layer:

    sum_l p_l N_l C_l prod_{l'>l} K_{l'} w_max,{l'} N_{l'}

The synapse-failure extension (each synapse of layer ``l`` fails, weight
0, with probability ``q_l``) replaces the first factor by the error a failed
synapse injects into the next neuron: ``q_l K_l sum_ij |W_ij| |y^{l-1}_i|``
(paper form ``q_l K_l N_{l-1} N_l w_max C_{l-1}``).

Assumptions (checked by :func:`check_assumptions`): a feed-forward chain of
graded Lipschitz neurons (ReLU, capped ReLU, linear: ``K = 1``), exact real
arithmetic (the reference backend, or a float64 chip), independent failures.
It does not hold for spiking neurons, nor for a quantized chip's rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.errors import FaultError
from neurosim.network import Network

__all__ = ["LIPSCHITZ", "CrashBound", "check_assumptions", "crash_bound", "layer_activations"]

#: Lipschitz constant of each graded neuron kind
LIPSCHITZ: dict[str, float] = {"relu": 1.0, "linear": 1.0}


@dataclass(frozen=True)
class CrashBound:
    """The bound for one failure rate.

    Attributes
    ----------
    kind : {"neuron_crash", "synapse_stuck_zero"}
    rate : float
    bound : float
        Mean over inputs of the data-dependent bound (row norms, actual activations).
    paper_bound : float
        The paper's data-free form (widths, largest weight, largest activation).
    per_layer : mapping of layer -> float
        The bound when only that layer fails (its depth: the layers after it).
    """

    kind: str
    rate: float
    bound: float
    paper_bound: float
    per_layer: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rate": self.rate,
            "bound": self.bound,
            "paper_bound": self.paper_bound,
            "per_layer": dict(self.per_layer),
        }


def check_assumptions(network: Network) -> list[str]:
    """The layers of ``network`` in order, or FaultError saying which assumption fails."""
    if not network.is_feedforward:
        raise FaultError(
            f"crash bound: network {network.name} is recurrent; the bound needs a feed-forward chain"
        )
    order = [n for n in network.order() if network.population(n).model.kind != "input"]
    for name in order:
        kind = network.population(name).model.kind
        if kind not in LIPSCHITZ:
            raise FaultError(
                f"crash bound: population {name} has {kind} neurons; expected graded Lipschitz neurons "
                f"({', '.join(LIPSCHITZ)})"
            )
        if len(network.projections_into(name)) != 1:
            raise FaultError(
                f"crash bound: population {name} has several inputs; expected a layered chain"
            )
    return order


def layer_activations(network: Network, x: np.ndarray) -> dict[str, np.ndarray]:
    """Clean activations ``y^l`` of every population (inputs included), in float64."""
    acts: dict[str, np.ndarray] = {network.inputs[0]: np.asarray(x, dtype=np.float64)}
    for name in check_assumptions(network):
        pr = network.projections_into(name)[0]
        pop = network.population(name)
        z = np.asarray(pr.weights.T.dot(acts[pr.pre].T)).T + pop.bias
        if pop.model.kind == "relu":
            z = np.minimum(np.maximum(z, 0.0), pop.model.param("cap"))
        acts[name] = z
    return acts


def _gains(network: Network, layers: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Per layer l: prod over later layers of K ||W||_row, and of K w_max N (paper form)."""
    tight, paper = {}, {}
    t = p = 1.0
    for name in reversed(layers):
        tight[name], paper[name] = t, p
        w = abs(network.projections_into(name)[0].weights)
        k = LIPSCHITZ[network.population(name).model.kind]
        row = float(np.asarray(w.sum(axis=1)).max()) if w.nnz else 0.0
        wmax = float(w.max()) if w.nnz else 0.0
        t *= k * row
        p *= k * wmax * network.population(name).size
    return tight, paper


def crash_bound(network: Network, x: np.ndarray, kind: str, rate: float) -> CrashBound:
    """The bound on the mean l1 output error for failures at ``rate`` in every layer.

    ``kind``: ``neuron_crash`` (every non-input neuron) or ``synapse_stuck_zero``
    (every synapse). ``x``: the inputs over which the mean is taken.
    """
    layers = check_assumptions(network)
    acts = layer_activations(network, x)
    tight, paper = _gains(network, layers)
    per, total, paper_total = {}, np.zeros(len(x)), 0.0
    for name in layers:
        pop = network.population(name)
        if kind == "neuron_crash":
            inject = np.abs(acts[name]).sum(axis=1)
            paper_inject = pop.size * float(np.abs(acts[name]).max(initial=0.0))
        elif kind == "synapse_stuck_zero":
            pr = network.projections_into(name)[0]
            k = LIPSCHITZ[pop.model.kind]
            absw = abs(pr.weights)
            inject = k * np.asarray(absw.sum(axis=1)).ravel() @ np.abs(acts[pr.pre]).T
            n_pre = network.population(pr.pre).size
            wmax = float(absw.max()) if absw.nnz else 0.0
            paper_inject = (
                k * n_pre * pop.size * wmax * float(np.abs(acts[pr.pre]).max(initial=0.0))
            )
        else:
            raise FaultError(
                f"crash bound: kind {kind!r}; expected neuron_crash or synapse_stuck_zero"
            )
        term = rate * inject * tight[name]
        per[name] = float(term.mean())
        total = total + term
        paper_total += rate * paper_inject * paper[name]
    return CrashBound(kind, float(rate), float(total.mean()), float(paper_total), per)


def fail_network(network: Network, kind: str, rate: float, seed: int) -> Network:
    """The source network with neurons crashed or synapses stuck at 0 (for the bound's check).

    Same draws as the mapped faults on a network that the mapper leaves
    unchanged (the generic chip): neurons per population in topological
    order, synapses in canonical CSR order.
    """
    from neurosim.faults.apply import fault_rng
    from neurosim.faults.edit import keep_rows_cols, silence
    from neurosim.faults.neurons import draw_neurons

    rng = fault_rng(seed, kind)
    if kind == "neuron_crash":
        weights, _, pops = silence(network, None, draw_neurons(network, rate, rng))
    elif kind == "synapse_stuck_zero":
        weights, pops = {}, {}
        for pr in network.projections:
            coo = pr.weights.tocoo()
            keep = rng.random(coo.nnz) >= rate
            w = coo.copy()
            w.data = np.where(keep, w.data, 0.0)
            weights[pr.name] = keep_rows_cols(
                w.tocsr(), np.ones(pr.shape[0], bool), np.ones(pr.shape[1], bool)
            )
    else:
        raise FaultError(
            f"fail_network: kind {kind!r}; expected neuron_crash or synapse_stuck_zero"
        )
    from neurosim.network import Projection

    return network.replace(
        populations=tuple(pops.get(p.name, p) for p in network.populations),
        projections=tuple(
            Projection(pr.pre, pr.post, weights[pr.name], pr.name) if pr.name in weights else pr
            for pr in network.projections
        ),
    )


def measured_error(
    network: Network, x: np.ndarray, kind: str, rate: float, trials: int, seed: int = 0
) -> np.ndarray:
    """Per trial, the mean over inputs of ``||F_fail(x) - F(x)||_1`` on the reference backend."""
    from neurosim.sim.simulate import simulate

    clean = simulate(network, x, "reference").outputs
    out = np.empty(trials)
    for t in range(trials):
        faulty = fail_network(network, kind, rate, seed + t)
        out[t] = np.abs(simulate(faulty, x, "reference").outputs - clean).sum(axis=1).mean()
    return out
