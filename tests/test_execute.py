"""neurosim.execute on real Dask clusters: an in-process LocalCluster (2 workers), and a
``dask scheduler`` with two ``dask worker`` processes started on 127.0.0.1.

Sweeps on a cluster give the rows of a serial run; the shared values travel to each
worker once; a point that raises is recorded; a killed worker does not lose points;
an interrupted client resumes with only the missing points; batch inference split
into row blocks gives the categories of one process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurosim.execute import (
    LOCAL_SETTINGS,
    Execution,
    ExecutionError,
    resolve_scheduler,
    run_points,
    simulate_blocks,
)
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.sweep import run_sweep

SERIAL = Execution("serial")
#: the client process's own numba thread setting, before any cluster starts
_NUMBA_THREADS_AT_IMPORT = os.environ.get("NUMBA_NUM_THREADS")
GRID = {"core.max_fan_in": [2, 8], "weights.bits": [2, 4, 8]}


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


@pytest.fixture(scope="module")
def serial_rows(net, data):
    x, y = data
    return run_sweep(net, "generic", GRID, inputs=x, labels=y, execution=SERIAL).rows()


@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster: 2 worker processes, 1 thread each (as neurosim starts one)."""
    from neurosim.execute import local_cluster

    with local_cluster(2) as c:
        yield c


# ------------------------------------------------------------------ settings
def worker_settings() -> dict:
    import numba

    names = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    return {**{k: os.environ.get(k) for k in names}, "numba_threads": numba.get_num_threads()}


def worker_callbacks(dask_worker) -> list[str]:
    return sorted(dask_worker.periodic_callbacks)


def worker_config(keys) -> dict:
    import dask

    return {k: dask.config.get(k) for k in keys}


def test_local_cluster_leaves_the_client_s_numba_threads_alone(cluster):
    # Dask writes pre-spawn-environ into this process too; numba raises on a
    # NUMBA_NUM_THREADS change once its threads run, so it must not be there
    assert os.environ.get("NUMBA_NUM_THREADS") == _NUMBA_THREADS_AT_IMPORT


def test_local_workers_run_one_thread_each_and_keep_malloc_s_mmap_threshold(cluster):
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        settings = list(client.run(worker_settings).values())
        callbacks = list(client.run(worker_callbacks).values())
        configs = list(client.run(worker_config, list(LOCAL_SETTINGS)).values())
        amm_running = client.amm.running()
    assert len(settings) == 2
    for got in settings:
        assert got == {
            "MALLOC_TRIM_THRESHOLD_": None,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "numba_threads": 1,
        }
    assert not amm_running  # it would drop the broadcast copies of the shared values
    # no statistical profiler sampling the points' stacks on the workers' event loops
    assert all("heartbeat" in cbs and "profile" not in cbs for cbs in callbacks), callbacks
    # and the slower tick and memory checks of LOCAL_SETTINGS reached the worker processes
    assert configs == [LOCAL_SETTINGS, LOCAL_SETTINGS]
    assert cluster.scheduler._tick_interval == 0.2


