"""Spiking throughput: chip backend (events on) against Brian2 (cython, cpp_standalone) on the same networks.

Networks (both built as neurosim Networks and mapped onto the generic float64
profile; Brian2 runs the same mapped network through the brian2 backend, so
both sides compute identical spikes):

* CUBA (Brette et al. 2007, as in Brian2's examples, with delta synapses):
  4000 LIF neurons (3200 excitatory, 800 inhibitory), 2% connectivity,
  tau 20 ms, threshold -50 mV, reset -60 mV, rest -49 mV (self-driven),
  random initial potentials, dt 0.1 ms, 1 s (10,000 steps);
* layered: 1024 x 30 LIF layers, fan-in 32, 100 steps of Poisson input.

Figure: synaptic events per second (synop events / wall time). For Brian2 the
run loop alone (``run_s``, includes code generation and compilation on a cold
cache for cython/standalone) and total wall time are both printed.

``--fixed`` also runs the chip backend with a 16-bit fixed-point profile
(bit-accurate integer arithmetic) on the same networks.

The "per call" line compares neurosim's whole ``simulate`` call (plan,
conversion, loop, event model) with Brian2's whole run (code generation and
C++ compilation included) and with Brian2's loop alone (issue 18's 3x target).
On the 30-layer network Brian2's cpp_standalone build compiles 30 synapse
objects (minutes on 2 shared cores); ``--layers`` shrinks it.

Usage: .venv/bin/python benchmarks/bench_sim_spiking.py [--duration-steps 10000] [--targets cython,cpp_standalone] [--networks cuba,layered] [--layers 30] [--fixed]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import time
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.sim.simulate import simulate


def cuba(seed: int = 0) -> tuple[Network, dict]:
    rng = np.random.default_rng(seed)
    n, n_exc = 4000, 3200
    dt, tau = 1e-4, 0.02
    conn = sp.random(n, n, density=0.02, random_state=rng, format="csr")
    conn.data[:] = 1.0
    w = conn.tolil()
    # jumps of 0.4 mV (exc) / -2.25 mV (inh) per spike: v += dt/tau * w
    scale = np.where(np.arange(n) < n_exc, 0.405, -2.25) * tau / dt
    w = sp.csr_matrix(sp.diags(scale) @ sp.csr_matrix(w))
    model = NeuronModel(
        "lif", {"threshold": -50.0, "v_reset": -60.0, "v_leak": -49.0, "tau_mem_s": tau}
    )
    pops = (Population("input", 1, NeuronModel("input")), Population("P", n, model))
    projs = (
        Projection("input", "P", sp.csr_matrix((1, n))),
        Projection("P", "P", w, name="recurrent"),
    )
    v0 = {"P": -60.0 + 10.0 * rng.random(n)}
    return Network(pops, projs, outputs=("P",), name="cuba"), v0


def layered(seed: int = 0, n: int = 1024, n_layers: int = 30, fan_in: int = 32) -> Network:
    rng = np.random.default_rng(seed)
    ws = []
    for _ in range(n_layers):
        rows = np.concatenate([rng.choice(n, fan_in, replace=False) for _ in range(n)])
        cols = np.repeat(np.arange(n), fan_in)
        ws.append(sp.csr_matrix((rng.normal(0.25, 0.1, rows.size), (rows, cols)), shape=(n, n)))
    model = NeuronModel("lif", {"threshold": 1.0, "v_reset": 0.0, "tau_mem_s": 0.005})
    return Network.from_layers(ws, model=model, name="layered")


#: bytes the float64 whole-run kernel (``_jit_run.run_float``) loads and stores: per synaptic
#: event the CSR target index and weight (uint32 + float64, streamed) and the read-modify-write
#: of the target's input slot; per spike the row bounds of the forward and delayed CSR and the
#: count; per neuron update the membrane read and write, the input slot read and cleared and
#: the threshold scan's read (uniform parameters: registers)
BYTES_CSR_PER_EVENT = 12
BYTES_SLOT_PER_EVENT = 16
BYTES_PER_SPIKE = 48
BYTES_PER_UPDATE = 40


def bandwidths() -> dict[str, float]:
    """Copy bandwidth (bytes read + written per second) of DRAM, L3 and L2 sized arrays."""
    from bench_roofline import copy_bandwidth

    return {
        "DRAM": copy_bandwidth(256 << 20, 1),
        "L3": copy_bandwidth(8 << 20, 20),
        "L2": copy_bandwidth(256 << 10, 200),
    }


def roofline_line(res, loop_s: float, bw: dict[str, float] | None) -> str:
    """Bytes per synaptic event of the loop, the bytes/s it reached and the bandwidth bounds."""
    syn = float(res.total_events("synop"))
    spikes = float(res.total_events("spike_out"))
    updates = float(res.total_events("neuron_update"))
    total = (
        syn * (BYTES_CSR_PER_EVENT + BYTES_SLOT_PER_EVENT)
        + spikes * BYTES_PER_SPIKE
        + updates * BYTES_PER_UPDATE
    )
    line = (
        f"  roofline (chip loop): {syn / loop_s:.3e} synaptic events/s, {updates / syn:.2f} neuron "
        f"updates per event; bytes per synaptic event: {BYTES_CSR_PER_EVENT} streamed (CSR) + "
        f"{BYTES_SLOT_PER_EVENT} slot, {total / syn:.1f} with spikes and updates; reached "
        f"{syn * BYTES_CSR_PER_EVENT / loop_s / 1e9:.2f} GB/s of CSR, {total / loop_s / 1e9:.2f} "
        "GB/s in all"
    )
    if bw:
        bounds = ", ".join(
            f"{k} copy {v / 1e9:.1f} GB/s -> {v / BYTES_CSR_PER_EVENT:.2e} events/s "
            f"({syn / loop_s / (v / BYTES_CSR_PER_EVENT):.0%}), all bytes "
            f"{v / (total / syn):.2e} ({syn / loop_s / (v / (total / syn)):.0%})"
            for k, v in bw.items()
        )
        line += f"\n  bounds (bandwidth / bytes per event; reached): {bounds}"
    return line


@contextlib.contextmanager
def _standalone_timers(reruns: int = 3) -> Iterator[dict[str, float]]:
    """Brian2 cpp_standalone: after its build and first run, run the built binary again
    ``reruns`` times (best of) and record its process wall and CPU time and its own
    ``Network::run`` time (``last_run_info.txt``; profiling on)."""
    try:
        from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
    except ImportError:
        yield {}
        return
    found: dict[str, float] = {}
    original = CPPStandaloneDevice.build

    def build(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        found["first_binary_s"] = float(self.timers.get("run_binary") or 0.0)
        walls, cpus, nets = [], [], []
        for _ in range(reruns):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            self.run(directory=self.project_dir, with_output=False)
            walls.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            nets.append(float(self._last_run_time))
        found.update(binary_s=min(walls), binary_cpu_s=min(cpus), network_run_s=min(nets))
        return out

    CPPStandaloneDevice.build = build
    try:
        yield found
    finally:
        CPPStandaloneDevice.build = original


def standalone_line(b2t: dict[str, float], chip_s: float, chip_cpu: float, chip_loop: float) -> str:
    """neurosim's whole call against the built Brian2 program run again (per call, like for like)."""
    return (
        f"  brian2 cpp_standalone, built binary run again (best of 3): process {b2t['binary_s']:.3f} s "
        f"wall, {b2t['binary_cpu_s']:.3f} s CPU; its Network::run {b2t['network_run_s']:.3f} s "
        f"(first run {b2t['first_binary_s']:.3f} s)\n"
        f"  per call, like for like: neurosim whole call vs Brian2 binary process "
        f"{b2t['binary_s'] / chip_s:.2f}x wall, {b2t['binary_cpu_s'] / chip_cpu:.2f}x CPU; "
        f"vs Brian2 Network::run {b2t['network_run_s'] / chip_s:.2f}x (target 3x); "
        f"neurosim loop vs Brian2 Network::run {b2t['network_run_s'] / chip_loop:.2f}x"
    )


