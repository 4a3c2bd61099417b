"""Sweeps over hardware limits: map, simulate and report every point of a grid.

:func:`run_sweep` evaluates a network (:func:`neurosim.evaluate.evaluate`)
at every point of a grid of profile overrides (the cartesian product of the
value lists). The points run where :mod:`neurosim.execute` says: a Dask
cluster (a LocalCluster by default, or a scheduler address) or this process.
The network, inputs and reference run are sent to each worker once; a point
is its key and overrides.

Resuming: with an output folder each point's result is one JSON file,
``points/<key>.json``, where ``key`` is a stable hash of the point's
overrides (:func:`point_key`), written atomically as soon as the point
finishes, so an interrupted sweep leaves no file that looks complete and a
rerun computes only the missing points (and those that raised).
``sweep_context.json`` records what the points were computed from (network,
base profile, inputs, options): a rerun against a different context is
refused unless ``force`` (which recomputes every point).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.errors import NeurosimError, ProfileError
from neurosim.util.atomic import atomic_write_text

__all__ = [
    "ROW_KEYS",
    "StoreMismatchError",
    "SweepError",
    "SweepResult",
    "expand_grid",
    "network_fingerprint",
    "parse_grid",
    "point_key",
    "prepare_worker",
    "run_sweep",
    "sweep_point",
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


class StoreMismatchError(SweepError):
    """The output folder holds a sweep of another network, profile, inputs or options."""


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
                f"grid item {item!r}: expected section.field=v1,v2,... e.g. core.max_fan_in=64,128"
            )
        if key in grid:
            raise SweepError(f"grid field {key}: given twice; put all its values in one comma list")
        values = []
        for part in raw.split(","):
            part = part.strip()
            if not part:
                raise SweepError(f"grid item {item!r}: empty value in the comma list")
            try:
                values.append(yaml.safe_load(part))
            except yaml.YAMLError:
                values.append(part)
        grid[key] = values
    if not grid:
        raise SweepError("sweep: no grid field section.field=v1,v2,... given; nothing to sweep")
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
def _row(overrides: Mapping[str, Any], key: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(overrides)
    row["key"] = key
    for k in ROW_KEYS[1:]:
        row[k] = summary.get(k)
    return row


def _record(key: str, overrides: Mapping[str, Any], report: Any) -> dict[str, Any]:
    from neurosim.report.report import json_safe

    return json_safe(
        {
            "key": key,
            "overrides": dict(overrides),
            "row": _row(overrides, key, report.summary()),
            "report": report.to_dict(),
        }
    )


def sweep_point(
    point_key: str,
    point: Mapping[str, Any],
    network: Any,
    profile: Mapping[str, Any],
    data: Any,
    reference: Any,
    options: Any,
) -> dict[str, Any]:
    """One point of a sweep (run on a worker): the base profile with the point's overrides, evaluated.

    ``profile`` is ``ChipProfile.to_dict()`` (pydantic's checked figure
    classes do not pickle); ``network``, ``data``, ``reference`` and
    ``options`` are the values every point shares (scattered once).
    Returns the point's record: ``key``, ``overrides``, ``row`` and ``report``.
    """
    from neurosim.evaluate import evaluate
    from neurosim.hardware.profile import ChipProfile, apply_overrides

    chip = apply_overrides(ChipProfile.model_validate(dict(profile)), dict(point))
    result = evaluate(network, chip, data, options, reference=reference)
    return _record(point_key, point, result.report)


#: set once :func:`prepare_worker` has run in this process
_PREPARED: list[bool] = [False]


def prepare_worker() -> None:
    """Load what every point uses (run once per worker before the first point).

    The evaluation modules, the compiled simulation kernels (numba and its
    on-disk cache) and the code paths a point takes the first time (each
    kernel signature read from the cache, scipy and pydantic set-up): one
    small network (16-8-4, 8 inputs) is evaluated on the generic profile,
    float and integer weights. Without this the first point on each worker
    pays for them (about a second), and points on a worker that has not
    loaded numba yet take the scipy paths for their small products.

    A worker that has run it returns at once: every sweep on an existing
    cluster calls it again (through ``client.run``, on the worker's event
    loop), and repeating the small evaluation there cost each worker about
    0.1 s of CPU per sweep before any point could start.
    """
    if _PREPARED[0]:
        return
    from neurosim.evaluate import EvalInputs, EvalOptions, evaluate
    from neurosim.hardware.profile import apply_overrides, load_profile
    from neurosim.network import Network
    from neurosim.neurons import NeuronModel
    from neurosim.sim.kernels import load_compiled

    load_compiled()
    rng = np.random.default_rng(0)
    net = Network.from_layers(
        [rng.normal(size=(16, 8)), rng.normal(size=(8, 4))],
        [0.0, 0.0],
        [NeuronModel("relu"), NeuronModel("linear")],
        name="warm-up",
    )
    data = EvalInputs(rng.random((8, 16)), rng.integers(0, 4, 8))
    generic = load_profile("generic")
    for bits in (None, 8):
        chip = generic if bits is None else apply_overrides(generic, {"weights.bits": bits})
        evaluate(net, chip, data, EvalOptions())
    _PREPARED[0] = True


def _raised_record(
    key: str, overrides: Mapping[str, Any], error: str, network: str, chip: str
) -> dict[str, Any]:
    """The record of a point that raised: status ``error``; a resumed sweep computes it again."""
    from neurosim.report import Report

    record = _record(key, overrides, Report.failed(chip, network, error))
    record["raised"] = True
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
    if data.get("raised"):  # a point that raised is computed again
        return None
    return data


def _check_grid(profile: Any, grid: Mapping[str, Sequence[Any]]) -> tuple[list[dict], list[str]]:
    """The grid's points and keys; every override is checked before any work starts."""
    from neurosim.hardware.profile import apply_overrides

    if not grid or any(len(list(v)) == 0 for v in grid.values()):
        raise SweepError("sweep: the grid needs at least one field with at least one value")
    points = expand_grid(grid)
    keys = [point_key(p) for p in points]
    if len(set(keys)) != len(keys):
        raise SweepError("sweep: the grid repeats a point (a value listed twice)")
    for p in points:
        try:
            apply_overrides(profile, p)
        except ProfileError as exc:
            raise ProfileError(f"sweep point {p}: {exc}") from None
    return points, keys