def test_scheduler_settings(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert resolve_scheduler(None) == "local"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.0.0.1:8786")
    assert resolve_scheduler(None) == "tcp://10.0.0.1:8786"
    assert resolve_scheduler("serial") == "serial"
    for bad in ("nowhere", "tcp://"):
        with pytest.raises(ExecutionError, match="expected 'local', 'serial' or an address"):
            Execution(bad)
    with pytest.raises(ExecutionError, match="workers"):
        Execution("local", 0)


def test_unreachable_scheduler_is_one_error(net, data):
    x, y = data
    with pytest.raises(ExecutionError, match="cannot connect"):
        run_sweep(
            net,
            "generic",
            GRID,
            inputs=x,
            labels=y,
            execution=Execution("tcp://127.0.0.1:9", connect_timeout_s=1),
        )


# ------------------------------------------------------------------ LocalCluster
def test_local_cluster_sweep_equals_serial(net, data, serial_rows, cluster, tmp_path):
    x, y = data
    lines: list[str] = []
    counts: list[tuple[int, int]] = []
    res = run_sweep(
        net,
        "generic",
        GRID,
        inputs=x,
        labels=y,
        out_dir=tmp_path / "s",
        execution=Execution(cluster.scheduler_address),
        progress=lines.append,
        counter=lambda done, total: counts.append((done, total)),
    )
    assert res.rows() == serial_rows
    assert len(list((tmp_path / "s" / "points").glob("*.json"))) == 6
    assert any(line.startswith("dask: tcp://") and "2 workers" in line for line in lines)
    assert counts[0] == (0, 6) and counts[-1] == (6, 6) and len(counts) == 7


class Payload:
    """A shared value that counts, per worker process, how often it was unpickled."""

    unpickled = 0

    def __init__(self, n: int) -> None:
        self.data = np.arange(n, dtype=np.float64)

    def __setstate__(self, state):
        type(self).unpickled += 1
        self.__dict__.update(state)


def count_unpickled(point_key, point, payload):
    return {
        "key": point_key,
        "pid": os.getpid(),
        "unpickled": Payload.unpickled,
        "n": payload.data.size,
    }


def test_shared_values_travel_once_per_worker(cluster):
    got = {}
    points = [(f"p{i}", i) for i in range(10)]
    run_points(
        count_unpickled,
        {"payload": Payload(200_000)},
        points,
        lambda k, rec: got.__setitem__(k, rec),
        Execution(cluster.scheduler_address),
    )
    assert sorted(got) == sorted(k for k, _ in points)
    assert all(r["n"] == 200_000 for r in got.values())
    # however many points a worker ran, it unpickled the payload once
    by_worker: dict[int, set[int]] = {}
    for r in got.values():
        by_worker.setdefault(r["pid"], set()).add(r["unpickled"])
    assert all(counts == {1} for counts in by_worker.values()), by_worker


def fail_on_odd(point_key, point, offset):
    if point % 2:
        raise ValueError(f"odd point {point}")
    return {"key": point_key, "value": point + offset}


def test_a_raising_point_is_recorded_and_the_rest_go_on(cluster):
    got = {}
    run_points(
        fail_on_odd,
        {"offset": 10},
        [(str(i), i) for i in range(4)],
        lambda k, rec: got.__setitem__(k, rec),
        Execution(cluster.scheduler_address),
    )
    assert got["0"]["value"] == 10 and got["2"]["value"] == 12
    assert got["1"] == {"key": "1", "error": "ValueError: odd point 1"}


def test_a_raising_point_inside_a_task_of_several(cluster):
    got = {}
    run_points(
        fail_on_odd,
        {"offset": 10},
        [(str(i), i) for i in range(8)],
        lambda k, rec: got.__setitem__(k, rec),
        Execution(cluster.scheduler_address, points_per_task=4),
    )
    assert [got[str(i)].get("value") for i in range(0, 8, 2)] == [10, 12, 14, 16]
    assert [got[str(i)]["error"] for i in range(1, 8, 2)] == [f"ValueError: odd point {i}" for i in range(1, 8, 2)]


def sleep_then_stamp(point_key, point, pause_s):
    time.sleep(pause_s)
    return {"key": point_key, "ended": time.time()}


def test_records_arrive_before_their_task_ends(cluster):
    """Three points per task: each record is handed over when its point ends, not with its task."""
    arrived: dict[str, float] = {}
    got: dict[str, dict] = {}

    def on_done(key, rec):
        arrived[key] = time.time()
        got[key] = rec

    points = [(f"p{i}", i) for i in range(6)]
    run_points(
        sleep_then_stamp,
        {"pause_s": 0.4},
        points,
        on_done,
        Execution(cluster.scheduler_address, points_per_task=3),
    )
    assert sorted(got) == [k for k, _ in points]
    for first, last in (("p0", "p2"), ("p3", "p5")):  # the two tasks
        # the first point of a task reached this process while its task still ran
        assert arrived[first] < got[last]["ended"] - 0.3, (arrived, got)
        assert arrived[first] >= got[first]["ended"]


def test_interrupted_client_resumes_only_missing_points(net, data, serial_rows, cluster, tmp_path):
    x, y = data
    out = tmp_path / "s"
    seen: list[str] = []

    def stop(line: str) -> None:
        if line.startswith(("sweep on", "dask:")):
            return
        seen.append(line)
        if len(seen) == 2:
            raise KeyboardInterrupt

    where = Execution(cluster.scheduler_address, points_per_task=3)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            net, "generic", GRID, inputs=x, labels=y, out_dir=out, execution=where, progress=stop
        )
    written = sorted(p.stem for p in (out / "points").glob("*.json"))
    assert len(written) == 2 and not (out / "sweep.csv").exists()
    again = run_sweep(net, "generic", GRID, inputs=x, labels=y, out_dir=out, execution=where)
    assert sorted(again.reused) == written and len(again.computed) == 4
    assert not set(again.computed) & set(written)
    assert again.rows() == serial_rows


