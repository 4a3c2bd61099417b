"""Before/after check: every shipped scenario's reports, byte for byte apart from timings.

Two sub-commands::

    # run every scenarios/*.yaml at its ``reduced:`` size with the code of REPO,
    # writing OUT/<scenario>/ (report.json, report.md, outputs.npz, plots, ...)
    python benchmarks/scenario_reports_diff.py run REPO OUT [--only NAME ...]

    # compare two such runs file by file, timings normalised
    python benchmarks/scenario_reports_diff.py diff OUT_BEFORE OUT_AFTER

``run`` starts one fresh interpreter per scenario (``sys.executable``) with
``PYTHONPATH=REPO`` so the code of that checkout is imported, checks that it
was (``neurosim.__file__`` must lie under REPO; recorded in
``OUT/_imported_from.json`` with REPO's commit), and sets ``NEUROSIM_DATA``
(default ``../shared/datasets`` next to REPO, else ``$NEUROSIM_DATA``).

``diff`` normalises before comparing: the checkout's own path (``# resolved from REPO/...``) reads ``<repo>``,
``report.json`` loses its ``"timings"``
and every wall-time key (``*wall*``, ``elapsed_s``, ``seconds``,
``*_inferences_per_s`` measured throughputs), ISO dates and durations are
replaced in text files, ``outputs.npz`` is compared array by array, PNG plots
by their decoded pixels. It prints ``identical`` or ``DIFFERS`` per file (with
the first differing JSON paths) and exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["diff_runs", "main", "normalise_json", "normalise_text", "run_all"]

#: key names whose values are wall times or measured throughputs (never model figures)
_WALL_KEYS = re.compile(
    r"^(timings|wall_time_s|wall_s|elapsed_s|seconds|.*_inferences_per_s|reference_s|"
    r"total_s|dataset_s|network_s|sweep_s|map_s|simulate_.*_s|train_time_s|training_time_s)$"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
_DURATION = re.compile(r"\b\d+(\.\d+)?\s?(s|ms|sec|seconds)\b(?= (wall|elapsed))")
_WALL_LINE = re.compile(r"(wall|elapsed)[^\n]*?\d+(\.\d+)?\s?(s|ms)\b", re.IGNORECASE)

_RUN_ONE = r"""
import json, sys
from pathlib import Path
import neurosim
from neurosim.scenario import load_scenario, run_scenario, write_results
repo, path, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), Path(sys.argv[3])
where = Path(neurosim.__file__).resolve()
if repo not in where.parents:
    sys.exit(f"imported neurosim from {where}, not from {repo}")
sc = load_scenario(path, reduced=True)
write_results(run_scenario(sc), out, force=True)
print(json.dumps({"neurosim": str(where)}))
"""


def _commit(repo: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or "unknown"


def run_all(repo: Path, out: Path, only: list[str] | None = None) -> int:
    """Run every scenario of ``repo`` (reduced) with ``repo``'s code into ``out``; 0 if all ran."""
    repo = repo.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(repo), OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    shared = repo.parent / "shared" / "datasets"
    if "NEUROSIM_DATA" not in env and shared.is_dir():
        env["NEUROSIM_DATA"] = str(shared)
    names = sorted(p.stem for p in (repo / "scenarios").glob("*.yaml"))
    if only:
        names = [n for n in names if n in only]
    record: dict[str, Any] = {"repo": str(repo), "commit": _commit(repo), "scenarios": {}}
    failed = 0
    for name in names:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                _RUN_ONE,
                str(repo),
                str(repo / "scenarios" / f"{name}.yaml"),
                str(out / name),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(out),
            check=False,
        )
        took = time.perf_counter() - t0
        ok = proc.returncode == 0
        failed += not ok
        lines = proc.stdout.strip().splitlines()
        imported = json.loads(lines[-1])["neurosim"] if ok and lines else None
        record["scenarios"][name] = {"ok": ok, "imported": imported, "wall_s": round(took, 1)}
        if not ok:
            record["scenarios"][name]["error"] = proc.stderr.strip().splitlines()[-5:]
        print(f"{name:28s} {'ran' if ok else 'FAILED'} in {took:6.1f} s  neurosim from {imported}")
        if not ok:
            print("   " + "\n   ".join(record["scenarios"][name]["error"]))
    (out / "_imported_from.json").write_text(json.dumps(record, indent=1) + "\n")
    return 1 if failed else 0


