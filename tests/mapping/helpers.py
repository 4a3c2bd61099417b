"""Shared builders for the mapping tests: small networks and a dense forward pass."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from neurosim.network import Network
from neurosim.neurons import NeuronModel

__all__ = ["fixed_fan_in", "forward", "graph_challenge_layers", "layered"]


def fixed_fan_in(
    n_pre: int, n_post: int, fan_in: int, seed: int, *, signed: bool = True
) -> sp.csr_matrix:
    """Each post neuron gets ``fan_in`` distinct random inputs with random weights."""
    rng = np.random.default_rng(seed)
    rows = np.argsort(rng.random((n_post, n_pre)), axis=1)[:, :fan_in].ravel()
    cols = np.repeat(np.arange(n_post), fan_in)
    vals = rng.uniform(0.1, 1.0, rows.size) * (
        rng.choice([-1.0, 1.0], rows.size) if signed else 1.0
    )
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_pre, n_post))


def layered(
    sizes: list[int], fan_in: list[int], model: str = "relu", seed: int = 0, name: str = "net"
) -> Network:
    """A layered network with fixed fan-in per layer."""
    ws = [fixed_fan_in(sizes[i], sizes[i + 1], fan_in[i], seed + i) for i in range(len(sizes) - 1)]
    return Network.from_layers(ws, model=NeuronModel(model), name=name)


def forward(net: Network, x: np.ndarray) -> dict[str, np.ndarray]:
    """Dense float64 forward pass (graded models: relu, linear) in topological order."""
    acts: dict[str, np.ndarray] = {}
    for name in net.order():
        pop = net.population(name)
        if pop.model.kind == "input":
            acts[name] = x
            continue
        current = np.zeros((x.shape[0], pop.size)) + pop.bias
        for pr in net.projections_into(name):
            current = current + acts[pr.pre] @ pr.weights.toarray()
        if pop.model.kind == "relu":
            current = np.minimum(np.maximum(current, 0.0), pop.model.param("cap"))
        acts[name] = current
    return acts


def graph_challenge_layers(directory: Path, layers: list[int]) -> list[sp.csr_matrix]:
    """Official Graph Challenge layers (``neurosim.io.graph_challenge`` when present)."""
    try:
        from neurosim.io.graph_challenge import read_challenge_layer
    except ImportError:  # the reader lands separately; a tiny local fallback
        read_challenge_layer = None
    out = []
    for k in layers:
        path = directory / f"n1024-l{k}.tsv.gz"
        if read_challenge_layer is not None:
            out.append(read_challenge_layer(path))
            continue
        with gzip.open(path, "rt") as fh:
            data = np.loadtxt(fh)
        rows, cols = data[:, 0].astype(int) - 1, data[:, 1].astype(int) - 1
        out.append(sp.csr_matrix((data[:, 2], (rows, cols)), shape=(1024, 1024)))
    return out
