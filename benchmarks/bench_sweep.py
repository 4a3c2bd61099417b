"""Benchmark: a 32-point sweep serial vs on a Dask LocalCluster, executor overhead, bytes per point.

Three figures, one run:

1. **Speedup.** ``run_sweep`` of a 4 x 8 grid (``core.max_fan_in`` x
   ``weights.bits``) of a 512-256-10 ReLU network (40 % connectivity) on 512
   inputs, on the ``generic`` profile, serial (``Execution("serial")``) and on
   a LocalCluster of ``--workers`` processes (one thread each). The rows must
   be equal. Reported twice: warm (the serial sweep run a second time in this
   process, the cluster already started and its workers warm: what a long
   sweep sees), and cold (the first serial sweep of a fresh process against
   the first cluster sweep counting the cluster's start-up and the workers'
   imports and kernel compilation: what one short command sees). Target >=
   1.7x on 2 cores (pin the process: ``taskset -c 0,1``).
2. **Per-point executor overhead.** 64 points of a function that returns at
   once, through ``run_points`` on the warm cluster: wall time per point
   (scatter, submit, as_completed, the callback). Target < 50 ms.
3. **Bytes per point.** What one point sends (the task: function reference,
   key, overrides and the keys of the scattered values, pickled as Dask does)
   and returns (its record), against what is scattered once (network, inputs,
   reference run, base profile, options). The network must not travel per point.

4. **Batch inference** (``--gc N_NEURONS N_LAYERS N_INPUTS``, optional): a
   generated official-style Graph Challenge network streamed through
   ``simulate(..., mode="stream")`` in one process, and split into row
   blocks over the cluster's workers (``simulate_blocks``); the categories
   must be identical. E.g. ``--gc 16384 480 256``.

Usage::

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweep.py [--workers 2]
    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweep.py --only-gc --gc 16384 480 256
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import time

import numpy as np

SPEEDUP_TARGET = 1.7
OVERHEAD_TARGET_S = 0.050
GRID = {"core.max_fan_in": [16, 32, 64, 128], "weights.bits": [2, 3, 4, 5, 6, 8, 12, 16]}


def build(seed: int = 0):
    """The benchmark network and inputs."""
    from neurosim.network import Network
    from neurosim.neurons import NeuronModel

    rng = np.random.default_rng(seed)
    sizes = [512, 256, 10]
    weights = [
        rng.normal(size=(a, b)) * (rng.random((a, b)) < 0.4)
        for a, b in zip(sizes, sizes[1:], strict=False)
    ]
    net = Network.from_layers(
        weights, [0.0, 0.0], [NeuronModel("relu"), NeuronModel("linear")], name="bench256"
    )
    x = rng.random((512, 512))
    y = rng.integers(0, 10, 512)
    return net, x, y


def noop(point_key, point, payload):
    """A point that does nothing (for the executor's own cost)."""
    return {"key": point_key}


def _sweep(net, x, y, execution, marks=None):
    """``run_sweep`` of the grid; ``marks`` gets the time of the first point's completion."""
    from neurosim.sweep import run_sweep

    t0 = time.perf_counter()

    def count(done, total):
        if marks is not None and done == 1:
            marks["first_point_s"] = time.perf_counter() - t0

    res = run_sweep(net, "generic", GRID, inputs=x, labels=y, execution=execution, counter=count)
    return res, time.perf_counter() - t0


def _bytes_per_point(net, x, y) -> dict:
    """Pickled sizes: one task as submitted, one record returned, the shared values once."""
    from distributed.protocol import serialize_bytes

    from neurosim.evaluate import EvalInputs, EvalOptions
    from neurosim.hardware.profile import load_profile
    from neurosim.sweep import expand_grid, point_key, sweep_point

    profile = load_profile("generic")
    options = EvalOptions()
    shared = {
        "network": net,
        "profile": profile.to_dict(),
        "data": EvalInputs(x, y),
        "reference": None,
        "options": options,
    }
    point = expand_grid(GRID)[0]
    key = point_key(point)
    # a submitted task holds the function, its per-point arguments, and for each
    # scattered value only its key (a 40-character string in Dask)
    task = (sweep_point, {"point_key": key, "point": point, **{k: "x" * 40 for k in shared}})
    record = sweep_point(key, point, **shared)
    return {
        "task_bytes": len(pickle.dumps(task)),
        "record_bytes": len(serialize_bytes(record)),
        "shared_bytes_once": len(serialize_bytes(shared)),
        "network_bytes": len(serialize_bytes(net)),
    }


def batch_inference(n_neurons: int, n_layers: int, n_inputs: int, workers: int) -> dict:
    """One process vs row blocks over a LocalCluster: wall times and identical categories."""
    from distributed import Client

    from neurosim.execute import local_cluster, simulate_blocks
    from neurosim.io.graph_challenge import challenge_categories
    from neurosim.sim.simulate import simulate
    from neurosim.topology.graph_challenge import graph_challenge_network

    lazy = graph_challenge_network(n_neurons, n_layers, seed=0)
    rng = np.random.default_rng(0)
    # rows of different densities: the sparse ones die out over the layers, the dense ones
    # survive, so the categories (rows with any nonzero output) are a real subset
    density = rng.uniform(0.05, 0.45, size=(n_inputs, 1))
    x = (rng.random((n_inputs, n_neurons)) < density).astype(np.float64)
    t0 = time.perf_counter()
    one = simulate(lazy, x, "reference", mode="stream")
    t_one = time.perf_counter() - t0
    with local_cluster(workers) as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        split = simulate_blocks(client, lazy, x, "reference", mode="stream")
        t_split = time.perf_counter() - t0
    same = bool(
        np.array_equal(challenge_categories(one.outputs), challenge_categories(split.outputs))
    )
    return {
        "gc_network": f"{n_neurons} x {n_layers}",
        "gc_inputs": n_inputs,
        "gc_categories": int(challenge_categories(one.outputs).size),
        "gc_one_process_s": round(t_one, 1),
        "gc_blocks": int(split.info["blocks"]),
        "gc_cluster_s": round(t_split, 1),
        "gc_same_categories": same,
        "gc_same_outputs": bool(np.array_equal(one.outputs, split.outputs)),
    }


def _pin(cluster, cores: list[int]) -> None:
    """Worker i on ``cores[i]``; this process (client, scheduler) on the other cores."""
    from distributed import Client

    with Client(cluster) as client:
        for core, addr in zip(cores, sorted(client.scheduler_info()["workers"]), strict=False):
            client.run(os.sched_setaffinity, 0, {core}, workers=[addr])
    os.sched_setaffinity(0, set(os.sched_getaffinity(0)) - set(cores))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gc", type=int, nargs=3, metavar=("NEURONS", "LAYERS", "INPUTS"))
    ap.add_argument("--only-gc", action="store_true", help="run part 4 only")
    ap.add_argument(
        "--worker-cores",
        default=None,
        help="e.g. 0,1: pin worker i of the warm cluster to core i of the list, and this process "
        "(client and scheduler) to the other usable cores",
    )
    args = ap.parse_args()
    if args.gc:
        print(json.dumps(batch_inference(*args.gc, args.workers), indent=1), flush=True)
    if args.only_gc:
        return
    from neurosim.execute import Execution, local_cluster, run_points

    net, x, y = build()
    cores = len(os.sched_getaffinity(0))
    out: dict = {"machine": f"{platform.machine()}, {cores} cores usable", "points": 32}
    serial, t_serial_cold = _sweep(net, x, y, Execution("serial"))  # imports, compiled kernels
    _, t_serial = _sweep(net, x, y, Execution("serial"))
    out["serial_cold_s"] = round(t_serial_cold, 2)
    out["serial_s"] = round(t_serial, 2)

    t0 = time.perf_counter()
    cold, t_cold_run = _sweep(net, x, y, Execution("local", args.workers))
    out["cluster_cold_s"] = round(time.perf_counter() - t0, 2)
    assert cold.rows() == serial.rows(), "cluster rows differ from serial rows"

    with local_cluster(args.workers) as cluster:
        where = Execution(cluster.scheduler_address)
        if args.worker_cores:
            _pin(cluster, [int(c) for c in args.worker_cores.split(",")])
            out["worker_cores"] = args.worker_cores
        _sweep(net, x, y, where)  # warm the workers (imports, compiled kernels)
        marks: dict = {}
        warm, t_warm = _sweep(net, x, y, where, marks)
        out["cluster_warm_first_point_s"] = round(marks["first_point_s"], 2)
        assert warm.rows() == serial.rows(), "cluster rows differ from serial rows"
        out["cluster_warm_s"] = round(t_warm, 2)
        n = 64
        t0 = time.perf_counter()
        run_points(noop, {"payload": 0}, [(str(i), i) for i in range(n)], lambda k, r: None, where)
        out["overhead_per_point_ms"] = round(1000 * (time.perf_counter() - t0) / n, 1)
    out["speedup_warm"] = round(t_serial / out["cluster_warm_s"], 2)
    out["speedup_cold"] = round(t_serial_cold / out["cluster_cold_s"], 2)
    out.update(_bytes_per_point(net, x, y))
    out["speedup_target"] = SPEEDUP_TARGET
    out["overhead_target_ms"] = 1000 * OVERHEAD_TARGET_S
    print(json.dumps(out, indent=1))
    print(
        f"32-point sweep: serial {out['serial_s']} s; LocalCluster({args.workers}) warm "
        f"{out['cluster_warm_s']} s (speedup {out['speedup_warm']}x, target >= {SPEEDUP_TARGET}x); "
        f"first run in a fresh process: serial {out['serial_cold_s']} s, cluster incl. start-up "
        f"{out['cluster_cold_s']} s ({out['speedup_cold']}x); "
        f"executor overhead {out['overhead_per_point_ms']} ms/point (target < 50 ms); "
        f"per point: task {out['task_bytes']} B sent, record {out['record_bytes']} B back; "
        f"scattered once: {out['shared_bytes_once']} B (network {out['network_bytes']} B)"
    )


if __name__ == "__main__":
    main()
