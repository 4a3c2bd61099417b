"""Convolution benchmarks, each comparison measured in the same run.

1. Spiking conv simulation: the chip backend against Brian2 on the same
   mapped (unrolled) IF CNN, float64 generic profile so both compute the same
   spikes (checked), wall time of ``simulate`` for each (Brian2's includes its
   network construction, as a user pays it; its code generation target is
   ``numpy`` unless ``--brian2-target`` says otherwise).
2. Graded conv inference of one layer: the reference backend (compact conv
   by im2col, its default; and on the unrolled CSR, ``options={"unrolled":
   True}``), scipy.sparse CSR product ``x @ unroll(spec)``,
   scipy.signal.correlate per output channel, and neurosim.conv.conv_forward
   (im2col + BLAS); outputs checked equal.
3. Spiking reference runs of the IF CNN of 1. (conv 16 -> pool -> conv 32 as
   in ``train/cnn.py``): the reference backend with compact conv (im2col per
   step on the whole batch) against the same backend on the unrolled CSR
   (the compiled whole-run kernel); spike counts checked equal, outputs to 1e-9.
   CPU time (user + sys) is printed beside wall time.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_conv.py [--quick] [--batch 200] [--skip-spiking]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import scipy.signal

from neurosim.conv import ConvSpec, PoolSpec, conv_forward, unroll
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel


def if_cnn(seed: int = 0, side: int = 28, c1: int = 8, c2: int = 16) -> Network:
    """conv(c1) -> IF -> sum pool -> IF -> conv(c2) -> IF -> dense 10 -> IF, random weights."""
    rng = np.random.default_rng(seed)
    if_ = NeuronModel("if", {"threshold": 1.0, "v_reset": 0.0}, "subtract")
    conv1 = ConvSpec(rng.normal(0.15, 0.3, size=(c1, 1, 3, 3)), (1, side, side), padding=1, where="conv1")
    pool = PoolSpec("sum", 2, conv1.out_shape, gain=0.5, where="pool1")
    conv2 = ConvSpec(rng.normal(0.02, 0.15, size=(c2, c1, 3, 3)), pool.out_shape, padding=1, where="conv2")
    pops = [
        Population("in", conv1.n_pre, NeuronModel("input"), shape=conv1.in_shape),
        Population("conv1", conv1.n_post, if_, shape=conv1.out_shape),
        Population("pool1", pool.n_post, if_, shape=pool.out_shape),
        Population("conv2", conv2.n_post, if_, shape=conv2.out_shape),
        Population("out", 10, if_),
    ]
    projs = [
        Projection("in", "conv1", spec=conv1),
        Projection("conv1", "pool1", spec=pool),
        Projection("pool1", "conv2", spec=conv2),
        Projection("conv2", "out", rng.normal(0.0, 0.05, size=(conv2.n_post, 10))),
    ]
    return Network(pops, projs, name="bench_if_cnn")


def bench_spiking(batch: int, steps: int, target: str) -> dict:
    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.sim.simulate import simulate

    net = if_cnn()
    rng = np.random.default_rng(1)
    x = (rng.random((steps, batch, net.population("in").size)) < 0.2).astype(np.float64)
    mapped = map_network(net, load_profile("generic", ["weights.bits=64"]), placement="row_major")
    simulate(mapped, x[:2, :1], "chip", dt_s=1e-3)  # compile once, outside the timing
    t = time.perf_counter()
    chip = simulate(mapped, x, "chip", dt_s=1e-3)
    t_chip = time.perf_counter() - t
    t = time.perf_counter()
    b2 = simulate(mapped, x, "brian2", dt_s=1e-3, options={"target": target})
    t_b2 = time.perf_counter() - t
    same = all(np.array_equal(chip.spike_counts[k], b2.spike_counts[k]) for k in chip.spike_counts)
    return {
        "synapses": net.n_synapses, "params": net.stats().n_params, "batch": batch, "steps": steps,
        "synops": int(chip.total_events("synop")), "chip_s": t_chip, "brian2_s": t_b2,
        "ratio": t_b2 / t_chip, "identical_spikes": same, "brian2_target": target,
    }


def _correlate(spec: ConvSpec, x: np.ndarray) -> np.ndarray:
    """scipy.signal.correlate over (batch, C_in, H, W), one call per output channel."""
    c_in, h, w = spec.in_shape
    p = spec.padding
    xp = np.pad(x.reshape(-1, c_in, h, w), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    out = [scipy.signal.correlate(xp, spec.kernel[o][None], mode="valid")[:, 0] for o in range(spec.kernel.shape[0])]
    return np.stack(out, axis=1).reshape(x.shape[0], -1)


def _best(fn, repeats: int) -> tuple[float, np.ndarray]:
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_graded(batch: int, repeats: int) -> dict:
    from neurosim.sim.simulate import simulate

    rng = np.random.default_rng(2)
    spec = ConvSpec(rng.normal(size=(32, 16, 3, 3)), (16, 14, 14), padding=1)
    pops = [Population("in", spec.n_pre, NeuronModel("input"), shape=spec.in_shape),
            Population("conv", spec.n_post, NeuronModel("linear"), shape=spec.out_shape)]
    net = Network(pops, [Projection("in", "conv", spec=spec)])
    x = rng.random((batch, spec.n_pre))
    w = unroll(spec)
    simulate(net, x[:2], "reference")  # compile once
    times, outs = {}, {}
    for name, fn in (
        ("reference_backend", lambda: simulate(net, x, "reference").outputs),
        ("reference_unrolled", lambda: simulate(net, x, "reference", options={"unrolled": True}).outputs),
        ("scipy_csr", lambda: np.asarray(x @ w)),
        ("scipy_correlate", lambda: _correlate(spec, x)),
        ("im2col_blas", lambda: conv_forward(spec, x)),
    ):
        times[name], outs[name] = _best(fn, repeats)
    for name, out in outs.items():
        np.testing.assert_allclose(out, outs["scipy_csr"], rtol=1e-9, atol=1e-9, err_msg=name)
    macs = batch * w.nnz
    return {"batch": batch, "layer": "16x14x14 -> 32x14x14, 3x3, padding 1", "unrolled_synapses": int(w.nnz),
            **{f"{k}_s": v for k, v in times.items()},
            **{f"{k}_gmacs": macs / v / 1e9 for k, v in times.items()}}


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_reference_spiking(batch: int, steps: int) -> dict:
    """Reference backend on the IF CNN (16/32 channels): compact conv vs unrolled CSR, same run."""
    from neurosim.sim.simulate import simulate

    net = if_cnn(c1=16, c2=32)
    x = np.random.default_rng(3).random((batch, net.population("in").size))
    for opt in ({}, {"unrolled": True}):  # compile / warm up once, outside the timing
        simulate(net, x[:2], "reference", n_steps=2, options=opt)
    out: dict = {"batch": batch, "steps": steps, "unrolled_synapses": net.n_synapses}
    runs = {}
    for name, opt in (("compact", {}), ("unrolled", {"unrolled": True})):
        c, t = _cpu_s(), time.perf_counter()
        runs[name] = simulate(net, x, "reference", n_steps=steps, options=opt)
        out[f"{name}_wall_s"], out[f"{name}_cpu_s"] = time.perf_counter() - t, _cpu_s() - c
    a, b = runs["compact"], runs["unrolled"]
    out["identical_spikes"] = all(np.array_equal(a.spike_counts[k], b.spike_counts[k]) for k in a.spike_counts)
    out["max_abs_output_diff"] = float(np.abs(a.outputs - b.outputs).max())
    out["cpu_ratio_unrolled_over_compact"] = out["unrolled_cpu_s"] / out["compact_cpu_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--brian2-target", default="numpy")
    ap.add_argument("--batch", type=int, default=200, help="images of the graded benchmark")
    ap.add_argument("--skip-spiking", action="store_true")
    args = ap.parse_args()
    spk = {} if args.skip_spiking else bench_spiking(
        batch=2 if args.quick else 8, steps=10 if args.quick else 50, target=args.brian2_target)
    print("spiking IF CNN (28x28 -> conv 8 -> pool -> conv 16 -> dense 10), same mapped network:")
    for k, v in spk.items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    gr = bench_graded(batch=50 if args.quick else args.batch, repeats=1 if args.quick else 3)
    print("graded conv layer inference (best of repeats):")
    for k, v in gr.items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    print(f"  im2col+BLAS vs scipy CSR: {gr['scipy_csr_s'] / gr['im2col_blas_s']:.2f}x; "
          f"vs correlate: {gr['scipy_correlate_s'] / gr['im2col_blas_s']:.2f}x; "
          f"reference backend vs im2col: {gr['reference_backend_s'] / gr['im2col_blas_s']:.2f}x; "
          f"reference unrolled / compact: {gr['reference_unrolled_s'] / gr['reference_backend_s']:.2f}x")
    ref = bench_reference_spiking(batch=20 if args.quick else args.batch, steps=8 if args.quick else 32)
    print("spiking reference backend, IF CNN conv 16 -> pool -> conv 32 -> dense 10, compact vs unrolled:")
    for k, v in ref.items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")


if __name__ == "__main__":
    main()
