"""Streaming inference of very large layered networks, one layer in memory at a time.

:func:`simulate_stream` runs a :class:`~neurosim.topology.lazy.LazyLayeredNetwork`
(the 16384 x 480 or 65536 x 1920 Graph Challenge networks hold 0.25 to 4
billion synapses, too many to map or hold at once): each layer's weights are
built, quantized to the profile (chip backend), applied to the whole batch with
the fused graded kernel (:func:`neurosim.sim.kernels.graded_layer`) and
dropped. Inputs can be processed in batches to bound memory further.

Events (chip backend) follow :mod:`neurosim.sim.events` on a streaming
placement: layer ``l`` occupies ``ceil(n_l / core.max_neurons)`` consecutive
cores, cores are numbered layer after layer and placed row-major on the
chip mesh, ``chip.n_cores`` cores per chip.

Only graded (``relu``/``linear``) single-step inference is streamed;
``weights.kind`` must be ``float`` (integer chips: build the network and map it).
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace
from typing import Any

import numpy as np

from neurosim.errors import SimulationError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.sim.events import event_model
from neurosim.sim.kernels import csr_arrays, graded_layer
from neurosim.sim.result import EVENT_TYPES, SimResult

__all__ = ["simulate_stream"]


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
    if backend == "chip":
        from neurosim.hardware.profile import ChipProfile, load_profile

        prof = (
            profile
            if isinstance(profile, ChipProfile)
            else load_profile(profile)
            if profile
            else None
        )
        if prof is None:
            raise SimulationError("stream: backend 'chip' needs a profile")
        if prof.get("weights.kind") != "float":
            raise SimulationError(
                f"stream: profile {prof.name} has weights.kind {prof.get('weights.kind')!r}; streaming supports "
                "float profiles only (map the network to run integer chips)"
            )
        dtype = np.float32 if int(prof.get("weights.bits")) <= 32 else np.float64
    elif backend == "reference":
        prof, dtype = None, np.float64
    else:
        raise SimulationError(f"stream: backend {backend!r}; expected 'chip' or 'reference'")
    n_inputs = x.shape[0]
    bs = int(batch_size or n_inputs)
    if bs < 1:
        raise SimulationError(f"batch_size: expected a positive integer, got {batch_size}")
    cap = network.model.param("cap") if kind == "relu" else np.inf
    sizes = network.sizes
    if prof is not None:
        per_core = int(prof.get("core.max_neurons"))
        n_chip_cores = int(prof.get("chip.n_cores"))
        width = int(prof.get("chip.mesh_width"))
        height = int(prof.get("chip.mesh_height"))
        cores_per_layer = [0] + [math.ceil(s / per_core) for s in sizes[1:]]
        base = np.concatenate([[0], np.cumsum(cores_per_layer)])
        n_cores = int(base[-1])
        ids = np.arange(n_cores)
        local = ids % n_chip_cores
        placement = SimpleNamespace(
            chip=ids // n_chip_cores, x=local % width, y=(local // width) % height
        )
        events = {k: np.zeros(n_cores, dtype=np.int64) for k in EVENT_TYPES}
        host = 0
    outputs = np.zeros((n_inputs, sizes[-1]))
    nonzero_per_layer = np.zeros(len(sizes), dtype=np.int64)
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("stream", total=network.n_layers * math.ceil(n_inputs / bs))

    def count(view: Network, core_of: dict, totals: dict, n_updates: int) -> None:
        nonlocal host
        ev, h = event_model(view, core_of, placement).count(totals, n_updates)
        host += h
        for k in EVENT_TYPES:
            events[k] += ev[k]

    def core_range(layer: int, size: int) -> np.ndarray:
        if layer == 0:
            return -np.ones(size, dtype=np.int64)
        return np.arange(size) // per_core + base[layer]

    try:
        for b0 in range(0, n_inputs, bs):
            y = np.ascontiguousarray(x[b0 : b0 + bs], dtype=dtype)
            n_b = y.shape[0]
            nz_prev = np.count_nonzero(y, axis=0).astype(np.int64)
            nonzero_per_layer[0] += int(nz_prev.sum())
            for layer in range(1, network.n_layers + 1):
                proj, pop = network.layer(layer)
                w = proj.weights
                if prof is not None:
                    from neurosim.mapping.quantize import quantize_projection

                    w = quantize_projection(proj.name, w, prof).effective()
                bias = np.ascontiguousarray(pop.bias, dtype=dtype)
                caps = np.broadcast_to(np.asarray(cap, dtype=dtype), (pop.size,))
                y, nz = graded_layer(y, csr_arrays(w, dtype), bias, caps, rectify=kind == "relu")
                nonzero_per_layer[layer] += int(nz.sum())
                if prof is not None:
                    # events caused by layer - 1's outputs (synops at this layer's cores)
                    pre = Population(
                        proj.pre, sizes[layer - 1], NeuronModel("input" if layer == 1 else kind)
                    )
                    post = Population(pop.name, pop.size, NeuronModel(kind))
                    view = Network((pre, post), (Projection(proj.pre, pop.name, w),), name="layer")
                    core_of = {
                        pre.name: core_range(layer - 1, pre.size),
                        post.name: core_range(layer, post.size),
                    }
                    count(view, core_of, {pre.name: nz_prev.astype(np.float64)}, n_b)
                    if layer == network.n_layers:
                        last = Network((post,), (), name="last")
                        count(
                            last,
                            {post.name: core_of[post.name]},
                            {post.name: nz.astype(np.float64)},
                            n_b,
                        )
                nz_prev = nz
                if bar is not None:
                    bar.update(task, advance=1)
            outputs[b0 : b0 + bs] = y
    finally:
        if bar is not None:
            bar.stop()
    out_name = f"layer{network.n_layers}"
    return SimResult(
        backend=backend,
        outputs=outputs,
        spike_counts={out_name: (outputs != 0).astype(np.int64)},
        events=events if prof is not None else {},
        n_inputs=n_inputs,
        n_steps=1,
        dt_s=float(prof.get("chip.timestep_s") or 1e-3) if prof is not None else 1e-3,
        wall_time_s=time.perf_counter() - start,
        info={
            "streamed": True,
            "dtype": np.dtype(dtype).name,
            "nonzero_per_layer": nonzero_per_layer.tolist(),
            **({"host_packets": host, "n_cores": n_cores} if prof is not None else {}),
        },
    )
