"""A layered feed-forward network whose layers are produced on demand.

:class:`LazyLayeredNetwork` is what generators and readers of very large
layered networks return (the 65536-neuron x 1920-layer Graph Challenge network
has 4.0e9 edges): it holds a function that builds layer ``k``'s weight matrix
and never keeps more than one layer in memory. It iterates like
:meth:`neurosim.network.Network.layers` (``(projection, target population)``
pairs, in order), and :meth:`LazyLayeredNetwork.to_network` materialises a
small one as a regular :class:`~neurosim.network.Network`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel

__all__ = ["LazyLayeredNetwork"]


@dataclass(frozen=True, eq=False)
class LazyLayeredNetwork:
    """A chain ``input -> layer1 -> ... -> layerL`` built one layer at a time.

    Parameters
    ----------
    sizes : tuple of int
        Population sizes, ``n_layers + 1`` of them (input first).
    weight_fn : callable ``(k) -> sparse matrix``
        Weights of layer ``k`` (1-based), shape ``(sizes[k-1], sizes[k])``.
        Called each time the layer is needed; it must be deterministic.
    bias_fn : callable ``(k) -> float or array``
        Bias of the neurons of layer ``k``.
    model : NeuronModel
        Model of every non-input population (the challenge uses ReLU capped at 32).
    name : str
    metadata : mapping
        JSON-serialisable facts (generator, seed, ...).

    Examples
    --------
    >>> import numpy as np
    >>> lazy = LazyLayeredNetwork((3, 3, 3), lambda k: np.eye(3), lambda k: -0.5,
    ...                           NeuronModel("relu", {"cap": 32.0}))
    >>> [proj.n_synapses for proj, _ in lazy.layers()]
    [3, 3]
    """

    sizes: tuple[int, ...]
    weight_fn: Callable[[int], Any]
    bias_fn: Callable[[int], Any]
    model: NeuronModel
    name: str = "network"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes = tuple(int(s) for s in self.sizes)
        if len(sizes) < 2 or min(sizes) <= 0:
            raise NetworkError(
                f"network {self.name}: needs at least an input and one layer, got sizes {sizes}"
            )
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self.sizes) - 1

    @property
    def n_neurons(self) -> int:
        """Neurons in all non-input populations."""
        return int(sum(self.sizes[1:]))

    def population_name(self, k: int) -> str:
        """Name of population ``k`` (0 = ``input``, then ``layer1`` ...)."""
        return "input" if k == 0 else f"layer{k}"

    def weights(self, k: int) -> sp.csr_matrix:
        """Weight matrix of layer ``k`` (1-based) as canonical CSR float64."""
        if not 1 <= k <= self.n_layers:
            raise NetworkError(f"network {self.name}: no layer {k}; expected 1..{self.n_layers}")
        w = self.weight_fn(k)
        w = sp.csr_matrix(w, dtype=np.float64)
        expected = (self.sizes[k - 1], self.sizes[k])
        if w.shape != expected:
            raise NetworkError(
                f"network {self.name}: layer {k} weights have shape {w.shape}; expected {expected}"
            )
        return w

    def bias(self, k: int) -> np.ndarray:
        """Bias of the neurons of layer ``k`` (1-based), shape ``(sizes[k],)``."""
        b = np.asarray(self.bias_fn(k), dtype=np.float64)
        return np.broadcast_to(b, (self.sizes[k],)).copy() if b.ndim == 0 else b

    def layer(self, k: int) -> tuple[Projection, Population]:
        """``(projection, target population)`` of layer ``k`` (1-based)."""
        pop = Population(self.population_name(k), self.sizes[k], self.model, self.bias(k))
        proj = Projection(self.population_name(k - 1), pop.name, self.weights(k))
        return proj, pop

    def layers(self) -> Iterator[tuple[Projection, Population]]:
        """Yield ``(projection, target population)`` for layers ``1..L``, one at a time."""
        for k in range(1, self.n_layers + 1):
            yield self.layer(k)

    def head(self, n_layers: int) -> LazyLayeredNetwork:
        """The first ``n_layers`` layers, still lazy."""
        if not 1 <= n_layers <= self.n_layers:
            raise NetworkError(
                f"network {self.name}: cannot take {n_layers} layers of {self.n_layers}"
            )
        return LazyLayeredNetwork(
            self.sizes[: n_layers + 1],
            self.weight_fn,
            self.bias_fn,
            self.model,
            self.name,
            self.metadata,
        )

    def to_network(self) -> Network:
        """Materialise every layer into a :class:`~neurosim.network.Network` (small networks only)."""
        pops = [Population("input", self.sizes[0], NeuronModel("input"))]
        projs = []
        for proj, pop in self.layers():
            pops.append(pop)
            projs.append(proj)
        return Network(tuple(pops), tuple(projs), name=self.name, metadata=self.metadata)
