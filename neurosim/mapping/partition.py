"""Partition the neurons of one population into cores: the strategy registry.

A strategy is a function ``strategy(inputs, profile, limits, *, seed) ->
ndarray`` returning, for each neuron of the population, a local core index
``0 .. k-1`` (every index used). ``inputs`` is the population's stacked input
matrix (:func:`neurosim.mapping.limits.incoming`), shape ``(n_inputs,
n_neurons)``. Strategies must respect ``core.max_neurons``, ``core.max_axons``
and ``core.synapse_memory_bits`` wherever one neuron alone fits a core; the
design rules (:mod:`neurosim.mapping.rules`) check the result either way, so a
user-supplied callable that breaks a limit is reported, not trusted.

One core holds neurons of one population only (the rule of nengo-loihi,
PACMAN and TrueNorth corelets: a core shares one neuron configuration and one
set of input axons), so each population is partitioned on its own. The one
exception: when that needs more cores than the system has (``chip.n_cores x
chip.max_chips``; single-core chips such as Xylo hold every layer on their
one core), :func:`merge_cores` packs partly filled cores together.

Strategies (:data:`STRATEGIES`):

``sequential``
    Neurons in index order, a core closed as soon as the next neuron would
    exceed a limit (nengo-loihi, PACMAN). ``O(nnz log nnz)``.
``axon_sharing``
    Greedy: a core is seeded with the first unassigned neuron and grown with
    the neurons that add the fewest new input axons (candidates drawn from a
    window of the next ``4 x max_neurons`` unassigned neurons, in batches
    that at most double the core; overlaps kept up to date incrementally, so
    each core costs ``O(nnz of its window)``). The in-order packing is kept
    instead when it needs fewer cores, or as many and fewer axons in all (on
    locally connected layers in-order is already near optimal). On crossbar
    cores (256 axons) this decides how many cores a sparse layer needs.
``metis``
    pymetis k-way partition of the co-input graph (neurons joined by the
    number of inputs they share), so that cut edges, i.e. spikes copied to
    several cores, are few; ``k`` starts at the lower bound, parts that break
    a limit are re-packed by ``axon_sharing``, and metis is run once more with
    the repaired count when that is better.
``spread``
    Fault tolerance: the population is spread in index order over
    ``min(n, SPREAD_FACTOR x lower bound)`` cores (at most ``ceil(n / k)``
    neurons each), so that one
    dead core costs a small fraction of every layer instead of whole layers
    (:mod:`neurosim.faults`; more cores, more packets).
``crossbar``
    Best of in-order, ``axon_sharing`` and greedy packers of the layer's
    quotient (neurons with identical inputs x inputs with identical targets),
    which reach the optimum on residue-structured layers such as the Graph
    Challenge's (:mod:`neurosim.mapping.crossbar`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import CoreLimits, ceil_div, memory_bits
from neurosim.mapping.packing import _fits, axon_sharing, pack_in_order, total_axons
from neurosim.util.registry import Registry

__all__ = [
    "STRATEGIES",
    "Strategy",
    "axon_sharing",
    "crossbar",
    "lower_bound",
    "merge_cores",
    "metis",
    "pack_in_order",
    "register_strategy",
    "resolve_strategy",
    "sequential",
    "spread",
    "total_axons",
]

Strategy = Callable[..., np.ndarray]


# --------------------------------------------------------------- helpers
def sequential(
    inputs: sp.csc_matrix, profile: ChipProfile, limits: CoreLimits, *, seed: int = 0
) -> np.ndarray:
    """Neurons in index order (see the module docstring). ``seed`` is unused."""
    return pack_in_order(inputs, np.arange(inputs.shape[1]), profile, limits)


def metis(
    inputs: sp.csc_matrix,
    profile: ChipProfile,
    limits: CoreLimits,
    *,
    seed: int = 0,
    max_graph_edges: int = 50_000_000,
) -> np.ndarray:
    """pymetis k-way partition of the co-input graph, repaired to the limits.

    Parameters
    ----------
    max_graph_edges : int
        The co-input graph ``A^T A`` grows with fan-in x fan-out; above this
        many edges a :class:`MappingError` suggests ``axon_sharing`` instead.
    """
    import pymetis

    n = inputs.shape[1]
    k = lower_bound(inputs, profile, limits)
    if k <= 1 or n <= 1:
        return pack_in_order(inputs, np.arange(n), profile, limits)
    b = sp.csc_matrix(
        (np.ones(inputs.nnz, dtype=np.int64), inputs.indices, inputs.indptr), shape=inputs.shape
    )
    est = int((np.diff(sp.csr_matrix(b).indptr) ** 2).sum())
    if est > max_graph_edges:
        raise MappingError(
            f"metis: the co-input graph would have ~{est:,} edges (limit {max_graph_edges:,}); "
            "use the axon_sharing partition strategy for networks this large"
        )
    g = sp.csr_matrix(b.T @ b)
    g.setdiag(0)
    g.eliminate_zeros()
    adjacency = pymetis.CSRAdjacency(g.indptr.astype(np.int64), g.indices.astype(np.int64))
    eweights = g.data.astype(np.int64)

    def attempt(n_parts: int) -> np.ndarray:
        opts = pymetis.Options(seed=int(seed) % (2**31), ufactor=30)
        _, parts = pymetis.part_graph(n_parts, adjacency, eweights=eweights, options=opts)
        parts = np.asarray(parts, dtype=np.int64)
        # repair: parts that break a limit are re-packed by axon sharing into several cores
        out = np.empty(n, dtype=np.int64)
        base = 0
        for p in np.unique(parts):
            idx = np.flatnonzero(parts == p)
            local = axon_sharing(inputs[:, idx], profile, limits, seed=seed)
            out[idx] = base + local
            base += int(local.max()) + 1
        return out

    best = attempt(k)
    used = int(best.max()) + 1
    if used > k and used <= n:
        # metis' k was too small for the axon limits: retry with the repaired count
        second = attempt(used)
        if int(second.max()) + 1 < used:
            best = second
    return best


def _used_rows(inputs: sp.spmatrix) -> int:
    """Rows of ``inputs`` with a stored entry (a CSC matrix: one pass, no transpose)."""
    if inputs.format != "csc":
        return int(np.count_nonzero(np.diff(sp.csr_matrix(inputs).indptr)))
    used = np.zeros(inputs.shape[0], dtype=bool)
    used[inputs.indices] = True
    return int(np.count_nonzero(used))


def lower_bound(inputs: sp.csc_matrix, profile: ChipProfile, limits: CoreLimits) -> int:
    """Fewest cores any partition of this population can use.

    ``max`` over resources of ``ceil(total / capacity)``: neurons over
    ``core.max_neurons``; distinct input axons (each presynaptic neuron needs
    at least one) over ``core.max_axons``; and the synapse store of all
    synapses (one axon per synapse and one neuron per synapse at best) over
    ``core.synapse_memory_bits``; and the neurons one core can host given
    which inputs they share (:func:`neurosim.mapping.crossbar.quotient_bound`).
    """
    n = inputs.shape[1]
    if n == 0:
        return 0
    used_rows = _used_rows(inputs)
    bounds = [ceil_div(n, limits.max_neurons), ceil_div(used_rows, limits.max_axons)]
    if limits.memory_bits is not None and inputs.nnz:
        # the least memory the synapses can take: each stored once
        one = memory_bits(profile, np.array([1]), np.array([1]), np.array([1]))[0]
        bounds.append(ceil_div(int(one) * inputs.nnz, limits.memory_bits))
    if used_rows > limits.max_axons:
        # only a binding axon limit makes shared inputs matter; else the quotient
        # bound is at most the neuron bound above (and costs a pass over the synapses);
        # imported here: crossbar loads scipy.sparse.csgraph (~0.1 s)
        from neurosim.mapping.crossbar import quotient_bound

        bounds.append(quotient_bound(inputs, limits))
    return max(1, max(bounds))


#: cores per population under ``spread``, as a multiple of the population's lower bound
SPREAD_FACTOR = 4


def spread(
    inputs: sp.csc_matrix,
    profile: ChipProfile,
    limits: CoreLimits,
    *,
    seed: int = 0,
    factor: int = SPREAD_FACTOR,
) -> np.ndarray:
    """Neurons in index order over ``k = min(n, factor x lower bound)`` cores, ``ceil(n / k)`` at most each.

    Each core also respects every limit (a core closes early at a limit, as
    in ``sequential``). ``seed`` is unused.
    """
    n = inputs.shape[1]
    k = min(n, int(factor) * lower_bound(inputs, profile, limits))
    cap = dataclasses.replace(limits, max_neurons=max(1, ceil_div(n, max(k, 1))))
    return pack_in_order(inputs, np.arange(n), profile, cap)


def crossbar(
    inputs: sp.csc_matrix, profile: ChipProfile, limits: CoreLimits, *, seed: int = 0
) -> np.ndarray:
    """Crossbar packing (:func:`neurosim.mapping.crossbar.crossbar_pack`)."""
    from neurosim.mapping.crossbar import crossbar_pack

    return crossbar_pack(inputs, profile, limits, seed=seed)


# -------------------------------------------------------------- registry
STRATEGIES: Registry = Registry(
    "partition strategy",
    MappingError,
    {
        "sequential": sequential,
        "axon_sharing": axon_sharing,
        "metis": metis,
        "spread": spread,
        "crossbar": crossbar,
    },
    lazy=False,
)


def register_strategy(name: str, func: Strategy) -> None:
    """Add a strategy under a new name (registering a name twice is an error)."""
    STRATEGIES.register(name, func)


def resolve_strategy(strategy: str | Strategy) -> tuple[str, Strategy]:
    """``(name, function)`` for a registered name or a callable."""
    func = STRATEGIES.resolve(strategy)
    name = strategy if isinstance(strategy, str) else getattr(strategy, "__name__", "custom")
    return name, func


def merge_cores(
    core_of: dict[str, np.ndarray],
    n_cores: int,
    neurons: np.ndarray,
    axons: np.ndarray,
    synapses: np.ndarray,
    profile: ChipProfile,
    limits: CoreLimits,
) -> tuple[dict[str, np.ndarray], int]:
    """Merge partly filled cores of different populations, first-fit decreasing.

    Used only when one population per core needs more cores than the system
    has (single-core chips such as Xylo hold every layer on their one core).
    A merged core's axons are taken as the sum of its parts' (an upper bound:
    two populations fed by the same source may share axons), so the merged
    cores respect ``core.max_neurons``, ``core.max_axons`` and
    ``core.synapse_memory_bits``. Loops over cores, not neurons.

    Returns
    -------
    core_of : dict of str to ndarray
        Renumbered assignment (``-1`` kept for inputs).
    n_cores : int
    """
    order = np.argsort(-neurons, kind="stable")
    bins_n: list[int] = []
    bins_a: list[int] = []
    bins_s: list[int] = []
    new_id = np.empty(n_cores, dtype=np.int64)
    for c in order.tolist():
        placed = False
        if bins_n:
            bn = np.asarray(bins_n) + neurons[c]
            ba = np.asarray(bins_a) + axons[c]
            bs = np.asarray(bins_s) + synapses[c]
            ok = np.flatnonzero(_fits(profile, limits, ba, bn, bs))
            if ok.size:
                b = int(ok[0])
                bins_n[b], bins_a[b], bins_s[b] = int(bn[b]), int(ba[b]), int(bs[b])
                new_id[c] = b
                placed = True
        if not placed:
            new_id[c] = len(bins_n)
            bins_n.append(int(neurons[c]))
            bins_a.append(int(axons[c]))
            bins_s.append(int(synapses[c]))
    out = {k: np.where(v >= 0, new_id[np.maximum(v, 0)], -1) for k, v in core_of.items()}
    return out, len(bins_n)
