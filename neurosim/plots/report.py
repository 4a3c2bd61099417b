"""Report figures (matplotlib, Agg): energy breakdown, core utilization, placement, sweeps.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure`
writes one atomically and :func:`plot_reports` writes the chosen set for a
group of reports. matplotlib is imported inside the functions so importing
this module stays cheap.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.errors import NeurosimError
from neurosim.util.atomic import atomic_path

__all__ = [
    "REPORT_PLOTS",
    "plot_core_utilization",
    "plot_energy_breakdown",
    "plot_placement",
    "plot_reports",
    "plot_sweep",
    "save_figure",
]

_EVENT_ORDER = (
    "synop",
    "neuron_update",
    "neuron_active",
    "spike_out",
    "packet",
    "hop",
    "chip_hop",
    "host_packet",
    "static",
)
_EVENT_LABEL = {
    "synop": "synaptic ops",
    "neuron_update": "neuron updates",
    "neuron_active": "active neurons",
    "spike_out": "spikes out",
    "packet": "messages",
    "host_packet": "host inputs",
    "hop": "mesh hops",
    "chip_hop": "chip-to-chip",
    "static": "static power",
}
_PREFIX = ((1.0, ""), (1e-3, "m"), (1e-6, "\u00b5"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _scale(max_value: float, unit: str) -> tuple[float, str]:
    """Divisor and unit label (``uJ``...) so the largest value reads between 1 and 1000."""
    for s, p in _PREFIX:
        if max_value >= s:
            return s, p + unit
    return _PREFIX[-1][0], _PREFIX[-1][1] + unit


def save_figure(fig: Any, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix) and close it."""
    plt = _pyplot()
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _ok(reports: Sequence[Any]) -> list[Any]:
    return [r for r in reports if r.energy is not None]


def _energy_parts(rows: Sequence[Any]) -> tuple[np.ndarray, list[list[str]]]:
    """Energy per inference (J) by event type x chip, and per chip the event types left unknown."""
    parts = np.zeros((len(_EVENT_ORDER), len(rows)))
    unknown: list[list[str]] = [[] for _ in rows]
    for j, r in enumerate(rows):
        n = max(r.energy.n_inputs, 1)
        for i, kind in enumerate(_EVENT_ORDER):
            e = r.energy.by_event[kind].energy_pj
            if e is None:
                unknown[j].append(_EVENT_LABEL[kind])
            else:
                parts[i, j] = e * 1e-12 / n
    return parts, unknown


