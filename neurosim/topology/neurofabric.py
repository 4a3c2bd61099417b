"""The NeuroFabric family of a-priori sparse topologies (Isakov and Kinsy, 2020).

NeuroFabric compares intra-layer sparse topologies for networks trained
sparse from the start, initialised with the per-neuron fan-in scaling of
:func:`~neurosim.topology.fixed_fan_in.sparse_init`, and ranks them before any
training by a data-free score (:mod:`neurosim.topology.score`). Each topology
here is a function ``(width, depth, **params) -> list of 0/1 CSR masks``
(``width x width``), registered in :data:`TOPOLOGIES`:

``random``
    Erdos-Renyi: each synapse present with probability ``fan_in / width``
    (fan-in varies from neuron to neuron).
``random_fixed``
    Exactly ``fan_in`` random inputs per neuron.
``butterfly``
    FFT butterfly of radix ``r`` (``width = r^m``): stage ``s`` connects ``i``
    to every ``j`` that differs from ``i`` only in base-``r`` digit ``s``.
    Deeper than ``m`` layers, the stages repeat (a cascade of butterflies).
``parallel_butterfly``
    ``p`` butterflies side by side, fully connected with each other:
    ``kron(J_p, B_s)`` (``width = p r^m``, fan-in ``p r``), the Kronecker
    expansion RadiX-Net applies to its mixed-radix layers.
``radixnet``
    The RadiX-Net mixed-radix layers of radix ``r`` (shifts instead of digit
    replacement), optionally Kronecker-expanded by ``p``; stages repeat.
``clos``
    The ClosNets pattern (Isakov and Kinsy's earlier a-priori sparse design,
    a Clos network unrolled into layers): with ``width = r s``, layers alternate
    ``kron(I_s, J_r)`` (dense within consecutive groups of ``r``, fan-in ``r``)
    and ``kron(J_s, I_r)`` (dense within strided groups, fan-in ``s``); two
    consecutive layers join every input to every output by exactly one path.
``de_bruijn``
    Shuffle-exchange (de Bruijn) layers: ``i -> (d i + t) mod width``, ``t < d``.
``dense``
    All-to-all (the reference every sparse topology approximates).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.topology.fixed_fan_in import (
    check_size,
    hash_seed,
    random_fixed_fan_in_mask,
    sparse_init,
)
from neurosim.topology.radixnet import mixed_radix_layers

__all__ = [
    "TOPOLOGIES",
    "butterfly_masks",
    "clos_masks",
    "de_bruijn_masks",
    "dense_masks",
    "neurofabric_network",
    "parallel_butterfly_masks",
    "radixnet_masks",
    "random_fixed_masks",
    "random_masks",
    "topology_masks",
]


def _digits(width: int, radix: int, what: str) -> int:
    if radix < 2:
        raise NetworkError(f"{what}: radix must be >= 2, got {radix}")
    m, n = 0, 1
    while n < width:
        n *= radix
        m += 1
    if n != width:
        raise NetworkError(f"{what}: width {width} is not a power of the radix {radix}")
    return m


def _mask(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _parallel(width: int, parallel: int, what: str) -> int:
    """``parallel`` as an int that divides ``width`` (``what`` names the topology in the error)."""
    p = int(parallel)
    if p < 1 or width % p:
        raise NetworkError(f"{what}: width {width} is not a multiple of parallel={p}")
    return p


def _expand(masks: list[sp.csr_matrix], p: int) -> list[sp.csr_matrix]:
    """Each mask as ``p`` fully connected copies of itself: ``kron(J_p, mask)``."""
    return [sp.kron(np.ones((p, p)), m, format="csr") for m in masks]


def random_masks(width: int, depth: int, *, fan_in: int = 8, seed: int = 0) -> list[sp.csr_matrix]:
    """Erdos-Renyi layers with density ``fan_in / width`` (seeded)."""
    if not 1 <= int(fan_in) <= width:
        raise NetworkError(
            f"random topology: fan_in {fan_in}; expected 1 <= fan_in <= width {width} (never capped silently)"
        )
    density = int(fan_in) / width
    return [
        sp.random(
            width,
            width,
            density=density,
            format="csr",
            random_state=np.random.default_rng(hash_seed(seed, k)),
            data_rvs=np.ones,
        )
        for k in range(1, depth + 1)
    ]


def random_fixed_masks(
    width: int, depth: int, *, fan_in: int = 8, seed: int = 0
) -> list[sp.csr_matrix]:
    """Exactly ``fan_in`` random inputs per neuron (seeded)."""
    return [
        random_fixed_fan_in_mask(width, width, fan_in, seed=hash_seed(seed, k))
        for k in range(1, depth + 1)
    ]


def butterfly_masks(width: int, depth: int, *, radix: int = 2) -> list[sp.csr_matrix]:
    """Radix-``r`` butterfly stages, repeated cyclically to ``depth`` layers (fan-in ``r``)."""
    m = _digits(width, radix, "butterfly")
    i = np.arange(width)
    out = []
    for k in range(depth):
        place = radix ** (k % max(m, 1))
        digit = (i // place) % radix
        base = i - digit * place
        cols = (base[:, None] + np.arange(radix)[None, :] * place).ravel()
        out.append(_mask(np.repeat(i, radix), cols, (width, width)))
    return out


def parallel_butterfly_masks(
    width: int, depth: int, *, radix: int = 2, parallel: int = 4
) -> list[sp.csr_matrix]:
    """``parallel`` butterflies fully connected to each other: ``kron(J_p, B_s)`` (fan-in ``p r``)."""
    p = _parallel(width, parallel, "parallel_butterfly")
    return _expand(butterfly_masks(width // p, depth, radix=radix), p)


def radixnet_masks(
    width: int, depth: int, *, radix: int = 2, parallel: int = 1
) -> list[sp.csr_matrix]:
    """RadiX-Net mixed-radix layers of one radix, Kronecker-expanded by ``parallel``; stages repeat."""
    p = _parallel(width, parallel, "radixnet")
    m = _digits(width // p, radix, "radixnet")
    stages = mixed_radix_layers([[radix] * max(m, 1)])
    return _expand([stages[k % len(stages)] for k in range(depth)], p)


def clos_masks(width: int, depth: int, *, group: int = 8) -> list[sp.csr_matrix]:
    """Alternating local and strided dense groups: ``kron(I_s, J_r)``, ``kron(J_s, I_r)``, ..."""
    r = int(group)
    if r < 1 or width % r:
        raise NetworkError(f"clos: width {width} is not a multiple of group={r}")
    s = width // r
    local = sp.kron(sp.identity(s), np.ones((r, r)), format="csr")
    strided = sp.kron(np.ones((s, s)), sp.identity(r), format="csr")
    return [(local if k % 2 == 0 else strided).copy() for k in range(depth)]


def de_bruijn_masks(width: int, depth: int, *, degree: int = 2) -> list[sp.csr_matrix]:
    """Shuffle-exchange layers ``i -> (d i + t) mod width``, ``t = 0..d-1``."""
    d = int(degree)
    if not 2 <= d <= width:
        raise NetworkError(f"de_bruijn: degree must be between 2 and the width {width}, got {d}")
    i = np.arange(width)
    cols = ((i[:, None] * d + np.arange(d)[None, :]) % width).ravel()
    mask = _mask(np.repeat(i, d), cols, (width, width))
    return [mask.copy() for _ in range(depth)]


def dense_masks(width: int, depth: int) -> list[sp.csr_matrix]:
    """All-to-all layers."""
    return [sp.csr_matrix(np.ones((width, width))) for _ in range(depth)]


#: topology name -> mask generator ``(width, depth, **params)``
TOPOLOGIES: dict[str, Callable[..., list[sp.csr_matrix]]] = {
    "random": random_masks,
    "random_fixed": random_fixed_masks,
    "butterfly": butterfly_masks,
    "parallel_butterfly": parallel_butterfly_masks,
    "radixnet": radixnet_masks,
    "clos": clos_masks,
    "de_bruijn": de_bruijn_masks,
    "dense": dense_masks,
}


def topology_masks(
    topology: str | Callable[..., list[sp.csr_matrix]], width: int, depth: int, **params
) -> list[sp.csr_matrix]:
    """Masks of a named topology (or a callable with the same signature)."""
    if callable(topology):
        fn = topology
    else:
        try:
            fn = TOPOLOGIES[topology]
        except KeyError:
            raise NetworkError(
                f"neurofabric: unknown topology {topology!r}; expected one of {', '.join(TOPOLOGIES)}"
            ) from None
    if int(width) != width or width < 1 or int(depth) != depth or depth < 1:
        raise NetworkError(
            f"neurofabric: width and depth must be positive integers, got {width!r}, {depth!r}"
        )
    try:
        return fn(int(width), int(depth), **params)
    except TypeError as exc:
        raise NetworkError(
            f"neurofabric: bad parameters for topology {topology!r} ({exc})"
        ) from None


def neurofabric_network(
    topology: str | Callable[..., list[sp.csr_matrix]],
    width: int,
    depth: int,
    *,
    seed: int = 0,
    gain: float = 2.0,
    cap: float = np.inf,
    **params,
) -> Network:
    """A layered ReLU network on a NeuroFabric topology with sparse initialisation.

    Parameters
    ----------
    topology : str or callable
        A key of :data:`TOPOLOGIES`.
    width, depth : int
        Neurons per layer and number of layers.
    seed : int
        Seeds the topology (for random ones) and the weights.
    gain : float
        Variance scale of :func:`~neurosim.topology.fixed_fan_in.sparse_init`.
    **params
        Topology parameters (``fan_in``, ``radix``, ``parallel``, ``degree``).
    """
    try:
        w_, d_ = int(width), int(depth)
    except (TypeError, ValueError):
        raise NetworkError(f"neurofabric: width {width!r} and depth {depth!r}; expected integers") from None
    if w_ < 1 or d_ < 1:
        raise NetworkError(f"neurofabric: width {w_} and depth {d_}; expected both >= 1")
    # synapses known up front for the random topologies (fan_in per neuron); others build per layer
    fan = int(params["fan_in"]) if isinstance(params.get("fan_in"), (int, np.integer)) else 0
    check_size("neurofabric", w_ * (d_ + 1), w_ * fan * d_)
    if not callable(topology) and topology in ("random", "random_fixed"):
        params.setdefault("seed", hash_seed(seed, 0))
    masks = topology_masks(topology, width, depth, **params)
    weights = [
        sparse_init(m, seed=hash_seed(seed, k, 1), gain=gain) for k, m in enumerate(masks, start=1)
    ]
    name = topology if isinstance(topology, str) else getattr(topology, "__name__", "custom")
    meta = {
        "generator": "neurofabric",
        "topology": name,
        "width": int(width),
        "depth": int(depth),
        "seed": int(seed),
        "params": {
            k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in params.items()
        },
        "init": f"sparse normal, variance {gain} / fan-in of each neuron",
    }
    return Network.from_layers(
        weights, None, NeuronModel("relu", {"cap": cap}), name=f"neurofabric-{name}", metadata=meta
    )
