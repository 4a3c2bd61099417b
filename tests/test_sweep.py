"""run_sweep: the grid, resumable point files, interruption, parallel workers, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.errors import ProfileError
from neurosim.execute import Execution
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sweep import SweepError, expand_grid, parse_grid, point_key, run_sweep

SERIAL = Execution("serial")  # the executors themselves are tested in tests/test_execute.py

GRID = {"core.max_fan_in": [2, 3, 4, 8], "weights.bits": [2, 4, 8, 16]}


@pytest.fixture(scope="module")
def net() -> Network:
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(6, 5)) * (rng.random((6, 5)) < 0.7)
    w2 = rng.normal(size=(5, 3))
    return Network.from_layers(
        [w1, w2], [0.1, 0.0], [NeuronModel("relu"), NeuronModel("linear")], name="tiny"
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return rng.random((8, 6)), rng.integers(0, 3, 8)


def test_grid_helpers():
    assert parse_grid(["core.max_fan_in=64,128,256", "weights.bits=1,2"]) == {
        "core.max_fan_in": [64, 128, 256],
        "weights.bits": [1, 2],
    }
    pts = expand_grid({"a.x": [1, 2], "b.y": ["p", "q", "r"]})
    assert len(pts) == 6 and pts[0] == {"a.x": 1, "b.y": "p"} and pts[-1] == {"a.x": 2, "b.y": "r"}
    assert (
        point_key({"a.x": 1, "b.y": 2})
        == point_key({"b.y": 2, "a.x": 1})
        != point_key({"a.x": 2, "b.y": 2})
    )
    for bad in (
        ["core.max_fan_in"],
        ["max_fan_in=1"],
        ["core.max_fan_in=1,,2"],
        ["a.b=1", "a.b=2"],
        [],
    ):
        with pytest.raises(SweepError):
            parse_grid(bad)


def test_bad_override_fails_before_any_work(net, tmp_path):
    with pytest.raises(ProfileError, match="core.max_fan_inn"):
        run_sweep(
            net, "generic", {"core.max_fan_inn": [1]}, out_dir=tmp_path / "s", execution=SERIAL
        )
    assert not (tmp_path / "s" / "points").exists() or not any(
        (tmp_path / "s" / "points").iterdir()
    )


def test_sixteen_points_then_resume(net, data, tmp_path):
    x, y = data
    out = tmp_path / "sweep"
    first = run_sweep(
        net,
        "generic",
        GRID,
        inputs=x,
        labels=y,
        out_dir=out,
        placement="row_major",
        execution=SERIAL,
    )
    assert len(first.points) == 16 and len(first.computed) == 16 and not first.reused
    rows = first.rows()
    assert [(r["core.max_fan_in"], r["weights.bits"]) for r in rows][:3] == [(2, 2), (2, 4), (2, 8)]
    assert all(r["status"] == "ok" for r in rows)
    # a smaller fan-in limit splits more neurons: more cores
    cores = {r["core.max_fan_in"]: r["n_cores_used"] for r in rows if r["weights.bits"] == 16}
    assert cores[2] > cores[8]
    for name in ("sweep.csv", "sweep.json", "sweep.png"):
        assert (out / name).stat().st_size > 0
    csv_lines = (out / "sweep.csv").read_text().splitlines()
    assert len(csv_lines) == 17 and csv_lines[0].startswith(
        "core.max_fan_in,weights.bits,key,status"
    )
    assert json.loads((out / "sweep.json").read_text())["n_points"] == 16

    # delete three point files: only those are computed again, the rest read back
    gone = [p["key"] for p in first.points[5:8]]
    for k in gone:
        (out / "points" / f"{k}.json").unlink()
    (out / "points" / f".{gone[0]}.json.abc.part.json").write_text(
        '{"key": "half'
    )  # debris of a killed write
    second = run_sweep(
        net,
        "generic",
        GRID,
        inputs=x,
        labels=y,
        out_dir=out,
        placement="row_major",
        execution=SERIAL,
    )
    assert sorted(second.computed) == sorted(gone) and len(second.reused) == 13
    assert second.rows() == rows
    assert not list((out / "points").glob(".*"))


def test_interrupted_sweep_resumes(net, data, tmp_path):
    x, y = data
    grid = {"core.max_fan_in": [2, 8], "weights.bits": [2, 4, 8]}
    calls = []

    def stop(line):
        if line.startswith("sweep on"):  # the header line
            return
        calls.append(line)
        if len(calls) == 2:
            raise KeyboardInterrupt

    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            net,
            "generic",
            grid,
            inputs=x,
            labels=y,
            out_dir=out,
            progress=stop,
            placement="row_major",
            execution=SERIAL,
        )
    # two complete point files, nothing that looks complete for the rest, no summary yet
    assert len(list((out / "points").iterdir())) == 2 and not (out / "sweep.csv").exists()
    again = run_sweep(
        net,
        "generic",
        grid,
        inputs=x,
        labels=y,
        out_dir=out,
        placement="row_major",
        execution=SERIAL,
    )
    assert len(again.reused) == 2 and len(again.computed) == 4
    fresh = run_sweep(
        net, "generic", grid, inputs=x, labels=y, placement="row_major", execution=SERIAL
    )
    assert again.rows() == fresh.rows()


def test_other_setup_is_refused_unless_forced(net, data, tmp_path):
    x, y = data
    out = tmp_path / "s"
    grid = {"weights.bits": [4, 8]}
    run_sweep(
        net,
        "generic",
        grid,
        inputs=x,
        labels=y,
        out_dir=out,
        placement="row_major",
        execution=SERIAL,
    )
    with pytest.raises(SweepError, match="another inputs"):
        run_sweep(net, "generic", grid, inputs=x[:4], labels=y[:4], out_dir=out, execution=SERIAL)
    forced = run_sweep(
        net, "generic", grid, inputs=x[:4], labels=y[:4], out_dir=out, force=True, execution=SERIAL
    )
    assert len(forced.computed) == 2
    assert all(p["report"]["accuracy"]["n_inputs"] == 4 for p in forced.points)


def test_points_that_do_not_fit_are_rows(net, data, tmp_path):
    x, y = data
    small = run_sweep(
        net, "generic", {"core.synapse_memory_bits": [8]}, inputs=x, labels=y, execution=SERIAL
    )
    (row,) = small.rows()
    assert row["status"] == "does_not_fit" and "violation" in row["reason"]
    assert row["energy_per_inference_pj"] is None


def test_a_point_that_raises_is_recorded_and_computed_again(net, data, tmp_path, monkeypatch):
    import neurosim.sweep as sweep

    x, y = data
    real = sweep.sweep_point

    def flaky(point_key, point, **shared):
        if point["weights.bits"] == 4:
            raise RuntimeError("worker lost its disk")
        return real(point_key, point, **shared)

    monkeypatch.setattr(sweep, "sweep_point", flaky)
    grid = {"weights.bits": [2, 4, 8]}
    out = tmp_path / "s"
    first = run_sweep(net, "generic", grid, inputs=x, labels=y, out_dir=out, execution=SERIAL)
    statuses = [r["status"] for r in first.rows()]
    assert statuses == ["ok", "error", "ok"]
    assert "RuntimeError: worker lost its disk" in first.rows()[1]["reason"]
    monkeypatch.setattr(sweep, "sweep_point", real)
    again = run_sweep(net, "generic", grid, inputs=x, labels=y, out_dir=out, execution=SERIAL)
    assert again.computed == (first.points[1]["key"],) and len(again.reused) == 2
    assert [r["status"] for r in again.rows()] == ["ok", "ok", "ok"]


def test_prepare_worker_runs_its_warm_up_once_per_process(monkeypatch):
    import neurosim.evaluate
    from neurosim import sweep

    calls = []
    monkeypatch.setattr(sweep, "_PREPARED", [False])
    monkeypatch.setattr(neurosim.evaluate, "evaluate", lambda *a, **k: calls.append(a[1].name))
    sweep.prepare_worker()
    assert len(calls) == 2  # float and 8-bit weights
    sweep.prepare_worker()  # every sweep on an existing cluster calls it again
    assert len(calls) == 2