def _energy_totals_axis(ax2: Any, x: np.ndarray, totals: np.ndarray, names: list[str]) -> None:
    """The bottom axis: total energy per inference, linear from zero, each bar labelled."""
    from neurosim.report.render import fmt_si

    pos = totals > 0
    div, unit = _scale(float(totals.max()) if pos.any() else 1.0, "J")
    # a linear axis from zero: bar heights compare as the energies do
    ax2.bar(x[pos], totals[pos] / div, color="0.45", width=0.7)
    for j in np.flatnonzero(pos):  # small bars stay readable by their value
        ax2.annotate(
            fmt_si(float(totals[j]), "J").replace(" u", " \u00b5"),
            (x[j], totals[j] / div),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax2.set_yscale("linear")
    ax2.set_ylim(0, float(totals.max() / div) * 1.15 if pos.any() else 1.0)
    ax2.set_ylabel(f"energy per inference ({unit})")
    ax2.set_xticks(x, names, rotation=30, ha="right")


def plot_energy_breakdown(reports: Sequence[Any]) -> Any:
    """Energy per inference by event type, one stacked bar per chip.

    Top: the share of each event type (stacked to 100 %), with the total
    written above each bar. Bottom: total energy per inference on a linear
    axis from zero, so bar heights compare as the energies do (the totals
    above the top bars give small ones their value). Chips without an
    energy figure (not fitting, no chip run) are named in the title; parts
    left unknown by their profile are named above the bar and left out.
    """
    plt = _pyplot()
    from neurosim.report.render import fmt_si

    rows = _ok(reports)
    skipped = [r.name for r in reports if r.energy is None]
    fig, (ax, ax2) = plt.subplots(
        2,
        1,
        figsize=(max(7.0, 0.85 * len(rows) + 3), 7.5),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 2]},
    )
    names = [r.name for r in rows]
    parts, unknown = _energy_parts(rows)
    totals = parts.sum(axis=0)
    share = np.divide(parts, totals, out=np.zeros_like(parts), where=totals > 0) * 100
    colors = plt.get_cmap("tab10").colors
    x = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for i, kind in enumerate(_EVENT_ORDER):
        ax.bar(x, share[i], bottom=bottom, color=colors[i], label=_EVENT_LABEL[kind], width=0.7)
        bottom += share[i]
    for j, u in enumerate(unknown):
        label = fmt_si(float(totals[j]), "J").replace(" u", " \u00b5")
        if u:
            label += "\n+ unknown: " + ", ".join(u)
        ax.annotate(
            label,
            (x[j], 100),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(0, 118)
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.set_ylabel("share of energy per inference (%)")
    ax.set_title("Energy per inference by event type (total above each bar)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _energy_totals_axis(ax2, x, totals, names)
    ax2.set_xlabel("chip")
    ax2.grid(axis="y", alpha=0.3)
    notes = []
    if any(r.estimated for r in rows):
        notes.append("uses profile figures of provenance 'estimated' (see the report JSON)")
    if skipped:
        notes.append("no energy figure (does not fit or not simulated): " + ", ".join(skipped))
    if notes:
        fig.text(0.01, 0.005, "\n".join(notes), fontsize=8, va="bottom")
    fig.tight_layout(rect=(0, 0.05 if notes else 0, 1, 1))
    return fig


def plot_core_utilization(report: Any) -> Any:
    """Per-core utilization (used / capacity) of neurons, input axons and synapse memory."""
    plt = _pyplot()
    if report.memory is None:
        raise NeurosimError(f"report {report.name}: no memory section to plot")
    m = report.memory
    load = m.load
    from neurosim.util.numfmt import fmt_count

    series = {
        f"neurons (of {fmt_count(m.max_neurons)})": load.neurons / m.max_neurons,
        f"input axons (of {fmt_count(m.max_axons)})": load.axons / m.max_axons,
    }
    util = m.utilization()
    if util is not None:
        series[f"synapse memory (of {fmt_count(m.capacity_bits)} bit)"] = util
    n = load.n_cores
    fig, ax = plt.subplots(figsize=(max(6.0, min(16.0, 0.25 * n + 4)), 4.2))
    cores = np.arange(n)
    if n <= 48:
        width = 0.8 / len(series)
        for i, (label, values) in enumerate(series.items()):
            ax.bar(
                cores + (i - (len(series) - 1) / 2) * width, values * 100, width=width, label=label
            )
    else:
        for label, values in series.items():
            ax.step(cores, values * 100, where="mid", label=label)
    ax.axhline(100, color="red", lw=1, ls="--", label="capacity")
    from neurosim.plots.axes import core_axis

    core_axis(ax, n)
    ax.set_xlabel("core")
    ax.set_ylabel("utilization (% of capacity)")
    ax.set_title(f"{report.name}: per-core utilization ({n} cores, {m.encoding} synapses)")
    ax.legend(
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=len(series) + 1,
        frameon=False,
    )
    fig.tight_layout()
    return fig


def _placement_values(report: Any, pl: Any) -> tuple[np.ndarray, str]:
    """Per-core colour values and their label: energy per inference, else neurons, else zeros."""
    if report.energy is not None and np.isfinite(report.energy.per_core_pj).any():
        value = report.energy.per_core_pj / max(report.energy.n_inputs, 1) * 1e-12
        div, unit = _scale(float(np.nanmax(value)) or 1.0, "J")
        return value / div, f"dynamic energy per inference ({unit})"
    if report.memory is not None:
        return report.memory.load.neurons.astype(float), "neurons on core"
    return np.zeros(len(pl.x)), "core"


def _draw_mesh(
    ax: Any, pl: Any, on: np.ndarray, value: np.ndarray, mesh_w: int, mesh_h: int
) -> Any:
    """The whole mesh (free slots as a light grid) with the used cores ``on`` coloured on top."""
    plt = _pyplot()
    from neurosim.plots.axes import integer_ticks

    ax.add_patch(
        plt.Rectangle(
            (-0.5, -0.5), mesh_w, mesh_h, facecolor="0.93", edgecolor="0.5", lw=0.8, zorder=0
        )
    )
    cell = 4.2 * 72 / max(mesh_w, mesh_h)  # points per mesh slot, roughly
    sc = ax.scatter(
        pl.x[on],
        pl.y[on],
        c=value[on],
        cmap="viridis",
        s=max(min(cell * cell * 0.8, 120.0), 6.0),
        marker="s",
        zorder=2,
        edgecolors="k",
        linewidths=0.3,
    )
    ax.set_xlabel("mesh x")
    ax.set_ylabel("mesh y")
    integer_ticks(ax.xaxis, mesh_w)
    integer_ticks(ax.yaxis, mesh_h)
    ax.set_xlim(-0.5, mesh_w - 0.5)
    ax.set_ylim(mesh_h - 0.5, -0.5)  # row 0 on top
    ax.set_aspect("equal", adjustable="box")
    return sc


def plot_placement(report: Any) -> Any:
    """Cores on the chip mesh, coloured by energy, with lines for links carrying traffic.

    Line width is proportional to the traffic between two cores
    (``placement.traffic``: expected spikes per step, or synapse-count proxy).
    """
    plt = _pyplot()

    mapped = report.mapped
    if mapped is None or mapped.placement is None:
        raise NeurosimError(f"report {report.name}: no placement to plot")
    pl = mapped.placement
    chips = np.unique(pl.chip) if len(pl.chip) else np.array([0])
    ncol = min(len(chips), 4)
    nrow = int(np.ceil(len(chips) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 4.6 * nrow), squeeze=False)
    value, label = _placement_values(report, pl)
    mesh_w = int(mapped.profile.get("chip.mesh_width"))
    mesh_h = int(mapped.profile.get("chip.mesh_height"))
    t = pl.traffic.tocoo()
    keep = t.row != t.col
    rows, cols, load = t.row[keep], t.col[keep], t.data[keep]
    lmax = float(load.max()) if load.size else 1.0
    sc = None
    for k, chip in enumerate(chips):
        ax = axes[k // ncol][k % ncol]
        on = np.flatnonzero(pl.chip == chip)
        same = (pl.chip[rows] == chip) & (pl.chip[cols] == chip)
        for a, b, w in zip(rows[same], cols[same], load[same], strict=True):
            ax.plot(
                [pl.x[a], pl.x[b]],
                [pl.y[a], pl.y[b]],
                color="0.4",
                lw=0.3 + 3.0 * w / lmax,
                alpha=0.6,
                zorder=1,
            )
        sc = _draw_mesh(ax, pl, on, value, mesh_w, mesh_h)
        ax.set_title(f"chip {chip}: {on.size} cores on a {mesh_w}x{mesh_h} mesh")
        if on.size and max(mesh_w, mesh_h) > 48:  # a zoom on the used cores of a large mesh
            _placement_inset(ax, pl, on, value, sc)
    for k in range(len(chips), nrow * ncol):
        axes[k // ncol][k % ncol].set_visible(False)
    if sc is not None:
        fig.colorbar(sc, ax=axes.ravel().tolist(), label=label)
    cross = float(getattr(pl, "chip_traffic", 0.0) or 0.0)
    title = (
        f"{report.name}: placement ({pl.method}); line width = link load (mesh links: total "
        f"{pl.total_link_load:.3g}, max {pl.max_link_load:.3g} spikes/step)"
    )
    if len(chips) > 1:
        title += f"\n{cross:.3g} packets/step cross chips (not drawn)"
    fig.suptitle(title, fontsize=10, y=1.0, va="bottom")
    return fig


def _placement_inset(ax: Any, pl: Any, on: np.ndarray, value: np.ndarray, sc: Any) -> None:
    """Inset of the used part of a large mesh; the whole mesh stays drawn around it."""
    from neurosim.plots.axes import integer_ticks

    x0, x1 = int(pl.x[on].min()), int(pl.x[on].max())
    y0, y1 = int(pl.y[on].min()), int(pl.y[on].max())
    side = max(x1 - x0, y1 - y0) + 3
    ins = ax.inset_axes([0.45, 0.45, 0.52, 0.52])
    ins.scatter(pl.x[on], pl.y[on], c=value[on], cmap=sc.get_cmap(), norm=sc.norm, s=80, marker="s",
                edgecolors="k", linewidths=0.3)  # fmt: skip
    ins.set_xlim(x0 - 1.5, x0 - 1.5 + side)
    ins.set_ylim(y0 - 1.5 + side, y0 - 1.5)  # row 0 on top, as the mesh
    integer_ticks(ins.xaxis, x0 + side, max_ticks=5)
    integer_ticks(ins.yaxis, y0 + side, max_ticks=5)
    ins.tick_params(labelsize=7)
    ins.set_facecolor("0.93")
    ax.indicate_inset_zoom(ins, edgecolor="tab:orange")


def plot_sweep(rows: Sequence[Mapping[str, Any]], fields: Sequence[str], *, title: str = "") -> Any:
    """Accuracy and energy per inference against the first swept field.

    Parameters
    ----------
    rows : sequence of mapping
        One per sweep point: the swept fields' values, ``status``,
        ``chip_top1``, ``reference_top1``, ``energy_per_inference_pj``.
    fields : sequence of str
        Swept profile fields; the first is the x axis, the others label the lines.
    """
    plt = _pyplot()
    x_field, others = fields[0], list(fields[1:])
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[f] for f in others), []).append(r)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    xs_all = sorted({r[x_field] for r in rows}, key=_sort_key)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs_all)
    pos = {v: (v if numeric else i) for i, v in enumerate(xs_all)}
    energies = [r.get("energy_per_inference_pj") for r in rows if r.get("energy_per_inference_pj")]
    div, unit = _scale(max(energies) * 1e-12 if energies else 1.0, "J")
    for key, pts in sorted(groups.items(), key=lambda kv: tuple(map(_sort_key, kv[0]))):
        pts = sorted(pts, key=lambda r: _sort_key(r[x_field]))
        label = ", ".join(f"{f}={v}" for f, v in zip(others, key, strict=True)) or None
        _draw_sweep_group((ax1, ax2), [(pos[r[x_field]], r) for r in pts], label, div)
    refs = [r["reference_top1"] for r in rows if r.get("reference_top1") is not None]
    if refs:
        ax1.axhline(
            float(np.mean(refs)) * 100, color="k", ls="--", lw=1, label="reference (float64)"
        )
    for ax in (ax1, ax2):
        _sweep_x_axis(ax, x_field, xs_all, numeric)
    ax1.set_ylabel("top-1 accuracy on chip (%)")
    ax1.set_ylim(0, 105)
    # a linear axis from zero: 10.36 and 10.45 nJ look alike, as they are
    top = max(energies) * 1e-12 / div if energies else 1.0
    ax2.set_ylim(0, top * 1.1)
    any_bad = any(r.get("status") != "ok" for r in rows)
    ax1.set_title("Accuracy" + (" (x at 0 %: does not fit)" if any_bad else ""))
    ax2.set_ylabel(f"energy per inference ({unit})")
    ax2.set_title("Energy per inference")
    if any(h.get_label() and not h.get_label().startswith("_") for h in ax1.get_lines()):
        ax1.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10, y=1.0, va="bottom")
    fig.tight_layout()
    return fig


