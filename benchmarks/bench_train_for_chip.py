"""Benchmark: one MNIST architecture trained plainly and for each chip, run on the chip backend.

For every chip the plainly trained float network (dense backprop) and the
network trained for that chip (``train_dense(..., chip=NAME)``: fan-in cap,
the mapper's quantizer in the loop, axon types, the IF rate code on chips
without ReLU) are each mapped and simulated with :func:`neurosim.evaluate.evaluate`
on the test set (spiking chips: threshold-balanced IF network, ``--steps``
steps). It prints the float reference, the chip-backend top-1 of both
networks, the fit, the largest quantization error, the synapse memory and the
energy per inference.

Usage::

    NEUROSIM_DATA=/work/shared/datasets OMP_NUM_THREADS=1 .venv/bin/python \\
        benchmarks/bench_train_for_chip.py --chips generic,loihi2,truenorth,spinnaker2,xylo
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any


def _evaluate(network: Any, chip: str, spiking: bool, calib, test, steps: int, percentile: float):
    from neurosim.evaluate import EvalOptions, evaluate
    from neurosim.hardware.profile import load_profile
    from neurosim.sim.conversion import convert_to_spiking

    if spiking:
        network = convert_to_spiking(network, calib, percentile=percentile).network
    opts = EvalOptions(backends=("chip", "reference"), n_steps=steps if spiking else None)
    res = evaluate(network, load_profile(chip), test, opts)
    q = res.mapped.info["quantization"] if res.mapped is not None else {}
    err = max((v["rel_error_fro"] for v in q.values()), default=float("nan"))
    return res.report.summary(), err


def main(argv: list[str] | None = None) -> int:
    from neurosim.io.datasets import load_dataset
    from neurosim.train.baselines import train_dense
    from neurosim.train.chip import chip_constraints
    from neurosim.train.core import network_accuracy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--chips", default="generic,loihi2,truenorth,spinnaker2,xylo")
    parser.add_argument("--hidden", default="256")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--chip-epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-plain", action="store_true", help="do not run the plain network on the chips"
    )
    parser.add_argument(
        "--vs-steps",
        action="store_true",
        help="also print IF accuracy vs time steps (spiking chips)",
    )
    args = parser.parse_args(argv)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    train = load_dataset("mnist", path=args.data_path, split="train", limit=args.limit)
    test = load_dataset("mnist", path=args.data_path, split="test", limit=args.test_limit)
    print(
        f"# {platform.node()} python {platform.python_version()}, mnist {len(train)} train / {len(test)} test"
    )
    print(
        f"# 784-{'-'.join(map(str, hidden))}-10, {args.epochs} epochs (+{args.chip_epochs} chip epochs), seed {args.seed}, {args.steps} steps on spiking chips"
    )
    t0 = time.perf_counter()
    # the reference gets the same epoch budget as the chip-aware networks (float + chip epochs)
    plain = train_dense(
        train.x, train.y, hidden=hidden, epochs=args.epochs + args.chip_epochs, seed=args.seed
    )
    ref = network_accuracy(plain.network, test.x, test.y)
    print(
        f"plain float reference ({args.epochs + args.chip_epochs} epochs): {100 * ref:.2f}% test "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    head = f"{'chip':>11} {'mode':>7} {'plain':>7} {'aware':>7} {'gap':>6} {'fits':>5} {'q_err':>8} {'mem_kbit':>9} {'uJ/inf':>8} {'train_s':>7}"
    print(head)
    calib = train.x[:256]
    curves: list[tuple[str, Any]] = []
    for chip in args.chips.split(","):
        c = chip_constraints(chip, steps=args.steps)
        mode = "IF" if c.spiking else "graded"
        p_sum = (
            {"chip_top1": None}
            if args.skip_plain
            else _evaluate(plain.network, chip, c.spiking, calib, test, args.steps, 99.9)[0]
        )
        t0 = time.perf_counter()
        aware = train_dense(
            train.x,
            train.y,
            hidden=hidden,
            epochs=args.epochs,
            seed=args.seed,
            chip=chip,
            chip_epochs=args.chip_epochs,
            steps=args.steps,
        )
        t_train = time.perf_counter() - t0
        a_sum, err = _evaluate(aware.network, chip, c.spiking, calib, test, args.steps, 100.0)
        pa, aa = p_sum["chip_top1"], a_sum["chip_top1"]
        fmt = lambda v: "   -" if v is None else f"{100 * v:6.2f}"  # noqa: E731
        gap = "   -" if aa is None else f"{100 * (aa - ref):+6.2f}"
        mem = a_sum["synapse_memory_bits"]
        en = a_sum["energy_per_inference_pj"]
        if c.spiking and args.vs_steps:
            curves.append((chip, _vs_steps(plain.network, aware.network, calib, test, args)))
        print(
            f"{chip:>11} {mode:>7} {fmt(pa)} {fmt(aa)} {gap} {str(a_sum['status'] == 'ok'):>5} "
            f"{err:8.1e} {('-' if mem is None else f'{mem / 1e3:9.1f}'):>9} "
            f"{('-' if en is None else f'{en / 1e6:8.3f}'):>8} {t_train:7.0f}",
            flush=True,
        )
    for chip, (grid, p_acc, a_acc) in curves:
        print(f"# {chip}: IF network accuracy (reference backend) vs time steps")
        print(f"{'steps':>6} " + " ".join(f"{t:>7}" for t in grid))
        print(f"{'plain':>6} " + " ".join(f"{100 * p_acc[t]:7.2f}" for t in grid))
        print(f"{'aware':>6} " + " ".join(f"{100 * a_acc[t]:7.2f}" for t in grid))
    return 0


def _vs_steps(plain: Any, aware: Any, calib, test, args) -> tuple[list[int], dict, dict]:
    """Accuracy of the converted plain and chip-aware IF networks at T/4 .. 2T steps."""
    from neurosim.sim.conversion import accuracy_vs_steps, convert_to_spiking

    t = args.steps
    grid = sorted({max(1, t // 4), max(1, t // 2), t, 2 * t})
    p_snn = convert_to_spiking(plain, calib, percentile=99.9).network
    a_snn = convert_to_spiking(aware, calib, percentile=100.0).network
    return (
        grid,
        accuracy_vs_steps(p_snn, test.x, test.y, grid),
        accuracy_vs_steps(a_snn, test.x, test.y, grid),
    )


if __name__ == "__main__":
    raise SystemExit(main())
