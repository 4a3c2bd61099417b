"""Graph Challenge reference inference: throughput on the official 1024 x 120
network, and memory when streaming a generated 16384 x 480 network.

Part 1 (throughput). The official weights (``NEUROSIM_DATA`` or ``--data``,
``graph_challenge/neuron1024``) are read once into memory; the inputs are
generated binary 32 x 32 "images" of random thick strokes (1024 features,
about 22 % of the pixels on, like MNIST digits), keeping those whose activity
survives all 120 layers. The same inputs run through

* ``challenge_inference`` in float64 and in float32 (dense activations, the
  compiled post-major "pull" kernel :func:`neurosim.sim.kernels.pull_layer`:
  each output gathers its inputs into an accumulator row kept in L1),
* ``neurosim.sim.kernels.graded_layer`` in float32 on the same layers: the
  CSR entry point of the same pull kernel, converting each layer's CSR arrays
  to CSC on every call (the push kernel it used to measure is gone since
  cc1d301); its gap to ``kernel_float32`` is the cost of that conversion, and
  its outputs must be the same bits, and
* ``challenge_inference_scipy``, the straightforward scipy.sparse baseline
  (CSR activations x CSR weights, bias on the stored entries),

and the figure is inputs x edges / seconds for each (wall, and per CPU-second:
the machine is shared), their ratio, and a check that outputs and categories
agree exactly.

Part 1b (fixed point, ``--part fixed``; ``--part inference`` runs 1 and 1b on
the same inputs). The same network mapped on ``--fixed-chip`` (default
loihi2: 24-bit accumulator and state), the same inputs: the chip backend's
whole ``simulate`` call, its fixed-point plan's layers through
``kernels.graded_layer_fixed`` (the CSR entry point of the pull kernel: a
CSR -> CSC conversion per layer per call, default output width) and through
:func:`neurosim.sim.kernels.pull_layer_fixed` on CSC arrays converted once
(int32 sums and activations where they fit), each checked equal to the chip
backend's outputs.

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

    .venv/bin/python benchmarks/bench_graph_challenge.py            # parts 1, 1b and 2
    .venv/bin/python benchmarks/bench_graph_challenge.py --part inference   # 1 and 1b
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
import scipy.sparse as sp

from neurosim.io.graph_challenge import (
    ChallengeResult,
    challenge_categories,
    challenge_inference,
    challenge_inference_scipy,
    read_challenge_network,
)
from neurosim.topology.graph_challenge import CHALLENGE_CAP as CAP
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


def official(args: argparse.Namespace) -> tuple[list, float, np.ndarray, float]:
    """The official 1024 x 120 layers, their bias, ``--inputs`` surviving inputs, the read time."""
    directory = _data_dir(args) / "graph_challenge" / "neuron1024"
    t0 = time.perf_counter()
    net = read_challenge_network(directory, lazy=True)
    layers = [net.weights(k) for k in range(1, net.n_layers + 1)]
    load_s = time.perf_counter() - t0
    bias = float(net.bias(1)[0])
    challenge_inference(layers[:1], np.ones((2, 1024)), bias=bias)  # compile / load the kernel
    y0 = surviving_inputs(layers, args.inputs, side=32, bias=bias, seed=args.seed, width=2.0)
    return layers, bias, y0, load_s


def throughput(args: argparse.Namespace, layers: list, bias: float, y0, load_s: float) -> dict:
    n_edges = sum(w.nnz for w in layers)
    timings = {}
    results = {}
    cpu = {}
    runs = (
        ("kernel", challenge_inference, {}),
        ("kernel_float32", challenge_inference, {"dtype": np.float32}),
        ("csr_entry_float32", csr_entry_inference, {"dtype": np.float32}),
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
    same_entry = bool(
        np.array_equal(results["kernel_float32"].outputs, results["csr_entry_float32"].outputs)
    )
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
        "float32_pull_equals_csr_entry": same_entry,
        "load_average": os.getloadavg(),
        "outputs_identical": same,
        "categories_identical": same_cats,
    }
    return out


def csr_entry_inference(layers, y0, *, bias: float, dtype) -> ChallengeResult:
    """The same layers through ``kernels.graded_layer``: the pull kernel behind its CSR entry
    point, which converts each layer to CSC on every call (not a push kernel: that is gone)."""
    from neurosim.sim.kernels import graded_layer

    y = np.ascontiguousarray(y0, dtype=dtype)
    for w in layers:
        n = w.shape[1]
        y, _ = graded_layer(
            y, (w.indptr, w.indices, w.data), np.full(n, bias, dtype), np.full(n, CAP, dtype)
        )
    return ChallengeResult(y, challenge_categories(y), len(layers), sum(w.nnz for w in layers))


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


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall and best CPU seconds of ``repeat`` calls of ``fn``, and its last result."""
    best, best_cpu, res = np.inf, np.inf, None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        res = fn()
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best, best_cpu, res


