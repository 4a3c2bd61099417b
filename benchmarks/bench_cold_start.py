"""Fresh-process wall time of ``neurosim simulate``: cold numba cache, warm cache, SANA-FE.

Every figure is the wall time of one new process (``subprocess.run``), so it
includes the Python start, imports, loading the network, mapping, loading (or
compiling) the numba kernels and simulating. In one run it prints:

1. **small network** (64-200-10 relu, fan-in 16, converted with ``--spiking``
   on ``loihi``, 100 steps): the first run after install (an empty numba cache:
   ``NUMBA_CACHE_DIR`` points to a new folder, so every kernel compiles), then
   a *second, different* network (64-180-10, fan-in 12) in a fresh process
   (kernels loaded from the on-disk cache: the target is < 1 s), the first
   network again, and ``neurosim map`` of it;
2. **layered network** (1024 inputs -> 3 x 1024 IF, fan-in 32, 100 steps, one
   rate-coded input): neurosim end to end in a fresh process (load, map,
   simulate on the chip backend) against SANA-FE's whole run on the same
   network and input spikes (import, build, load, simulate on its Loihi
   architecture, 256 neurons per core) when ``--sanafe-python`` names a Python
   with ``sanafe`` installed (GPL-3: run as a separate process through
   ``benchmarks/_sanafe_run.py``, never imported here). Target: >= 5x.

The calibration/test data is a seeded ``.npz`` (64 features in [0, 1]), so the
run does not import scikit-learn (``--data digits`` imports its splitter,
~0.9 s).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cold_start.py \
        --sanafe-python /work/peers-venv-sanafe/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
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


def time_process(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time in seconds of one run of ``argv`` (must exit 0; stdout discarded)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall


def _neurosim() -> list[str]:
    script = Path(sys.executable).with_name("neurosim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "neurosim"]


def _small_files(tmp: Path) -> tuple[Path, Path, Path]:
    """Two different small relu networks and a seeded calibration/test ``.npz``."""
    nets = []
    for name, sizes, fan_in, seed in (("a", "64,200,10", 16, 1), ("b", "64,180,10", 12, 2)):
        path = tmp / f"{name}.npz"
        subprocess.run(
            [*_neurosim(), "generate", "random", "--out", str(path), "--sizes", sizes,
             "--fan-in", str(fan_in), "--seed", str(seed), "--force"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        nets.append(path)
    rng = np.random.default_rng(0)
    data = tmp / "data64.npz"
    np.savez(
        data,
        x_train=rng.random((256, 64)),
        y_train=rng.integers(0, 10, 256),
        x_test=rng.random((100, 64)),
        y_test=rng.integers(0, 10, 100),
    )
    return nets[0], nets[1], data


def small_network(tmp: Path, cache_dir: Path) -> dict[str, float]:
    """Cold cache, then a second network and the first again, then ``map``."""
    a, b, data = _small_files(tmp)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    sim = [*_neurosim(), "simulate"]
    opts = ["--chip", "loihi", "--spiking", "--data", str(data), "--no-progress"]
    out = {"cold_first_network_s": time_process([*sim, str(a), *opts], env)}
    out["cache_files"] = float(sum(1 for p in cache_dir.rglob("*.nbc")))
    out["warm_second_network_s"] = time_process([*sim, str(b), *opts], env)
    out["cache_files_after_second"] = float(sum(1 for p in cache_dir.rglob("*.nbc")))
    out["warm_first_network_s"] = time_process([*sim, str(a), *opts], env)
    out["map_s"] = time_process([*_neurosim(), "map", str(a), *opts[:-1]], env)
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
    tmp: Path, sanafe_python: str | None, runs: int, steps: int = 100, seed: int = 0
) -> dict[str, object]:
    """neurosim (fresh process, warm cache) against SANA-FE's whole run, ``runs`` each."""
    net, data, sanafe_arrays = _layered(tmp, steps, seed)
    argv = [*_neurosim(), "simulate", str(net), "--chip", "loihi", "--data", str(data),
            "--steps", str(steps), "--encoding", "rate", "--no-progress", "--json"]  # fmt: skip
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)  # warm the cache of this kind
    ours, theirs, details = [], [], None
    for _ in range(runs):
        ours.append(time_process(argv))
        if sanafe_python:
            start = time.perf_counter()
            proc = subprocess.run(
                [sanafe_python, str(HERE / "_sanafe_run.py"), str(sanafe_arrays)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            theirs.append(time.perf_counter() - start)
            details = json.loads(proc.stdout.strip().splitlines()[-1])
    out: dict[str, object] = {"neurosim_s": statistics.median(ours), "neurosim_runs": ours}
    if theirs:
        out.update(sanafe_s=statistics.median(theirs), sanafe_runs=theirs, sanafe=details)
        out["speedup"] = statistics.median(theirs) / statistics.median(ours)
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
        small = small_network(tmp, tmp / "numba-cache")
        layered = layered_network(tmp, args.sanafe_python, args.runs)
    result = {"small": small, "layered": layered}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("small network 64-200-10 --spiking on loihi, fresh process each (s):")
    print(f"  first run, empty numba cache   {small['cold_first_network_s']:.2f}")
    print(f"  second network, warm cache     {small['warm_second_network_s']:.2f}"
          f"   (target < {TARGET_WARM_S:.0f} s: "
          f"{'met' if small['warm_second_network_s'] < TARGET_WARM_S else 'NOT met'})")  # fmt: skip
    print(f"  first network again            {small['warm_first_network_s']:.2f}")
    print(f"  neurosim map                   {small['map_s']:.2f}")
    print(f"  cache files after cold / second: {small['cache_files']:.0f} / "
          f"{small['cache_files_after_second']:.0f} (equal: nothing compiled)")  # fmt: skip
    print("layered 1024 -> 3 x 1024 IF, fan-in 32, 100 steps, end to end (median s):")
    print(f"  neurosim  {layered['neurosim_s']:.2f}")
    if "sanafe_s" in layered:
        print(f"  SANA-FE   {layered['sanafe_s']:.2f}  {layered['sanafe']}")
        print(f"  speedup   {layered['speedup']:.1f}x (target >= {TARGET_VS_SANAFE:.0f}x)")
    else:
        print("  SANA-FE   not run (give --sanafe-python)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
