"""Graph Challenge reference inference: throughput on the official 1024 x 120
network, and memory when streaming a generated 16384 x 480 network.

Part 1 (throughput). The official weights (``NEUROSIM_DATA`` or ``--data``,
``graph_challenge/neuron1024``) are read once into memory; the inputs are
generated binary 32 x 32 "images" of random thick strokes (1024 features,
about 22 % of the pixels on, like MNIST digits), keeping those whose activity
survives all 120 layers. The same inputs run through

* ``challenge_inference`` in float64 and in float32 (dense activations, the simulator's compiled
  fused graded kernel ``neurosim.sim.kernels.graded_layer`` that skips zero
  activations), and
* ``challenge_inference_scipy``, the straightforward scipy.sparse baseline
  (CSR activations x CSR weights, bias on the stored entries),

and the figure is inputs x edges / seconds for each, their ratio, and a
check that outputs and categories agree exactly.

Part 2 (memory). A fresh subprocess streams the generated 16384-neuron,
480-layer challenge network (``graph_challenge_network``, one layer built at a
time) through ``challenge_inference`` and reports its peak RSS
(``resource.getrusage``), against the 4 GB budget and against the size of the
network held in memory as CSR.

Part 3 (precision, ``--part precision``, not in ``all``). The official
network on integer-weight chips (``--chips``, default loihi2 and spinnaker2):
``--precision-inputs`` random binary inputs at 30 % density; the chip
backend's categories against the reference, and
:func:`neurosim.sim.precision.precision_report` computed before the chip is
simulated (``--precision-search`` adds the minimum-bit searches, ~20 exact
runs per chip).

Run::

    .venv/bin/python benchmarks/bench_graph_challenge.py            # parts 1 and 2
    .venv/bin/python benchmarks/bench_graph_challenge.py --part stream
    .venv/bin/python benchmarks/bench_graph_challenge.py --part precision --precision-search
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from neurosim.io.graph_challenge import (
    challenge_inference,
    challenge_inference_scipy,
    read_challenge_network,
)
from neurosim.topology.graph_challenge import graph_challenge_network


def stroke_images(
    n: int, side: int = 32, *, seed: int = 0, strokes: tuple[int, int] = (3, 7), width: float = 2.0
) -> np.ndarray:
    """``n`` binary ``side x side`` images of random thick line strokes, flattened (n x side^2)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64)
    margin = side / 8
    out = np.zeros((n, side, side), dtype=bool)
    for i in range(n):
        for _ in range(int(rng.integers(*strokes))):
            p0, p1 = rng.uniform(margin, side - margin, 2), rng.uniform(margin, side - margin, 2)
            d = p1 - p0
            # distance of every pixel to the segment p0-p1
            s = np.clip(
                ((yy - p0[0]) * d[0] + (xx - p0[1]) * d[1]) / max(float(d @ d), 1e-12), 0.0, 1.0
            )
            d2 = (yy - p0[0] - s * d[0]) ** 2 + (xx - p0[1] - s * d[1]) ** 2
            out[i] |= d2 <= width**2
    return out.reshape(n, -1).astype(np.float64)


def surviving_inputs(
    layers, n: int, *, side: int, bias: float, seed: int, width: float
) -> np.ndarray:
    """Generated images whose activity survives every layer (filtered with the reference)."""
    keep, batch = [], 0
    while sum(len(k) for k in keep) < n:
        imgs = stroke_images(2 * n, side, seed=seed + batch, width=width)
        res = challenge_inference(layers, imgs, bias=bias)
        keep.append(imgs[res.categories - 1])
        batch += 1
        if batch > 20:
            raise RuntimeError("too few generated inputs survive; raise --width")
    return np.concatenate(keep)[:n]