def _draw_sweep_group(
    axes: tuple[Any, Any], pts: list[tuple[Any, Mapping[str, Any]]], label: str | None, div: float
) -> None:
    """One line of the sweep plot: accuracy and energy of the points that ran, x at 0 % for the others.

    ``pts`` holds ``(x position, row)`` pairs in x order; energies are divided by ``div`` (J).
    """
    ax1, ax2 = axes
    ok = [(x, r) for x, r in pts if r.get("status") == "ok"]
    acc = [(x, r["chip_top1"] * 100) for x, r in ok if r.get("chip_top1") is not None]
    en = [
        (x, r["energy_per_inference_pj"] * 1e-12 / div)
        for x, r in ok
        if r.get("energy_per_inference_pj") is not None
    ]
    line = None
    if acc:
        (line,) = ax1.plot(*zip(*acc, strict=True), marker="o", label=label)
    if en:
        ax2.plot(
            *zip(*en, strict=True),
            marker="o",
            label=label,
            color=None if line is None else line.get_color(),
        )
    bad = [x for x, r in pts if r.get("status") != "ok"]
    if bad:
        ax1.plot(bad, [0] * len(bad), "x", color="red" if line is None else line.get_color(), ms=9)


def _sweep_x_axis(ax: Any, x_field: str, xs_all: list[Any], numeric: bool) -> None:
    """The swept field's axis: every value a tick, log2 for a numeric range of 16x or more."""
    ax.set_xlabel(x_field)
    if numeric and len(xs_all) > 2 and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 16:
        ax.set_xscale("log", base=2)
        ax.minorticks_off()
    if numeric:
        ax.set_xticks(xs_all, [f"{v:g}" for v in xs_all])
    else:
        ax.set_xticks(range(len(xs_all)), [str(v) for v in xs_all])
    ax.grid(alpha=0.3)


