"""Conv DEEP R and conv CoNNTrA against the plain CNN on MNIST, same architecture, one run.

Trains the CNN of neurosim.train.cnn (conv 16 -> pool -> conv 32 -> pool ->
dense) with Adam (``cnn``), with DEEP R under connection budgets over kernel
entries and dense weights (``deep_r_cnn``, one run per budget), and with
ternary kernels by coordinate descent (``conntra_cnn``), on the same training
images with the same seed and number of epochs. Reports per run: test
accuracy of the ReLU network (reference backend), active connections
(kernel entries + dense weights) against the budget and the possible ones,
unrolled synapses, ternary memory, training time (wall and CPU), and the
synapse memory of the mapping on Speck and Loihi 2 (shared kernels; the
ReLU network is mapped as is, so the fit itself is checked with
``neurosim map NET.npz --chip speck --spiking --data mnist`` on the saved
networks).

Usage::

    OMP_NUM_THREADS=2 nice -n 5 python benchmarks/bench_conv_train.py --data-path /path/to/datasets \\
        [--train-limit 10000] [--epochs 3] [--budgets 0.1 0.3] [--test-limit N] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from neurosim.cost.memory import memory_model
from neurosim.io.datasets import load_dataset
from neurosim.io.formats import save_network
from neurosim.mapping.mapper import map_network
from neurosim.sim.simulate import simulate
from neurosim.train.cnn import train_cnn
from neurosim.train.conv_conntra import train_conv_conntra
from neurosim.train.conv_deep_r import train_conv_deep_r

CHIPS = ("speck", "loihi2")


def _evaluate(result, test, cpu_s: float) -> dict:
    """One row: accuracy, counts, memory of a trained result."""
    net = result.network
    # in chunks of 500 images: the reference backend keeps every population's outputs (conv1 alone is
    # 12,544 values per image), so 10,000 images at once take over 2 GB
    hits = sum(int((simulate(net, test.x[i : i + 500], "reference").outputs.argmax(1) == test.y[i : i + 500]).sum())
               for i in range(0, test.x.shape[0], 500))
    acc = hits / test.x.shape[0]
    convs = [pr for pr in net.projections if pr.kind == "conv"]
    dense = net.projections[-1]
    row = {
        "method": result.method,
        "test_accuracy": acc,
        "train_accuracy": result.train_accuracy,
        "val_accuracy": result.val_accuracy,
        "nonzero_kernel_entries": [int(np.count_nonzero(pr.spec.kernel)) for pr in convs],
        "kernel_entries": [int(pr.spec.kernel.size) for pr in convs],
        "nonzero_dense": int(dense.n_synapses),
        "unrolled_synapses": int(net.n_synapses),
        "train_wall_s": round(result.wall_time_s, 1),
        "train_cpu_s": round(cpu_s, 1),
    }
    for key in ("budgets", "layer_connections", "rewired", "scales", "layer_nonzero", "memory", "zero_fraction"):
        if key in result.info:
            row[key] = result.info[key]
    for chip in CHIPS:
        m = map_network(net, chip, placement="row_major")
        row[f"{chip}_synapse_bits"] = int(memory_model(m).total_synapse_bits)
    return row


def _timed(fn, *args, **kwargs):
    c0 = time.process_time()
    result = fn(*args, **kwargs)
    return result, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-path", default=None)
    ap.add_argument("--train-limit", type=int, default=10_000)
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--budgets", type=float, nargs="+", default=[0.1, 0.3])
    ap.add_argument("--block", type=float, default=None, help="conntra_cnn block (default: the method's)")
    ap.add_argument("--deep-r-lr", type=float, default=None, help="deep_r_cnn lr (default: the method's)")
    ap.add_argument("--methods", nargs="+", default=["cnn", "deep_r_cnn", "conntra_cnn"])
    ap.add_argument("--save", default=None, help="folder for the trained networks (.npz), for `neurosim map`")
    args = ap.parse_args()
    train = load_dataset("mnist", path=args.data_path, split="train", limit=args.train_limit)
    test = load_dataset("mnist", path=args.data_path, split="test", limit=args.test_limit)
    common = {"channels": (16, 32), "epochs": args.epochs, "seed": 0}
    runs = []
    if "cnn" in args.methods:
        runs.append((train_cnn, {}))
    if "deep_r_cnn" in args.methods:
        lr = {} if args.deep_r_lr is None else {"lr": args.deep_r_lr}
        runs += [(train_conv_deep_r, {"connectivity": b, **lr}) for b in args.budgets]
    if "conntra_cnn" in args.methods:
        runs.append((train_conv_conntra, {} if args.block is None else {"block": args.block}))
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
    rows = []
    for fn, extra in runs:
        result, cpu = _timed(fn, train.x, train.y, **common, **extra)
        rows.append({**extra, **_evaluate(result, test, cpu)})
        if args.save:
            tag = "_".join([result.method, *(f"{v:g}" for v in extra.values())])  # e.g. deep_r_cnn_0.1
            rows[-1]["saved"] = str(save_network(result.network, Path(args.save) / f"{tag}.npz"))
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"train_images": int(train.x.shape[0]), "test_images": int(test.x.shape[0]),
                      "epochs": args.epochs, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
