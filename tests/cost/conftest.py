"""Hand-built tiny mappings and simulation results for the hardware model tests.

The numbers in the energy, memory and latency tests are computed by hand from
these small values; nothing here runs the mapper or a simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.mapping.mapped import CoreUsage, MappedNetwork, Placement, QuantizedProjection
from neurosim.mapping.roles import Role
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.sim.result import SimResult

#: W1 (3 x 2): 4 synapses, every input used; W2 (2 x 2): 3 synapses
W1 = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
W2 = np.array([[1.0, 1.0], [0.0, 1.0]])


def build_mapped(
    profile: Any,
    network: Network,
    core_of: Mapping[str, Sequence[int]],
    xy: Sequence[tuple[int, int]],
    *,
    source: Network | None = None,
    chips: Sequence[int] | None = None,
    traffic: Sequence[tuple[int, int]] = (),
    served: Mapping[str, tuple[str, Sequence[int]]] | None = None,
    roles: Mapping[str, Role] | None = None,
) -> MappedNetwork:
    """A MappedNetwork of ``network`` (as hardware network) placed as given.

    ``served`` and ``roles`` describe added populations (as the mapper records
    them); roles left out are filled in from the structure.
    """
    n_cores = len(xy)
    chip = np.array(chips if chips is not None else [0] * n_cores)
    x = np.array([p[0] for p in xy])
    y = np.array([p[1] for p in xy])
    t = sp.lil_matrix((n_cores, n_cores))
    for a, b in traffic:
        t[a, b] = 1.0
    placement = Placement(
        chip, x, y, "row_major", sp.csr_matrix(t), float(len(traffic)), 1.0, float(len(traffic))
    )
    quantized = {
        pr.name: QuantizedProjection(pr.name, pr.weights, np.ones(pr.shape[1]))
        for pr in network.projections
    }
    cores = tuple(CoreUsage(c, int(chip[c]), int(x[c]), int(y[c]), (), {}) for c in range(n_cores))
    return MappedNetwork(
        network=source if source is not None else network,
        profile=profile,
        hw_network=network,
        quantized=quantized,
        core_of={k: np.asarray(v) for k, v in core_of.items()},
        cores=cores,
        placement=placement,
        violations=(),
        strategy="hand",
        seed=0,
        lower_bound_cores=n_cores,
        served={k: (b, np.asarray(i)) for k, (b, i) in (served or {}).items()},
        roles=dict(roles or {}),
    )


def two_layer() -> Network:
    """input(3) -> layer1(2) -> layer2(2), weights W1, W2."""
    return Network.from_layers([W1, W2], model=NeuronModel("relu"))


#: what the mapper would record for :func:`split_network`'s added populations
SPLIT_SERVED = {"layer1.partial0": ("layer1", [0]), "layer1.partial1": ("layer1", [0])}
SPLIT_ROLES = {
    "input": Role.INPUT,
    "layer1.partial0": Role.PARTIAL_SUM,
    "layer1.partial1": Role.PARTIAL_SUM,
    "layer1": Role.ACCUMULATOR,
}


def split_network() -> tuple[Network, Network]:
    """A 3-input neuron whose fan-in is split in two partial sums.

    Returns ``(source, hardware)``: source input(3) -> layer1(1); hardware
    input -> layer1.partial0 (inputs 0, 1), layer1.partial1 (input 2) -> layer1.
    """
    source = Network.from_layers([np.ones((3, 1))], model=NeuronModel("relu"))
    lin = NeuronModel("linear")
    pops = (
        Population("input", 3, NeuronModel("input")),
        Population("layer1.partial0", 1, lin),
        Population("layer1.partial1", 1, lin),
        Population("layer1", 1, NeuronModel("relu")),
    )
    projs = (
        Projection("input", "layer1.partial0", np.array([[1.0], [1.0], [0.0]])),
        Projection("input", "layer1.partial1", np.array([[0.0], [0.0], [1.0]])),
        Projection("layer1.partial0", "layer1", np.array([[1.0]])),
        Projection("layer1.partial1", "layer1", np.array([[1.0]])),
    )
    return source, Network(pops, projs, inputs=("input",), outputs=("layer1",))


def sim_result(
    events: Mapping[str, Sequence[float]],
    *,
    n_inputs: int = 2,
    n_steps: int = 1,
    per_step: Mapping[str, Any] | None = None,
    outputs: np.ndarray | None = None,
    backend: str = "chip",
) -> SimResult:
    return SimResult(
        backend=backend,
        outputs=np.zeros((n_inputs, 2)) if outputs is None else outputs,
        spike_counts={},
        events={k: np.asarray(v, dtype=np.int64) for k, v in events.items()},
        n_inputs=n_inputs,
        n_steps=n_steps,
        dt_s=1e-3,
        events_per_step=None
        if per_step is None
        else {k: np.asarray(v) for k, v in per_step.items()},
    )


@pytest.fixture
def tiny() -> Callable[..., MappedNetwork]:
    """Factory: the two-layer network with layer1 on core 0 at (0, 0), layer2 on core 1 at (1, 0)."""

    def make(profile: Any, **kw: Any) -> MappedNetwork:
        return build_mapped(
            profile,
            two_layer(),
            {"input": [-1, -1, -1], "layer1": [0, 0], "layer2": [1, 1]},
            [(0, 0), (1, 0)],
            traffic=[(0, 1)],
            **kw,
        )

    return make


@pytest.fixture
def hw() -> SimpleNamespace:
    """The builders of this file, for tests that need more than :func:`tiny`."""
    return SimpleNamespace(
        build_mapped=build_mapped,
        two_layer=two_layer,
        split_network=split_network,
        split_served=SPLIT_SERVED,
        split_roles=SPLIT_ROLES,
        sim_result=sim_result,
        W1=W1,
        W2=W2,
    )