def _check_context(out: Path, ctx: Mapping[str, Any], force: bool) -> None:
    """Refuse a folder holding a sweep of another setup (unless ``force``)."""
    ctx_path = out / _CONTEXT
    if not ctx_path.exists() or force:
        return
    try:
        old = json.loads(ctx_path.read_text())
    except (OSError, ValueError):
        old = None
    if old != ctx:
        what = [
            _CONTEXT_WORDS.get(k, k)
            for k in ctx
            if not isinstance(old, dict) or old.get(k) != ctx[k]
        ]
        raise StoreMismatchError(
            f"{out}: holds a sweep with another {', '.join(what) or 'setup'}; "
            "recompute every point (force) or choose another output folder"
        )


def _open_store(
    out_dir: str | Path, ctx: Mapping[str, Any], keys: Sequence[str], force: bool
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The resume store ``out_dir/points``: its folder and the points already done."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SweepError(f"{out}: exists and is not a directory")
    point_dir = out / _POINTS
    point_dir.mkdir(parents=True, exist_ok=True)
    _check_context(out, ctx, force)
    if force:  # points of another setup must never be read back
        for stale in point_dir.iterdir():
            if _POINT_FILE.match(stale.name):
                stale.unlink()
    atomic_write_text(out / _CONTEXT, json.dumps(ctx, indent=1) + "\n")
    for stale in point_dir.glob(".*.part.json"):  # temporary files of an interrupted run
        stale.unlink(missing_ok=True)
    done = {}
    for key in [] if force else keys:
        rec = _read_point(point_dir / f"{key}.json", key)
        if rec is not None:
            done[key] = rec
    return point_dir, done


def _reference(network: Any, data: Any, options: Any) -> Any:
    """The reference run shared by every point (it does not depend on the chip)."""
    if data is None or "reference" not in options.backends:
        return None
    from neurosim.sim.simulate import simulate

    return simulate(network, data.x, "reference", **options.sim_kwargs())


def _compute(
    todo: Sequence[tuple[str, dict[str, Any]]],
    shared: Mapping[str, Any],
    point_dir: Path | None,
    execution: Any,
    report: Callable[[str, Mapping[str, Any]], None],
    say: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Compute the missing points; each finished one is written to the store at once."""
    from neurosim.execute import run_points

    overrides = dict(todo)
    computed: dict[str, dict[str, Any]] = {}

    def on_done(key: str, record: Mapping[str, Any]) -> None:
        if "error" in record and "row" not in record:
            record = _raised_record(
                key,
                overrides[key],
                record["error"],
                shared["network"].name,
                shared["profile"]["name"],
            )
        if point_dir is not None:
            atomic_write_text(point_dir / f"{key}.json", json.dumps(record, indent=1) + "\n")
        computed[key] = dict(record)
        report(key, record)

    run_points(sweep_point, shared, list(todo), on_done, execution, say=say, prepare=prepare_worker)
    return computed


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
    execution: Any = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    counter: Callable[[int, int], None] | None = None,
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
    backends : sequence of str, optional
        Default ``("chip", "reference")``; the reference runs once for all points.
    strategy, placement, seed, n_steps, encoding
        As :class:`neurosim.evaluate.EvalOptions`.
    out_dir : path, optional
        ``points/<key>.json`` (resume store), ``sweep.csv|json|png``; none: nothing written.
    execution : neurosim.execute.Execution, optional
        Where the points run (default ``$DASK_SCHEDULER_ADDRESS``, else a LocalCluster).
    force : bool
        Recompute every point and accept a folder holding another sweep.
    progress, counter : callable, optional
        Called with an opening line, the scheduler line and a line per finished
        point; and with ``(finished, total)`` points (reused ones included).

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepError
        Empty grid; ``out_dir`` holding a sweep of another setup (without ``force``).
    ProfileError
        An override the profile schema rejects (every point checked before any runs).
    """
    from neurosim.evaluate import EvalInputs, EvalOptions
    from neurosim.hardware.profile import load_profile

    profile = load_profile(profile) if isinstance(profile, (str, Path)) else profile
    points, keys = _check_grid(profile, grid)
    options = EvalOptions(
        tuple(backends or ("chip", "reference")),
        strategy=strategy,
        placement=placement,
        seed=seed,
        n_steps=n_steps,
        encoding=encoding,
    )
    data = None if inputs is None else EvalInputs(np.asarray(inputs), labels)
    point_dir, done = None, {}
    if out_dir is not None:
        ctx = _context(network, profile, inputs, labels, _options_record(options))
        point_dir, done = _open_store(out_dir, ctx, keys, force)
    todo = [(k, p) for k, p in zip(keys, points, strict=True) if k not in done]
    say = progress or (lambda _line: None)
    say(_opening_line(profile.name, len(points), len(done), len(todo), out_dir))
    report = _reporter(say, counter, len(done), len(points))
    shared = {"network": network, "profile": profile.to_dict(), "data": data, "options": options}
    shared["reference"] = _reference(network, data, options) if todo else None
    computed = _compute(todo, shared, point_dir, execution, report, say)
    return _result(profile.name, tuple(grid), keys, done, computed, out_dir)


def _result(
    chip: str,
    fields: tuple[str, ...],
    keys: Sequence[str],
    done: Mapping[str, Any],
    computed: Mapping[str, Any],
    out_dir: str | Path | None,
) -> SweepResult:
    """The points in grid order (read back or computed), and the summary files when there is a folder."""
    result = SweepResult(
        chip=chip,
        fields=fields,
        points=tuple(done.get(k) or computed[k] for k in keys),
        computed=tuple(k for k in keys if k in computed),
        reused=tuple(k for k in keys if k in done),
        out_dir=None if out_dir is None else Path(out_dir),
    )
    return result if out_dir is None else _write_outputs(result, Path(out_dir))


def _opening_line(chip: str, n: int, n_done: int, n_todo: int, out_dir: Any) -> str:
    where = "" if out_dir is None else f" into {out_dir}"
    return f"sweep on {chip}: {n} points, {n_done} already done, {n_todo} to compute{where}"


def _reporter(
    say: Callable[[str], None],
    counter: Callable[[int, int], None] | None,
    n_done: int,
    n_points: int,
) -> Callable[[str, Mapping[str, Any]], None]:
    """The callback of each finished point: a progress line and the (finished, total) count."""
    tick = counter or (lambda _done, _total: None)
    tick(n_done, n_points)
    finished = [n_done]

    def report(key: str, record: Mapping[str, Any]) -> None:
        say(f"{key} {record['overrides']}: {record['row']['status']}")
        finished[0] += 1
        tick(finished[0], n_points)

    return report


def _options_record(options: Any) -> dict[str, Any]:
    """The options a resume store was computed with (its context)."""
    return {
        "strategy": options.strategy,
        "placement": options.placement,
        "seed": options.seed,
        "n_steps": options.n_steps,
        "encoding": options.encoding,
        "backends": list(options.backends),
    }


def _write_outputs(result: SweepResult, out: Path) -> SweepResult:
    """Write sweep.csv, sweep.json and sweep.png (each atomically)."""
    from dataclasses import replace

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
    return replace(result, files=files)
