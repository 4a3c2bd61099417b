"""Points on a Dask cluster: a few points per task, each record streamed back as it is computed.

A Dask task costs the client, the scheduler and the worker a handful of
messages and transitions (submission, the task's start and end, fetching
its result, releasing it). On the 2-core machine of benchmarks/bench_sweep.py
these took about 10 % of both cores during a 32-point sweep of 70 ms points
(0.3 s of CPU per sweep across the client, scheduler and worker event loops).
So several consecutive points share one task (:func:`points_per_task`), and
a task does not hold its records back until its last point ends: each record
is published as soon as it is computed, on the worker's event stream
(``Worker.log_event``, to the topic :data:`POINT_TOPIC`), which the
scheduler forwards to this client on the messages it sends anyway. The
caller's callback therefore still sees every point as it finishes, and a
resume store written from it loses at most the points in flight.

The records also come back as the task's result. That result is fetched
only for the points whose event did not arrive (never, when nothing goes
wrong). A task that fails after retries (a worker that died too often)
gives error records for its points that had not arrived. A task retried
after its worker died publishes its points again, and only the first copy
of each is kept.

The scheduler keeps the last 1,000 events of each topic. All sweeps share
one topic name, with a tag per run, so what it holds stays bounded.
"""

from __future__ import annotations

import pickle
import queue
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["POINT_TOPIC", "error_record", "points_per_task", "run_on_cluster", "run_point_task"]

#: the event topic of the points' records (one for every run, see the module docstring)
POINT_TOPIC = "neurosim-points"
#: tasks per worker thread when the points per task are chosen: enough that the
#: last tasks of a run end close together when points differ in cost
TASKS_PER_THREAD = 8
#: the most points one task runs when they are chosen
MAX_POINTS_PER_TASK = 8

PointFn = Callable[..., Mapping[str, Any]]
OnDone = Callable[[str, Mapping[str, Any]], None]


def error_record(key: str, exc: BaseException) -> dict[str, Any]:
    """The record of a point that raised: its key and ``"Type: message"``."""
    return {"key": key, "error": f"{type(exc).__name__}: {exc}"}


def points_per_task(n_points: int, n_threads: int, requested: int | None = None) -> int:
    """Points per task: ``requested``, else about :data:`TASKS_PER_THREAD` tasks per thread.

    Examples
    --------
    >>> points_per_task(32, 2)
    2
    >>> points_per_task(6, 2), points_per_task(10_000, 16), points_per_task(32, 2, requested=1)
    (1, 8, 1)
    """
    if requested is not None:
        return int(requested)
    return max(1, min(MAX_POINTS_PER_TASK, n_points // max(1, n_threads * TASKS_PER_THREAD)))


def run_point_task(
    fn: PointFn, tag: str, keys: Sequence[str], points: Sequence[Any], **shared: Any
) -> list[tuple[str, Mapping[str, Any]]]:
    """Run on a worker: ``fn(key, point, **shared)`` for each point, publishing each record at once.

    A point that raises gives :func:`error_record` and the next one runs.
    Returns every ``(key, record)``, for the records whose event is missed.
    """
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a worker (called directly)
        worker = None
    out = []
    for key, point in zip(keys, points, strict=True):
        try:
            record = fn(key, point, **shared)
        except Exception as exc:  # a point that raises is recorded; the others go on
            record = error_record(key, exc)
        out.append((key, record))
        if worker is not None:
            worker.log_event(POINT_TOPIC, {"tag": tag, "key": key, "record": pickle.dumps(record)})
    return out


class _Arrivals:
    """Records and finished tasks, in the order this client hears of them (a thread-safe queue)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.items: queue.SimpleQueue[tuple[str, Any, Any]] = queue.SimpleQueue()

    def on_event(self, event: tuple[float, Mapping[str, Any]]) -> None:
        """A point's record (the client's event loop calls this for every event of the topic)."""
        msg = event[1]
        if isinstance(msg, Mapping) and msg.get("tag") == self.tag:
            self.items.put(("point", msg["key"], msg["record"]))

    def on_task(self, future: Any) -> None:
        """A task ended (finished, failed or cancelled)."""
        self.items.put(("task", future, None))

    def next(self) -> tuple[str, Any, Any]:
        """The next arrival; waits in short steps so that Ctrl-C is seen."""
        while True:
            try:
                return self.items.get(timeout=0.25)
            except queue.Empty:
                continue


def _submit(
    client: Any,
    fn: PointFn,
    tag: str,
    scattered: Mapping[str, Any],
    chunks: Sequence[Sequence[tuple[str, Any]]],
) -> list[Any]:
    """One task per chunk, in one message (``client.map``); keys numbered in the caller's order."""
    return client.map(
        run_point_task,
        [fn] * len(chunks),
        [tag] * len(chunks),
        [[key for key, _ in chunk] for chunk in chunks],
        [[point for _, point in chunk] for chunk in chunks],
        key=[f"{fn.__name__}-{i:07d}-{tag}" for i in range(len(chunks))],
        pure=False,
        **scattered,
    )


def _task_ended(future: Any, keys: Sequence[str], done: set[str]) -> list[tuple[str, Any]]:
    """The records of an ended task that no event brought (usually none)."""
    missing = [key for key in keys if key not in done]
    if not missing:
        return []
    if future.status == "finished":
        got = dict(future.result())
        return [(key, got[key]) for key in missing]
    exc = future.exception() if future.status == "error" else RuntimeError("task cancelled")
    return [(key, error_record(key, exc)) for key in missing]


def _scatter(client: Any, shared: Mapping[str, Any]) -> dict[str, Any]:
    """The shared values on every worker, in one scatter call (one round trip, not one per value)."""
    # a list, so that Dask names them (a dict's keys would become the cluster's keys)
    names = list(shared)
    futures = client.scatter([shared[k] for k in names], broadcast=True, hash=False)
    return dict(zip(names, futures, strict=True))


def run_on_cluster(
    client: Any,
    fn: PointFn,
    shared: Mapping[str, Any],
    points: Sequence[tuple[str, Any]],
    on_done: OnDone,
    per_task: int | None = None,
) -> None:
    """Every point on ``client``'s cluster; ``on_done(key, record)`` once per point as it arrives.

    ``shared`` goes to every worker once; ``per_task``: see :func:`points_per_task`.
    """
    scattered = _scatter(client, shared)
    per_task = points_per_task(len(points), sum(client.nthreads().values()), per_task)
    tag = uuid.uuid4().hex
    arrivals = _Arrivals(tag)
    chunks = [points[i : i + per_task] for i in range(0, len(points), per_task)]
    # subscribed before the tasks are submitted (both go out on the same ordered stream)
    client.subscribe_topic(POINT_TOPIC, arrivals.on_event)
    futures = _submit(client, fn, tag, scattered, chunks)
    keys = {fut.key: [key for key, _ in chunk] for fut, chunk in zip(futures, chunks, strict=True)}
    done: set[str] = set()

    def deliver(key: str, record: Mapping[str, Any]) -> None:
        if key not in done:  # a retried task publishes its points again
            done.add(key)
            on_done(key, record)

    try:
        for fut in futures:
            fut.add_done_callback(arrivals.on_task)
        pending = set(keys)
        while pending:
            kind, what, record = arrivals.next()
            if kind == "point":
                deliver(what, pickle.loads(record))
                continue
            pending.discard(what.key)
            for key, rec in _task_ended(what, keys[what.key], done):
                deliver(key, rec)
            what.release()
    except BaseException:
        client.cancel(futures)  # interrupted: start no further point
        raise
    finally:
        client.unsubscribe_topic(POINT_TOPIC)
