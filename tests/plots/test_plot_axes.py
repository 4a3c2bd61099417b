"""Plots read back (matplotlib Agg): bars from zero on a linear axis, integer
ticks on integer axes, the whole mesh drawn, sweep energy from zero."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.patches import Rectangle

from neurosim.hardware.profile import load_profile
from neurosim.mapping.mapper import map_network
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.plots.report import (
    plot_core_utilization,
    plot_energy_breakdown,
    plot_placement,
    plot_sweep,
    save_figure,
)
from neurosim.report import make_report
from neurosim.sim.simulate import simulate

#: NEUROSIM_PLOT_DIR=dir keeps the PNGs for a look
KEEP = os.environ.get("NEUROSIM_PLOT_DIR")


def _keep(fig, name: str) -> None:
    if KEEP:
        save_figure(fig, Path(KEEP) / name)


@pytest.fixture(scope="module")
def reports():
    rng = np.random.default_rng(0)
    net = Network.from_layers(
        [rng.normal(size=(40, 30)) * (rng.random((40, 30)) < 0.5), rng.normal(size=(30, 5))],
        model=[NeuronModel("relu"), NeuronModel("linear")],
        name="axes",
    )
    x = rng.random((6, 40))
    out = []
    # a 16 x 8 mesh whose cores hold 8 neurons: several cores, a wide mesh
    small = {"chip.mesh_width": 16, "chip.mesh_height": 8, "chip.n_cores": 128, "core.max_neurons": 8}
    for name, over in (("generic", small), ("generic", {"energy.synop_pj": 1.05})):
        mapped = map_network(net, load_profile(name, over))
        res = {b: simulate(mapped, x, b) for b in ("chip", "reference")}
        out.append(make_report(mapped, res, rng.integers(0, 5, 6)))
    return out


def _integer_ticks(ticks: np.ndarray) -> bool:
    return bool(np.allclose(ticks, np.round(ticks)))


def test_energy_bars_start_at_zero_on_a_linear_axis(reports):
    fig = plot_energy_breakdown(reports)
    _keep(fig, "energy.png")
    ax_share, ax_total = fig.axes[:2]
    for ax in (ax_share, ax_total):
        assert ax.get_yscale() == "linear"
        assert ax.get_ylim()[0] == 0
        bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0]
        assert bars
    totals = [p for p in ax_total.patches if p.get_height() > 0]
    assert all(p.get_y() == 0 for p in totals)  # each bar rises from zero
    assert ax_total.get_ylim()[1] >= max(p.get_height() for p in totals)


def test_utilization_has_integer_core_ticks(reports):
    fig = plot_core_utilization(reports[0])
    _keep(fig, "utilization.png")
    ax = fig.axes[0]
    ticks = ax.get_xticks()
    assert ticks.size and _integer_ticks(ticks)
    n = reports[0].memory.load.n_cores
    assert ax.get_xlim()[0] <= 0 and ax.get_xlim()[1] >= n - 1
    assert ax.get_ylim()[0] == 0


def test_placement_draws_the_whole_mesh_with_integer_ticks(reports):
    fig = plot_placement(reports[0])
    _keep(fig, "placement.png")
    ax = fig.axes[0]
    x0, x1 = sorted(ax.get_xlim())
    y0, y1 = sorted(ax.get_ylim())
    assert x0 <= -0.5 and x1 >= 15.5  # all 16 columns
    assert y0 <= -0.5 and y1 >= 7.5  # all 8 rows
    assert _integer_ticks(ax.get_xticks()) and _integer_ticks(ax.get_yticks())
    assert ax.get_xticks().min() >= 0 and ax.get_yticks().max() <= 7


def test_mapping_plot_draws_the_whole_mesh(reports, tmp_path):
    import matplotlib.pyplot as plt

    from neurosim.plots import mapping as mp

    captured = {}
    real = plt.close

    def grab(fig=None):
        captured["fig"] = fig
        real(fig)

    plt.close = grab  # the function closes its figure; read its axes first
    try:
        mp.plot_mapping(reports[0].mapped, tmp_path / "m.png")
    finally:
        plt.close = real
    ax_u, ax_m = captured["fig"].axes[:2]
    assert _integer_ticks(ax_u.get_xticks())
    assert sorted(ax_m.get_xlim()) == [-0.5, 15.5] and sorted(ax_m.get_ylim()) == [-0.5, 7.5]
    assert _integer_ticks(ax_m.get_xticks()) and _integer_ticks(ax_m.get_yticks())


def test_sweep_energy_axis_starts_at_zero():
    rows = [
        {"weights.bits": b, "status": "ok", "chip_top1": 0.5 + 0.05 * b, "reference_top1": 0.9,
         "energy_per_inference_pj": 10360.0 + 10 * b}
        for b in range(1, 9)
    ]
    fig = plot_sweep(rows, ["weights.bits"])
    _keep(fig, "sweep.png")
    ax_acc, ax_e = fig.axes[:2]
    assert ax_e.get_yscale() == "linear" and ax_e.get_ylim()[0] == 0
    assert ax_acc.get_ylim()[0] == 0
    assert _integer_ticks(ax_e.get_xticks())