def throughput(args: argparse.Namespace) -> dict:
    data = Path(
        args.data
        or os.environ.get(
            "NEUROSIM_DATA", Path(__file__).resolve().parents[2] / "shared" / "datasets"
        )
    )
    directory = data / "graph_challenge" / "neuron1024"
    t0 = time.perf_counter()
    net = read_challenge_network(directory, lazy=True)
    layers = [net.weights(k) for k in range(1, net.n_layers + 1)]
    load_s = time.perf_counter() - t0
    bias = float(net.bias(1)[0])
    n_edges = sum(w.nnz for w in layers)
    challenge_inference(layers[:1], np.ones((2, 1024)), bias=bias)  # compile / load the kernel
    y0 = surviving_inputs(layers, args.inputs, side=32, bias=bias, seed=args.seed, width=2.0)
    timings = {}
    results = {}
    cpu = {}
    runs = (
        ("kernel", challenge_inference, {}),
        ("kernel_float32", challenge_inference, {"dtype": np.float32}),
        ("scipy_csr_csr", challenge_inference_scipy, {}),
    )
    for name, fn, kw in runs:
        best, best_cpu = np.inf, np.inf
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            res = fn(layers, y0, bias=bias, **kw)
            best = min(best, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.process_time() - c)
        timings[name], cpu[name], results[name] = best, best_cpu, res
    same = bool(np.array_equal(results["kernel"].outputs, results["scipy_csr_csr"].outputs))
    same_cats = bool(
        np.array_equal(results["kernel"].categories, results["scipy_csr_csr"].categories)
    )
    out = {
        "network": "official 1024 x 120",
        "n_layers": len(layers),
        "n_edges": int(n_edges),
        "n_inputs": int(y0.shape[0]),
        "input_density": float(y0.mean()),
        "n_categories": int(results["kernel"].categories.size),
        "load_s": load_s,
        "seconds": timings,
        "cpu_seconds": cpu,
        "float32_categories_identical": bool(
            np.array_equal(
                results["kernel_float32"].categories, results["scipy_csr_csr"].categories
            )
        ),
        "edges_per_s": {k: y0.shape[0] * n_edges / v for k, v in timings.items()},
        "speedup_vs_scipy": timings["scipy_csr_csr"] / timings["kernel"],
        "outputs_identical": same,
        "categories_identical": same_cats,
    }
    return out


