"""Benchmark: a 32-point sweep serial vs on a Dask LocalCluster, executor overhead, bytes per point.

Figures printed in one run (JSON, then a summary line):

1. **Speedup.** ``run_sweep`` (map + simulate + report per point, as
   ``neurosim sweep`` runs it) of a 4 x 8 grid (``core.max_fan_in`` x
   ``weights.bits``) of a 512-256-10 ReLU network (40 % connectivity) on 512
   inputs, on the ``generic`` profile.

   * *Serial baseline*: this process, warm (imports, compiled kernels and a
     first sweep done), timed twice: with the libraries' default thread pools
     (numba and OpenBLAS use every core, so the "serial" run is itself
     partly parallel) and with every pool at one thread (what each worker
     runs with). The fair baseline is the faster of the two
     (``serial_best_s``); the speedup is against it.
   * *LocalCluster*: ``--workers`` processes, one thread each. Its start-up
     and the workers' warm-up (``prepare_worker``: imports and the compiled
     kernels, once per worker) are timed and reported apart
     (``cluster_start_s``, ``worker_warmup_s``); the sweep is then timed
     through ``run_sweep`` against the cluster's address, as a user's
     ``neurosim sweep --scheduler ADDRESS`` runs (connect, scatter, points,
     gather), and the rows must equal the serial ones. ``cluster_cold_s``
     is a sweep on ``Execution("local")`` in a fresh cluster (start-up and
     warm-up included), against ``serial_cold_s`` (the first sweep of this
     process).
   * *Ceiling*: two plain processes (one thread each, warm) run the two
     halves of the grid at the same time. ``serial_best_s`` over the
     mean of the two halves' times (their work spread evenly over two
     processes) is the best any two-process executor can reach on this
     machine for this work (two points at once share caches, memory
     bandwidth and, on a VM, possibly one physical core); ``efficiency`` is
     the speedup over that ceiling.
   * *Where the time goes*: CPU time per point in the workers (summed over
     workers: the points and Dask's worker side) against the serial
     one-thread CPU per point, and the CPU this process (client and
     scheduler) spent during the cluster sweep.

   Target >= 1.7x on 2 cores (pin the process: ``taskset -c 0,1``; the
   workers and the ceiling's processes inherit the pinning).
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

    taskset -c 0,1 .venv/bin/python benchmarks/bench_sweep.py [--workers 2]
    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweep.py --only-gc --gc 16384 480 256
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import time

import numpy as np

SPEEDUP_TARGET = 1.7
OVERHEAD_TARGET_S = 0.050
GRID = {"core.max_fan_in": [16, 32, 64, 128], "weights.bits": [2, 3, 4, 5, 6, 8, 12, 16]}
#: the two halves of GRID for the ceiling (each a 4 x 4 grid: 16 points, similar cost)
HALVES = (
    {"core.max_fan_in": [16, 32, 64, 128], "weights.bits": [2, 4, 6, 12]},
    {"core.max_fan_in": [16, 32, 64, 128], "weights.bits": [3, 5, 8, 16]},
)


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


def cpu_s() -> float:
    """User + system CPU seconds of the calling process (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _sweep(net, x, y, execution, grid=GRID):
    """``run_sweep`` of ``grid``: the result, its wall time and this process's CPU time."""
    from neurosim.sweep import run_sweep

    t0, c0 = time.perf_counter(), cpu_s()
    res = run_sweep(net, "generic", grid, inputs=x, labels=y, execution=execution)
    return res, time.perf_counter() - t0, cpu_s() - c0


def _one_thread():
    """A context in which numba and the BLAS / OpenMP pools of this process use one thread."""
    from contextlib import ExitStack

    import numba
    from threadpoolctl import threadpool_limits

    stack = ExitStack()
    stack.enter_context(threadpool_limits(1))
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    stack.callback(numba.set_num_threads, before)
    return stack


def _serial(net, x, y) -> tuple[dict, object]:
    """Serial sweeps in this process: cold, warm (default threads), warm (one thread)."""
    from neurosim.execute import Execution

    serial = Execution("serial")
    res, t_cold, _ = _sweep(net, x, y, serial)  # imports, compiled kernels
    _, t_default, c_default = _sweep(net, x, y, serial)
    with _one_thread():
        _, t_one, c_one = _sweep(net, x, y, serial)
    out = {
        "serial_cold_s": round(t_cold, 2),
        "serial_default_threads_s": round(t_default, 2),
        "serial_default_threads_cpu_s": round(c_default, 2),
        "serial_one_thread_s": round(t_one, 2),
        "serial_one_thread_cpu_s": round(c_one, 2),
        "serial_best_s": round(min(t_default, t_one), 2),
        "serial_baseline": "one thread" if t_one <= t_default else "default threads",
        "serial_cpu_per_point_ms": round(1000 * c_one / 32, 1),
    }
    return out, res


def half_main(k: int) -> None:
    """Ceiling helper (a child process): warm up, wait for ``go`` on stdin, time half ``k``."""
    from neurosim.execute import Execution
    from neurosim.sweep import prepare_worker

    net, x, y = build()
    prepare_worker()
    _sweep(net, x, y, Execution("serial"), HALVES[k])  # warm, as the serial baseline
    print("ready", flush=True)
    sys.stdin.readline()
    _, t, c = _sweep(net, x, y, Execution("serial"), HALVES[k])
    print(json.dumps({"s": t, "cpu_s": c}), flush=True)


def ceiling(serial_best_s: float) -> dict:
    """The two halves of the grid in two plain processes at once: the best two processes can do."""
    from neurosim.execute import WORKER_THREAD_LIMITS

    env = {**os.environ, **WORKER_THREAD_LIMITS}
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--half", str(k)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for k in (0, 1)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", "ceiling helper failed"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    halves = [json.loads(p.stdout.readline()) for p in procs]
    for p in procs:
        p.wait(timeout=60)
    mean = sum(h["s"] for h in halves) / 2
    return {
        "ceiling_halves_s": [round(h["s"], 2) for h in halves],
        "ceiling_halves_cpu_per_point_ms": round(1000 * sum(h["cpu_s"] for h in halves) / 32, 1),
        # the work of both halves spread evenly over the two processes
        "ceiling_speedup": round(serial_best_s / mean, 2),
    }


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


def _cluster_sweeps(net, x, y, serial_rows, args) -> dict:
    """Start, warm-up, sweep and executor overhead on a warm LocalCluster (timed apart)."""
    from distributed import Client

    from neurosim.execute import Execution, local_cluster, prepare_workers, run_points
    from neurosim.sweep import prepare_worker

    out: dict = {}
    t0 = time.perf_counter()
    with local_cluster(args.workers) as cluster, Client(cluster) as client:
        out["cluster_start_s"] = round(time.perf_counter() - t0, 2)
        if args.worker_cores:
            _pin(cluster, [int(c) for c in args.worker_cores.split(",")])
            out["worker_cores"] = args.worker_cores
        out["worker_warmup_s"] = round(prepare_workers(client, prepare_worker), 2)
        where = Execution(cluster.scheduler_address)
        for label in ("cluster", "cluster_repeat"):
            w0 = sum(client.run(cpu_s).values())
            res, t, c = _sweep(net, x, y, where)
            assert res.rows() == serial_rows, "cluster rows differ from serial rows"
            out[f"{label}_s"] = round(t, 2)
            out[f"{label}_worker_cpu_per_point_ms"] = round(
                1000 * (sum(client.run(cpu_s).values()) - w0) / 32, 1
            )
            out[f"{label}_client_cpu_s"] = round(c, 2)
        n = 64
        t0 = time.perf_counter()
        run_points(noop, {"payload": 0}, [(str(i), i) for i in range(n)], lambda k, r: None, where)
        out["overhead_per_point_ms"] = round(1000 * (time.perf_counter() - t0) / n, 1)
    return out


def _summary(out: dict, workers: int) -> str:
    return (
        f"32-point sweep: serial {out['serial_best_s']} s ({out['serial_baseline']}; default "
        f"threads {out['serial_default_threads_s']} s); LocalCluster({workers}) "
        f"{out['cluster_s']} s, speedup {out['speedup']}x (repeat {out['speedup_repeat']}x, "
        f"target >= {SPEEDUP_TARGET}x; two plain processes reach {out['ceiling_speedup']}x, "
        f"efficiency {out['efficiency']}); cluster start {out['cluster_start_s']} s and worker "
        f"warm-up {out['worker_warmup_s']} s apart; CPU per point: serial "
        f"{out['serial_cpu_per_point_ms']} ms, workers {out['cluster_worker_cpu_per_point_ms']} "
        f"ms; client+scheduler CPU {out['cluster_client_cpu_s']} s; fresh process: serial "
        f"{out['serial_cold_s']} s vs cluster incl. start-up {out['cluster_cold_s']} s "
        f"({out['speedup_cold']}x); executor overhead {out['overhead_per_point_ms']} ms/point "
        f"(target < 50 ms); per point: task {out['task_bytes']} B sent, record "
        f"{out['record_bytes']} B back; scattered once: {out['shared_bytes_once']} B (network "
        f"{out['network_bytes']} B)"
    )


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
    ap.add_argument("--half", type=int, choices=(0, 1), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.half is not None:
        return half_main(args.half)
    if args.gc:
        print(json.dumps(batch_inference(*args.gc, args.workers), indent=1), flush=True)
    if args.only_gc:
        return
    from neurosim.execute import Execution

    net, x, y = build()
    cores = sorted(os.sched_getaffinity(0))
    out: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, usable {cores}",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "points": 32,
    }
    serial_out, serial = _serial(net, x, y)
    out.update(serial_out)
    out.update(ceiling(out["serial_best_s"]))
    t0 = time.perf_counter()
    cold, _, _ = _sweep(net, x, y, Execution("local", args.workers))
    out["cluster_cold_s"] = round(time.perf_counter() - t0, 2)
    assert cold.rows() == serial.rows(), "cluster rows differ from serial rows"
    out.update(_cluster_sweeps(net, x, y, serial.rows(), args))
    out["speedup"] = round(out["serial_best_s"] / out["cluster_s"], 2)
    out["speedup_repeat"] = round(out["serial_best_s"] / out["cluster_repeat_s"], 2)
    out["speedup_vs_default_threads"] = round(out["serial_default_threads_s"] / out["cluster_s"], 2)
    out["efficiency"] = round(out["speedup"] / out["ceiling_speedup"], 2)
    out["speedup_cold"] = round(out["serial_cold_s"] / out["cluster_cold_s"], 2)
    out.update(_bytes_per_point(net, x, y))
    out["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    out["speedup_target"] = SPEEDUP_TARGET
    out["overhead_target_ms"] = 1000 * OVERHEAD_TARGET_S
    print(json.dumps(out, indent=1))
    print(_summary(out, args.workers))


if __name__ == "__main__":
    main()
