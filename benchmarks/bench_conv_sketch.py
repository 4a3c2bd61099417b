"""Tensor-sketched conv layers against the unsketched CNN on MNIST, in one run.

Trains the CNN of neurosim.train.cnn (conv 16 -> pool -> conv 32 -> pool ->
dense) unsketched and with conv2 sketched at several ranks (conv1 has one
input channel and stays dense), with the same seed, epochs and schedule;
reports per variant: trained parameters (conv layers and total), the
reduction factor of conv2, test accuracy of the ReLU network (reference
backend, all test images), and the synapse memory the mapping takes on a
shared-kernel chip (Loihi 2: the expanded kernel is stored) and on TrueNorth
(unrolled; mapped only when --truenorth is given, it is slow), plus the kernel
entries if the sketch itself were deployed as two conv layers.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_conv_sketch.py --data-path /path/to/datasets \\
        [--ranks 1 2 4] [--epochs 2] [--train-limit N]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from neurosim.cost.memory import memory_model
from neurosim.io.datasets import load_dataset
from neurosim.mapping.mapper import map_network
from neurosim.sim.simulate import simulate
from neurosim.train.cnn import train_cnn
from neurosim.train.conv_sketch import train_conv_sketch


def _evaluate(result, test, chips) -> dict:
    net = result.network
    acc = float((simulate(net, test.x, "reference").outputs.argmax(1) == test.y).mean())
    conv_params = sum(pr.n_params for pr in net.projections if pr.kind == "conv")
    row = {"method": result.method, "trained_parameters": result.n_parameters, "stored_weights": net.stats().n_params,
           "conv_kernel_entries": conv_params, "test_accuracy": acc, "train_s": result.wall_time_s}
    layers = result.info.get("layers")
    if layers:
        row["conv2_parameters"] = layers[1]["parameters"]
        row["conv2_reduction"] = layers[1]["reduction"]
        row["conv_factored_entries"] = sum(lay["factored_entries"] for lay in layers)
    for chip in chips:
        m = map_network(net, chip, placement="row_major")
        row[f"{chip}_synapse_bits"] = memory_model(m).total_synapse_bits
        row[f"{chip}_fits"] = m.fits
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-path", default=None)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--truenorth", action="store_true")
    args = ap.parse_args()
    train = load_dataset("mnist", path=args.data_path, split="train", limit=args.train_limit)
    test = load_dataset("mnist", path=args.data_path, split="test")
    chips = ["loihi2"] + (["truenorth"] if args.truenorth else [])
    rows = []
    t0 = time.perf_counter()
    rows.append(_evaluate(train_cnn(train.x, train.y, epochs=args.epochs), test, chips))
    for rank in args.ranks:
        res = train_conv_sketch(train.x, train.y, rank=rank, epochs=args.epochs)
        rows.append({"rank": rank, **_evaluate(res, test, chips)})
    for row in rows:
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}))
    print(f"total {time.perf_counter() - t0:.0f} s; train {len(train)} images, test {len(test)}, "
          f"epochs {args.epochs}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
