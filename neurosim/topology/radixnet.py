"""RadiX-Net sparse topologies (Robinett and Kepner, "Neural Network Topologies
for Sparse Training", 2018).

A mixed-radix numeral system ``(N_1, ..., N_L)`` with ``N' = N_1 ... N_L``
gives ``L`` layers of ``N' x N'`` 0/1 matrices::

    W_l = sum_{n=0}^{N_l - 1} roll(I_{N'}, -n * nu_l, axis=1),   nu_l = N_1 ... N_{l-1}

so that every input reaches every output through exactly one path per system.
Several systems may be concatenated (each must have product ``N'``, except the
last, whose product must divide ``N'``). The Kronecker expansion replaces each
layer by ``kron(J_{B_l x B_{l+1}}, W_l)`` (all-ones blocks), giving layers of
``B_l N'`` neurons. With ``radices=[[2] * 6]`` and ``B = [16] * 7`` this is
exactly layers 1-6 of the 1024-neuron Sparse DNN Graph Challenge network
(after scaling by 1/16).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.topology.fixed_fan_in import check_size

__all__ = ["mixed_radix_layers", "radixnet_layers", "radixnet_network", "validate_radices"]


def validate_radices(radices: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """Check a list of mixed-radix systems; return it as tuples of ints.

    Raises
    ------
    NetworkError
        When a radix is < 1, a system is empty, or the products do not match.
    """
    systems = tuple(tuple(int(r) for r in system) for system in radices)
    if not systems or any(not s for s in systems):
        raise NetworkError(
            f"radixnet: radices must be a non-empty list of non-empty lists, got {radices!r}"
        )
    if any(r < 1 for s in systems for r in s):
        raise NetworkError(f"radixnet: every radix must be >= 1, got {radices!r}")
    n = prod(systems[0])
    check_size("radixnet", n * (sum(len(sy) for sy in systems) + 1), n * sum(sum(sy) for sy in systems))
    for i, s in enumerate(systems[:-1]):
        if prod(s) != n:
            raise NetworkError(
                f"radixnet: radix system {i + 1} {list(s)} has product {prod(s)}; expected {n} (the first system's)"
            )
    if n % prod(systems[-1]):
        raise NetworkError(
            f"radixnet: last radix system {list(systems[-1])} has product {prod(systems[-1])}, "
            f"which does not divide {n}"
        )
    return systems


def mixed_radix_layers(radices: Sequence[Sequence[int]]) -> list[sp.csr_matrix]:
    """The 0/1 layers of an (extended) mixed-radix network.

    Parameters
    ----------
    radices : list of lists of int
        The numeral systems, e.g. ``[[2, 2, 2]]`` or ``[[4, 4], [2, 8]]``.

    Returns
    -------
    list of csr_matrix, each ``N' x N'`` with ``N_l`` ones per row and column

    Examples
    --------
    >>> [w.nnz for w in mixed_radix_layers([[2, 3]])]
    [12, 18]
    """
    systems = validate_radices(radices)
    n = prod(systems[0])
    rows = np.arange(n)
    layers = []
    for system in systems:
        place = 1
        for radix in system:
            shifts = np.arange(radix) * place
            # roll(I, -s, axis=1) puts row i's one in column (i - s) mod n
            r = np.repeat(rows, radix)
            c = (r - np.tile(shifts, n)) % n
            w = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, n))
            w.sum_duplicates()
            w.data[:] = 1.0
            layers.append(w)
            place *= radix
    return layers


def radixnet_layers(
    radices: Sequence[Sequence[int]], kron_sizes: Sequence[int] | None = None
) -> list[sp.csr_matrix]:
    """RadiX-Net layers: mixed-radix layers expanded by all-ones Kronecker blocks.

    Parameters
    ----------
    radices : list of lists of int
    kron_sizes : sequence of int, optional
        ``B_1 .. B_{L+1}`` (one more than the number of layers); layer ``l``
        becomes ``kron(ones(B_l, B_{l+1}), W_l)``. Default: all ones (no expansion).

    Returns
    -------
    list of csr_matrix (0/1 valued), layer ``l`` of shape ``(B_l N', B_{l+1} N')``
    """
    base = mixed_radix_layers(radices)
    if kron_sizes is None:
        return base
    b = [int(x) for x in kron_sizes]
    if len(b) != len(base) + 1:
        raise NetworkError(
            f"radixnet: {len(b)} Kronecker sizes for {len(base)} layers; expected {len(base) + 1}"
        )
    if min(b) < 1:
        raise NetworkError(f"radixnet: Kronecker sizes must be >= 1, got {b}")
    n = base[0].shape[0]
    check_size(
        "radixnet", sum(b) * n, sum(b[i] * b[i + 1] * w.nnz for i, w in enumerate(base))
    )
    return [sp.kron(np.ones((b[i], b[i + 1])), w, format="csr") for i, w in enumerate(base)]


def radixnet_network(
    radices: Sequence[Sequence[int]],
    kron_sizes: Sequence[int] | None = None,
    *,
    weight: float | None = None,
    bias: float = 0.0,
    cap: float = np.inf,
    name: str = "radixnet",
    seed: int | None = None,
) -> Network:
    """A RadiX-Net as a layered ReLU :class:`~neurosim.network.Network`.

    Parameters
    ----------
    radices, kron_sizes : see :func:`radixnet_layers`
    weight : float, optional
        Value of every nonzero. Default: ``1 / B`` when every Kronecker size
        equals ``B`` (the Graph Challenge's 1/16 for ``B = 16``), else 1.
    bias : float
        Bias of every non-input neuron.
    cap : float
        ReLU cap (``inf`` for none; the Graph Challenge uses 32).
    seed : int, optional
        Accepted for a uniform generator signature; RadiX-Nets are deterministic.
    """
    layers = radixnet_layers(radices, kron_sizes)
    if weight is None:
        ks = set(kron_sizes or [1])
        weight = 1.0 / ks.pop() if len(ks) == 1 else 1.0
    weights = [w * float(weight) for w in layers]
    model = NeuronModel("relu", {"cap": cap})
    meta = {
        "generator": "radixnet",
        "radices": [list(s) for s in validate_radices(radices)],
        "kron_sizes": list(kron_sizes) if kron_sizes is not None else None,
        "weight": float(weight),
        "bias": float(bias),
        "cap": float(cap) if np.isfinite(cap) else None,
    }
    return Network.from_layers(weights, [bias] * len(weights), model, name=name, metadata=meta)
