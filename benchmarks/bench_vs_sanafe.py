"""neurosim's energy and latency models against SANA-FE 2.2.9 on the same network and mapping.

Three shapes (layered, recurrent, convolutional; the conv layer is unrolled
for SANA-FE, as Loihi stores it) are mapped by neurosim on ``loihi``,
simulated with the ``chip`` backend, and costed (``energy_model``,
``latency_model``). The same hardware network, the same neuron-to-core
assignment and the same input spike trains are then run by SANA-FE on its
Loihi architecture (``arch/loihi.yaml``), in a separate process with the
Python of a virtual environment that has ``sanafe`` (GPL-3: imported only by
this script's ``--worker`` mode, never by neurosim).

Alignment (so that event counts can be equal, not only close):

* neurosim core ``k`` is SANA-FE tile ``k // 4``, core ``k % 4``; neurosim's
  placement is replaced by the same layout on its 16 x 8 grid (tile ``t`` at
  grid ``(2 (t % 8) + k % 2, 2 (t // 8) + (k % 4) // 2)``), so a tile hop is
  two grid steps; the input neurons live on one more SANA-FE core (zero-cost
  input units; neurosim feeds them from the host);
* IF neurons, reset by subtraction, positive weights on SANA-FE's 1/64 grid
  (``k / 64``), threshold 1: with subtraction and positive weights the total
  spikes of every neuron do not depend on when inputs arrive (SANA-FE delays
  each projection by one step, neurosim does not), once the network has
  drained (the last ``--drain`` steps carry no input). SANA-FE fires on
  ``v > threshold`` and neurosim on ``v >= threshold``: SANA-FE gets
  ``threshold - 1/128`` (its 1/64 truncation takes the 1/128 back after
  each reset);
* SANA-FE's sparse synapse unit (neurosim's loihi profile stores sparse
  synapses), its detailed timing model.

Printed per shape: counts (spikes, synaptic events, messages, neurons
accessed and updated) side by side, energy (neurosim dynamic vs SANA-FE
total; SANA-FE models no static power) and time per run, and the ratios.
Targets: counts equal, energy within 5 %, latency within 10 %.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_vs_sanafe.py \\
        --sanafe-python /work/peers-venv-sanafe/bin/python
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["main"]

HERE = Path(__file__).resolve()
CORES_PER_TILE = 4
TILES_X = 8
TARGET_ENERGY = 0.05
TARGET_LATENCY = 0.10


# ------------------------------------------------------------------ networks
def _weights(rng: np.random.Generator, n_pre: int, n_post: int, fan_in: int, hi: int):
    """Fixed fan-in, weights ``k / 64`` with ``k`` in ``1..hi``."""
    import scipy.sparse as sp

    rows = np.argsort(rng.random((n_post, n_pre)), axis=1)[:, :fan_in].ravel()
    cols = np.repeat(np.arange(n_post), fan_in)
    vals = rng.integers(1, hi + 1, rows.size) / 64.0
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_pre, n_post))


def _if_model():
    from neurosim.neurons import NeuronModel

    return NeuronModel("if", {"threshold": 1.0}, reset="subtract")


def layered(seed: int):
    """1024 inputs -> 3 x 1024 IF, fan-in 32 (the network of issue 17)."""
    from neurosim.network import Network

    rng = np.random.default_rng(seed)
    ws = [_weights(rng, 1024, 1024, 32, 3) for _ in range(3)]
    return Network.from_layers(ws, model=_if_model(), name="layered")


def recurrent(seed: int):
    """512 inputs -> 768 IF with recurrent fan-in 16 -> 256 IF."""
    from neurosim.network import Network, Population, Projection
    from neurosim.neurons import NeuronModel

    rng = np.random.default_rng(seed)
    pops = [
        Population("input", 512, NeuronModel("input")),
        Population("hidden", 768, _if_model()),
        Population("out", 256, _if_model()),
    ]
    prs = [
        Projection("input", "hidden", _weights(rng, 512, 768, 24, 4), name="in_hidden"),
        Projection("hidden", "hidden", _weights(rng, 768, 768, 16, 2), name="rec"),
        Projection("hidden", "out", _weights(rng, 768, 256, 32, 3), name="hidden_out"),
    ]
    return Network(pops, prs, ("input",), ("out",), name="recurrent")


def convolutional(seed: int):
    """1 x 16 x 16 inputs -> conv 3x3, 8 channels (pad 1) -> conv 3x3 stride 2, 16 channels -> 10 dense."""
    from neurosim.conv import ConvSpec
    from neurosim.network import Network, Population, Projection
    from neurosim.neurons import NeuronModel

    rng = np.random.default_rng(seed)
    k1 = rng.integers(1, 16, (8, 1, 3, 3)) / 64.0
    k2 = rng.integers(1, 4, (16, 8, 3, 3)) / 64.0
    c1 = ConvSpec(k1, in_shape=(1, 16, 16), padding=1)
    c2 = ConvSpec(k2, in_shape=c1.out_shape, stride=2, padding=1)
    n1, n2 = int(np.prod(c1.out_shape)), int(np.prod(c2.out_shape))
    pops = [
        Population("input", 256, NeuronModel("input"), shape=(1, 16, 16)),
        Population("conv1", n1, _if_model(), shape=c1.out_shape),
        Population("conv2", n2, _if_model(), shape=c2.out_shape),
        Population("dense", 10, _if_model()),
    ]
    prs = [
        Projection("input", "conv1", spec=c1, name="c1"),
        Projection("conv1", "conv2", spec=c2, name="c2"),
        Projection("conv2", "dense", _weights(rng, n2, 10, 64, 2), name="fc"),
    ]
    return Network(pops, prs, ("input",), ("dense",), name="convolutional")


SHAPES = {"layered": layered, "recurrent": recurrent, "convolutional": convolutional}
#: profile overrides per shape name; ``layered_256`` is the layered network at 256 neurons per core
VARIANTS = {"layered_256": ("layered", {"core.max_neurons": 256})}


# ------------------------------------------------------------------- neurosim
def _tile_placement(mapped):
    """Core ``k`` on SANA-FE tile ``k // 4`` (core ``k % 4``), laid out on neurosim's grid."""
    from neurosim.mapping.placement import place_cores  # noqa: F401  (same package, for docs)

    pl = mapped.placement
    k = np.arange(len(mapped.cores))
    t = k // CORES_PER_TILE
    x = 2 * (t % TILES_X) + (k % 2)
    y = 2 * (t // TILES_X) + (k % CORES_PER_TILE) // 2
    new = dataclasses.replace(pl, x=x, y=y, chip=np.zeros_like(k), method="sanafe_tiles")
    cores = tuple(
        dataclasses.replace(c, x=int(x[i]), y=int(y[i])) for i, c in enumerate(mapped.cores)
    )
    return dataclasses.replace(mapped, placement=new, cores=cores)


def run_neurosim(net, spikes: np.ndarray, overrides: dict) -> tuple[object, dict]:
    """Map on loihi (axon_sharing), simulate on the chip backend, cost it."""
    from neurosim.cost.energy import energy_model
    from neurosim.cost.latency import latency_model
    from neurosim.mapping import map_network
    from neurosim.sim import simulate

    mapped = _tile_placement(
        map_network(
            net, "loihi", strategy="axon_sharing", placement="row_major", overrides=overrides
        )
    )
    res = simulate(mapped, spikes[:, None, :].astype(np.float64), "chip", per_step=True)
    lat = latency_model(mapped, res)
    en = energy_model(mapped, res, run_time_s=lat.time_per_inference_s)
    c = en.counts
    spikes_total = int(sum(int(np.sum(v)) for v in res.spike_counts.values()))
    out = {
        "spikes": spikes_total,
        "synaptic_events": int(c["synop"].sum()),
        "messages": int(round(c["packet"].sum() + c["host_packet"].sum())),
        "neurons_accessed": int(c["neuron_update"].sum()),
        "neurons_updated": int(c["neuron_active"].sum()),
        "energy_j": en.dynamic_pj * 1e-12,
        "static_j": (en.static_pj or 0.0) * 1e-12,
        "time_s": lat.time_per_inference_s,
        "n_cores": len(mapped.cores),
        "unmodelled": list(en.unmodelled) + list(lat.unmodelled),
        "energy_by_event_j": {k: (e.energy_pj or 0.0) * 1e-12 for k, e in en.by_event.items()},
    }
    return mapped, out


def sanafe_arrays(mapped, spikes: np.ndarray) -> dict[str, np.ndarray]:
    """The hardware network, its cores and the input spikes, as plain arrays for the worker."""
    import scipy.sparse as sp

    hw = mapped.hw_network
    arrays: dict[str, np.ndarray] = {"spikes": spikes.astype(bool)}
    names = [p.name for p in hw.populations]
    arrays["pop_names"] = np.array(names)
    arrays["pop_sizes"] = np.array([p.size for p in hw.populations])
    arrays["pop_input"] = np.array([p.model.kind == "input" for p in hw.populations])
    for i, p in enumerate(hw.populations):
        arrays[f"core_{i}"] = np.asarray(mapped.core_of[p.name], dtype=np.int64)
    arrays["n_cores"] = np.array(len(mapped.cores))
    for j, pr in enumerate(hw.projections):
        coo = sp.coo_matrix(pr.weights)
        arrays[f"proj_{j}"] = np.array([names.index(pr.pre), names.index(pr.post)])
        arrays[f"pre_{j}"], arrays[f"post_{j}"], arrays[f"w_{j}"] = coo.row, coo.col, coo.data
    arrays["n_proj"] = np.array(len(hw.projections))
    return arrays


# --------------------------------------------------------------------- worker
def worker(npz: str) -> int:
    """Run in the SANA-FE venv: build the network and mapping, simulate, print JSON."""
    import sanafe

    a = dict(np.load(npz))
    steps = int(a["spikes"].shape[0])
    arch = sanafe.load_loihi()
    cores = arch.cores()
    n_cores = int(a["n_cores"])
    input_core = cores[n_cores]
    net = sanafe.Network()
    groups = []
    attrs = {
        "threshold": 1.0 - 1.0 / 128,
        "reset_mode": "soft",
        "leak_decay": 1.0,
        "input_decay": 0.0,
    }
    col = 0
    for name, size, is_in in zip(a["pop_names"], a["pop_sizes"], a["pop_input"], strict=True):
        if is_in:
            g = net.create_neuron_group(str(name), int(size), {})
            for k in range(int(size)):
                g.neurons[k].set_attributes(
                    soma_hw_name=f"loihi_inputs[{k % 1024}]",
                    model_attributes={"spikes": [bool(s) for s in a["spikes"][:, col + k]]},
                )
            col += int(size)
        else:
            g = net.create_neuron_group(
                str(name),
                int(size),
                attrs,
                soma_hw_name="loihi_lif",
                default_synapse_hw_name="loihi_sparse_synapse",
                default_dendrite_hw_name="loihi_dendrites",
            )
        groups.append(g)
    for j in range(int(a["n_proj"])):
        src, dst = (int(v) for v in a[f"proj_{j}"])
        pairs = list(zip(a[f"pre_{j}"].tolist(), a[f"post_{j}"].tolist(), strict=True))
        groups[src].connect_neurons_sparse(groups[dst], {"weight": a[f"w_{j}"].tolist()}, pairs)
    for i, g in enumerate(groups):
        core = a[f"core_{i}"]
        for k, neuron in enumerate(g.neurons):
            neuron.map_to_core(input_core if core[k] < 0 else cores[int(core[k])])
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    res = chip.sim(steps, timing_model="detailed")
    print(json.dumps(res, default=float))
    return 0


def run_sanafe(python: str, arrays: dict[str, np.ndarray]) -> dict:
    """The worker's result (SANA-FE's run summary) for these arrays."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.npz"
        np.savez(path, **arrays)
        proc = subprocess.run(
            [python, str(HERE), "--worker", str(path)], capture_output=True, text=True, check=True
        )
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    e = res["energy"]
    return {
        "spikes": int(res["neurons_fired"]),
        "synaptic_events": int(res["spikes"]),
        "messages": int(res["packets_sent"]),
        "neurons_updated": int(res["neurons_updated"]),
        "energy_j": float(e["total"]),
        "energy_parts_j": {k: float(v) for k, v in e.items()},
        "time_s": float(res["sim_time"]),
    }


# ----------------------------------------------------------------------- main
def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def compare(shape: str, python: str, steps: int, drain: int, seed: int) -> dict:
    """One shape: neurosim and SANA-FE side by side."""
    from neurosim.io.encoding import encode

    base, overrides = VARIANTS.get(shape, (shape, {}))
    net = SHAPES[base](seed)
    n_in = sum(p.size for p in net.populations if p.model.kind == "input")
    x = np.random.default_rng(seed).random((1, n_in)) * 0.4
    sp_in = encode("rate", x, steps, seed=seed)[:, 0, :]
    spikes = np.concatenate([sp_in, np.zeros((drain, n_in), dtype=bool)])
    mapped, ours = run_neurosim(net, spikes, overrides)
    theirs = run_sanafe(python, sanafe_arrays(mapped, spikes))
    return {"shape": shape, "neurosim": ours, "sanafe": theirs}


def _report(r: dict) -> list[str]:
    ns, sf = r["neurosim"], r["sanafe"]
    lines = [f"{r['shape']}: {ns['n_cores']} cores (+1 input core in SANA-FE)"]
    for k in ("spikes", "synaptic_events", "messages", "neurons_updated"):
        lines.append(
            f"  {k:16s} neurosim {ns[k]:>12,d}  SANA-FE {sf[k]:>12,d}  ratio {_ratio(ns[k], sf[k]):.4f}"
        )
    er, lr = _ratio(ns["energy_j"], sf["energy_j"]), _ratio(ns["time_s"], sf["time_s"])
    lines.append(
        f"  energy  neurosim {ns['energy_j'] * 1e6:.3f} uJ (dynamic; + static {ns['static_j'] * 1e6:.3f} uJ)"
        f"  SANA-FE {sf['energy_j'] * 1e6:.3f} uJ  ratio {er:.4f}"
        f"  [{'ok' if abs(er - 1) <= TARGET_ENERGY else 'MISSED'}: within {TARGET_ENERGY:.0%}]"
    )
    lines.append(
        f"  latency neurosim {ns['time_s'] * 1e6:.2f} us  SANA-FE {sf['time_s'] * 1e6:.2f} us  ratio {lr:.4f}"
        f"  [{'ok' if abs(lr - 1) <= TARGET_LATENCY else 'MISSED'}: within {TARGET_LATENCY:.0%}]"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sanafe-python", default="/work/peers-venv-sanafe/bin/python")
    names = [*SHAPES, *VARIANTS]
    parser.add_argument("--shapes", nargs="+", default=names, choices=names)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--drain", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write every figure to this file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    results = []
    for shape in args.shapes:
        r = compare(shape, args.sanafe_python, args.steps, args.drain, args.seed)
        results.append(r)
        print("\n".join(_report(r)), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
