"""Where the IF conversion of the MNIST CNN loses accuracy: percentile, steps, rounding.

Trains the CNN of ``scenarios/cnn_mnist.yaml`` once (or loads it with
``--load``), converts it with each percentile and rounding current given
(:func:`neurosim.sim.conversion.convert_to_spiking` with ``steps`` and ``rounding``) and prints, for each
number of steps, the top-1 of the output spike counts (an argmax tie counted
wrong, as the scenario report does), the fraction of ties, and the top-1 of
the charge the output layer integrated (which the backends do not report).

The rounding current is tuned to the number of steps, so a configuration
with rounding runs once per entry of ``--steps``; without rounding one run
to the largest entry reads every checkpoint. The run uses a numpy replica of
the engine schedule (every population in topological order within a step,
IF with reset by subtraction, threshold 1); ``--verify`` also runs the
reference backend at the largest number of steps and checks that its output
spike counts equal the replica's.

Example (the figures of docs/convolution.md, "Conversion for the steps simulated")::

    NEUROSIM_DATA=/work/shared/datasets OMP_NUM_THREADS=1 python benchmarks/bench_conv_conversion.py \\
        --limit 2000 --steps 16 24 32 48 64 100 --percentiles 99.9 99 --rounding 0 0.5 --save cnn.npz
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from neurosim.conv import conv_forward
from neurosim.network import Network
from neurosim.sim.conversion import convert_to_spiking

__all__ = ["replica_run", "main"]


def _current(net: Network, pop: Any, out: dict[str, np.ndarray], dense: dict[str, Any]) -> np.ndarray:
    """Synaptic input plus bias of ``pop`` in one step."""
    n = next(iter(out.values())).shape[0]
    cur = np.zeros((n, pop.size)) + (0.0 if pop.bias is None else pop.bias)
    for pr in net.projections:
        if pr.post == pop.name:
            src = out[pr.pre]
            cur += conv_forward(pr.spec, src) if pr.spec is not None else np.asarray(src @ dense[pr.name])
    return cur


def replica_run(net: Network, x: np.ndarray, checkpoints: Sequence[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Output spike counts and integrated output charge of a converted network at each checkpoint.

    Parameters
    ----------
    net : Network
        Feed-forward IF network (threshold 1, reset by subtraction), one output population.
    x : ndarray, shape (n, n_in)
        Static inputs, fed as a constant current every step.
    checkpoints : sequence of int

    Returns
    -------
    dict
        ``{steps: (counts, charge)}``, each ``(n, n_out)``.
    """
    dense = {pr.name: pr.weights.tocsr() for pr in net.projections if pr.spec is None}
    v = {p.name: np.zeros((x.shape[0], p.size)) for p in net.populations if p.model.kind != "input"}
    out_name = net.outputs[0]
    counts = np.zeros((x.shape[0], net.population(out_name).size))
    charge = np.zeros_like(counts)
    res = {}
    for t in range(1, max(checkpoints) + 1):
        out: dict[str, np.ndarray] = {}
        for pop in net.populations:
            if pop.model.kind == "input":
                out[pop.name] = x
                continue
            cur = _current(net, pop, out, dense)
            vv = v[pop.name]
            vv += cur
            spikes = vv >= 1.0
            vv -= spikes
            out[pop.name] = spikes.astype(np.float64)
            if pop.name == out_name:
                counts += spikes
                charge += cur
        if t in checkpoints:
            res[t] = (counts.copy(), charge.copy())
    return res


def _scores(counts: np.ndarray, charge: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Top-1 of counts (ties wrong), fraction of ties, top-1 of the charge."""
    top = counts.max(axis=1, keepdims=True)
    unique = (counts == top).sum(axis=1) == 1
    return (float(((counts.argmax(axis=1) == y) & unique).mean()), float((~unique).mean()),
            float((charge.argmax(axis=1) == y).mean()))


def _network(args: argparse.Namespace) -> tuple[Network, np.ndarray]:
    """The trained ReLU CNN and the training images (calibration)."""
    from neurosim.io.datasets import load_dataset
    from neurosim.io.formats import load_network, save_network
    from neurosim.train.registry import train_network

    train = load_dataset("mnist", path=args.data_path, split="train", limit=args.train_limit, seed=0)
    if args.load:
        return load_network(args.load), train.x
    t0 = time.perf_counter()
    res = train_network("cnn", train, seed=0, channels=args.channels, epochs=args.epochs)
    print(f"trained in {time.perf_counter() - t0:.0f} s, training accuracy {res.train_accuracy:.4f}")
    if args.save:
        save_network(res.network, args.save)
    return res.network, train.x


def _verify(snn: Network, x: np.ndarray, steps: int, counts: np.ndarray) -> None:
    """The reference backend's output counts equal the replica's."""
    from neurosim.sim.simulate import simulate

    ref = simulate(snn, x, "reference", n_steps=steps).outputs
    same = int((ref == counts).all(axis=1).sum())
    print(f"  verify: reference backend == replica on {same} of {len(x)} inputs at T = {steps}")


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-path", default=None)
    ap.add_argument("--limit", type=int, default=2000, help="first test images")
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--channels", type=int, nargs=2, default=(16, 32))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--percentiles", type=float, nargs="+", default=[99.9, 99.0])
    ap.add_argument("--rounding", type=float, nargs="+", default=[0.0, 0.5])
    ap.add_argument("--calibration", type=int, default=256)
    ap.add_argument("--load", default=None, help="a trained ReLU CNN (.npz) instead of training")
    ap.add_argument("--save", default=None, help="save the trained ReLU CNN here")
    ap.add_argument("--verify", action="store_true")
    args = ap.parse_args(argv)
    from neurosim.io.datasets import load_dataset
    from neurosim.sim.simulate import simulate

    net, x_train = _network(args)
    test = load_dataset("mnist", path=args.data_path, split="test", limit=args.limit, seed=0)
    x, y = np.asarray(test.x, dtype=np.float64), test.y
    relu = simulate(net, x, "reference").outputs
    print(f"ReLU top-1 on {len(y)} test images: {(relu.argmax(axis=1) == y).mean():.4f}")
    calib = np.asarray(x_train[: args.calibration], dtype=np.float64)
    for pct in args.percentiles:
        for rounding in args.rounding:
            runs = [sorted(args.steps)] if rounding == 0 else [[s] for s in sorted(args.steps)]
            for checks in runs:
                snn = convert_to_spiking(net, calib, steps=checks[-1], percentile=pct, rounding=rounding).network
                t0 = time.perf_counter()
                res = replica_run(snn, x, checks)
                for steps, (counts, charge) in res.items():
                    top1, ties, pot = _scores(counts, charge, y)
                    print(f"percentile {pct} rounding {rounding} T {steps}: top-1 {top1:.4f} "
                          f"ties {ties:.4f} potential {pot:.4f}")
                print(f"  ({time.perf_counter() - t0:.0f} s)")
                if args.verify:
                    _verify(snn, x, checks[-1], res[checks[-1]][0])


if __name__ == "__main__":
    main()