def fixed_chain(plan, y, layer_fn, csc=None, **kw) -> tuple[np.ndarray, int]:
    """The fixed-point plan's graded layers, in order, through ``layer_fn``
    (``kernels.graded_layer_fixed``: the CSR entry point, converting to CSC on every call;
    or ``pull.pull_layer_fixed`` on the CSC arrays in ``csc``)."""
    from neurosim.sim.kernels import accumulation_fits

    saturations = 0
    a_lo, a_hi = plan.acc_range
    for pop in plan.pops[len(plan.inputs) :]:
        (q,) = pop.incoming
        if pop.kind not in ("relu", "linear") or q.delayed:
            raise SystemExit(f"fixed part: population {pop.name} is not a graded layer")
        if not accumulation_fits(y, q.data, q.indices, pop.size, min(a_hi, -a_lo)):
            raise SystemExit(f"fixed part: the accumulator of {pop.name} could saturate")
        lo, hi = pop.value_range or plan.state_range
        cap = pop.params["cap"] if pop.kind == "relu" else None
        W = csc[pop.name] if csc is not None else (q.indptr, q.indices, q.data)
        y, _, s = layer_fn(y, W, q.mult, q.shift, pop.params["bias"], cap, lo, hi, **kw)
        saturations += s
    return y, saturations


def _layers_of(plan):
    """``(population, its projection, pre size)`` of each non-input population of ``plan``."""
    size = {p.name: p.size for p in plan.pops}
    return [(p, p.incoming[0], size[p.incoming[0].pre]) for p in plan.pops[len(plan.inputs) :]]