def test_batch_inference_in_row_blocks_gives_the_same_categories(cluster):
    """An official-style (generated) Graph Challenge network, inputs split over the workers."""
    from distributed import Client

    from neurosim.io.graph_challenge import challenge_categories
    from neurosim.sim.simulate import simulate
    from neurosim.topology.graph_challenge import graph_challenge_network

    lazy = graph_challenge_network(1024, 12, seed=0)
    rng = np.random.default_rng(3)
    x = (rng.random((60, 1024)) < 0.25).astype(np.float64)
    one = simulate(lazy, x, "reference", mode="stream")
    with Client(cluster.scheduler_address) as client:
        split = simulate_blocks(client, lazy, x, "reference", block_rows=16, mode="stream")
    assert split.info["blocks"] == 4
    np.testing.assert_array_equal(split.outputs, one.outputs)
    cats = challenge_categories(one.outputs)
    assert 0 < cats.size < 60
    np.testing.assert_array_equal(challenge_categories(split.outputs), cats)


def test_mapped_chip_simulation_in_row_blocks_sums_events(net, data, cluster):
    from distributed import Client

    from neurosim.hardware.profile import load_profile
    from neurosim.mapping.mapper import map_network
    from neurosim.sim.simulate import simulate

    x, _ = data
    mapped = map_network(net, load_profile("loihi", ["neuron.models=[lif, if, relu, linear]"]))
    one = simulate(mapped, x, "chip", seed=2)
    with Client(cluster.scheduler_address) as client:
        split = simulate_blocks(client, mapped, x, "chip", block_rows=3, seed=2)
    np.testing.assert_array_equal(split.outputs, one.outputs)
    for kind, per_core in one.events.items():
        np.testing.assert_array_equal(split.events[kind], per_core)


def test_cli_simulate_with_a_scheduler_equals_one_process(net, data, cluster, tmp_path, capsys):
    import json

    from neurosim.cli import main
    from neurosim.io.formats import save_network

    x, y = data
    save_network(net, tmp_path / "net.npz")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    base = ["simulate", str(tmp_path / "net.npz"), "--chip", "generic", "--json"]
    base += ["--data", str(tmp_path / "data.npz"), "--no-progress"]
    assert main(base) == 0
    one = json.loads(capsys.readouterr().out)
    assert main([*base, "--scheduler", cluster.scheduler_address, "--block-rows", "3"]) == 0
    cap = capsys.readouterr()
    split = json.loads(cap.out)
    assert "dask: tcp://" in cap.err
    for key in ("n_inputs", "accuracy", "events", "outputs_mean", "saturations"):
        assert split[key] == one[key], key


def test_scenario_simulations_split_over_the_scheduler(cluster, tmp_path):
    """The Graph Challenge scenario (reduced: generated network) with execution.scheduler."""
    from neurosim.scenario import load_scenario, run_scenario
    from neurosim.scenario.output import report_dict, without_timings

    path = Path(__file__).resolve().parents[1] / "scenarios" / "graph_challenge_1024.yaml"
    data_dir = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not (data_dir / "mnist").is_dir() and not os.environ.get("NEUROSIM_DATA"):
        pytest.skip("no MNIST under ../shared/datasets or $NEUROSIM_DATA")
    os.environ.setdefault("NEUROSIM_DATA", str(data_dir))
    extra = ["dataset.limit=12", "chips=[generic]"]
    one = run_scenario(load_scenario(path, extra, reduced=True))
    where = [*extra, f"execution.scheduler={cluster.scheduler_address}", "execution.block_rows=5"]
    split = run_scenario(load_scenario(path, where, reduced=True))
    for backend, sim in one.results["generic"].items():
        assert split.results["generic"][backend].info.get("blocks") == 3
        np.testing.assert_array_equal(split.results["generic"][backend].outputs, sim.outputs)
    a, b = without_timings(report_dict(one)), without_timings(report_dict(split))
    assert a["chips"] == b["chips"]


