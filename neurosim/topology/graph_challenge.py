"""Sparse DNN Graph Challenge networks of any challenge size, generated lazily.

The official networks (Kepner et al., IEEE HPEC 2019) have ``N`` in
{1024, 4096, 16384, 65536} neurons per layer and ``L`` in {120, 480, 1920}
layers; every weight is 1/16, every row and column has 32 nonzeros, the bias
is -0.3, -0.35, -0.4, -0.45 for the four sizes, and the ReLU is capped at 32.

Construction (verified against the official 1024-neuron files):

* ``N = 16 M`` with ``M = 2^K``; the first ``K`` layers are the RadiX-Net
  ``(1/16) kron(J_16, I_M + S_k)``, ``S_k = roll(I_M, -2^(k-1), axis=1)``,
  ``k = 1..K`` (``K = 6`` for N = 1024: exactly the official layers 1-6).
* Layers repeat in blocks of ``K``: layer ``l`` uses ``k = (l - 1) mod K + 1``
  and block ``b = (l - 1) // K``. In the official 1024-neuron network, every
  layer of block ``b >= 1`` is the block-0 layer with its *rows* (input
  neurons) permuted by one permutation per block, shared by the ``K`` layers
  of the block; the columns are not relabelled. (Read off the data: rows with
  identical column sets fall into the same classes in all six layers of a
  block, and the column classes are exactly ``j mod 64`` in every layer.) The
  official permutations come from the organisers' random generator and cannot
  be recovered beyond those classes; generated networks use
  ``numpy.random.default_rng([seed, b]).permutation(N)`` for block ``b``.
  Row permutations keep every row and column degree at 32.

Layers are built one at a time (a 65536-neuron layer holds 2.1e6 nonzeros,
about 25 MB), so the 65536 x 1920 network (4.0e9 edges) streams without being
held in memory.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.neurons import NeuronModel
from neurosim.topology.lazy import LazyLayeredNetwork

__all__ = [
    "CHALLENGE_BIAS",
    "CHALLENGE_CAP",
    "CHALLENGE_LAYERS",
    "CHALLENGE_WEIGHT",
    "challenge_bias",
    "challenge_layer",
    "graph_challenge_network",
]

#: bias of every neuron, by network size (neurons per layer)
CHALLENGE_BIAS: dict[int, float] = {1024: -0.3, 4096: -0.35, 16384: -0.4, 65536: -0.45}
#: the official depths
CHALLENGE_LAYERS: tuple[int, ...] = (120, 480, 1920)
#: ReLU cap of the challenge
CHALLENGE_CAP: float = 32.0
#: value of every nonzero weight
CHALLENGE_WEIGHT: float = 1.0 / 16.0
_BLOCK = 16  # size of the all-ones Kronecker factor J_16


def _check_size(n_neurons: int) -> int:
    n = int(n_neurons)
    m = n // _BLOCK
    if n != n_neurons or n % _BLOCK or m < 2 or m & (m - 1):
        raise NetworkError(
            f"graph challenge: --neurons {n_neurons!r} must be 16 x a power of two >= 32 "
            f"(the challenge sizes are {', '.join(map(str, CHALLENGE_BIAS))})"
        )
    return n


def challenge_bias(n_neurons: int) -> float:
    """The official bias for a network of ``n_neurons`` per layer.

    Raises
    ------
    NetworkError
        For a size that is not one of the challenge's (pass a bias explicitly).
    """
    try:
        return CHALLENGE_BIAS[int(n_neurons)]
    except (KeyError, ValueError, TypeError):
        raise NetworkError(
            f"graph challenge: no official bias for {n_neurons} neurons; expected one of "
            f"{', '.join(map(str, CHALLENGE_BIAS))} or an explicit bias"
        ) from None


def challenge_layer(n_neurons: int, layer: int, seed: int = 0) -> sp.csr_matrix:
    """Weights of layer ``layer`` (1-based) of the generated challenge network.

    Parameters
    ----------
    n_neurons : int
        ``N = 16 * 2^K``.
    layer : int
        1-based layer index; any positive integer.
    seed : int
        Seed of the row permutations of blocks ``b >= 1`` (layers ``> K``).

    Returns
    -------
    csr_matrix, shape (N, N), 32 nonzeros of value 1/16 per row and column

    Examples
    --------
    >>> w = challenge_layer(1024, 1)
    >>> w.nnz, w.data.min(), w.data.max()
    (32768, 0.0625, 0.0625)
    """
    n = _check_size(n_neurons)
    if int(layer) != layer or layer < 1:
        raise NetworkError(f"graph challenge: layer must be a positive integer, got {layer!r}")
    m = n // _BLOCK
    k_per_block = m.bit_length() - 1
    k = (layer - 1) % k_per_block + 1
    block = (layer - 1) // k_per_block
    shift = 2 ** (k - 1)
    rows = np.arange(n) if block == 0 else np.random.default_rng([int(seed), block]).permutation(n)
    r = rows % m
    # row i has ones in columns c*m + r and c*m + (r - shift) mod m, c = 0..15
    offsets = np.arange(_BLOCK) * m
    cols = np.concatenate(
        [r[:, None] + offsets[None, :], ((r - shift) % m)[:, None] + offsets[None, :]], axis=1
    )
    cols.sort(axis=1)
    indptr = np.arange(0, 2 * _BLOCK * n + 1, 2 * _BLOCK, dtype=np.int64)
    data = np.full(cols.size, CHALLENGE_WEIGHT)
    return sp.csr_matrix((data, cols.ravel(), indptr), shape=(n, n))


def graph_challenge_network(
    n_neurons: int = 1024,
    n_layers: int = 120,
    *,
    seed: int = 0,
    bias: float | None = None,
    cap: float = CHALLENGE_CAP,
) -> LazyLayeredNetwork:
    """A lazily generated Graph Challenge network.

    Parameters
    ----------
    n_neurons : int
        Neurons per layer (challenge sizes 1024, 4096, 16384, 65536; any 16 x 2^K >= 32 works).
    n_layers : int
        Number of layers (challenge depths 120, 480, 1920; any positive number works).
    seed : int
        Seed of the row permutations of layers beyond the first block.
    bias : float, optional
        Default: the official bias for ``n_neurons``.
    cap : float
        ReLU cap (32 in the challenge).

    Returns
    -------
    LazyLayeredNetwork
        Use ``.layers()`` to stream, ``.to_network()`` for small ones.
    """
    n = _check_size(n_neurons)
    if int(n_layers) != n_layers or n_layers < 1:
        raise NetworkError(
            f"graph challenge: --layers must be a positive integer, got {n_layers!r}"
        )
    b = challenge_bias(n) if bias is None else float(bias)
    seed = int(seed)

    def weight_fn(layer: int) -> sp.csr_matrix:
        return challenge_layer(n, layer, seed)

    def bias_fn(layer: int) -> float:
        return b

    meta = {
        "generator": "graph_challenge",
        "n_neurons": n,
        "n_layers": int(n_layers),
        "seed": seed,
        "bias": b,
        "cap": float(cap),
        "relabelling": "rows of block b >= 1 permuted by numpy.random.default_rng([seed, b]).permutation(N)",
    }
    return LazyLayeredNetwork(
        (n,) * (int(n_layers) + 1),
        weight_fn,
        bias_fn,
        NeuronModel("relu", {"cap": float(cap)}),
        name=f"graph-challenge-n{n}-l{int(n_layers)}",
        metadata=meta,
    )
