"""A data-free score of a layered sparse topology (after NeuroFabric, Isakov and Kinsy 2020).

NeuroFabric argues that a good a-priori sparse topology lets every input
reach every output, spreads the paths between input/output pairs evenly, and
has no bottleneck through which a disproportionate share of the paths must
pass. :func:`score_topology` measures these from the structure alone (no
data, no training), so topologies can be ranked before training:

``reachability``
    Fraction of (input, output) pairs joined by at least one path.
``path_uniformity``
    ``1 - TV``, with ``TV`` the mean total-variation distance between the
    distribution of a random forward walk from an input (uniform choice among a
    neuron's outgoing synapses) over the outputs, and the uniform distribution.
    1 means every output is equally reachable from every input.
``edge_load_imbalance``
    Every edge carries ``(paths from the inputs to its source) x (paths from
    its target to the outputs)`` input-output paths; this is the largest
    ratio, over layers, of the busiest edge's load to the mean load (1 for
    perfectly balanced layers). Counts are renormalised per layer, so deep
    networks do not overflow.
``bottleneck_width``
    The fewest neurons of any hidden layer that lie on an input-output path,
    divided by the widest layer.
``score``
    ``reachability * path_uniformity * bottleneck_width / edge_load_imbalance``,
    in ``[0, 1]``; higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.network import Network

__all__ = ["TopologyScore", "score_topology", "rank_topologies"]


@dataclass(frozen=True)
class TopologyScore:
    """Data-free structural figures of a layered topology (see the module docstring)."""

    reachability: float
    path_uniformity: float
    edge_load_imbalance: float
    bottleneck_width: float
    score: float
    n_layers: int
    n_synapses: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _masks_of(layers: Network | Sequence[Any]) -> list[sp.csr_matrix]:
    if isinstance(layers, Network):
        ws = [proj.weights for proj, _ in layers.layers()]
    else:
        ws = list(layers)
    if not ws:
        raise NetworkError("score_topology: no layers")
    masks = []
    for k, w in enumerate(ws):
        m = sp.csr_matrix(w, dtype=np.float64, copy=True)
        m.eliminate_zeros()
        m.data[:] = 1.0
        if masks and masks[-1].shape[1] != m.shape[0]:
            raise NetworkError(
                f"score_topology: layer {k + 1} has {m.shape[0]} rows; layer {k} has {masks[-1].shape[1]} columns"
            )
        masks.append(m)
    return masks


def _walk_scores(masks: list[sp.csr_matrix], max_inputs: int, seed: int) -> tuple[float, float]:
    """Reachability and path uniformity of a random walk from a seeded sample of inputs."""
    n_in = masks[0].shape[0]
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n_in, size=min(n_in, max_inputs), replace=False))
    walk = np.zeros((rows.size, n_in))
    walk[np.arange(rows.size), rows] = 1.0
    reach = walk > 0
    for m in masks:
        out_deg = np.asarray(m.sum(axis=1)).ravel()
        step = sp.diags(np.divide(1.0, out_deg, out=np.zeros_like(out_deg), where=out_deg > 0)) @ m
        walk = np.asarray(walk @ step)
        reach = (
            np.asarray((sp.csr_matrix(reach, dtype=np.float32) @ m.astype(np.float32)).toarray())
            > 0
        )
    n_out = masks[-1].shape[1]
    reachability = float(reach.mean())
    mass = walk.sum(axis=1, keepdims=True)
    dist = np.divide(walk, mass, out=np.zeros_like(walk), where=mass > 0)
    tv = 0.5 * np.abs(dist - 1.0 / n_out).sum(axis=1)
    tv[mass.ravel() == 0] = 1.0
    return reachability, float(1.0 - tv.mean())


def _edge_loads(masks: list[sp.csr_matrix]) -> tuple[float, list[int]]:
    """Edge-load imbalance (path counts through every edge) and on-path widths of hidden layers."""
    n_in, n_out = masks[0].shape[0], masks[-1].shape[1]
    # path counts through every edge, renormalised per layer
    fwd = [np.ones(n_in)]
    for m in masks:
        v = m.T @ fwd[-1]
        fwd.append(v / v.max() if v.max() > 0 else v)
    bwd = [np.ones(n_out)]
    for m in reversed(masks):
        v = m @ bwd[-1]
        bwd.append(v / v.max() if v.max() > 0 else v)
    bwd.reverse()
    imbalance = 1.0
    on_path = []
    for k, m in enumerate(masks):
        coo = m.tocoo()
        load = fwd[k][coo.row] * bwd[k + 1][coo.col]
        used = load[load > 0]
        if used.size:
            imbalance = max(imbalance, float(used.max() / used.mean()))
        if k > 0:
            on_path.append(int(np.count_nonzero((fwd[k] > 0) & (bwd[k] > 0))))
    return imbalance, on_path


def score_topology(
    layers: Network | Sequence[Any], *, max_inputs: int = 256, seed: int = 0
) -> TopologyScore:
    """Score a layered topology from its structure.

    Parameters
    ----------
    layers : Network or sequence of sparse matrices
        A chain of layers; only where the weights are nonzero matters.
    max_inputs : int
        Reachability and uniformity are measured from at most this many
        inputs (a seeded sample), which bounds the cost at
        ``max_inputs x synapses``.
    seed : int

    Returns
    -------
    TopologyScore

    Examples
    --------
    >>> from neurosim.topology.neurofabric import butterfly_masks
    >>> s = score_topology(butterfly_masks(16, 4))
    >>> s.reachability, s.path_uniformity, s.edge_load_imbalance
    (1.0, 1.0, 1.0)
    """
    masks = _masks_of(layers)
    n_in, n_out = masks[0].shape[0], masks[-1].shape[1]
    reachability, uniformity = _walk_scores(masks, int(max_inputs), seed)
    imbalance, on_path = _edge_loads(masks)
    widest = max([n_in] + [m.shape[1] for m in masks])
    bottleneck = (min(on_path) if on_path else min(n_in, n_out)) / widest
    score = reachability * uniformity * bottleneck / imbalance
    return TopologyScore(
        reachability=reachability,
        path_uniformity=uniformity,
        edge_load_imbalance=imbalance,
        bottleneck_width=float(bottleneck),
        score=float(score),
        n_layers=len(masks),
        n_synapses=int(sum(m.nnz for m in masks)),
    )


def rank_topologies(
    candidates: dict[str, Network | Sequence[Any]], **options: Any
) -> list[tuple[str, TopologyScore]]:
    """Score several topologies and sort them best first (ties keep the given order)."""
    scored = [(name, score_topology(layers, **options)) for name, layers in candidates.items()]
    return sorted(scored, key=lambda item: -item[1].score)
