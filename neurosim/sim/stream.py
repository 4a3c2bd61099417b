"""Streaming inference of very large layered networks, one layer in memory at a time.

:func:`simulate_stream` runs a :class:`~neurosim.topology.lazy.LazyLayeredNetwork`
(the 16384 x 480 or 65536 x 1920 Graph Challenge networks hold 0.25 to 4
billion synapses, too many to map or hold at once): each layer's weights are
built, quantized to the profile (chip backend), converted to CSC once, applied
to the whole batch with the post-major graded kernel
(:func:`neurosim.sim.kernels.pull_layer`) and dropped. Inputs can be processed
in batches to bound memory further (each batch builds each layer again).

Streaming is an execution mode of :func:`neurosim.sim.simulate.simulate`
(``mode="stream"``), not a second mapping: the cores and their places are
those ``map_network(network, profile, strategy="sequential",
placement="row_major")`` gives a layered network that needs no split (layer
``l`` on ``ceil(n_l / core.max_neurons)`` consecutive cores, numbered layer
after layer, placed by the mapper's own ``row_major`` placement function),
computed here layer by layer (:func:`stream_layout`) because the whole
network is never built. Events (chip backend) follow
:mod:`neurosim.sim.events` on that layout; ``tests/sim/test_stream.py``
checks every event count of every core against the chip backend on the
mapped network.

Only graded (``relu``/``linear``) single-step inference is streamed;
``weights.kind`` must be ``float`` (integer chips: build the network and map it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import SimulationError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.sim._common import progress_bar
from neurosim.sim.events import event_model
from neurosim.sim.kernels import csc_arrays, pull_layer
from neurosim.sim.result import EVENT_TYPES, SimResult

__all__ = ["StreamLayout", "run_stream", "simulate_stream", "stream_layout"]


@dataclass(frozen=True, eq=False)
class StreamLayout:
    """Cores of a streamed layered network: where each layer's neurons sit.

    Attributes
    ----------
    per_core : int
        ``core.max_neurons``.
    base : ndarray of int
        First core of each layer (layer 0, the input, has none).
    n_cores : int
    placement : namespace with ``chip``, ``x``, ``y`` arrays (one entry per core)
    """

    per_core: int
    base: np.ndarray
    n_cores: int
    placement: Any

    def cores(self, layer: int, size: int) -> np.ndarray:
        """Core of each neuron of ``layer`` (-1: the input layer, off chip)."""
        if layer == 0:
            return -np.ones(size, dtype=np.int64)
        return np.arange(size) // self.per_core + self.base[layer]


def stream_layout(sizes: Any, profile: Any) -> StreamLayout:
    """The sequential partition and row-major placement of a layered network of ``sizes``."""
    from neurosim.mapping.placement import PLACEMENTS, Mesh

    per_core = int(profile.get("core.max_neurons"))
    cores_per_layer = [0] + [math.ceil(s / per_core) for s in sizes[1:]]
    base = np.concatenate([[0], np.cumsum(cores_per_layer)]).astype(np.int64)
    n_cores = int(base[-1])
    chip, x, y = PLACEMENTS.lookup("row_major")(
        None, Mesh.from_profile(profile), n_cores, seed=0, steps=0
    )
    placement = SimpleNamespace(chip=np.asarray(chip), x=np.asarray(x), y=np.asarray(y))
    return StreamLayout(per_core, base, n_cores, placement)


def run_stream(
    network: Any,
    inputs: np.ndarray,
    backend: str = "chip",
    *,
    options: Any = None,
    progress: bool = False,
    **settings: Any,
) -> SimResult:
    """The ``stream`` execution mode of ``simulate`` (``options``: ``profile``, ``batch_size``).

    Settings of the batch mode that streaming cannot honour (an encoding, more
    than one step, recorded rasters) are refused rather than ignored.
    """
    unsupported = {
        k: v
        for k, v in settings.items()
        if v not in (None, 0, False, 1, "all", {}) and k not in ("seed", "spike_counts", "dt_s")
    }
    if unsupported:
        raise SimulationError(
            f"stream: {', '.join(sorted(unsupported))} not supported when streaming "
            "(single-step graded inference only)"
        )
    opts = dict(options or {})
    return simulate_stream(
        network,
        inputs,
        backend,
        profile=opts.get("profile"),
        batch_size=opts.get("batch_size"),
        progress=progress,
    )


def simulate_stream(
    network: Any,
    inputs: np.ndarray,
    backend: str = "chip",
    *,
    profile: Any = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> SimResult:
    """Graded inference of a lazy layered network, streaming its layers.

    Parameters
    ----------
    network : LazyLayeredNetwork
    inputs : ndarray, shape (n_inputs, n_in)
    backend : {"chip", "reference"}
        ``reference``: float64, no events. ``chip``: the profile's float width,
        quantized weights, events per core.
    profile : ChipProfile or str
        Required for ``chip``.
    batch_size : int, optional
        Inputs per pass over the layers (default: all at once).
    progress : bool

    Returns
    -------
    SimResult
        ``outputs`` are the last layer's activations; ``spike_counts`` holds the
        output layer only (``info["nonzero_per_layer"]`` counts every layer).
    """
    start = time.perf_counter()
    kind = network.model.kind
    if kind not in ("relu", "linear"):
        raise SimulationError(
            f"stream: model {kind!r}; only graded (relu, linear) layered networks stream"
        )
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != network.sizes[0]:
        raise SimulationError(f"inputs: shape {x.shape}; expected (n_inputs, {network.sizes[0]})")
    prof, dtype = _stream_profile(backend, profile)
    n_inputs = x.shape[0]
    bs = int(batch_size or n_inputs)
    if bs < 1:
        raise SimulationError(f"batch_size: expected a positive integer, got {batch_size}")
    tally = None if prof is None else _EventTally(stream_layout(network.sizes, prof))
    outputs = np.zeros((n_inputs, network.sizes[-1]))
    nonzero = np.zeros(len(network.sizes), dtype=np.int64)
    with progress_bar(progress, network.n_layers * math.ceil(n_inputs / bs), "stream") as tick:
        done = [0]

        def step() -> None:
            if tick is not None:
                tick(done[0])
            done[0] += 1

        for b0 in range(0, n_inputs, bs):
            y = np.ascontiguousarray(x[b0 : b0 + bs], dtype=dtype)
            outputs[b0 : b0 + bs] = _stream_batch(network, y, prof, tally, nonzero, step)
    info: dict[str, Any] = {
        "streamed": True,
        "dtype": np.dtype(dtype).name,
        "nonzero_per_layer": nonzero.tolist(),
    }
    if tally is not None:
        info.update(host_packets=tally.host, n_cores=tally.layout.n_cores)
    return SimResult(
        backend=backend,
        outputs=outputs,
        spike_counts={f"layer{network.n_layers}": (outputs != 0).astype(np.int64)},
        events=tally.events if tally is not None else {},
        n_inputs=n_inputs,
        n_steps=1,
        dt_s=float(prof.get("chip.timestep_s") or 1e-3) if prof is not None else 1e-3,
        wall_time_s=time.perf_counter() - start,
        info=info,
    )


def _stream_profile(backend: str, profile: Any) -> tuple[Any, Any]:
    """``(profile or None, dtype)`` of a streamed run on ``backend``."""
    if backend == "reference":
        return None, np.float64
    if backend != "chip":
        raise SimulationError(f"stream: backend {backend!r}; expected 'chip' or 'reference'")
    from neurosim.hardware.profile import ChipProfile, load_profile

    prof = (
        profile if isinstance(profile, ChipProfile) else load_profile(profile) if profile else None
    )
    if prof is None:
        raise SimulationError("stream: backend 'chip' needs a profile")
    if prof.get("weights.kind") != "float":
        raise SimulationError(
            f"stream: profile {prof.name} has weights.kind {prof.get('weights.kind')!r}; streaming supports "
            "float profiles only (map the network to run integer chips)"
        )
    return prof, np.float32 if int(prof.get("weights.bits")) <= 32 else np.float64


class _EventTally:
    """Events per core of a streamed run, added layer by layer."""

    def __init__(self, layout: StreamLayout) -> None:
        self.layout = layout
        self.events = {k: np.zeros(layout.n_cores, dtype=np.int64) for k in EVENT_TYPES}
        self.host = 0

    def _count(self, view: Network, core_of: dict, totals: dict, n_updates: int) -> None:
        ev, h = event_model(view, core_of, self.layout.placement).count(totals, n_updates)
        self.host += h
        for k in EVENT_TYPES:
            self.events[k] += ev[k]

    def layer(
        self,
        proj: Any,
        pop: Any,
        layer: int,
        sizes: Any,
        kind: str,
        w: Any,
        nz: tuple,
        n_b: int,
        last: bool,
    ) -> None:
        """Events caused by layer - 1's outputs (synops at this layer's cores), and the last layer's."""
        nz_prev, nz_out = nz
        pre = Population(proj.pre, sizes[layer - 1], NeuronModel("input" if layer == 1 else kind))
        post = Population(pop.name, pop.size, NeuronModel(kind))
        view = Network((pre, post), (Projection(proj.pre, pop.name, w),), name="layer")
        core_of = {
            pre.name: self.layout.cores(layer - 1, pre.size),
            post.name: self.layout.cores(layer, post.size),
        }
        self._count(view, core_of, {pre.name: nz_prev.astype(np.float64)}, n_b)
        if last:
            only = Network((post,), (), name="last")
            self._count(
                only, {post.name: core_of[post.name]}, {post.name: nz_out.astype(np.float64)}, n_b
            )


