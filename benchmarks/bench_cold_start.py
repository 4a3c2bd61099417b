"""Fresh-process time of ``neurosim simulate``: empty and warm numba cache, map, SANA-FE.

Every figure is the wall time (and the CPU time, user + system, which depends
much less on other jobs sharing the machine) of one new process
(``subprocess.run``): Python start, imports, loading the network, mapping,
loading (or compiling) the numba kernels and simulating. In one run it prints:

1. **small network** (64-200-10 relu, fan-in 16, converted with ``--spiking``
   on ``loihi``, 100 steps, 100 test inputs), with ``NUMBA_CACHE_DIR`` on a new
   empty folder: the first run after install, a *second, different* network
   (64-180-10, fan-in 12; target < 1 s), the first network again and
   ``neurosim map`` of it. Jobs this small run without numba (scipy and the
   numpy engine, bit-identical; docs/simulator.md). Then the same two networks
   on 360 test inputs, enough work to load the compiled kernels: the first run
   compiles them into the empty cache, the second network must compile nothing
   (the number of cache files is printed after each);
2. **layered network** (1024 inputs -> 3 x 1024 IF, fan-in 32, 100 steps, one
   rate-coded input): neurosim end to end in a fresh process (load, map,
   simulate on the chip backend) against SANA-FE's whole run on the same
   network and input spikes (import, build, load, simulate on its Loihi
   architecture, 256 neurons per core) when ``--sanafe-python`` names a Python
   with ``sanafe`` installed (GPL-3: run as a separate process through
   ``benchmarks/_sanafe_run.py``, never imported here). Target: >= 5x.

neurosim's processes run as an installed package does: byte code compiled once
(``compileall``, as ``pip install`` does), whatever ``PYTHONDONTWRITEBYTECODE``
says. The calibration/test data are seeded ``.npz`` files (64 features in [0, 1]), so
the run does not import scikit-learn (``--data digits`` imports its splitter,
~0.9 s).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cold_start.py \
        --sanafe-python /work/peers-venv-sanafe/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "time_process"]

HERE = Path(__file__).resolve().parent
TARGET_WARM_S = 1.0
TARGET_VS_SANAFE = 5.0


def _run_timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall and CPU (user + system, all threads) seconds of one run of ``argv``, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def time_process(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv`` (must exit 0).

    The CPU time depends much less on other jobs sharing the machine.
    """
    wall, cpu, _ = _run_timed(argv, env)
    return wall, cpu


