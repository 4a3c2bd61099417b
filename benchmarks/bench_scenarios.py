"""Wall time of every shipped scenario, run as a user runs it (``neurosim run``).

Each scenario runs in a fresh process (so import and start-up time count),
writing into a temporary directory. Printed per scenario: the wall time of the
command, the time the library spent in the pipeline stages (``report.json``
``timings.total_s``), their ratio (the runner's own overhead: start-up,
progress bars, writing results) and, for the quickstart, the ratio to its
one-minute budget.

Usage::

    python benchmarks/bench_scenarios.py                 # every scenario, full size
    python benchmarks/bench_scenarios.py --reduced       # smoke-test sizes
    python benchmarks/bench_scenarios.py quickstart deep_r_mnist

Scenarios whose data is absent (no ``NEUROSIM_DATA``) are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = {"quickstart": 60.0}


def _headline(report: dict) -> str:
    """Top-1 of the reference and of each chip's emulator, where there are labels."""
    rows = report.get("comparison") or []
    parts = []
    for r in rows:
        if r.get("chip_top1") is not None:
            parts.append(f"{r.get('label') or r['chip']} {100 * r['chip_top1']:.1f}%")
        elif r.get("status") != "ok":
            parts.append(f"{r.get('label') or r['chip']} {r['status']}")
    ref = next((r["reference_top1"] for r in rows if r.get("reference_top1") is not None), None)
    head = f"reference {100 * ref:.1f}%; " if ref is not None else ""
    return head + ", ".join(parts)


def run_one(path: Path, reduced: bool, timeout: float, keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = (keep / path.stem) if keep else Path(tmp) / "out"
        cmd = [
            sys.executable,
            "-m",
            "neurosim",
            "run",
            str(path),
            "--out",
            str(out),
            "--no-progress",
            "--quiet",
        ]
        if reduced:
            cmd.append("--reduced")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return {"status": f"timeout > {timeout:.0f} s", "wall_s": time.perf_counter() - t0}
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            line = (proc.stderr.strip().splitlines() or ["?"])[-1]
            status = (
                "skipped (data absent)"
                if "NEUROSIM_DATA" in line
                else f"exit {proc.returncode}: {line}"
            )
            return {"status": status, "wall_s": wall}
        report = json.loads((out / "report.json").read_text())
        return {
            "status": "ok",
            "wall_s": wall,
            "library_s": report["timings"]["total_s"],
            "headline": _headline(report),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenario names (default: all in scenarios/)")
    parser.add_argument("--reduced", action="store_true", help="run at the scenarios' reduced size")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per scenario")
    parser.add_argument("--keep", type=Path, help="keep each result directory under this folder")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "scenarios").glob("*.yaml"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    print(
        f"# scenarios ({'reduced' if args.reduced else 'full size'}), {os.cpu_count()} CPUs, "
        f"NEUROSIM_DATA={'set' if os.environ.get('NEUROSIM_DATA') else 'unset'}"
    )
    print(
        f"{'scenario':28s} {'wall s':>9s} {'library s':>10s} {'wall/library':>12s} {'wall/budget':>12s}  status"
    )
    for path in paths:
        r = run_one(path, args.reduced, args.timeout, args.keep)
        lib = r.get("library_s")
        ratio = f"{r['wall_s'] / lib:12.2f}" if lib else f"{'-':>12s}"
        budget = BUDGET_S.get(path.stem)
        vs_budget = (
            f"{r['wall_s'] / budget:12.2f}" if budget and r["status"] == "ok" else f"{'-':>12s}"
        )
        lib_s = f"{lib:10.1f}" if lib else f"{'-':>10s}"
        print(
            f"{path.stem:28s} {r['wall_s']:9.1f} {lib_s} {ratio} {vs_budget}  {r['status']}",
            flush=True,
        )
        if r.get("headline"):
            print(f"{'':28s} top-1: {r['headline']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
