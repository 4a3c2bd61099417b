"""Run one layered IF network on SANA-FE's Loihi architecture, timing the whole run.

Executed by ``benchmarks/bench_cold_start.py`` with the Python of a separate
virtual environment that has ``sanafe`` (GPL-3; never imported by neurosim)::

    /work/peers-venv-sanafe/bin/python benchmarks/_sanafe_run.py NET.npz

``NET.npz`` (written by the benchmark) holds ``spikes`` (bool, steps x n_in),
``sizes`` (input first) and per layer ``pre_L, post_L, w_L``; ``threshold``
and ``per_core``. Prints one JSON line: wall times of import, build, load and
sim, and the spike and synaptic-event totals SANA-FE reports.
"""

from __future__ import annotations

import json
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import sanafe  # noqa: E402


def _build(arrays: dict, arch) -> tuple:
    net = sanafe.Network()
    sizes = [int(s) for s in arrays["sizes"]]
    spikes = arrays["spikes"]
    per_core = int(arrays["per_core"])
    cores = arch.cores()
    inp = net.create_neuron_group("in", sizes[0], {})
    for i in range(sizes[0]):
        # one replicated input unit per input neuron of a core (1024 per core)
        inp.neurons[i].set_attributes(
            soma_hw_name=f"loihi_inputs[{i % 1024}]",
            model_attributes={"spikes": [bool(s) for s in spikes[:, i]]},
        )
    groups = [inp]
    attrs = {"threshold": float(arrays["threshold"]), "leak_decay": 1.0, "reset": 0.0}
    for layer, n in enumerate(sizes[1:]):
        g = net.create_neuron_group(f"l{layer}", n, attrs, soma_hw_name="loihi_lif")
        pairs = list(
            zip(arrays[f"pre_{layer}"].tolist(), arrays[f"post_{layer}"].tolist(), strict=True)
        )
        groups[-1].connect_neurons_sparse(g, {"weight": arrays[f"w_{layer}"].tolist()}, pairs)
        groups.append(g)
    for i, neuron in enumerate(inp.neurons):
        neuron.map_to_core(cores[i // 1024])
    core = -(-sizes[0] // 1024)
    for g in groups[1:]:
        for k, neuron in enumerate(g.neurons):
            neuron.map_to_core(cores[core + k // per_core])
        core += -(-len(g.neurons) // per_core)
    return net


def main() -> int:
    t_import = time.perf_counter() - T0
    arrays = dict(np.load(sys.argv[1]))
    steps = int(arrays["spikes"].shape[0])
    t1 = time.perf_counter()
    arch = sanafe.load_loihi()
    net = _build(arrays, arch)
    t2 = time.perf_counter()
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    t3 = time.perf_counter()
    res = chip.sim(steps)
    t4 = time.perf_counter()
    out = {
        "import_s": t_import,
        "build_s": t2 - t1,
        "load_s": t3 - t2,
        "sim_s": t4 - t3,
        "total_s": time.perf_counter() - T0,
        "spikes": res.get("spikes"),
        "energy": res.get("energy"),
        "sim_time": res.get("sim_time"),
    }
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