def _timed_calls(mapped, x, dt, v0, n: int = 3):
    """The chip backend's call, ``n`` times: the last result, best wall, CPU and loop seconds."""
    best = [np.inf, np.inf, np.inf]
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        res = simulate(mapped, x, "chip", dt_s=dt, v0=v0)
        got = (time.perf_counter() - t, time.process_time() - c, res.info["loop_s"])
        best = [min(u, g) for u, g in zip(best, got, strict=True)]
    return res, *best


def _run_fixed(net, x, dt, v0, chip) -> None:
    """The same network on a 16-bit fixed-point profile (compiled fixed-point run)."""
    prof = load_profile(
        "generic",
        ["weights.kind=int", "weights.bits=16", "weights.scale=per_layer", "weights.state_bits=16"],
    )
    mapped_int = map_network(net, prof, placement="row_major")
    t = time.perf_counter()
    res = simulate(mapped_int, x, "chip", dt_s=dt, v0=v0)
    fixed_cold = time.perf_counter() - t
    res, sec, cpu, loop = _timed_calls(mapped_int, x, dt, v0)
    syn_i = res.total_events("synop")
    print(
        f"  chip backend, 16-bit fixed point (int16 weights and state, 32-bit accumulator; compiled "
        f"fixed-point run): {sec:.3f} s (CPU {cpu:.3f} s)  {syn_i / sec:.3e} events/s; spikes "
        f"{res.total_events('spike_out'):.4e} "
        f"({res.total_events('spike_out') / chip.total_events('spike_out') - 1:+.2%} vs float64), "
        f"saturations {res.saturations}; loop {loop:.3f} s; first call {fixed_cold:.2f} s"
    )