def _sort_key(v: Any) -> tuple:
    return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))


#: plot name -> (function of the list of reports or of one report, per chip?)
REPORT_PLOTS: dict[str, tuple[Callable[..., Any], bool]] = {
    "energy": (plot_energy_breakdown, False),
    "utilization": (plot_core_utilization, True),
    "placement": (plot_placement, True),
}


def plot_reports(
    reports: Mapping[str, Any] | Sequence[Any],
    folder: str | Path,
    *,
    which: Sequence[str] | None = None,
) -> list[Path]:
    """Write the chosen report plots into ``folder`` as PNG files.

    Parameters
    ----------
    reports : mapping of key to Report, or sequence of Report
    folder : path
    which : sequence of str, optional
        Names of :data:`REPORT_PLOTS` (default: all). Per-chip plots are
        written as ``{name}_{key}.png`` for chips that have the data (a chip
        the network does not fit has no energy to plot).

    Returns
    -------
    list of Path
    """
    items = (
        list(reports.items()) if isinstance(reports, Mapping) else [(r.name, r) for r in reports]
    )
    items = [(k, r if r.label else dataclasses.replace(r, label=str(k))) for k, r in items]
    names = list(REPORT_PLOTS) if which is None else list(which)
    for n in names:
        if n not in REPORT_PLOTS:
            raise NeurosimError(f"unknown plot {n!r}; expected one of {', '.join(REPORT_PLOTS)}")
    folder = Path(folder)
    out: list[Path] = []
    for name in names:
        fn, per_chip = REPORT_PLOTS[name]
        if not per_chip:
            if any(r.energy is not None for _, r in items):
                out.append(save_figure(fn([r for _, r in items]), folder / f"{name}.png"))
            continue
        for key, rep in items:
            if name == "placement" and (
                rep.mapped is None
                or rep.mapped.placement is None
                or not len(rep.mapped.placement.x)
            ):
                continue
            if name == "utilization" and (rep.memory is None or rep.memory.load.n_cores == 0):
                continue
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(key)).strip("_") or "chip"
            out.append(save_figure(fn(rep), folder / f"{name}_{safe}.png"))
    return out
