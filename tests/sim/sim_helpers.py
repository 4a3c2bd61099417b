"""Helpers of the simulator tests (imported by name: ``from sim_helpers import hand_map``): random networks and a hand-built MappedNetwork.

``hand_map`` builds a :class:`~neurosim.mapping.mapped.MappedNetwork` without
the mapper: contiguous neuron blocks per core, row-major placement, optional
fan-in split of one population into partial-sum populations, and a simple
per-post-neuron symmetric quantizer. It follows the contract of
``neurosim/mapping/mapped.py``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapped import CoreUsage, MappedNetwork, Placement, QuantizedProjection
from neurosim.mapping.roles import Role
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel


def quantize(w: sp.csr_matrix, profile) -> tuple[sp.csr_matrix, np.ndarray]:
    kind = profile.get("weights.kind")
    bits = int(profile.get("weights.bits"))
    w = sp.csr_matrix(w, dtype=np.float64)
    if kind == "float":
        q = w.copy()
        q.data = q.data.astype(np.float32 if bits <= 32 else np.float64).astype(np.float64)
        return q, np.ones(w.shape[1])
    top = np.asarray(abs(w).max(axis=0).todense()).ravel()
    qmax = 1 if kind in ("ternary", "binary") else 2 ** (bits - 1) - 1
    scale = np.where(top > 0, top / qmax, 1.0)
    q = w.multiply(1.0 / scale[np.newaxis, :]).tocsr()
    q.data = np.clip(np.round(q.data), -qmax, qmax)
    q.eliminate_zeros()
    return sp.csr_matrix(q), scale


def split_fan_in(net: Network, pop_name: str, n_parts: int) -> Network:
    """Hardware network where ``pop_name``'s inputs go through ``n_parts`` partial sums."""
    pops = list(net.populations)
    projs = []
    for pr in net.projections:
        if pr.post != pop_name:
            projs.append(pr)
            continue
        rows = np.array_split(np.arange(pr.shape[0]), n_parts)
        n_post = pr.shape[1]
        for k, r in enumerate(rows):
            name = f"{pop_name}.partial{k}"
            if not any(p.name == name for p in pops):
                pops.append(Population(name, n_post, NeuronModel("linear")))
                projs.append(
                    Projection(
                        name,
                        pop_name,
                        sp.identity(n_post, format="csr"),
                        name=f"{name}->{pop_name}",
                    )
                )
            mask = np.zeros(pr.shape[0])
            mask[r] = 1
            projs.append(
                Projection(pr.pre, name, sp.diags(mask) @ pr.weights, name=f"{pr.name}.{k}")
            )
    return Network(tuple(pops), tuple(projs), inputs=net.inputs, outputs=net.outputs, name=net.name)


def hand_map(
    net: Network,
    profile=None,
    *,
    per_core: int = 16,
    split: dict | None = None,
    hw: Network | None = None,
) -> MappedNetwork:
    profile = profile or load_profile("generic")
    if hw is None:
        hw = net
        for name, parts in (split or {}).items():
            hw = split_fan_in(hw, name, parts)
    quantized = {}
    for pr in hw.projections:
        q, s = quantize(pr.weights, profile)
        quantized[pr.name] = QuantizedProjection(pr.name, q, s)
    core_of, cores, next_core = {}, [], 0
    width = int(profile.get("chip.mesh_width"))
    for pop in hw.populations:
        if pop.model.kind == "input":
            core_of[pop.name] = -np.ones(pop.size, dtype=np.int64)
            continue
        idx = np.arange(pop.size) // per_core
        core_of[pop.name] = idx + next_core
        for c in range(idx.max() + 1):
            lo, hi = c * per_core, min(pop.size, (c + 1) * per_core)
            core = next_core + c
            cores.append(
                CoreUsage(
                    core,
                    0,
                    core % width,
                    core // width,
                    ((pop.name, lo, hi),),
                    {"neurons": (hi - lo, per_core)},
                )
            )
        next_core += idx.max() + 1
    n = len(cores)
    ids = np.arange(n)
    chip = (ids >= max(1, n // 2)).astype(np.int64) if n > 3 else np.zeros(n, dtype=np.int64)
    placement = Placement(
        chip, ids % width, ids // width, "row_major", sp.csr_matrix((n, n)), 0.0, 0.0, 0.0
    )
    roles = {  # the partial sums split_fan_in adds (the mapper records roles where it adds them)
        f"{name}.partial{k}": Role.PARTIAL_SUM
        for name, parts in (split or {}).items()
        for k in range(parts)
    }
    return MappedNetwork(
        net, profile, hw, quantized, core_of, tuple(cores), placement, (), "hand", 0, n, roles=roles
    )


def random_spiking(
    kind: str,
    sizes: tuple[int, ...],
    seed: int,
    *,
    density: float = 0.3,
    reset: str = "zero",
    recurrent: bool = False,
) -> Network:
    rng = np.random.default_rng(seed)
    weights = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        w = sp.random(a, b, density=density, random_state=rng, format="csr")
        w.data = rng.normal(0.8, 0.6, w.nnz)
        weights.append(w)
    params = {"threshold": rng.uniform(0.8, 1.2, sizes[-1] * 0 + 1)[0], "v_reset": 0.0}
    if kind == "lif":
        params.update(tau_mem_s=0.003, v_leak=0.1)
    model = NeuronModel(kind, params, reset)
    biases = [rng.uniform(-0.05, 0.1, b) for b in sizes[1:]]
    net = Network.from_layers(weights, biases, model, name=f"rand_{kind}_{seed}")
    if recurrent:
        last = net.populations[-1]
        w = sp.random(last.size, last.size, density=density, random_state=rng, format="csr")
        w.data = rng.normal(-0.2, 0.3, w.nnz)
        net = net.replace(
            projections=net.projections + (Projection(last.name, last.name, w, name="rec"),)
        )
    return net
