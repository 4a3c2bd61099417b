"""Benchmark: accuracy of converted ReLU MLPs on TrueNorth's axon-type weights.

TrueNorth stores a binary crossbar and, per neuron, one signed 9-bit weight
for each of 4 axon types (``weights.kind: axon_type``). This script trains
small MLPs on scikit-learn's 8x8 digits (bundled, no download), converts them
to IF networks by threshold balancing (:mod:`neurosim.sim.conversion`), maps
them with ``map_network(net, "truenorth", strategy="axon_sharing")`` and
simulates them for ``--steps`` time steps on

* the ``reference`` backend (the float spiking network: the baseline),
* the ``chip`` backend on TrueNorth (4 axon types),
* the ``chip`` backend on TrueNorth with ``weights.kind=int`` (9-bit weights
  per synapse, per-neuron scale): what the same chip would score if every
  synapse had its own weight, which isolates the axon-type table's loss.

It prints accuracies, their ratio to the reference, the Frobenius relative
weight error of each projection and the quantization time.

Usage::

    .venv/bin/python benchmarks/bench_axon_types.py [--steps 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform

HIDDEN = ((32,), (64,), (128,), (64, 32))


def main(argv: list[str] | None = None) -> int:
    from sklearn.datasets import load_digits

    from neurosim.mapping import map_network
    from neurosim.sim.conversion import accuracy_vs_steps, convert_to_spiking
    from neurosim.train.baselines import train_dense

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    d = load_digits()
    x, y = d.data / 16.0, d.target
    x_train, y_train, x_test, y_test = x[:1200], y[:1200], x[1200:], y[1200:]
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(f"# digits: 1200 train, {len(y_test)} test, {args.steps} steps, seed {args.seed}")
    print(
        f"{'hidden':>10} {'reference':>9} {'axon_type':>9} {'ratio':>6} {'int9':>6} "
        f"{'ratio':>6}  rel_error_fro per projection      quantize_s"
    )
    for hidden in HIDDEN:
        trained = train_dense(x_train, y_train, hidden=hidden, epochs=20, seed=args.seed)
        snn = convert_to_spiking(trained.network, x_train[:200]).network
        ref = accuracy_vs_steps(snn, x_test, y_test, [args.steps], seed=args.seed)[args.steps]
        m = map_network(snn, "truenorth", strategy="axon_sharing", seed=args.seed)
        q_s = m.info["timings_s"]["quantize_s"]
        chip = accuracy_vs_steps(m, x_test, y_test, [args.steps], backend="chip")[args.steps]
        m_int = map_network(
            snn,
            "truenorth",
            strategy="axon_sharing",
            seed=args.seed,
            overrides={"weights.kind": "int", "weights.n_axon_types": None},
        )
        chip_int = accuracy_vs_steps(m_int, x_test, y_test, [args.steps], backend="chip")[
            args.steps
        ]
        errs = ", ".join(f"{q['rel_error_fro']:.3f}" for q in m.info["quantization"].values())
        label = "-".join(str(h) for h in hidden)
        print(
            f"{label:>10} {ref:9.3f} {chip:9.3f} {chip / ref:6.2f} {chip_int:6.3f} "
            f"{chip_int / ref:6.2f}  {errs:<32} {q_s:8.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