def _neurosim() -> list[str]:
    script = Path(sys.executable).with_name("neurosim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "neurosim"]


def _small_files(tmp: Path) -> tuple[Path, Path, Path, Path]:
    """Two different small relu networks and seeded calibration/test ``.npz`` files
    (100 and 360 test inputs)."""
    nets = []
    for name, sizes, fan_in, seed in (("a", "64,200,10", 16, 1), ("b", "64,180,10", 12, 2)):
        path = tmp / f"{name}.npz"
        subprocess.run(
            [*_neurosim(), "generate", "random", "--out", str(path), "--sizes", sizes,
             "--fan-in", str(fan_in), "--seed", str(seed), "--force"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        nets.append(path)
    data = []
    for n_test in (100, 360):
        rng = np.random.default_rng(0)
        path = tmp / f"data64_{n_test}.npz"
        np.savez(
            path,
            x_train=rng.random((256, 64)),
            y_train=rng.integers(0, 10, 256),
            x_test=rng.random((n_test, 64)),
            y_test=rng.integers(0, 10, n_test),
        )
        data.append(path)
    return nets[0], nets[1], data[0], data[1]


def _cache_files(cache_dir: Path) -> int:
    return sum(1 for _ in cache_dir.rglob("*.nbc"))


def installed_env() -> dict[str, str]:
    """The environment of an installed package: byte code written and read (``pip
    install`` compiles every module; with ``PYTHONDONTWRITEBYTECODE`` set, an
    editable checkout recompiles the package in every process, ~0.5 s). The
    package is compiled first (``compileall``; ``__pycache__`` is git-ignored)."""
    import neurosim

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pkg = str(Path(neurosim.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", pkg], env=env, check=True)
    return env


def small_network(tmp: Path, cache_dir: Path, env: dict[str, str]) -> dict[str, object]:
    """Fresh processes on an empty numba cache: small jobs, then jobs that load the kernels."""
    a, b, d100, d360 = _small_files(tmp)
    env = dict(env, NUMBA_CACHE_DIR=str(cache_dir))
    sim = [*_neurosim(), "simulate"]
    opts = ["--chip", "loihi", "--spiking", "--no-progress"]
    out: dict[str, object] = {}
    out["first_run_s"] = time_process([*sim, str(a), *opts, "--data", str(d100)], env)
    out["second_network_s"] = time_process([*sim, str(b), *opts, "--data", str(d100)], env)
    out["first_network_again_s"] = time_process([*sim, str(a), *opts, "--data", str(d100)], env)
    out["map_s"] = time_process([*_neurosim(), "map", str(a), *opts[:-1], "--data", str(d100)], env)
    out["cache_files_small"] = _cache_files(cache_dir)
    # 360 test inputs: enough work that the compiled kernels are loaded
    out["kernels_first_run_s"] = time_process([*sim, str(a), *opts, "--data", str(d360)], env)
    out["cache_files_after_first"] = _cache_files(cache_dir)
    out["kernels_second_network_s"] = time_process([*sim, str(b), *opts, "--data", str(d360)], env)
    out["cache_files_after_second"] = _cache_files(cache_dir)
    return out


def _layered(tmp: Path, steps: int, seed: int) -> tuple[Path, Path, Path]:
    """The 1024 -> 3 x 1024 IF network (neurosim .npz), one input, and SANA-FE's arrays."""
    import scipy.sparse as sp

    from neurosim.io.encoding import encode
    from neurosim.io.formats import save_network
    from neurosim.network import Network, NeuronModel, Population
    from neurosim.topology.fixed_fan_in import random_network

    relu = random_network([1024, 1024, 1024, 1024], 32, seed=seed)
    if_model = NeuronModel("if", {"threshold": 1.0})
    pops = [
        p if p.model.kind == "input" else Population(p.name, p.size, if_model)
        for p in relu.populations
    ]
    net = Network(pops, relu.projections, relu.inputs, relu.outputs, name="layered-if")
    net_path = save_network(net, tmp / "layered.npz")
    x = np.random.default_rng(seed).random((1, 1024)) * 0.5
    data = tmp / "layered_data.npz"
    np.savez(data, x_test=x, y_test=np.zeros(1, dtype=np.int64))
    spikes = encode("rate", x, steps)[:, 0, :]
    arrays: dict[str, np.ndarray] = {
        "spikes": spikes,
        "sizes": np.array([p.size for p in net.populations]),
        "threshold": np.array(1.0),
        "per_core": np.array(256),
    }
    for layer, pr in enumerate(net.projections):
        coo = sp.coo_matrix(pr.weights)
        arrays[f"pre_{layer}"], arrays[f"post_{layer}"] = coo.row, coo.col
        arrays[f"w_{layer}"] = coo.data
    sanafe_path = tmp / "layered_sanafe.npz"
    np.savez(sanafe_path, **arrays)
    return net_path, data, sanafe_path


def layered_network(
    tmp: Path,
    env: dict[str, str],
    sanafe_python: str | None,
    runs: int,
    steps: int = 100,
    seed: int = 0,
) -> dict[str, object]:
    """neurosim (fresh process, warm cache) against SANA-FE's whole run, ``runs`` each."""
    net, data, sanafe_arrays = _layered(tmp, steps, seed)
    argv = [*_neurosim(), "simulate", str(net), "--chip", "loihi", "--data", str(data),
            "--steps", str(steps), "--encoding", "rate", "--no-progress", "--json"]  # fmt: skip
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)  # warm-up (untimed)
    ours, ours_cpu, theirs, theirs_cpu, details = [], [], [], [], None
    for _ in range(runs):
        wall, cpu = time_process(argv, env)
        ours.append(wall)
        ours_cpu.append(cpu)
        if sanafe_python:
            wall, cpu, stdout = _run_timed(
                [sanafe_python, str(HERE / "_sanafe_run.py"), str(sanafe_arrays)]
            )
            theirs.append(wall)
            theirs_cpu.append(cpu)
            details = json.loads(stdout.strip().splitlines()[-1])
    out: dict[str, object] = {
        "neurosim_s": statistics.median(ours),
        "neurosim_runs": ours,
        "neurosim_cpu_s": statistics.median(ours_cpu),
    }
    if theirs:
        out.update(
            sanafe_s=statistics.median(theirs),
            sanafe_runs=theirs,
            sanafe_cpu_s=statistics.median(theirs_cpu),
            sanafe=details,
        )
        out["speedup"] = statistics.median(theirs) / statistics.median(ours)
        out["speedup_cpu"] = statistics.median(theirs_cpu) / statistics.median(ours_cpu)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sanafe-python", default=None, help="Python with sanafe installed")
    parser.add_argument("--runs", type=int, default=3, help="runs of the layered comparison")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = installed_env()
        small = small_network(tmp, tmp / "numba-cache", env)
        layered = layered_network(tmp, env, args.sanafe_python, args.runs)
    result = {"small": small, "layered": layered}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("small network 64-200-10 --spiking on loihi, fresh process each (wall s / CPU s):")
    for key, label in (
        ("first_run_s", "first run after install, 100 inputs"),
        ("second_network_s", "second network (64-180-10)"),
        ("first_network_again_s", "first network again"),
        ("map_s", "neurosim map of it"),
        ("kernels_first_run_s", "360 inputs (kernels), empty cache"),
        ("kernels_second_network_s", "360 inputs, second network"),
    ):
        wall, cpu = small[key]
        print(f"  {label:38s} {wall:6.2f} / {cpu:5.2f}")
    met = small["second_network_s"][0] < TARGET_WARM_S
    print(f"  target: second network < {TARGET_WARM_S:.0f} s wall: {'met' if met else 'NOT met'}")
    print(
        f"  numba cache files: {small['cache_files_small']} after the small runs, "
        f"{small['cache_files_after_first']} after the first kernel run, "
        f"{small['cache_files_after_second']} after the second network (equal: nothing compiled)"
    )
    print("layered 1024 -> 3 x 1024 IF, fan-in 32, 100 steps, end to end (median s):")
    print(f"  neurosim  {layered['neurosim_s']:.2f} (CPU {layered['neurosim_cpu_s']:.2f})")
    if "sanafe_s" in layered:
        sf = layered["sanafe"]
        print(
            f"  SANA-FE   {layered['sanafe_s']:.2f} (CPU {layered['sanafe_cpu_s']:.2f}; inside: "
            f"import {sf['import_s']:.2f}, build {sf['build_s']:.2f}, load {sf['load_s']:.2f}, "
            f"sim {sf['sim_s']:.2f}; {sf['spikes']} spikes reported)"
        )
        print(
            f"  speedup   {layered['speedup']:.1f}x wall, {layered['speedup_cpu']:.1f}x CPU "
            f"(target >= {TARGET_VS_SANAFE:.0f}x)"
        )
    else:
        print("  SANA-FE   not run (give --sanafe-python)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
