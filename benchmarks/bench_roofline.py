"""Roofline of the simulator's two hot loops: bytes moved per event against measured bandwidth.

Measures, in one run on this machine:

* **copy bandwidth**: ``numpy.copyto`` of a 256 MiB float64 array (DRAM; bytes
  read + written per second, best of 5) and of a 256 KiB one repeated
  (L2-resident; best of 5);
* **graded kernel** (the post-major pull kernel
  :func:`neurosim.sim.kernels.pull_layer`, float32, each layer's CSC arrays
  built once before timing; the Graph Challenge case): ``--layers`` generated 1024-neuron challenge layers
  (32 synapses per neuron) on ``--inputs`` binary inputs at 30 % density,
  edges/s = inputs x synapses / wall time of the kernel calls;
* **spiking kernel** (the chip backend's compiled fixed-point loop,
  ``fastrun.run_fixed_plan_compiled``): 1024 inputs -> 3 x 1024 IF, fan-in 32,
  ``--steps`` steps of rate-coded inputs, synaptic events/s from the event
  counts over the loop's wall time (``info["loop_s"]``).

and prints each loop's bytes per event in the memory level it streams from,
the bound that bandwidth puts on events/s, and the fraction reached. The byte
counts are the kernels' own loads and stores (see docs/BENCHMARKS.md):

* graded, per edge and input: DRAM 0.25 B (the layer's activations, 4 B in
  and 4 B out per neuron and input, over 32 edges per neuron); L2 4 B (the
  input activation ``YT[i, b]`` of the edge's pre neuron, read once per edge
  from the input block, 2 MiB for 512 inputs; each output's accumulator row
  stays in L1 and is written once). Until cc1d301 this loop was the push
  kernel, 8 B per edge (read-modify-write of an L2 output block);
* spiking, per synaptic event: L2 12 B (uint32 target slot and int64 weight,
  the 1.1 MiB CSR streamed in order); L1 16 B (read-modify-write of one 8-byte
  accumulator slot, 24 KiB of slots).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_roofline.py
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

__all__ = ["copy_bandwidth", "graded_rate", "main", "spiking_rate"]

#: bytes streamed per synaptic event by the fixed-point whole-run kernel (uint32 slot + int64 weight)
SPIKING_BYTES = 12

#: L2 bytes per edge and input of the pull kernel (the float32 input activation it gathers)
GRADED_L2_BYTES = 4


def copy_bandwidth(n_bytes: int, repeats: int) -> float:
    """Best bytes/s (read + write) of ``numpy.copyto`` over ``n_bytes``, ``repeats`` per timing."""
    a = np.ones(n_bytes // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeats):
            np.copyto(b, a)
        best = min(best, (time.perf_counter() - t) / repeats)
    return 2 * n_bytes / best


def graded_rate(n_inputs: int, n_layers: int, seed: int = 0) -> float:
    """Edges/s of the float32 pull kernel on generated challenge layers (best of 3; the CSC
    arrays are built before timing, as the engine does once per run)."""
    from neurosim.sim.kernels import csc_arrays, csr_arrays, pull_layer
    from neurosim.topology.graph_challenge import graph_challenge_network

    net = graph_challenge_network(1024, n_layers, seed=seed, bias=-0.3).to_network()
    ws = [csc_arrays(csr_arrays(pr.weights, np.float32)) for pr in net.projections]
    bias = np.full(1024, -0.3, dtype=np.float32)
    cap = np.full(1024, 32.0, dtype=np.float32)
    x = (np.random.default_rng(seed).random((n_inputs, 1024)) < 0.3).astype(np.float32)
    pull_layer(x[:8], ws[0], bias, cap)  # load the kernel
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        y = x
        for w in ws:
            y, _ = pull_layer(y, w, bias, cap)
        best = min(best, time.perf_counter() - t)
    return n_inputs * sum(len(w[2]) for w in ws) / best


def spiking_rate(n_steps: int, seed: int = 0) -> float:
    """Synaptic events/s of the compiled fixed-point loop (loihi profile), best of 3."""
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.network import Network, NeuronModel, Population
    from neurosim.sim.simulate import simulate
    from neurosim.topology.fixed_fan_in import random_network

    relu = random_network([1024, 1024, 1024, 1024], 32, seed=seed)
    model = NeuronModel("if", {"threshold": 1.0})
    pops = [
        p if p.model.kind == "input" else Population(p.name, p.size, model)
        for p in relu.populations
    ]
    net = Network(pops, relu.projections, relu.inputs, relu.outputs)
    mapped = map_network(net, load_profile("loihi"))
    x = np.random.default_rng(seed).random((16, 1024)) * 0.5
    best = 0.0
    for _ in range(3):
        res = simulate(mapped, x, "chip", n_steps=n_steps, encoding="rate")
        loop = float(res.info.get("loop_s") or res.wall_time_s)
        best = max(best, res.events["synop"].sum() / loop)
    return best


def main(argv: list[str] | None = None) -> int:
    """Measure and print the roofline figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=2000, help="graded kernel inputs")
    ap.add_argument("--layers", type=int, default=30, help="graded kernel layers")
    ap.add_argument("--steps", type=int, default=100, help="spiking kernel steps")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    dram = copy_bandwidth(256 << 20, 1)
    l2 = copy_bandwidth(256 << 10, 200)
    graded = graded_rate(args.inputs, args.layers)
    spiking = spiking_rate(args.steps)
    rows = {
        "dram_copy_GBps": dram / 1e9,
        "l2_copy_GBps": l2 / 1e9,
        "graded_edges_per_s": graded,
        "graded_bound_dram": dram / 0.25,
        "graded_bound_l2": l2 / GRADED_L2_BYTES,
        "spiking_events_per_s": spiking,
        "spiking_bound_l2": l2 / SPIKING_BYTES,
    }
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"copy bandwidth: DRAM {dram / 1e9:.1f} GB/s, L2 {l2 / 1e9:.1f} GB/s (read + write)")
    print(
        f"graded (float32): {graded:.2e} edges/s; bound DRAM 0.25 B/edge {dram / 0.25:.2e} "
        f"({graded / (dram / 0.25):.0%}), L2 {GRADED_L2_BYTES} B/edge {l2 / GRADED_L2_BYTES:.2e} "
        f"({graded / (l2 / GRADED_L2_BYTES):.0%})"
    )
    print(
        f"spiking (fixed point): {spiking:.2e} events/s; bound L2 {SPIKING_BYTES} B/event "
        f"{l2 / SPIKING_BYTES:.2e} ({spiking / (l2 / SPIKING_BYTES):.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
