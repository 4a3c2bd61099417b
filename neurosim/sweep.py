"""Sweeps over hardware limits: map, simulate and report every point of a grid.

:func:`evaluate_chip` runs one network on one profile (map, simulate the chip
and the reference, report) and never raises for a network that does not fit:
the report says why. :func:`run_sweep` does that for every point of a grid of
profile overrides (the cartesian product of the value lists), in parallel
over local processes (:class:`concurrent.futures.ProcessPoolExecutor`).

Resuming: with an output folder each point's result is one JSON file,
``points/<key>.json``, where ``key`` is a stable hash of the point's
overrides (:func:`point_key`), written atomically, so an interrupted sweep
leaves no file that looks complete and a rerun computes only the missing
points. ``sweep_context.json`` records what the points were computed from
(network, base profile, inputs, options): a rerun against a different
context is refused unless ``force`` (which recomputes every point).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.errors import NeurosimError, ProfileError
from neurosim.util.atomic import atomic_write_text

__all__ = [
    "ROW_KEYS",
    "SweepError",
    "SweepResult",
    "evaluate_chip",
    "expand_grid",
    "parse_grid",
    "point_key",
    "run_sweep",
]

#: summary columns of every sweep row (after the swept fields)
ROW_KEYS: tuple[str, ...] = (
    "key",
    "status",
    "reason",
    "n_cores_used",
    "chip_top1",
    "reference_top1",
    "accuracy_drop",
    "agreement",
    "synapse_memory_bits",
    "memory_utilization_max",
    "energy_per_inference_pj",
    "time_per_inference_s",
    "inferences_per_s",
    "edp_j_s",
)

_CONTEXT = "sweep_context.json"
_POINT_FILE = re.compile(r"^[0-9a-f]{16}\.json$")
_CONTEXT_WORDS = {
    "network": "network name",
    "network_fingerprint": "network",
    "chip": "chip",
    "profile_fingerprint": "chip profile",
    "inputs_fingerprint": "inputs",
    "options": "options (strategy, seed, steps, encoding, backends)",
}
_POINTS = "points"


class SweepError(NeurosimError):
    """A sweep request is invalid (grid, output folder)."""


# ----------------------------------------------------------------- one chip
def evaluate_chip(
    network: Any,
    profile: Any,
    inputs: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    *,
    strategy: str | None = None,
    placement: str | None = None,
    seed: int = 0,
    n_steps: int | None = None,
    encoding: str | None = None,
    backends: Sequence[str] = ("chip", "reference"),
    reference: Any = None,
) -> Any:
    """Map, simulate and report ``network`` on one profile.

    Parameters
    ----------
    network : Network
    profile : ChipProfile
    inputs : ndarray, optional
        Without inputs the report holds the fit and memory only.
    labels : ndarray of int, optional
    strategy : str, optional
        Partition strategy (default: the mapper's).
    placement : str, optional
        Placement method (default: the mapper's).
    seed, n_steps, encoding
        Passed to ``map_network`` and ``simulate``.
    backends : sequence of str
        Backends to run when the network fits.
    reference : SimResult, optional
        A reference run computed once for many chips (it does not depend on
        the chip); used instead of running ``"reference"`` again.

    Returns
    -------
    Report
        Status ``ok``, ``does_not_fit`` (reason: the first violations,
        counted) or ``error`` (mapping or simulation refused the request).
    """
    from neurosim.mapping.mapper import map_network
    from neurosim.report import Report, make_report
    from neurosim.sim.simulate import simulate

    kwargs: dict[str, Any] = {"seed": seed}
    if strategy is not None:
        kwargs["strategy"] = strategy
    if placement is not None:
        kwargs["placement"] = placement
    try:
        mapped = map_network(network, profile, **kwargs)
    except NeurosimError as exc:
        return Report.failed(
            profile.name, network.name, f"mapping: {exc}", chip_title=profile.title
        )
    if not mapped.fits or inputs is None:
        return make_report(mapped)
    results: dict[str, Any] = {}
    for backend in backends:
        if backend == "reference" and reference is not None:
            results[backend] = reference
            continue
        try:
            results[backend] = simulate(
                mapped, inputs, backend, n_steps=n_steps, encoding=encoding, seed=seed
            )
        except NeurosimError as exc:
            return Report.failed(
                profile.name,
                network.name,
                f"simulation ({backend}): {exc}",
                chip_title=profile.title,
            )
    return make_report(mapped, results, labels)


# ----------------------------------------------------------------- the grid
def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """Parse ``["core.max_fan_in=64,128", "weights.bits=2,4"]`` into a grid.

    Values are read as YAML scalars (``64`` is an int, ``null`` is None).

    Examples
    --------
    >>> parse_grid(["core.max_fan_in=64,128", "weights.bits=2"])
    {'core.max_fan_in': [64, 128], 'weights.bits': [2]}
    """
    import yaml

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or "." not in key or not raw.strip():
            raise SweepError(
                f"--set {item!r}: expected section.field=v1,v2,... e.g. core.max_fan_in=64,128"
            )
        if key in grid:
            raise SweepError(f"--set {key}: given twice; put all its values in one comma list")
        values = []
        for part in raw.split(","):
            part = part.strip()
            if not part:
                raise SweepError(f"--set {item!r}: empty value in the comma list")
            try:
                values.append(yaml.safe_load(part))
            except yaml.YAMLError:
                values.append(part)
        grid[key] = values
    if not grid:
        raise SweepError("sweep: no --set section.field=v1,v2,... given; nothing to sweep")
    return grid


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of the grid's value lists, first field slowest."""
    fields = list(grid)
    return [
        dict(zip(fields, combo, strict=True))
        for combo in itertools.product(*(list(grid[f]) for f in fields))
    ]


def point_key(overrides: Mapping[str, Any]) -> str:
    """Stable hash of a point's overrides (order of fields does not matter).

    Examples
    --------
    >>> point_key({"weights.bits": 2, "core.max_fan_in": 64}) == point_key({"core.max_fan_in": 64, "weights.bits": 2})
    True
    """
    text = json.dumps({k: overrides[k] for k in sorted(overrides)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fingerprint(*arrays: Any) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def network_fingerprint(network: Any) -> str:
    """Hash of a network's structure, weights, biases and neuron models."""
    h = hashlib.sha256()
    for pop in network.populations:
        h.update(
            json.dumps(
                [pop.name, pop.size, pop.model.to_dict()], sort_keys=True, default=str
            ).encode()
        )
        h.update(np.ascontiguousarray(pop.bias).tobytes())
    for pr in network.projections:
        w = pr.weights
        h.update(f"{pr.name}:{pr.pre}:{pr.post}:{w.shape}".encode())
        for arr in (w.indptr, w.indices, w.data):
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------- points
@dataclass(frozen=True, eq=False)
class _Task:
    """Everything one worker needs to compute one point (picklable)."""

    key: str
    overrides: Mapping[str, Any]
    network: Any
    profile: Mapping[
        str, Any
    ]  # ChipProfile.to_dict(): pydantic's checked figure classes do not pickle
    inputs: np.ndarray | None
    labels: np.ndarray | None
    reference: Any
    strategy: str | None
    placement: str | None
    seed: int
    n_steps: int | None
    encoding: str | None
    backends: tuple[str, ...]
    path: str | None


def _row(overrides: Mapping[str, Any], key: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(overrides)
    row["key"] = key
    for k in ROW_KEYS[1:]:
        row[k] = summary.get(k)
    return row


def _exit_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Worker initializer: end this worker when the sweep process is gone.

    A sweep killed outright (SIGTERM, SIGKILL) runs no cleanup; without this
    its workers would wait on the task queue forever. A point being written
    when the worker ends leaves only a temporary file, never a point file.
    """
    import os
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="neurosim-sweep-watchdog", daemon=True).start()


def _run_point(task: _Task) -> dict[str, Any]:
    """Compute one point; write its file (atomically) when the sweep has a folder."""
    from neurosim.hardware.profile import ChipProfile, apply_overrides
    from neurosim.report.report import json_safe

    profile = apply_overrides(ChipProfile.model_validate(dict(task.profile)), dict(task.overrides))
    report = evaluate_chip(
        task.network,
        profile,
        task.inputs,
        task.labels,
        strategy=task.strategy,
        placement=task.placement,
        seed=task.seed,
        n_steps=task.n_steps,
        encoding=task.encoding,
        backends=task.backends,
        reference=task.reference,
    )
    record = json_safe(
        {
            "key": task.key,
            "overrides": dict(task.overrides),
            "row": _row(task.overrides, task.key, report.summary()),
            "report": report.to_dict(),
        }
    )
    if task.path is not None:
        atomic_write_text(task.path, json.dumps(record, indent=1) + "\n")
    return record


# ----------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class SweepResult:
    """All points of a sweep, in grid order.

    Attributes
    ----------
    chip : str
    fields : tuple of str
        Swept profile fields.
    points : tuple of dict
        ``key``, ``overrides``, ``row`` (flat summary) and ``report`` (the
        point's full report JSON).
    computed, reused : tuple of str
        Keys of the points computed by this call and of those read back.
    out_dir : Path or None
    """

    chip: str
    fields: tuple[str, ...]
    points: tuple[Mapping[str, Any], ...]
    computed: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()
    out_dir: Path | None = None
    files: Mapping[str, str] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per point: swept fields, then :data:`ROW_KEYS`."""
        return [dict(p["row"]) for p in self.points]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (rows only; the full reports are in the point files)."""
        from neurosim.report.report import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "chip": self.chip,
            "fields": list(self.fields),
            "n_points": len(self.points),
            "n_computed": len(self.computed),
            "n_reused": len(self.reused),
            "rows": self.rows(),
        }

    def to_csv(self) -> str:
        """The rows as CSV text (empty cells for unknown values)."""
        buf = io.StringIO()
        writer = csv.DictWriter(
            buf, fieldnames=list(self.fields) + list(ROW_KEYS), lineterminator="\n"
        )
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buf.getvalue()

    def plot(self) -> Any:
        """Accuracy and energy per inference against the first swept field."""
        from neurosim.plots.report import plot_sweep

        return plot_sweep(
            self.rows(), self.fields, title=f"sweep on {self.chip}: {len(self.points)} points"
        )

    def table(self) -> Any:
        """A rich renderable: one row per point, then the reason of each point that is not ``ok``."""
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from neurosim.report.render import fmt_energy_pj, fmt_fraction, fmt_time_s

        t = Table(title=f"sweep on {self.chip}: {len(self.points)} points", box=box.SIMPLE_HEAD)
        for f in self.fields:
            t.add_column(f.replace(".", ".\n", 1), justify="right")
        for h in ("status", "cores", "top-1\nchip", "energy /\ninference", "time /\ninference"):
            t.add_column(h, justify="left" if h == "status" else "right", no_wrap=True)
        notes = []
        for r in self.rows():
            ok = r["status"] == "ok"
            t.add_row(
                *[str(r[f]) for f in self.fields],
                r["status"],
                "-" if r["n_cores_used"] is None else str(r["n_cores_used"]),
                fmt_fraction(r["chip_top1"]),
                fmt_energy_pj(r["energy_per_inference_pj"]) if ok else "-",
                fmt_time_s(r["time_per_inference_s"]) if ok else "-",
                style=None if ok else "yellow",
            )
            if r["reason"]:
                point = ", ".join(f"{f}={r[f]}" for f in self.fields)
                notes.append(Text(f"{point}: {r['reason']}", style="yellow"))
        return Group(t, *notes)


def _context(
    network: Any, profile: Any, inputs: Any, labels: Any, options: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "network": network.name,
        "network_fingerprint": network_fingerprint(network),
        "chip": profile.name,
        "profile_fingerprint": hashlib.sha256(
            json.dumps(profile.to_dict(), sort_keys=True, default=str).encode()
        ).hexdigest()[:16],
        "inputs_fingerprint": _fingerprint(inputs, labels),
        "options": dict(options),
    }


def _read_point(path: Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or "row" not in data:
        return None
    return data


def run_sweep(
    network: Any,
    profile: Any,
    grid: Mapping[str, Sequence[Any]],
    *,
    inputs: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    backends: Sequence[str] | None = None,
    strategy: str | None = None,
    placement: str | None = None,
    seed: int = 0,
    n_steps: int | None = None,
    encoding: str | None = None,
    out_dir: str | Path | None = None,
    jobs: int = 1,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Map, simulate and report ``network`` at every point of a grid of profile overrides.

    Parameters
    ----------
    network : Network
    profile : ChipProfile or str
        The base profile (or its name); each point applies its overrides to it.
    grid : mapping of str to sequence
        Profile field -> values; the points are the cartesian product.
    inputs, labels : ndarray, optional
        Inputs to simulate and their classes.
    backends : sequence of str, optional
        Default ``("chip", "reference")``; the reference runs once for all points.
    strategy, placement, seed, n_steps, encoding
        Passed to ``map_network`` and ``simulate``.
    out_dir : path, optional
        Folder for ``points/<key>.json`` (resumable), ``sweep.csv``,
        ``sweep.json`` and ``sweep.png``. Without it nothing is written.
    jobs : int
        Worker processes (1 = run in this process).
    force : bool
        Recompute every point and accept a folder holding another sweep.
    progress : callable, optional
        Called with a line per finished point.

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepError
        Empty grid, bad jobs, or ``out_dir`` holding a sweep of another
        network, profile or inputs (without ``force``).
    ProfileError
        An override that the profile schema rejects (checked for every point
        before anything runs).
    """
    from neurosim.hardware.profile import apply_overrides, load_profile

    if isinstance(profile, (str, Path)):
        profile = load_profile(profile)
    if not grid or any(len(list(v)) == 0 for v in grid.values()):
        raise SweepError("sweep: the grid needs at least one field with at least one value")
    if int(jobs) != jobs or jobs < 1:
        raise SweepError(f"sweep: jobs must be a positive integer, got {jobs!r}")
    backends = tuple(backends or ("chip", "reference"))
    fields = tuple(grid)
    points = expand_grid(grid)
    keys = [point_key(p) for p in points]
    if len(set(keys)) != len(keys):
        raise SweepError("sweep: the grid repeats a point (a value listed twice)")
    for p in points:  # every override must be valid before any work starts
        try:
            apply_overrides(profile, p)
        except ProfileError as exc:
            raise ProfileError(f"sweep point {p}: {exc}") from None
    say = progress or (lambda _line: None)
    options = {
        "strategy": strategy,
        "placement": placement,
        "seed": seed,
        "n_steps": n_steps,
        "encoding": encoding,
        "backends": list(backends),
    }

    point_dir = None
    done: dict[str, dict[str, Any]] = {}
    if out_dir is not None:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise SweepError(f"{out}: exists and is not a directory")
        point_dir = out / _POINTS
        point_dir.mkdir(parents=True, exist_ok=True)
        ctx = _context(network, profile, inputs, labels, options)
        ctx_path = out / _CONTEXT
        if ctx_path.exists():
            try:
                old = json.loads(ctx_path.read_text())
            except (OSError, ValueError):
                old = None
            if old != ctx and not force:
                what = [
                    _CONTEXT_WORDS.get(k, k)
                    for k in ctx
                    if not isinstance(old, dict) or old.get(k) != ctx[k]
                ]
                raise SweepError(
                    f"{out}: holds a sweep with another {', '.join(what) or 'setup'}; "
                    "pass --force to recompute every point, or choose another --out"
                )
        if force:  # points of another setup must never be read back
            for stale in point_dir.iterdir():
                if _POINT_FILE.match(stale.name):
                    stale.unlink()
        atomic_write_text(ctx_path, json.dumps(ctx, indent=1) + "\n")
        for stale in point_dir.glob(".*.part.json"):  # temporary files of an interrupted run
            stale.unlink(missing_ok=True)
        if not force:
            for key in keys:
                rec = _read_point(point_dir / f"{key}.json", key)
                if rec is not None:
                    done[key] = rec

    todo = [(k, p) for k, p in zip(keys, points, strict=True) if k not in done]
    where = "" if out_dir is None else f" into {out_dir}"
    say(
        f"sweep on {profile.name}: {len(points)} points, {len(done)} already done, {len(todo)} to compute{where}"
    )
    reference = None
    if todo and inputs is not None and "reference" in backends:
        from neurosim.sim.simulate import simulate

        reference = simulate(
            network, inputs, "reference", n_steps=n_steps, encoding=encoding, seed=seed
        )
    tasks = [
        _Task(
            key=k,
            overrides=p,
            network=network,
            profile=profile.to_dict(),
            inputs=inputs,
            labels=labels,
            reference=reference,
            strategy=strategy,
            placement=placement,
            seed=seed,
            n_steps=n_steps,
            encoding=encoding,
            backends=backends,
            path=None if point_dir is None else str(point_dir / f"{k}.json"),
        )
        for k, p in todo
    ]
    computed: dict[str, dict[str, Any]] = {}
    if jobs == 1 or len(tasks) <= 1:
        for t in tasks:
            computed[t.key] = _run_point(t)
            say(f"{t.key} {t.overrides}: {computed[t.key]['row']['status']}")
    else:
        ctx = multiprocessing.get_context("spawn")  # numba's thread pool is not fork-safe
        pool = ProcessPoolExecutor(
            max_workers=min(int(jobs), len(tasks)),
            mp_context=ctx,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        try:
            futures = {pool.submit(_run_point, t): t for t in tasks}
            for fut in as_completed(futures):
                t = futures[fut]
                computed[t.key] = fut.result()
                say(f"{t.key} {t.overrides}: {computed[t.key]['row']['status']}")
        except BaseException:
            # interrupted or failed: start no further point; finished points are on disk
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    records = tuple(done.get(k) or computed[k] for k in keys)
    result = SweepResult(
        chip=profile.name,
        fields=fields,
        points=records,
        computed=tuple(k for k in keys if k in computed),
        reused=tuple(k for k in keys if k in done),
        out_dir=None if out_dir is None else Path(out_dir),
    )
    if out_dir is not None:
        result = _write_outputs(result, Path(out_dir))
    return result


def _write_outputs(result: SweepResult, out: Path) -> SweepResult:
    """Write sweep.csv, sweep.json and sweep.png (each atomically)."""
    from neurosim.plots.report import save_figure
    from neurosim.report.report import json_safe

    files = {
        "csv": str(atomic_write_text(out / "sweep.csv", result.to_csv())),
        "json": str(
            atomic_write_text(
                out / "sweep.json", json.dumps(json_safe(result.to_dict()), indent=1) + "\n"
            )
        ),
        "plot": str(save_figure(result.plot(), out / "sweep.png")),
    }
    return SweepResult(
        result.chip,
        result.fields,
        result.points,
        result.computed,
        result.reused,
        result.out_dir,
        files,
    )
