"""Redundancy: hidden neurons copied, so that one lost copy costs half a neuron.

:func:`replicate_hidden` returns a network computing the same function
whose hidden populations (neither input nor output) hold ``copies`` copies
of every neuron: each copy receives the neuron's inputs and sends its
outputs with the weights divided by ``copies``. Mapped in index order
(``sequential`` or ``spread``), the copies of a neuron sit ``n`` positions
apart, so on different cores whenever the population spans two or more; a
dead core then removes one copy, and the layer above still receives
``(copies - 1) / copies`` of that neuron. Exact for graded (ReLU, linear)
neurons; spiking copies fire alike, so the same holds for rate codes. The
cost is ``copies`` times the hidden neurons and their synapses.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurosim.errors import FaultError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel

__all__ = ["replicate_hidden"]


def _tile_model(model: NeuronModel, n: int, copies: int) -> NeuronModel:
    params = {
        k: (np.tile(v, copies) if np.ndim(v) == 1 and np.size(v) == n else v)
        for k, v in model.params.items()
    }
    return NeuronModel(model.kind, params, model.reset)


def replicate_hidden(network: Network, copies: int = 2) -> Network:
    """``network`` with every hidden neuron copied ``copies`` times (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> net = Network.from_layers([np.ones((2, 3)), np.ones((3, 1))])
    >>> replicate_hidden(net).population("layer1").size
    6
    """
    if int(copies) != copies or copies < 1:
        raise FaultError(f"replicate_hidden: copies must be a positive integer, got {copies!r}")
    copies = int(copies)
    hidden = {
        p.name
        for p in network.populations
        if p.model.kind != "input" and p.name not in network.outputs
    }
    pops = []
    for p in network.populations:
        if p.name in hidden:
            model = _tile_model(p.model, p.size, copies)
            pops.append(Population(p.name, p.size * copies, model, np.tile(p.bias, copies)))
        else:
            pops.append(p)
    projs = []
    for pr in network.projections:
        w = sp.csr_matrix(pr.weights)
        if pr.pre in hidden:
            w = sp.vstack([w / copies] * copies)
        if pr.post in hidden:
            w = sp.hstack([w] * copies)
        projs.append(Projection(pr.pre, pr.post, sp.csr_matrix(w), pr.name))
    meta = {**dict(network.metadata), "replicated_hidden": copies}
    return network.replace(populations=tuple(pops), projections=tuple(projs), metadata=meta)
