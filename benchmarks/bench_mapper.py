"""Benchmark: map a 1,000,000-neuron, 32,000,000-synapse sparse network.

The network: an input population of 131,072 neurons and 8 layers of 125,000
neurons, each neuron reading 32 distinct inputs drawn from a window of 256
neighbours of its position (a locally connected sparse network, the shape of
RadiX-Net and NeuroFabric topologies). Profile: ``generic`` (1024 neurons per
core), so the neuron limit binds; ``--axons`` sets ``core.max_axons`` to make
the axon limit bind too (e.g. 4096, Loihi's figure).

Each strategy runs in its own fresh process so that peak memory (maximum
resident set size, which includes building the network) is measured per
strategy. Goal (issue 18): ``--scale 10`` (10,000,000 neurons, 320,000,000
synapses) mapped in under 60 s and under 16 GB; the figure to read is each
strategy's time and memory against that goal, and ``axon_sharing`` against
the ``sequential`` baseline measured in the same run, as ratios. Besides the
wall time, the CPU time (user + system) of ``map_network`` is printed: it
depends much less on other jobs sharing the machine.

Usage::

    .venv/bin/python benchmarks/bench_mapper.py [--scale 1.0] [--axons N] [--strategies sequential axon_sharing]

The 10M case (needs ~13 GB free memory per strategy; the strategies run one
after the other)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_mapper.py --scale 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

GOAL_S = 60.0
GOAL_BYTES = 16 * 2**30


def build_network(scale: float = 1.0, seed: int = 0):
    """The benchmark network (see the module docstring); ``scale`` shrinks every layer."""
    from neurosim.network import Network
    from neurosim.neurons import NeuronModel

    rng = np.random.default_rng(seed)
    n_in = int(131_072 * scale)
    n_layer = int(125_000 * scale)
    fan_in, window = 32, 256
    step = window // fan_in
    sizes = [n_in] + [n_layer] * 8
    weights = []
    for n_pre, n_post in zip(sizes[:-1], sizes[1:], strict=True):
        base = (np.arange(n_post, dtype=np.int64) * n_pre) // n_post
        offs = np.arange(fan_in, dtype=np.int64) * step + rng.integers(
            0, step, size=(n_post, fan_in)
        )
        rows = ((base[:, None] + offs - window // 2) % n_pre).ravel()
        cols = np.repeat(np.arange(n_post, dtype=np.int64), fan_in)
        vals = rng.choice(np.array([-1.0, 1.0]), size=rows.size)
        weights.append(sp.csr_matrix((vals, (rows, cols)), shape=(n_pre, n_post)))
    return Network.from_layers(weights, model=NeuronModel("lif"), name=f"bench_{scale:g}")


def _cpu_s() -> float:
    """User + system CPU seconds of this process so far."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def run_one(strategy: str, scale: float, axons: int | None, placement: str) -> dict:
    """Build and map in this process; return figures (peak RSS of this process)."""
    from neurosim.mapping import map_network

    t0 = time.perf_counter()
    net = build_network(scale)
    t_build = time.perf_counter() - t0
    overrides = {"core.max_axons": axons} if axons else {}
    t0, c0 = time.perf_counter(), _cpu_s()
    m = map_network(net, "generic", strategy=strategy, placement=placement, overrides=overrides)
    t_map, c_map = time.perf_counter() - t0, _cpu_s() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {
        "strategy": strategy,
        "neurons": net.n_neurons,
        "synapses": net.n_synapses,
        "build_s": t_build,
        "map_s": t_map,
        "map_cpu_s": c_map,
        "peak_rss_bytes": peak,
        "cores": m.n_cores_used,
        "lower_bound": m.lower_bound_cores,
        "fits": m.fits,
        "total_link_load": m.placement.total_link_load,
        "row_major_total_link_load": m.placement.row_major_total_link_load,
        "timings_s": dict(m.info["timings_s"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--axons", type=int, default=None, help="override core.max_axons")
    parser.add_argument("--placement", default="annealed")
    parser.add_argument("--strategies", nargs="+", default=["sequential", "axon_sharing"])
    parser.add_argument(
        "--one", default=None, help=argparse.SUPPRESS
    )  # internal: run one strategy here
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.scale, args.axons, args.placement)))
        return 0
    rows = []
    load_before = os.getloadavg()[0]
    for strategy in args.strategies:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            strategy,
            "--scale",
            str(args.scale),
            "--placement",
            args.placement,
        ]
        if args.axons:
            cmd += ["--axons", str(args.axons)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"scale {args.scale:g}, max_axons {args.axons or 'profile'}, placement {args.placement}, "
        f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after"
    )
    print(
        f"{'strategy':<14}{'neurons':>11}{'synapses':>13}{'map s':>8}{'CPU s':>8}{'peak GB':>9}{'cores':>7}"
        f"{'lower b.':>9}{'time/goal':>10}{'mem/goal':>9}"
    )
    for r in rows:
        print(
            f"{r['strategy']:<14}{r['neurons']:>11,}{r['synapses']:>13,}{r['map_s']:>8.1f}"
            f"{r['map_cpu_s']:>8.1f}"
            f"{r['peak_rss_bytes'] / 2**30:>9.2f}{r['cores']:>7}{r['lower_bound']:>9}"
            f"{r['map_s'] / GOAL_S:>10.2f}{r['peak_rss_bytes'] / GOAL_BYTES:>9.2f}"
        )
        print(
            "    stages (s): " + ", ".join(f"{k[:-2]} {v:.1f}" for k, v in r["timings_s"].items())
        )
    base = next((r for r in rows if r["strategy"] == "sequential"), None)
    if base:
        for r in rows:
            if r is not base:
                print(
                    f"{r['strategy']} vs sequential: time x{r['map_s'] / base['map_s']:.2f}, "
                    f"cores x{r['cores'] / base['cores']:.3f}, "
                    f"link load x{r['total_link_load'] / max(base['total_link_load'], 1e-12):.3f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
