"""Figures of a mapping: core utilization per resource and placement on the mesh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurosim.mapping.limits import CoreLimits
from neurosim.mapping.loads import core_loads
from neurosim.mapping.mapped import MappedNetwork, Placement
from neurosim.mapping.usage import resource_capacity, used_resources
from neurosim.util.atomic import atomic_path

__all__ = ["core_utilization", "plot_mapping"]

_RESOURCES = ("neurons", "axons", "synapse_memory_bits", "fan_in_max", "fan_out_max")


def core_utilization(mapped: MappedNetwork) -> dict[str, tuple[np.ndarray, float]]:
    """Per limited resource of :data:`_RESOURCES`: used per core (from the load table) and capacity."""
    used = used_resources(core_loads(mapped), mapped.profile)
    capacity = resource_capacity(CoreLimits.from_profile(mapped.profile), mapped.profile)
    return {
        r: (np.asarray(used[r], dtype=float), float(capacity[r]))
        for r in _RESOURCES
        if r in used and capacity.get(r)
    }


def _draw_utilization(ax_u: Any, mapped: MappedNetwork) -> None:
    """Used / capacity of every limited resource of every core, in percent."""
    from neurosim.plots.axes import core_axis
    from neurosim.util.numfmt import fmt_count

    n = len(mapped.cores)
    idx = np.arange(n)
    drawn = False
    for res, (used, cap) in (core_utilization(mapped) if n else {}).items():
        ax_u.plot(
            idx,
            100.0 * used / cap,
            marker="." if n < 200 else None,
            lw=1,
            label=f"{res} (cap {fmt_count(cap)})",
        )
        drawn = True
    ax_u.axhline(100.0, color="k", ls="--", lw=1)
    core_axis(ax_u, n)
    ax_u.set_xlabel("core index")
    ax_u.set_ylabel("utilization (% of per-core capacity)")
    ax_u.set_title(f"Core utilization: {n} cores (lower bound {mapped.lower_bound_cores})")
    if drawn:
        ax_u.legend(fontsize=8, loc="best")
    ax_u.grid(alpha=0.3)


def _draw_traffic(ax_m: Any, p: Placement, on: np.ndarray) -> None:
    """The busiest core-to-core traffic among cores ``on`` the drawn chip, as red lines."""
    t = p.traffic.tocoo()
    sel = (t.row != t.col) & np.isin(t.row, on) & np.isin(t.col, on)
    if not sel.any():
        return
    rows, cols, vals = t.row[sel], t.col[sel], t.data[sel]
    top = np.argsort(vals)[::-1][:300]
    vmax = float(vals[top].max())
    for r, c, v in zip(rows[top], cols[top], vals[top], strict=True):
        ax_m.plot(
            [p.x[r], p.x[c]],
            [p.y[r], p.y[c]],
            color="tab:red",
            alpha=0.5,
            lw=0.3 + 2.5 * v / vmax,
        )


def _zoom_inset(ax_m: Any, grid: np.ndarray, p: Placement, on: np.ndarray) -> None:
    """An inset of the used part of a large mesh (the whole mesh stays drawn around it)."""
    from neurosim.plots.axes import integer_ticks

    x0, x1 = int(p.x[on].min()), int(p.x[on].max())
    y0, y1 = int(p.y[on].min()), int(p.y[on].max())
    side = max(x1 - x0, y1 - y0) + 3
    ins = ax_m.inset_axes([0.42, 0.42, 0.55, 0.55])
    ins.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=100, interpolation="nearest")
    _draw_traffic(ins, p, on)
    ins.set_xlim(x0 - 1.5, x0 - 1.5 + side)
    ins.set_ylim(y0 - 1.5, y0 - 1.5 + side)
    integer_ticks(ins.xaxis, x0 + side, max_ticks=5)
    integer_ticks(ins.yaxis, y0 + side, max_ticks=5)
    ins.tick_params(labelsize=7)
    ins.set_title("used cores (zoom)", fontsize=8)
    ax_m.indicate_inset_zoom(ins, edgecolor="tab:orange")


def _draw_placement(fig: Any, ax_m: Any, mapped: MappedNetwork, chip: int) -> None:
    """The mesh of ``chip``: used cores coloured by neuron utilization, busiest traffic on top."""
    from neurosim.plots.axes import integer_ticks

    n = len(mapped.cores)
    p = mapped.placement
    w, h = int(mapped.profile.get("chip.mesh_width")), int(mapped.profile.get("chip.mesh_height"))
    grid = np.full((h, w), np.nan)
    on = np.flatnonzero(p.chip == chip) if n else np.zeros(0, dtype=int)
    maxn = float(mapped.profile.get("core.max_neurons"))
    neurons = core_loads(mapped).neurons if n else np.zeros(0)
    for k in on:
        grid[p.y[k], p.x[k]] = 100.0 * neurons[k] / maxn
    im = ax_m.imshow(
        grid, origin="lower", cmap="viridis", vmin=0, vmax=100, interpolation="nearest"
    )
    cb = fig.colorbar(im, ax=ax_m, fraction=0.046, pad=0.04)
    cb.set_label("neuron utilization (%)")
    _draw_traffic(ax_m, p, on)
    if on.size and max(w, h) > 48:  # one pixel per slot is too small to see: a zoom inset
        _zoom_inset(ax_m, grid, p, on)
    # the whole mesh, with integer ticks (slots are whole numbers)
    ax_m.set_xlim(-0.5, w - 0.5)
    ax_m.set_ylim(-0.5, h - 0.5)
    integer_ticks(ax_m.xaxis, w)
    integer_ticks(ax_m.yaxis, h)
    ax_m.set_xlabel("mesh x (core column)")
    ax_m.set_ylabel("mesh y (core row)")
    ax_m.set_title(
        f"Placement on chip {chip} ({p.method}): {on.size} cores on a {w}x{h} mesh\n"
        f"link load total {p.total_link_load:,.4g} (row-major {p.row_major_total_link_load:,.4g}), "
        f"max {p.max_link_load:,.3g} spikes/step\nred lines: busiest core-to-core traffic",
        fontsize=9,
    )


def plot_mapping(mapped: MappedNetwork, path: str | Path, *, chip: int = 0) -> Path:
    """Draw core utilization (left) and the placement of ``chip`` (right) to ``path``.

    Left: for each limited resource, used / capacity of every core in percent,
    cores in id order (the dashed line is the 100 % limit). Right: the mesh of
    chip ``chip``, each used core coloured by its neuron utilization and
    labelled by the population it holds, with the busiest core-to-core
    traffic drawn as lines whose width follows the expected spikes per step.

    Returns
    -------
    Path
        ``path``, written atomically (format from its suffix).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, (ax_u, ax_m) = plt.subplots(
        1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [1.3, 1]}
    )
    _draw_utilization(ax_u, mapped)
    _draw_placement(fig, ax_m, mapped, chip)
    status = "fits" if mapped.fits else f"does NOT fit ({len(mapped.violations)} violations)"
    fig.suptitle(f"{mapped.network.name} on {mapped.profile.name} [{mapped.strategy}]: {status}")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for the suptitle above the titles
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