def test_cli_sweep_with_points_per_task_equals_serial(net, data, serial_rows, cluster, tmp_path, capsys):
    """``neurosim sweep --scheduler ADDRESS --points-per-task 4``: the rows of a serial run."""
    import json

    from neurosim.cli import main
    from neurosim.io.formats import save_network

    x, y = data
    save_network(net, tmp_path / "net.npz")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    args = ["sweep", str(tmp_path / "net.npz"), "--chip", "generic", "--json"]
    args += ["--data", str(tmp_path / "data.npz"), "--split", "all", "--out", str(tmp_path / "o")]
    for field, values in GRID.items():
        args += ["--set", f"{field}={','.join(map(str, values))}"]
    args += ["--scheduler", cluster.scheduler_address, "--points-per-task", "4"]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(list((tmp_path / "o" / "points").glob("*.json"))) == 6
    key = lambda r: (r["core.max_fan_in"], r["weights.bits"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(serial_rows, key=key)


def test_cli_run_prints_the_dashboard_line_once(net, cluster, tmp_path, capsys):
    """A scenario sweep on Dask: the sweep and the row-block simulations share one scheduler,
    whose dashboard line ``neurosim run`` prints once (stderr), and not at all with --quiet."""
    import yaml

    from neurosim.cli import main
    from neurosim.io.npz import write_npz

    write_npz(net, tmp_path / "net.npz")
    scenario = {
        "name": "tiny_sweep",
        "dataset": {"name": "npz", "path": "data.npz"},
        "network": {"load": {"path": "net.npz"}},
        "chips": ["generic"],
        "sweep": {"grid": {"core.max_fan_in": [2, 8]}},
    }
    rng = np.random.default_rng(4)
    np.savez(tmp_path / "data.npz", x=rng.random((8, 6)), y=rng.integers(0, 3, 8))
    path = tmp_path / "tiny_sweep.yaml"
    path.write_text(yaml.safe_dump(scenario))
    run = ["run", str(path), "--scheduler", cluster.scheduler_address]
    assert main([*run, "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("dask:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"dask: {cluster.scheduler_address} (2 workers), dashboard http")
    assert main([*run, "--out", str(tmp_path / "q"), "--quiet"]) == 0
    assert "dask:" not in capsys.readouterr().err


# ------------------------------------------------------------------ dask scheduler + dask worker
def _dask_cli() -> str:
    found = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if found is None:
        pytest.skip("the dask command is not installed")
    return found


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny) on 127.0.0.1."""
    from distributed import Client

    dask = _dask_cli()
    folder = tmp_path_factory.mktemp("dask")
    sched_file = folder / "scheduler.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    try:
        _wait_for(sched_file)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        "--scheduler-file",
                        str(sched_file),
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            )
        with Client(scheduler_file=str(sched_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address, procs[1:]
    finally:
        for p in procs[::-1]:  # workers first, then the scheduler
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)


def test_sweep_against_a_scheduler_address(net, data, serial_rows, dask_cluster, monkeypatch):
    address, _ = dask_cluster
    x, y = data
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)  # the default execution finds it
    lines: list[str] = []
    res = run_sweep(net, "generic", GRID, inputs=x, labels=y, progress=lines.append)
    assert res.rows() == serial_rows
    assert any(line.startswith(f"dask: {address} (2 workers)") for line in lines)


def test_killing_a_worker_mid_sweep_loses_no_point(net, data, serial_rows, dask_cluster, tmp_path):
    address, workers = dask_cluster
    x, y = data
    victim = workers[0]
    seen: list[str] = []

    def kill_after_first(line: str) -> None:
        if line.startswith(("sweep on", "dask:")):
            return
        seen.append(line)
        if len(seen) == 1:
            os.kill(victim.pid, signal.SIGKILL)

    res = run_sweep(
        net,
        "generic",
        GRID,
        inputs=x,
        labels=y,
        out_dir=tmp_path / "s",
        # two points per task: the killed worker's task is run again elsewhere, and the
        # point it had already published arrives twice
        execution=Execution(address, points_per_task=2),
        progress=kill_after_first,
    )
    assert victim.wait(timeout=10) != 0
    assert res.rows() == serial_rows
    assert all(r["status"] == "ok" for r in res.rows())
