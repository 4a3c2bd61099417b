"""Writing a scenario's results: a directory that appears only when complete.

``write_results`` fills a temporary directory (``report.json``,
``report.md``, plots, ``outputs.npz``, ``resolved.yaml``) and renames it into
place (:func:`neurosim.util.atomic.atomic_dir`), so an interrupted run leaves
nothing that looks complete and an existing result is replaced only with
``force``. Wall times are kept under the top-level ``"timings"`` key of
``report.json`` so two runs can be compared without them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from neurosim.util.atomic import atomic_dir

__all__ = [
    "TIMING_KEYS",
    "report_dict",
    "resolved_yaml",
    "summary_tables",
    "to_plain",
    "variants_markdown",
    "without_timings",
    "write_results",
]

#: key names (anywhere in a report) that hold wall times; moved under "timings"
TIMING_KEYS = frozenset({"wall_time_s", "wall_s", "elapsed_s", "time_s", "timings", "seconds"})


def to_plain(obj: Any) -> Any:
    """``obj`` as JSON-ready Python (dicts, lists, str, int, float, bool, None).

    Objects with ``to_dict()`` use it; dataclasses and pydantic models are
    expanded; numpy scalars and arrays become numbers and lists; NaN and
    infinities become ``None`` (as in the report's own JSON).
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.ndarray):
        return to_plain(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return to_plain(obj.to_dict())
    if hasattr(obj, "model_dump"):
        return to_plain(obj.model_dump(mode="json"))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_plain({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    return str(obj)


def _split_timings(obj: Any, path: str, found: dict[str, Any]) -> Any:
    """``obj`` without timing keys; each removed value is kept in ``found`` by path."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            p = f"{path}.{k}" if path else k
            if k in TIMING_KEYS:
                found[p] = v
            else:
                out[k] = _split_timings(v, p, found)
        return out
    if isinstance(obj, list):
        return [_split_timings(v, f"{path}.{i}", found) for i, v in enumerate(obj)]
    return obj


def report_dict(result: Any) -> dict[str, Any]:
    """The content of ``report.json``: every value but timings, then ``"timings"``."""
    sc = result.scenario
    data = result.data
    body: dict[str, Any] = {
        "scenario": {"name": sc.name, "description": sc.description, "seed": sc.seed},
        "dataset": {
            "name": data.name,
            "source": sc.dataset.name,
            "split": sc.dataset.split,
            "n_samples": len(data),
            "n_features": data.n_features,
            "n_classes": data.n_classes,
            "labelled": data.y is not None,
        },
        "network": {
            "name": result.network.name,
            **to_plain(result.network_info),
            "stats": to_plain(result.network.stats()),
        },
        "chips": {key: to_plain(rep) for key, rep in result.reports.items()},
        "comparison": to_plain(result.comparison.rows()),
    }
    if result.checks:
        body["test_vectors"] = to_plain(result.checks)
    if getattr(result, "variants", None):
        body["variants"] = to_plain(result.variants)
    if result.sweep is not None:
        body["sweep"] = to_plain(result.sweep)
    found: dict[str, Any] = {}
    body = _split_timings(body, "", found)
    timings = to_plain(result.timings)
    if found:
        timings["inside_reports"] = to_plain(found)
    body["timings"] = timings
    return body


def without_timings(report: Mapping[str, Any]) -> dict[str, Any]:
    """``report.json`` content without its ``"timings"`` key (for comparing runs)."""
    return {k: v for k, v in report.items() if k != "timings"}


def resolved_yaml(scenario: Any) -> str:
    """The scenario as resolved (every default filled in), as YAML text."""
    data = scenario.model_dump(mode="json")
    data["chips"] = [c.model_dump(mode="json") for c in scenario.chip_specs]
    data.pop("path", None)
    header = f"# resolved from {scenario.path}\n" if scenario.path else ""
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def _outputs_arrays(result: Any) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"input_index": np.asarray(result.data.index, dtype=np.int64)}
    if result.data.y is not None:
        arrays["labels"] = np.asarray(result.data.y)
    if result.data.expected is not None:
        arrays["expected"] = np.asarray(result.data.expected)
    for chip, per_backend in result.results.items():
        for backend, sim in per_backend.items():
            arrays[f"{chip}/{backend}"] = np.asarray(sim.outputs)
    return arrays


def summary_tables(result: Any) -> list[Any]:
    """Rich renderables: the side-by-side chip table and, if any, the variants and sweep tables."""
    from neurosim.report import render_table

    out = [
        render_table(
            result.comparison,
            title=f"{result.scenario.name}: {result.network.name} on {result.data.name}",
        )
    ]
    if result.checks:
        out.append(_checks_table(result.checks))
    if getattr(result, "variants", None):
        from rich.markdown import Markdown

        out.append(Markdown(variants_markdown(result.variants)))
    if result.sweep is not None:
        out.append(
            result.sweep.table()
            if hasattr(result.sweep, "table")
            else _variants_table(result.sweep)
        )
    return out


def _checks_table(checks: Mapping[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="test vectors: outputs against the exact expected outputs")
    for col in ("chip", "backend", "exact rows", "max abs error"):
        t.add_column(col, justify="left" if col in ("chip", "backend") else "right")
    for chip, per in checks.items():
        for backend, c in per.items():
            if "error" in c:
                t.add_row(chip, backend, "-", c["error"])
            else:
                t.add_row(
                    chip, backend, f"{c['exact_rows']}/{c['n_rows']}", f"{c['max_abs_error']:.3g}"
                )
    return t


def _flat_point(point: Mapping[str, Any]) -> dict[str, Any]:
    """A sweep point with dict values spread out (``a.b: {x: 1}`` -> ``x: 1``)."""
    out: dict[str, Any] = {}
    for key, value in point.items():
        if isinstance(value, Mapping):
            out.update({str(k): v for k, v in value.items()})
        else:
            out[key.rsplit(".", 1)[-1]] = value
    return out


def _variants_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    from neurosim.report.render import fmt_energy_pj, fmt_fraction

    t = Table(title=f"sweep over scenario fields: {len(rows)} points")
    flat = [_flat_point(r["point"]) for r in rows]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    varying = [k for k in keys if len({repr(f.get(k)) for f in flat}) > 1] or keys
    chips = list(rows[0]["chips"]) if rows else []
    has = {
        "score": any(r.get("topology_score") is not None for r in rows),
        "train": any(r.get("train_accuracy") is not None for r in rows),
        "top1": any(s.get("chip_top1") is not None for r in rows for s in r["chips"].values()),
    }
    for k in varying:
        t.add_column(k)
    if has["score"]:
        t.add_column("topology score", justify="right")
    if has["train"]:
        t.add_column("train acc.", justify="right")
    t.add_column("synapses", justify="right")
    for c in chips:
        if has["top1"]:
            t.add_column(f"{c} top-1", justify="right")
        t.add_column(f"{c} energy / inf.", justify="right")
    for r, f in zip(rows, flat, strict=True):
        cells = ["-" if f.get(k) is None else str(f.get(k)) for k in varying]
        if has["score"]:
            score = r.get("topology_score")
            cells.append("-" if score is None else f"{score:.3f}")
        if has["train"]:
            cells.append(fmt_fraction(r.get("train_accuracy")))
        cells.append(f"{r['n_synapses']:,}")
        for c in chips:
            summary = r["chips"][c]
            if has["top1"]:
                cells.append(fmt_fraction(summary.get("chip_top1")))
            cells.append(fmt_energy_pj(summary.get("energy_per_inference_pj")))
        t.add_row(*cells)
    return t


def write_results(result: Any, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write every result file of a scenario run into ``out_dir`` (atomically).

    Parameters
    ----------
    result : ScenarioResult
    out_dir : path
        Created; an existing directory is replaced only when ``force``.
    force : bool

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    FileExistsError
        ``out_dir`` exists and ``force`` is false (nothing is written).
    """
    from neurosim.report import render_markdown

    out_dir = Path(out_dir)
    body = report_dict(result)
    with atomic_dir(out_dir, force=force) as tmp:
        (tmp / "report.json").write_text(json.dumps(body, indent=2) + "\n")
        sc = result.scenario
        source = f" (`{Path(sc.path).name}`)" if sc.path else ""
        md = f"Scenario **{sc.name}**{source}: {sc.description}\n\n" + render_markdown(
            result.comparison
        )
        md += _unfit_markdown(result.reports)
        if result.checks:
            md += "\n" + _checks_markdown(result.checks)
        if getattr(result, "variants", None):
            md += "\n" + variants_markdown(result.variants)
        if result.sweep is not None:
            md += "\n" + _sweep_markdown(result.sweep)
        (tmp / "report.md").write_text(md)
        (tmp / "resolved.yaml").write_text(resolved_yaml(result.scenario))
        with open(tmp / "outputs.npz", "wb") as fh:
            np.savez_compressed(fh, **_outputs_arrays(result))
        if "csv" in result.scenario.report.formats:
            (tmp / "report.csv").write_text(_comparison_csv(result))
        _write_plots(result, tmp)
        _write_sweep(result, tmp)
    return out_dir


def variants_markdown(rows: list[dict[str, Any]]) -> str:
    """The network variants (:func:`neurosim.scenario.runner.network_row` rows) as a Markdown table."""
    from neurosim.report.render import fmt_energy_pj, fmt_fraction

    chips = list(dict.fromkeys(c for r in rows for c in r["chips"]))
    head = ["network", "method", "trained parameters", "stored weights", "synapses", "train acc."]
    head += [f"{c}: top-1 (ref.) / synapse memory / energy per inf." for c in chips]
    lines = ["## Network variants", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        n_par = r.get("trained_parameters")
        cells = [r["name"], str(r.get("method") or r.get("source") or "-"),
                 "-" if n_par is None else f"{n_par:,}", f"{r['stored_weights']:,}",
                 f"{r['n_synapses']:,}", fmt_fraction(r.get("train_accuracy"))]
        for c in chips:
            s = r["chips"].get(c)
            if s is None:
                cells.append("not run")
                continue
            mem = s.get("synapse_memory_bits")
            cells.append(
                f"{fmt_fraction(s.get('chip_top1'))} ({fmt_fraction(s.get('reference_top1'))}) / "
                f"{'-' if mem is None else f'{mem:,.0f} bit'} / {fmt_energy_pj(s.get('energy_per_inference_pj'))}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _unfit_markdown(reports: Mapping[str, Any]) -> str:
    """A warning line per chip simulated although its mapping does not fit (``ignore_fit``)."""
    from neurosim.evaluate import UNFIT_NOTE

    unfit = [key for key, rep in reports.items() if UNFIT_NOTE in rep.notes]
    if not unfit:
        return ""
    return "\n" + "".join(
        f"**{key}: every figure above for {key} is from a mapping that does not fit the chip** "
        f"(simulated with `simulation.ignore_fit: true`; see its status line).\n\n"
        for key in unfit
    )


def _checks_markdown(checks: Mapping[str, Any]) -> str:
    lines = [
        "## Test vectors",
        "",
        "| chip | backend | exact rows | max abs error |",
        "|---|---|---:|---:|",
    ]
    for chip, per in checks.items():
        for backend, c in per.items():
            if "error" in c:
                lines.append(f"| {chip} | {backend} | - | {c['error']} |")
            else:
                lines.append(
                    f"| {chip} | {backend} | {c['exact_rows']}/{c['n_rows']} | {c['max_abs_error']:.3g} |"
                )
    return "\n".join(lines) + "\n"


def _sweep_markdown(sweep: Any) -> str:
    """The sweep as a Markdown table (profile sweeps: rows of run_sweep; scenario sweeps: points)."""
    from neurosim.report.render import fmt_energy_pj, fmt_fraction

    if hasattr(sweep, "rows"):
        fields = list(sweep.fields)
        head = fields + ["status", "cores", "top-1 chip", "synapse bits", "energy / inference"]
        lines = [
            f"## Sweep on {sweep.chip}",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
        ]
        for r in sweep.rows():
            cells = [str(r[f]) for f in fields] + [
                r["status"],
                "-" if r["n_cores_used"] is None else str(r["n_cores_used"]),
                fmt_fraction(r["chip_top1"]),
                "-" if r["synapse_memory_bits"] is None else f"{r['synapse_memory_bits']:,}",
                fmt_energy_pj(r["energy_per_inference_pj"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
    flat = [_flat_point(r["point"]) for r in sweep]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    chips = list(sweep[0]["chips"]) if sweep else []
    head = (
        keys
        + ["topology score", "train accuracy", "synapses"]
        + [f"{c} top-1 / energy" for c in chips]
    )
    lines = [
        "## Sweep over scenario fields",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r, f in zip(sweep, flat, strict=True):
        score = r.get("topology_score")
        cells = ["-" if f.get(k) is None else str(f.get(k)) for k in keys]
        cells += [
            "-" if score is None else f"{score:.3f}",
            fmt_fraction(r.get("train_accuracy")),
            f"{r['n_synapses']:,}",
        ]
        for c in chips:
            summary = r["chips"][c]
            cells.append(
                f"{fmt_fraction(summary.get('chip_top1'))} / {fmt_energy_pj(summary.get('energy_per_inference_pj'))}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _comparison_csv(result: Any) -> str:
    import csv
    import io

    rows = [{"key": k, **rep.summary()} for k, rep in result.reports.items()]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def _write_plots(result: Any, folder: Path) -> None:
    from neurosim.plots.report import plot_reports

    which = result.scenario.report.plots
    if which is not None:
        which = [w for w in which if w != "sweep"]
    plot_reports(result.reports, folder, which=which)


def _write_sweep(result: Any, folder: Path) -> None:
    sweep = result.sweep
    if sweep is None:
        return
    plots = result.scenario.report.plots
    if hasattr(sweep, "to_csv"):
        (folder / "sweep.csv").write_text(sweep.to_csv())
        if plots is None or "sweep" in plots:
            from neurosim.plots.report import save_figure

            save_figure(sweep.plot(), folder / "sweep.png")
    else:
        (folder / "sweep.json").write_text(json.dumps(to_plain(sweep), indent=2) + "\n")