def stream(args: argparse.Namespace) -> dict:
    n, n_layers = args.stream_neurons, args.stream_layers
    net = graph_challenge_network(n, n_layers, seed=args.seed)
    bias = float(net.bias(1)[0])
    side = int(round(np.sqrt(n)))
    first = net.head(min(net.n_layers, 24))
    y0 = surviving_inputs(
        first, args.stream_inputs, side=side, bias=bias, seed=args.seed, width=2.0 * side / 32
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    res = challenge_inference(net, y0)  # layers generated one at a time
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    csr_bytes = n_layers * (32 * n * (8 + 4) + (n + 1) * 4)
    return {
        "network": f"generated {n} x {n_layers}",
        "n_edges": int(32 * n * n_layers),
        "n_inputs": int(y0.shape[0]),
        "n_categories": int(res.categories.size),
        "seconds": seconds,
        "edges_per_s": y0.shape[0] * 32 * n * n_layers / seconds,
        "peak_rss_bytes": int(peak),
        "rss_before_inference_bytes": int(rss_before),
        "budget_bytes": 4 * 10**9,
        "peak_over_budget": peak / (4 * 10**9),
        "network_as_csr_bytes": int(csr_bytes),
        "peak_over_network_in_memory": peak / csr_bytes,
    }


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(
        args.data
        or os.environ.get(
            "NEUROSIM_DATA", Path(__file__).resolve().parents[2] / "shared" / "datasets"
        )
    )


def precision(args: argparse.Namespace) -> dict:
    """Chip categories against the reference on the official network, and the precision report."""
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.sim.precision import precision_report
    from neurosim.sim.simulate import simulate

    directory = _data_dir(args) / "graph_challenge" / "neuron1024"
    net = read_challenge_network(directory, lazy=True).to_network()
    rng = np.random.default_rng(args.seed)
    x = (rng.random((args.precision_inputs, 1024)) < 0.3).astype(np.float64)
    ref = simulate(net, x, "reference").outputs.any(axis=1)
    out = {"n_inputs": len(x), "n_categories": int(ref.sum()), "chips": {}}
    for chip in args.chips.split(","):
        mapped = map_network(net, load_profile(chip))
        t = time.perf_counter()
        rep = precision_report(mapped, x, search=args.precision_search)
        report_s = time.perf_counter() - t
        res = simulate(mapped, x, "chip")
        fracs = sorted({v for k, v in res.info["frac_bits"].items() if k not in net.inputs})
        out["chips"][chip] = {
            "wrong_categories": int((res.outputs.any(axis=1) != ref).sum()),
            "frac_bits": fracs,
            "saturations": int(res.saturations),
            "report": rep.summary(),
            "guaranteed": rep.guaranteed,
            "min_frac_bits": rep.min_frac_bits,
            "report_s": report_s,
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["all", "throughput", "stream", "precision"], default="all")
    p.add_argument("--chips", default="loihi2,spinnaker2", help="chips of the precision part")
    p.add_argument("--precision-inputs", type=int, default=500)
    p.add_argument("--precision-search", action="store_true", help="minimum-bit searches too")
    p.add_argument(
        "--data", default=None, help="datasets folder (default NEUROSIM_DATA or ../shared/datasets)"
    )
    p.add_argument(
        "--inputs", type=int, default=1000, help="surviving inputs for the throughput part"
    )
    p.add_argument(
        "--repeat", type=int, default=2, help="timed runs per implementation (best is kept)"
    )
    p.add_argument("--stream-neurons", type=int, default=16384)
    p.add_argument("--stream-layers", type=int, default=480)
    p.add_argument("--stream-inputs", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    report = {}
    if args.part in ("all", "throughput"):
        report["throughput"] = throughput(args)
    if args.part == "precision":
        report["precision"] = precision(args)
    if args.part == "all":
        # a fresh process, so part 1's arrays do not count in the peak RSS
        cmd = [
            sys.executable,
            __file__,
            "--part",
            "stream",
            "--json",
            "--seed",
            str(args.seed),
            "--stream-neurons",
            str(args.stream_neurons),
            "--stream-layers",
            str(args.stream_layers),
            "--stream-inputs",
            str(args.stream_inputs),
        ]
        report["stream"] = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        )["stream"]
    elif args.part == "stream":
        report["stream"] = stream(args)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    if "throughput" in report:
        r = report["throughput"]
        print(
            f"{r['network']}: {r['n_inputs']} surviving inputs (density {r['input_density']:.3f}), "
            f"{r['n_edges']:,} edges, read in {r['load_s']:.1f} s"
        )
        for k, v in r["seconds"].items():
            print(
                f"  {k:14s} {v:8.2f} s (CPU {r['cpu_seconds'][k]:.2f} s)  {r['edges_per_s'][k]:.3e} edges/s"
            )
        print(
            f"  float32 kernel categories identical to scipy: {r['float32_categories_identical']}"
        )
        print(
            f"  speedup kernel vs scipy CSR x CSR: {r['speedup_vs_scipy']:.2f}x; outputs identical: "
            f"{r['outputs_identical']}; categories identical: {r['categories_identical']} ({r['n_categories']})"
        )
    if "precision" in report:
        r = report["precision"]
        print(f"official 1024 x 120: {r['n_inputs']} inputs, {r['n_categories']} categories")
        for chip, c in r["chips"].items():
            print(
                f"  {chip}: {c['wrong_categories']} wrong categories, fractions {c['frac_bits']}, "
                f"{c['saturations']} saturations; report ({c['report_s']:.0f} s): {c['report']}"
            )
    if "stream" in report:
        s = report["stream"]
        print(
            f"{s['network']} streamed: {s['n_inputs']} inputs, {s['n_edges']:.3e} edges, {s['seconds']:.1f} s, "
            f"{s['edges_per_s']:.3e} edges/s; peak RSS {s['peak_rss_bytes'] / 2**20:.0f} MiB = "
            f"{s['peak_over_budget']:.3f} of the 4 GB budget, {s['peak_over_network_in_memory']:.3f} of the "
            f"network held as CSR ({s['network_as_csr_bytes'] / 2**20:.0f} MiB); categories {s['n_categories']}"
        )


if __name__ == "__main__":
    main()