def normalise_json(obj: Any) -> Any:
    """``obj`` without wall-time keys, dates replaced."""
    if isinstance(obj, dict):
        return {k: normalise_json(v) for k, v in obj.items() if not _WALL_KEYS.match(str(k))}
    if isinstance(obj, list):
        return [normalise_json(v) for v in obj]
    if isinstance(obj, str):
        return normalise_text(obj)
    return obj


def normalise_text(text: str) -> str:
    """Dates and wall durations replaced by placeholders."""
    text = _DATE.sub("<date>", text)
    text = _DURATION.sub("<duration>", text)
    return _WALL_LINE.sub(r"\1 <duration>", text)


def _json_paths(a: Any, b: Any, path: str = "") -> list[str]:
    if type(a) is not type(b):
        return [f"{path or '/'}: {str(a)[:60]} != {str(b)[:60]}"]
    if isinstance(a, dict):
        out = []
        for k in list(dict.fromkeys([*a, *b])):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'after' if k in b else 'before'}")
            else:
                out += _json_paths(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)} items"]
        return [
            p
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for p in _json_paths(x, y, f"{path}/{i}")
        ]
    return [] if a == b else [f"{path}: {str(a)[:60]} != {str(b)[:60]}"]


def _repo(run: Path) -> str | None:
    try:
        return json.loads((run / "_imported_from.json").read_text())["repo"]
    except (OSError, ValueError, KeyError):
        return None


def _compare(a: Path, b: Path, repos: tuple[str | None, str | None] = (None, None)) -> list[str]:
    """Differences between two files (empty: identical after normalising; repo paths as <repo>)."""
    suffix = a.suffix
    if suffix == ".json":
        return _json_paths(
            normalise_json(json.loads(a.read_text())), normalise_json(json.loads(b.read_text()))
        )
    if suffix == ".npz":
        import numpy as np

        with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
            keys = sorted(set(za.files) | set(zb.files))
            return [
                k
                for k in keys
                if k not in za.files
                or k not in zb.files
                or za[k].shape != zb[k].shape
                or not np.array_equal(za[k], zb[k], equal_nan=True)
            ]
    if suffix == ".png":
        if a.read_bytes() == b.read_bytes():
            return []
        import matplotlib.image as mpimg
        import numpy as np

        pa, pb = mpimg.imread(a), mpimg.imread(b)
        same = pa.shape == pb.shape and np.array_equal(pa, pb)
        return [] if same else ["pixels differ"]
    ta, tb = (
        normalise_text(p.read_text().replace(r, "<repo>") if r else p.read_text())
        for p, r in ((a, repos[0]), (b, repos[1]))
    )
    if ta == tb:
        return []
    la, lb = ta.splitlines(), tb.splitlines()
    return [
        f"line {i + 1}: {x[:70]!r} != {y[:70]!r}"
        for i, (x, y) in enumerate(zip(la, lb, strict=False))
        if x != y
    ][:5] or [f"{len(la)} lines != {len(lb)} lines"]


def diff_runs(before: Path, after: Path) -> int:
    """Print identical / DIFFERS per file of two runs; 0 if all identical."""
    files_a = {
        p.relative_to(before)
        for p in before.rglob("*")
        if p.is_file() and not p.name.startswith("_")
    }
    files_b = {
        p.relative_to(after) for p in after.rglob("*") if p.is_file() and not p.name.startswith("_")
    }
    n_diff = 0
    for rel in sorted(files_a | files_b):
        if rel not in files_a or rel not in files_b:
            n_diff += 1
            print(f"DIFFERS   {rel}: only {'after' if rel in files_b else 'before'}")
            continue
        diffs = _compare(before / rel, after / rel, (_repo(before), _repo(after)))
        if diffs:
            n_diff += 1
            print(f"DIFFERS   {rel}")
            for d in diffs[:8]:
                print(f"          {d}")
            if len(diffs) > 8:
                print(f"          ... {len(diffs) - 8} more")
        else:
            print(f"identical {rel}")
    total = len(files_a | files_b)
    print(f"\n{total - n_diff} of {total} files identical, {n_diff} differing")
    return 1 if n_diff else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``run REPO OUT`` or ``diff BEFORE AFTER``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run every scenario (reduced) with a checkout's code")
    r.add_argument("repo", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--only", nargs="*", default=None, help="scenario names (default: all)")
    d = sub.add_parser("diff", help="compare two runs")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return run_all(args.repo, args.out, args.only)
    return diff_runs(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
