"""Start-up time of ``neurosim chips`` against a bare ``python -c pass``.

Runs each command several times, interleaved (so both see the same machine
load), and prints the median and minimum wall time of each, their ratio, and
whether ``neurosim chips`` finishes under the one-second target. It also
prints the CPU time (user + system) of each run, which depends much less on
other jobs sharing the machine than the wall time does::

    .venv/bin/python benchmarks/bench_cli_startup.py --runs 15

The ``neurosim chips`` command is run as the installed console script when
one sits next to the interpreter (``.venv/bin/neurosim``), else as
``python -m neurosim chips``. Its output goes to ``/dev/null``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main", "time_command"]

TARGET_S = 1.0


def time_command(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system), in seconds, of one run of ``argv``.

    Stdout is discarded; the command must exit 0.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _chips_command() -> list[str]:
    script = Path(sys.executable).with_name("neurosim")
    if script.is_file():
        return [str(script), "chips"]
    return [sys.executable, "-m", "neurosim", "chips"]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "neurosim chips": _chips_command(),
    }
    for argv_ in commands.values():  # warm the file cache once; not counted
        time_command(argv_)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv_ in commands.items():
            wall, cpu = time_command(argv_)
            times[name].append(wall)
            cpus[name].append(cpu)

    base, chips = times["python -c pass"], times["neurosim chips"]
    result = {
        "runs": args.runs,
        "command": " ".join(commands["neurosim chips"]),
        "baseline_median_s": statistics.median(base),
        "baseline_min_s": min(base),
        "chips_median_s": statistics.median(chips),
        "chips_min_s": min(chips),
        "chips_max_s": max(chips),
        "ratio_median": statistics.median(chips) / statistics.median(base),
        "over_baseline_median_s": statistics.median(chips) - statistics.median(base),
        "baseline_cpu_median_s": statistics.median(cpus["python -c pass"]),
        "chips_cpu_median_s": statistics.median(cpus["neurosim chips"]),
        "under_target": max(chips) < TARGET_S,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"runs per command: {args.runs} (interleaved)")
    print(
        f"python -c pass : median {result['baseline_median_s'] * 1e3:7.1f} ms   min {result['baseline_min_s'] * 1e3:7.1f} ms"
    )
    print(
        f"neurosim chips : median {result['chips_median_s'] * 1e3:7.1f} ms   min {result['chips_min_s'] * 1e3:7.1f} ms"
        f"   max {result['chips_max_s'] * 1e3:7.1f} ms"
    )
    print(
        f"ratio (median) : {result['ratio_median']:.2f}x the bare interpreter start "
        f"(+{result['over_baseline_median_s'] * 1e3:.0f} ms)"
    )
    print(
        f"CPU (user+sys) : python -c pass {result['baseline_cpu_median_s'] * 1e3:.0f} ms, "
        f"neurosim chips {result['chips_cpu_median_s'] * 1e3:.0f} ms (medians)"
    )
    print(f"every run under {TARGET_S:.0f} s: {'yes' if result['under_target'] else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
