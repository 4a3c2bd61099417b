"""Random sparse layers with a fixed fan-in, and the sparse initialisation.

Every post neuron draws exactly ``fan_in`` distinct pre neurons uniformly at
random (seeded). Weights come from :func:`sparse_init`, which scales each
neuron's weight variance by its *actual* fan-in (Isakov and Kinsy,
"NeuroFabric", 2020): ``W_ij ~ N(0, gain / fan_in_j)``, the He initialisation
applied per neuron instead of per layer, so signal variance is preserved
through deep a-priori sparse networks whatever the topology.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.network import Network
from neurosim.neurons import NeuronModel

#: largest population a generator builds (int32 CSR indices)
MAX_LAYER = 2**31 - 1
#: most neurons and synapses a generator builds in memory (about 16 GiB of CSR arrays)
MAX_NEURONS = 2**28
MAX_SYNAPSES = 2**31 - 1

__all__ = [
    "MAX_LAYER",
    "MAX_NEURONS",
    "MAX_SYNAPSES",
    "check_size",
    "hash_seed",
    "random_fixed_fan_in_mask",
    "random_network",
    "sparse_init",
]


def check_size(generator: str, n_neurons: int, n_synapses: int) -> None:
    """Refuse a network too large to build before any array is allocated.

    Raises
    ------
    NetworkError
        One line naming the generator, the count and the bound.
    """
    if n_neurons > MAX_NEURONS:
        raise NetworkError(f"{generator}: {n_neurons:,} neurons; expected at most {MAX_NEURONS:,}")
    if n_synapses > MAX_SYNAPSES:
        raise NetworkError(f"{generator}: {n_synapses:,} synapses; expected at most {MAX_SYNAPSES:,}")


def random_fixed_fan_in_mask(n_pre: int, n_post: int, fan_in: int, seed: int = 0) -> sp.csr_matrix:
    """A 0/1 ``n_pre x n_post`` mask with exactly ``fan_in`` ones per column.

    Examples
    --------
    >>> m = random_fixed_fan_in_mask(100, 10, 5, seed=0)
    >>> sorted(set(np.diff(m.tocsc().indptr)))
    [5]
    """
    n_pre, n_post, k = int(n_pre), int(n_post), int(fan_in)
    if n_pre < 1 or n_post < 1:
        raise NetworkError(f"random topology: layer sizes must be >= 1, got {n_pre} x {n_post}")
    if not 1 <= k <= n_pre:
        raise NetworkError(f"random topology: fan-in {k} must be between 1 and the {n_pre} inputs")
    rng = np.random.default_rng(seed)
    if k * 4 >= n_pre:
        # dense-ish: rank random keys per column
        rows = np.argpartition(rng.random((n_post, n_pre)), k - 1, axis=1)[:, :k]
    else:
        # sparse: draw with replacement and redraw duplicates (few when k << n_pre)
        rows = rng.integers(0, n_pre, size=(n_post, k))
        while True:
            s = np.sort(rows, axis=1)
            dup = np.zeros_like(rows, dtype=bool)
            dup[:, 1:] = s[:, 1:] == s[:, :-1]
            if not dup.any():
                rows = s
                break
            rows = s
            rows[dup] = rng.integers(0, n_pre, size=int(dup.sum()))
    cols = np.repeat(np.arange(n_post), k)
    m = sp.csr_matrix((np.ones(cols.size), (rows.ravel(), cols)), shape=(n_pre, n_post))
    m.data[:] = 1.0
    return m


def sparse_init(
    mask: sp.spmatrix, *, seed: int = 0, gain: float = 2.0, distribution: str = "normal"
) -> sp.csr_matrix:
    """Weights on the nonzeros of ``mask`` with variance ``gain / (actual fan-in of the post neuron)``.

    Parameters
    ----------
    mask : sparse matrix (n_pre, n_post)
        Where synapses exist (nonzero entries).
    seed : int
    gain : float
        2 for ReLU (He), 1 for linear (LeCun).
    distribution : {"normal", "uniform"}

    Returns
    -------
    csr_matrix
        Same structure as ``mask``; a column with no input stays empty.
    """
    m = sp.csr_matrix(mask, dtype=np.float64, copy=True)
    m.eliminate_zeros()
    m.sum_duplicates()
    fan_in = np.diff(m.tocsc().indptr).astype(np.float64)
    std = np.sqrt(gain / np.maximum(fan_in, 1.0))[m.indices]
    rng = np.random.default_rng(seed)
    if distribution == "normal":
        m.data = rng.standard_normal(m.nnz) * std
    elif distribution == "uniform":
        m.data = rng.uniform(-1.0, 1.0, m.nnz) * std * np.sqrt(3.0)
    else:
        raise NetworkError(
            f"sparse_init: unknown distribution {distribution!r}; expected normal or uniform"
        )
    m.data[m.data == 0] = np.finfo(np.float64).tiny  # keep the structure
    return m


def random_network(
    layer_sizes: Sequence[int],
    fan_in: int,
    *,
    seed: int = 0,
    gain: float = 2.0,
    cap: float = np.inf,
    name: str = "random",
) -> Network:
    """A layered ReLU network of random fixed-fan-in layers with sparse initialisation.

    Parameters
    ----------
    layer_sizes : sequence of int
        Population sizes, input first (``len - 1`` weight layers).
    fan_in : int
        Inputs per neuron, at most the size of every layer but the last (a
        larger fan-in is an error, not capped).
    seed : int
        Layer ``i`` uses seeds derived from ``(seed, i)``.
    """
    try:
        sizes = [int(s) for s in layer_sizes]
        k = int(fan_in)
    except (TypeError, ValueError):
        raise NetworkError(
            f"random topology: layer_sizes {layer_sizes!r} and fan_in {fan_in!r}; expected integers"
        ) from None
    if len(sizes) < 2:
        raise NetworkError(f"random topology: needs at least two layer sizes, got {sizes}")
    if min(sizes) < 1 or max(sizes) > MAX_LAYER:
        raise NetworkError(f"random topology: layer_sizes {sizes}; expected sizes in 1..{MAX_LAYER}")
    if k < 1 or k > min(sizes[:-1]):
        small = int(np.argmin(sizes[:-1]))
        raise NetworkError(
            f"random topology: fan_in {k}; expected 1 <= fan_in <= {sizes[small]} "
            f"(the size of layer {small}, the smallest that feeds another; fan-in is never capped silently)"
        )
    check_size("random topology", sum(sizes), sum(sizes[1:]) * k)
    weights = []
    for layer in range(1, len(sizes)):
        mask = random_fixed_fan_in_mask(
            sizes[layer - 1], sizes[layer], k, seed=hash_seed(seed, layer, 0)
        )
        weights.append(sparse_init(mask, seed=hash_seed(seed, layer, 1), gain=gain))
    meta = {
        "generator": "random",
        "fan_in": int(fan_in),
        "seed": int(seed),
        "sizes": sizes,
        "init": f"sparse normal, gain {gain}",
    }
    return Network.from_layers(
        weights, None, NeuronModel("relu", {"cap": cap}), name=name, metadata=meta
    )


def hash_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed derived deterministically from ``seed`` and ``keys``.

    Raises
    ------
    NetworkError
        When ``seed`` is not a non-negative integer (one line, naming it).
    """
    try:
        value = int(seed)
    except (TypeError, ValueError, OverflowError):
        value = -1
    if value < 0 or value != seed:
        raise NetworkError(f"topology seed {seed!r}; expected a non-negative integer")
    return int(
        np.random.SeedSequence([value, *map(int, keys)]).generate_state(1, np.uint64)[0] >> 1
    )