def run(name, net, x, v0, dt, targets, fixed=False, bandwidth=None):
    mapped = map_network(net, load_profile("generic", ["weights.bits=64"]), placement="row_major")
    t = time.perf_counter()
    chip = simulate(mapped, x, "chip", dt_s=dt, v0=v0)
    chip_cold = time.perf_counter() - t  # includes loading the compiled kernel from numba's cache
    chip, chip_s, chip_cpu, chip_loop = _timed_calls(mapped, x, dt, v0)
    syn = chip.total_events("synop")
    print(
        f"{name}: {chip.n_steps} steps, synaptic events {syn:.3e}, spikes {chip.total_events('spike_out'):.3e}"
    )
    print(
        f"  chip backend (float64, events on), best of 3: whole call {chip_s:.3f} s  "
        f"{syn / chip_s:.3e} events/s (CPU {chip_cpu:.3f} s); loop {chip_loop:.3f} s  "
        f"{syn / chip_loop:.3e} events/s (first call in the process, loading the cached kernel: "
        f"{chip_cold:.2f} s){' [numpy engine]' if chip.info.get('engine') else ''}"
    )
    if fixed:
        _run_fixed(net, x, dt, v0, chip)
    print(roofline_line(chip, chip_loop, bandwidth))
    for target in targets:
        t = time.perf_counter()
        with _standalone_timers() as b2t:
            res = simulate(
                mapped, x, "brian2", dt_s=dt, v0=v0, options={"target": target, "profile": True}
            )
        total = time.perf_counter() - t
        same = all(
            np.array_equal(res.spike_counts[k], chip.spike_counts[k]) for k in chip.spike_counts
        )
        # timed again right after Brian2's runs, so both sides share the machine's load
        _, again_s, again_cpu, again_loop = _timed_calls(mapped, x, dt, v0)
        print(
            f"  chip call timed again after Brian2 (best of 3): {again_s:.3f} s (CPU "
            f"{again_cpu:.3f} s), loop {again_loop:.3f} s; the ratios below use the best of both"
        )
        chip_s, chip_cpu = min(chip_s, again_s), min(chip_cpu, again_cpu)
        chip_loop = min(chip_loop, again_loop)
        loop = res.info["loop_s"]
        print(
            f"  brian2 {target:15s}: total {total:8.2f} s, run {res.info.get('run_s', 0):.2f} s, "
            f"loop {loop:.3f} s  {syn / loop:.3e} events/s (loop); chip speed-up: loop vs loop "
            f"{loop / chip_loop:.2f}x, chip whole call vs Brian2 loop {loop / chip_s:.2f}x, "
            f"total vs chip first call {total / chip_cold:.2f}x; identical spikes: {same}"
        )
        print(
            f"  per call vs brian2 {target}: neurosim whole call vs Brian2 whole run "
            f"{total / chip_s:.1f}x, vs Brian2 loop only {loop / chip_s:.2f}x (target 3x); "
            f"loop vs loop {loop / chip_loop:.2f}x"
        )
        if b2t:
            print(standalone_line(b2t, chip_s, chip_cpu, chip_loop))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration-steps", type=int, default=10000)
    ap.add_argument("--targets", default="cython,cpp_standalone")
    ap.add_argument("--networks", default="cuba,layered", help="cuba, layered or both")
    ap.add_argument("--layers", type=int, default=30, help="layers of the layered network")
    ap.add_argument(
        "--fixed",
        action="store_true",
        help="also run the chip backend with a 16-bit fixed-point profile",
    )
    args = ap.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    nets = args.networks.split(",")
    # a process without numba runs small jobs on the numpy engine (cheaper than loading
    # numba once, docs/simulator.md); this benchmark measures the compiled kernels
    import numba  # noqa: F401
    bw = bandwidths()
    print("copy bandwidth (read + write, best of 5): " + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bw.items()))
    if "cuba" in nets:
        net, v0 = cuba()
        x = np.zeros((args.duration_steps, 1, 1))
        run("CUBA", net, x, v0, 1e-4, targets, args.fixed, bw)
    if "layered" in nets:
        lay = layered(n_layers=args.layers)
        x = (np.random.default_rng(1).random((100, 1, 1024)) < 0.2).astype(np.float64)
        run(f"layered 1024x{args.layers}", lay, x, None, 1e-3, targets, args.fixed, bw)


if __name__ == "__main__":
    main()