def fixed(args: argparse.Namespace, layers, y0: np.ndarray) -> dict:
    """The official network in the chip's fixed point: the chip backend's whole call, its
    layers through the pull kernel's CSR entry point (a conversion per layer per call), and
    through the pull kernel on CSC arrays converted once (same plan, same integers)."""
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.sim import chip as chip_backend
    from neurosim.sim.kernels import csc_arrays, graded_layer_fixed, pull_layer_fixed
    from neurosim.sim.simulate import simulate

    net = read_challenge_network(_data_dir(args) / "graph_challenge" / "neuron1024", lazy=True)
    mapped = map_network(net.to_network(), load_profile(args.fixed_chip))
    grabbed = {}

    def backend(req):
        grabbed["setup"] = chip_backend._fixed_setup(req.mapped, req)
        return chip_backend.run_chip(req)

    call_s, call_cpu, res = _timed(
        lambda: simulate(mapped, y0, backend, spike_counts="outputs"), args.repeat
    )
    setup = grabbed["setup"]
    plan, x = setup.plan, setup.convert(y0)
    last = plan.pops[-1].name
    csc = {
        p.name: csc_arrays(sp.csr_matrix((q.data, q.indices, q.indptr), shape=(n_pre, p.size)))
        for p, q, n_pre in _layers_of(plan)
    }
    entry_s, entry_cpu, (y_entry, s_entry) = _timed(
        lambda: fixed_chain(plan, x, graded_layer_fixed), args.repeat
    )
    pull_s, pull_cpu, (y_pull, s_pull) = _timed(
        lambda: fixed_chain(plan, x, pull_layer_fixed, csc=csc, narrow_out=True), args.repeat
    )
    scale = 2.0 ** setup.info["frac_bits"][last]
    n_edges = sum(w.nnz for w in layers) * len(y0)
    return {
        "chip": args.fixed_chip,
        "accumulator_bits": setup.info["accumulator_bits"],
        "state_bits": setup.info["state_bits"],
        "seconds": {"chip_call": call_s, "csr_entry_layers": entry_s, "pull_layers": pull_s},
        "cpu_seconds": {
            "chip_call": call_cpu,
            "csr_entry_layers": entry_cpu,
            "pull_layers": pull_cpu,
        },
        "edges_per_s": {
            "chip_call": n_edges / call_s,
            "csr_entry_layers": n_edges / entry_s,
            "pull_layers": n_edges / pull_s,
        },
        "csr_entry_equals_chip": bool(np.array_equal(y_entry / scale, res.outputs)),
        "pull_equals_chip": bool(np.array_equal(y_pull / scale, res.outputs)),
        "saturations": [int(res.saturations), s_entry, s_pull],
        "load_average": os.getloadavg(),
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


def _parser() -> argparse.ArgumentParser:
    """The command line of this benchmark."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--part",
        choices=["all", "inference", "throughput", "fixed", "stream", "precision"],
        default="all",
    )
    p.add_argument("--fixed-chip", default="loihi2", help="integer-weight chip of the fixed part")
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
    return p


def _stream_in_fresh_process(args: argparse.Namespace) -> dict:
    """The stream part in a fresh process, so the other parts' arrays do not count in its peak RSS."""
    cmd = [sys.executable, __file__, "--part", "stream", "--json", "--seed", str(args.seed)]
    cmd += ["--stream-neurons", str(args.stream_neurons), "--stream-layers", str(args.stream_layers)]
    cmd += ["--stream-inputs", str(args.stream_inputs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["stream"]


def _run(args: argparse.Namespace) -> dict:
    """The parts ``args.part`` names, each a section of the report."""
    report = {}
    if args.part in ("all", "inference", "throughput", "fixed"):
        data = official(args)
        if args.part != "fixed":
            report["throughput"] = throughput(args, *data)
        if args.part != "throughput":
            report["fixed"] = fixed(args, data[0], data[2])
    if args.part == "precision":
        report["precision"] = precision(args)
    if args.part == "all":
        report["stream"] = _stream_in_fresh_process(args)
    elif args.part == "stream":
        report["stream"] = stream(args)
    return report


def _print_timings(r: dict) -> None:
    """One line per implementation: seconds, CPU, edges per second and per CPU-second."""
    for k, v in r["seconds"].items():
        print(
            f"  {k:18s} {v:8.2f} s (CPU {r['cpu_seconds'][k]:.2f} s)  {r['edges_per_s'][k]:.3e} edges/s, "
            f"{r['edges_per_s'][k] * v / r['cpu_seconds'][k]:.3e} edges per CPU-second"
        )


def _print_throughput(r: dict) -> None:
    print(
        f"{r['network']}: {r['n_inputs']} surviving inputs (density {r['input_density']:.3f}), "
        f"{r['n_edges']:,} edges, read in {r['load_s']:.1f} s"
    )
    _print_timings(r)
    print(
        f"  float32 kernel categories identical to scipy: {r['float32_categories_identical']}; "
        f"float32 pull outputs identical to the CSR entry's: {r['float32_pull_equals_csr_entry']}; "
        f"load average {r['load_average'][0]:.1f}"
    )
    print(
        f"  speedup kernel vs scipy CSR x CSR: {r['speedup_vs_scipy']:.2f}x; outputs identical: "
        f"{r['outputs_identical']}; categories identical: {r['categories_identical']} ({r['n_categories']})"
    )


def _print_fixed(r: dict) -> None:
    print(
        f"fixed point on {r['chip']} ({r['accumulator_bits']}-bit accumulator, "
        f"{r['state_bits']}-bit state), same inputs, load average {r['load_average'][0]:.1f}:"
    )
    _print_timings(r)
    print(
        f"  outputs equal to the chip backend's: CSR entry {r['csr_entry_equals_chip']}, pull "
        f"{r['pull_equals_chip']}; saturations (chip, CSR entry, pull) {r['saturations']}"
    )


def _print_precision(r: dict) -> None:
    print(f"official 1024 x 120: {r['n_inputs']} inputs, {r['n_categories']} categories")
    for chip, c in r["chips"].items():
        print(
            f"  {chip}: {c['wrong_categories']} wrong categories, fractions {c['frac_bits']}, "
            f"{c['saturations']} saturations; report ({c['report_s']:.0f} s): {c['report']}"
        )


def _print_stream(s: dict) -> None:
    print(
        f"{s['network']} streamed: {s['n_inputs']} inputs, {s['n_edges']:.3e} edges, {s['seconds']:.1f} s, "
        f"{s['edges_per_s']:.3e} edges/s; peak RSS {s['peak_rss_bytes'] / 2**20:.0f} MiB = "
        f"{s['peak_over_budget']:.3f} of the 4 GB budget, {s['peak_over_network_in_memory']:.3f} of the "
        f"network held as CSR ({s['network_as_csr_bytes'] / 2**20:.0f} MiB); categories {s['n_categories']}"
    )


def main() -> None:
    args = _parser().parse_args()
    report = _run(args)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    printers = {"throughput": _print_throughput, "fixed": _print_fixed,
                "precision": _print_precision, "stream": _print_stream}
    for part, section in report.items():
        printers[part](section)


if __name__ == "__main__":
    main()
