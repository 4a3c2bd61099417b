"""Graph-Challenge-style inference throughput: reference and chip backends against scipy baselines.

Network: the 1024-neuron x 120-layer challenge network (generated with
neurosim.topology.graph_challenge, same construction and degrees as the
official files), ReLU capped at 32, bias -0.3. Inputs: random binary rows
(density 0.25), whose activity persists through all layers. Figure: edges per
second = n_inputs * (nonzeros of all layers) / wall time. Baselines measured in
the same run: scipy CSR x CSR and dense activations x CSR weights. The last
row is the post-major pull kernel (:func:`neurosim.sim.kernels.pull_layer`,
float32, the kernel of ``challenge_inference``) on the same layers, weights
already in CSC. The load average is printed with the figures (shared machine).

Memory: ``--stream`` instead streams the 16384 x 480 challenge network
(generated lazily) through the chip backend (generic float32 profile) with
``--inputs`` inputs and prints the peak resident memory of the process.

Usage: .venv/bin/python benchmarks/bench_sim_graded.py [--inputs 10000] [--layers 120]
       .venv/bin/python benchmarks/bench_sim_graded.py --stream [--inputs 1000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.sim.kernels import csc_arrays, propagate_csr_csr, propagate_dense_csr, pull_layer
from neurosim.sim.simulate import simulate
from neurosim.topology.graph_challenge import graph_challenge_network


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=10000)
    ap.add_argument("--layers", type=int, default=120)
    ap.add_argument("--neurons", type=int, default=1024)
    ap.add_argument("--density", type=float, default=0.25)
    ap.add_argument("--stream", action="store_true", help="peak memory of streaming 16384 x 480")
    args = ap.parse_args()
    if args.stream:
        stream(args.inputs, args.density)
        return
    net = graph_challenge_network(args.neurons, args.layers).to_network()
    ws = [pr.weights for pr in net.projections]
    bias = -0.3
    edges = args.inputs * sum(w.nnz for w in ws)
    x = (np.random.default_rng(0).random((args.inputs, args.neurons)) < args.density).astype(
        np.float64
    )
    results = {}

    t = time.perf_counter()
    y = sp.csr_matrix(x)
    for w in ws:
        z = propagate_csr_csr(y, w)
        z.data += bias
        z.data = np.clip(z.data, 0, 32.0)
        z.eliminate_zeros()
        y = z
    results["scipy CSR x CSR"] = (time.perf_counter() - t, y.toarray())

    t = time.perf_counter()
    yd = x
    for w in ws:
        yd = np.clip(propagate_dense_csr(yd, w) + bias, 0, 32.0)
    results["dense x CSR (scipy)"] = (time.perf_counter() - t, yd)

    t = time.perf_counter()
    ref = simulate(net, x, "reference", spike_counts="outputs")
    results["reference backend (float64)"] = (time.perf_counter() - t, ref.outputs)

    mapped = map_network(net, load_profile("generic"), placement="row_major")
    t = time.perf_counter()
    chip = simulate(mapped, x, "chip", spike_counts="outputs")
    results["chip backend (float32, events on)"] = (time.perf_counter() - t, chip.outputs)

    cscs = [csc_arrays(w) for w in ws]
    n = args.neurons
    bias32, cap32 = np.full(n, bias, np.float32), np.full(n, 32.0, np.float32)
    pull_layer(x.astype(np.float32)[:2], cscs[0], bias32, cap32)  # compile / load the kernel
    t = time.perf_counter()
    yp = x.astype(np.float32)
    for c in cscs:
        yp, _ = pull_layer(yp, c, bias32, cap32)
    results["pull kernel (float32, kernels.pull_layer)"] = (time.perf_counter() - t, yp)

    base = results["scipy CSR x CSR"][0]
    dense = results["dense x CSR (scipy)"][0]
    truth = results["scipy CSR x CSR"][1]
    print(
        f"network {args.neurons} x {args.layers}, {args.inputs} inputs, {edges:.3e} edges; "
        f"final nonzero rows {int(truth.any(axis=1).sum())}/{args.inputs}, "
        f"nonzero fraction {np.mean(truth != 0):.3f}"
    )
    print(
        f"{'method':36s} {'wall s':>8s} {'edges/s':>10s} {'vs CSRxCSR':>11s} {'vs dense':>9s} {'max |diff|':>10s}"
    )
    for name, (sec, out) in results.items():
        print(
            f"{name:36s} {sec:8.2f} {edges / sec:10.3e} {base / sec:10.2f}x {dense / sec:8.2f}x "
            f"{float(np.max(np.abs(out - truth))):10.2e}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(
        f"chip events: synop {chip.total_events('synop'):.3e}, spike_out {chip.total_events('spike_out'):.3e}"
    )


def stream(n_inputs: int, density: float) -> None:
    import resource

    lazy = graph_challenge_network(16384, 480)
    x = (np.random.default_rng(0).random((n_inputs, 16384)) < density).astype(np.float64)
    t = time.perf_counter()
    res = simulate(lazy, x, "chip", mode="stream", options={"profile": load_profile("generic")})
    sec = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    edges = n_inputs * 480 * 16384 * 32
    print(
        f"stream 16384 x 480, {n_inputs} inputs, chip backend (float32): {sec:.1f} s, "
        f"{edges / sec:.3e} edges/s, peak RSS {peak:.2f} GiB; cores {res.info['n_cores']}, "
        f"synop {res.total_events('synop'):.3e}, final nonzero rows {int(res.outputs.any(axis=1).sum())}"
    )


if __name__ == "__main__":
    main()