def _layer_csc(w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSC arrays of one layer's weights for :func:`~neurosim.sim.kernels.pull_layer`,
    built once per layer per pass (the layer is dropped after it).

    Duplicate entries are summed first, in the weights' own dtype, as
    :func:`~neurosim.sim.kernels.csr_arrays` does; ``pull_layer`` casts the data
    to the activations' dtype, so the bits equal those of ``graded_layer`` on
    ``csr_arrays(w, dtype)``.
    """
    w = sp.csr_matrix(w)
    if not w.has_canonical_format:
        w = w.copy()
        w.sum_duplicates()
    return csc_arrays(w)


def _stream_batch(
    network: Any,
    y: np.ndarray,
    prof: Any,
    tally: _EventTally | None,
    nonzero: np.ndarray,
    step: Any,
) -> np.ndarray:
    """One batch of inputs through every layer (each built, quantized, applied and dropped)."""
    kind = network.model.kind
    dtype = y.dtype
    cap = network.model.param("cap") if kind == "relu" else np.inf
    nz_prev = np.count_nonzero(y, axis=0).astype(np.int64)
    nonzero[0] += int(nz_prev.sum())
    for layer in range(1, network.n_layers + 1):
        proj, pop = network.layer(layer)
        w = proj.weights
        if prof is not None:
            from neurosim.mapping.quantize import quantize_projection

            w = quantize_projection(proj.name, w, prof).effective()
        bias = np.ascontiguousarray(pop.bias, dtype=dtype)
        caps = np.broadcast_to(np.asarray(cap, dtype=dtype), (pop.size,))
        y, nz = pull_layer(y, _layer_csc(w), bias, caps, rectify=kind == "relu")
        nonzero[layer] += int(nz.sum())
        if tally is not None:
            last = layer == network.n_layers
            tally.layer(proj, pop, layer, network.sizes, kind, w, (nz_prev, nz), y.shape[0], last)
        nz_prev = nz
        step()
    return y
