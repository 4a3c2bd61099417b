"""Running many evaluations: points submitted to a Dask ``distributed`` client.

Where the work runs is an :class:`Execution`:

* ``scheduler=None`` (the default): the cluster named by
  ``$DASK_SCHEDULER_ADDRESS`` if set, else a :class:`distributed.LocalCluster`
  sized to the machine (processes, one thread each);
* ``"local"``: a LocalCluster even when the variable is set;
* ``"tcp://HOST:8786"``: an existing scheduler (``dask scheduler``);
* ``"serial"``: this process, one point after the other, no Dask.

:func:`run_points` scatters the values every point shares (the network, the
inputs, the reference run) to every worker once (``broadcast=True``), submits
small tasks of a few consecutive points each (their keys and overrides; see
:mod:`neurosim.cluster_points`), and hands each finished point to a callback
as it completes (each record is published by its worker the moment it is
computed), so the caller can write it to its resume store at once. A point
that raises gives an error record and the others go on; a worker that dies
mid-point is retried by Dask.

:func:`simulate_blocks` runs batch inference on a cluster: the inputs are
split into row blocks, each worker simulates its blocks on the (scattered)
mapped network, and the results are gathered into one
:class:`~neurosim.sim.result.SimResult` (outputs and per-input counts
concatenated, event counts summed).

``distributed`` is imported inside these functions only, so importing
neurosim (and ``neurosim chips``) stays fast.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.cluster_points import OnDone, PointFn, error_record, run_on_cluster
from neurosim.errors import NeurosimError

__all__ = [
    "ENV_SCHEDULER",
    "LOCAL_SETTINGS",
    "WORKER_THREAD_LIMITS",
    "Execution",
    "ExecutionError",
    "local_cluster",
    "merge_results",
    "open_client",
    "prepare_workers",
    "resolve_scheduler",
    "run_points",
    "simulate_blocks",
]

#: environment variable naming a scheduler address (Dask's own convention)
ENV_SCHEDULER = "DASK_SCHEDULER_ADDRESS"

Prepare = Callable[[], Any]


class ExecutionError(NeurosimError):
    """An execution setting is invalid or the scheduler cannot be reached."""


@dataclass(frozen=True)
class Execution:
    """Where many evaluations run.

    Attributes
    ----------
    scheduler : str or None
        ``None`` (``$DASK_SCHEDULER_ADDRESS``, else a LocalCluster),
        ``"local"``, ``"serial"`` or a scheduler address ``tcp://HOST:PORT``.
    workers : int or None
        LocalCluster worker processes (default: the machine's cores, at most
        one per point).
    connect_timeout_s : float
        How long to wait for a scheduler address to answer.
    points_per_task : int or None
        Consecutive points one Dask task runs (each point's record still comes
        back as it finishes). Default: about eight tasks per worker thread, at
        most 8 points each (:func:`neurosim.cluster_points.points_per_task`).
    """

    scheduler: str | None = None
    workers: int | None = None
    connect_timeout_s: float = 10.0
    points_per_task: int | None = None

    def __post_init__(self) -> None:
        for name in ("workers", "points_per_task"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                raise ExecutionError(
                    f"execution.{name}: expected a positive integer, got {value!r}"
                )
        resolve_scheduler(self.scheduler)


def resolve_scheduler(scheduler: str | None) -> str:
    """``"serial"``, ``"local"`` or a scheduler address, from a setting and the environment.

    Examples
    --------
    >>> resolve_scheduler("serial")
    'serial'
    >>> resolve_scheduler("tcp://127.0.0.1:8786")
    'tcp://127.0.0.1:8786'
    """
    if scheduler is None:
        scheduler = os.environ.get(ENV_SCHEDULER) or "local"
    if scheduler in ("serial", "local"):
        return scheduler
    if "://" not in scheduler or not scheduler.split("://", 1)[1]:
        raise ExecutionError(
            f"scheduler {scheduler!r}: expected 'local', 'serial' or an address like tcp://HOST:8786"
        )
    return scheduler


def _local_size(execution: Execution, n_tasks: int | None) -> int:
    n = execution.workers or os.cpu_count() or 1
    return max(1, min(n, n_tasks)) if n_tasks else n


#: thread pools a local worker limits to one thread: a worker is one process per
#: core, so a point must not spread over the other workers' cores (two workers
#: each running two numba or BLAS threads on two cores oversubscribe them)
WORKER_THREAD_LIMITS: dict[str, str] = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}

#: of those, the ones set in the worker process only: Dask's nanny also writes
#: ``pre-spawn-environ`` into the client's own environment, and numba refuses
#: a NUMBA_NUM_THREADS change in a process whose threads already run
_WORKER_ONLY = ("NUMBA_NUM_THREADS",)


def _worker_environ() -> dict[str, Any]:
    """The environment of new local worker processes: one thread per library, no malloc trim.

    Dask's own settings (``distributed.nanny.pre-spawn-environ``) with
    :data:`WORKER_THREAD_LIMITS` (Dask limits OMP, MKL and OpenBLAS, not
    numba, whose ``prange`` kernels would start a thread per core in every
    worker; numba's limit goes in the workers' own ``env``, see
    ``_WORKER_ONLY``), and without ``MALLOC_TRIM_THRESHOLD_``: setting that variable
    (Dask sets 65536) turns off glibc's dynamic mmap threshold: every large
    temporary array is then a fresh ``mmap`` whose pages fault in one by one.
    One point of benchmarks/bench_sweep.py's sweep on a one-worker cluster
    took 1.36 s with it and 0.90 s without (a loaded 2-core machine; cProfile
    showed numpy-only functions such as ``hilbert_order`` ten times slower in
    the worker than in the client).
    """
    import dask
    import distributed  # noqa: F401  (loads Dask's defaults for distributed.*)

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    env.update({k: v for k, v in WORKER_THREAD_LIMITS.items() if k not in _WORKER_ONLY})
    return env


#: Dask settings of the LocalCluster neurosim starts (a cluster of the user's keeps its own)
LOCAL_SETTINGS: dict[str, Any] = {
    # see local_cluster: the memory manager would drop the broadcast copies
    "distributed.scheduler.active-memory-manager.start": False,
    # the workers' statistical profiler samples every thread's stack 100 times a
    # second on the worker's event loop: 0.05 s of CPU per second of a busy
    # worker against 0.02 s without it (one worker running sweep points, loaded
    # 2-core machine), CPU the points' cores lose; the dashboard's profile page
    # stays empty, its task stream and progress do not
    "distributed.worker.profile.enabled": False,
    # every server (scheduler, nannies, workers) measures its event loop's latency on
    # a 20 ms timer, and each nanny and worker reads its process's memory every
    # 100 ms: an idle 2-worker cluster spent 0.08 CPU-s per s on its event loops
    # (both processes, a loaded 2-core machine), 0.03 with a 200 ms tick and 500 ms
    # memory checks; a worker over its memory limit is still stopped, 0.4 s later
    "distributed.admin.tick.interval": "200ms",
    "distributed.worker.memory.monitor-interval": "500ms",
}


def local_cluster(n_workers: int) -> Any:
    """A LocalCluster of ``n_workers`` processes, one thread each.

    The workers' environment is :func:`_worker_environ`'s. The scheduler runs
    without the active memory manager: its ``ReduceReplicas`` policy drops
    the copies of the shared values that :func:`run_points` broadcasts
    whenever fewer points wait than workers hold a copy (for instance between
    the scatter and the submission of the points), and a worker that then
    gets a point fetches and unpickles the network again. The workers run
    without Dask's statistical profiler (:data:`LOCAL_SETTINGS`).
    """
    import dask
    from distributed import LocalCluster

    settings = {"distributed.nanny.pre-spawn-environ": _worker_environ(), **LOCAL_SETTINGS}
    with dask.config.set(settings):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
            env={k: WORKER_THREAD_LIMITS[k] for k in _WORKER_ONLY},
        )


@contextmanager
def open_client(
    execution: Execution, n_tasks: int | None = None, say: Callable[[str], None] | None = None
) -> Iterator[Any]:
    """A ``distributed.Client`` for ``execution`` (None for serial), closed on exit.

    A LocalCluster is started (and stopped) here; a scheduler address is
    connected to. The dashboard address is passed to ``say``.
    """
    where = resolve_scheduler(execution.scheduler)
    if where == "serial":
        yield None
        return
    from distributed import Client

    say = say or (lambda _line: None)
    cluster = None
    try:
        if where == "local":
            cluster = local_cluster(_local_size(execution, n_tasks))
            client = Client(cluster)
        else:
            client = Client(where, timeout=f"{execution.connect_timeout_s}s")
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ExecutionError(f"scheduler {where}: cannot connect ({exc})") from None
    try:
        say(
            f"dask: {where} ({len(client.scheduler_info()['workers'])} workers), dashboard {client.dashboard_link}"
        )
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_serial(
    fn: PointFn, shared: Mapping[str, Any], points: Sequence[tuple[str, Any]], on_done: OnDone
) -> None:
    for key, arg in points:
        try:
            record = fn(key, arg, **shared)
        except Exception as exc:  # a point that raises is recorded; the others go on
            record = error_record(key, exc)
        on_done(key, record)


def prepare_workers(client: Any, prepare: Prepare | None) -> float:
    """Run ``prepare()`` once in every worker (imports, compiled kernels); its wall time in s."""
    t0 = time.perf_counter()
    if prepare is not None:
        client.run(prepare)
    return time.perf_counter() - t0


def run_points(
    fn: PointFn,
    shared: Mapping[str, Any],
    points: Sequence[tuple[str, Any]],
    on_done: OnDone,
    execution: Execution | None = None,
    *,
    say: Callable[[str], None] | None = None,
    prepare: Prepare | None = None,
) -> None:
    """Compute ``fn(key, point, **shared)`` for every point; ``on_done`` each as it finishes.

    Parameters
    ----------
    fn : callable
        A module-level function (workers import it by name) returning a
        JSON-ready record; its first two parameters are ``point_key`` and
        ``point`` (a cluster passes them by position).
    shared : mapping
        Values every point reads (network, inputs, ...): scattered once.
    points : sequence of (key, point)
        The per-point argument is the only thing sent per task. Points start
        in this order (a worker that frees up takes the next one).
    on_done : callable
        ``on_done(key, record)`` in this process as each point finishes; a
        point that raised gives ``{"key": key, "error": "Type: message"}``.
    execution : Execution, optional
        Default: ``Execution()`` (``$DASK_SCHEDULER_ADDRESS`` or a LocalCluster).
    say : callable, optional
        Receives the scheduler and dashboard line.
    prepare : callable, optional
        A module-level function run once in every worker before the first
        point (and once here when serial): imports and compiled kernels that
        every point would otherwise load on its worker's first point.
    """
    execution = execution or Execution()
    if not points:
        return
    if (
        resolve_scheduler(execution.scheduler) == "local"
        and _local_size(execution, len(points)) == 1
    ):
        execution = Execution("serial")  # one worker: a cluster would only add its start-up
    with open_client(execution, len(points), say) as client:
        if client is None:
            if prepare is not None:
                prepare()
            _run_serial(fn, shared, points, on_done)
        else:
            prepare_workers(client, prepare)
            run_on_cluster(client, fn, shared, points, on_done, execution.points_per_task)


# ------------------------------------------------------------------ batch inference
def merge_results(parts: Sequence[Any]) -> Any:
    """One SimResult from the results of consecutive row blocks of the same inputs."""
    from neurosim.sim.result import SimResult

    first = parts[0]
    cat = lambda arrs: np.concatenate(arrs, axis=0)  # noqa: E731
    per_step = None
    if first.events_per_step is not None:
        per_step = {k: sum(p.events_per_step[k] for p in parts) for k in first.events_per_step}
    return SimResult(
        backend=first.backend,
        outputs=cat([p.outputs for p in parts]),
        spike_counts={k: cat([p.spike_counts[k] for p in parts]) for k in first.spike_counts},
        events={k: sum(np.asarray(p.events[k]) for p in parts) for k in first.events},
        n_inputs=sum(p.n_inputs for p in parts),
        n_steps=first.n_steps,
        dt_s=first.dt_s,
        events_per_step=per_step,
        raster=first.raster,
        saturations=sum(p.saturations for p in parts),
        overflows=sum(p.overflows for p in parts),
        wall_time_s=max(p.wall_time_s for p in parts),
        info={**dict(first.info), "blocks": len(parts)},
    )


def _simulate_block(mapped: Any, x: np.ndarray, backend: str, kwargs: Mapping[str, Any]) -> Any:
    from neurosim.sim.simulate import simulate

    return simulate(mapped, x, backend, **dict(kwargs))


def _encoded(mapped: Any, x: np.ndarray, kwargs: dict[str, Any]) -> np.ndarray:
    """Static inputs encoded as one call would (then removed from ``kwargs``); else ``x``."""
    encoding = kwargs.pop("encoding", None)
    if encoding is None:
        return x
    from neurosim.sim.inputs import prepare_inputs

    target = getattr(mapped, "hw_network", mapped)
    prepared = prepare_inputs(
        target, x, n_steps=kwargs.get("n_steps"), encoding=encoding, seed=kwargs.get("seed", 0)
    )
    kwargs["n_steps"] = None
    return prepared.values


def simulate_blocks(
    client: Any,
    mapped: Any,
    inputs: np.ndarray,
    backend: str = "chip",
    *,
    block_rows: int | None = None,
    **kwargs: Any,
) -> Any:
    """:func:`~neurosim.sim.simulate.simulate` with the inputs split into row blocks over a cluster.

    Parameters
    ----------
    client : distributed.Client
    mapped : MappedNetwork, Network or LazyLayeredNetwork
        Scattered to every worker once.
    inputs : ndarray
        ``(n_inputs, n_in)``, or ``(n_steps, n_inputs, n_in)`` spike trains
        (split along the inputs axis). With ``encoding`` the whole batch is
        encoded here first, so the blocks see the spike trains one call would.
    block_rows : int, optional
        Inputs per block (default: an even split, two blocks per worker).
    **kwargs
        Passed to ``simulate`` on each block.

    Returns
    -------
    SimResult
        As one ``simulate`` call would give, with ``info["blocks"]``.
    """
    from distributed import wait

    x = _encoded(mapped, np.asarray(inputs), kwargs)
    axis = 0 if x.ndim == 2 else 1
    n = x.shape[axis]
    n_workers = max(1, len(client.scheduler_info()["workers"]))
    rows = int(block_rows or max(1, -(-n // (2 * n_workers))))
    if rows < 1:
        raise ExecutionError(f"block_rows: expected a positive integer, got {block_rows}")
    t0 = time.perf_counter()
    net = client.scatter(mapped, broadcast=True, hash=False)
    blocks = [np.take(x, np.arange(s, min(s + rows, n)), axis=axis) for s in range(0, n, rows)]
    futures = [client.submit(_simulate_block, net, b, backend, kwargs, pure=False) for b in blocks]
    wait(futures)
    merged = merge_results(client.gather(futures))
    from dataclasses import replace

    return replace(merged, wall_time_s=time.perf_counter() - t0)
