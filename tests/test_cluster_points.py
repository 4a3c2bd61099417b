"""neurosim.cluster_points: points per task, and the records an ended task adds.

The cluster runs themselves (records streamed per point, a raising point in a
task of several, a killed worker, an interrupted client) are in test_execute.py,
on real Dask clusters.
"""

from __future__ import annotations

import pytest

from neurosim.cluster_points import (
    MAX_POINTS_PER_TASK,
    _task_ended,
    error_record,
    points_per_task,
    run_point_task,
)
from neurosim.execute import Execution, ExecutionError


@pytest.mark.parametrize(
    ("n_points", "n_threads", "expected"),
    [(1, 2, 1), (6, 2, 1), (32, 2, 2), (64, 2, 4), (10_000, 2, MAX_POINTS_PER_TASK), (32, 64, 1)],
)
def test_points_per_task_leaves_about_eight_tasks_per_thread(n_points, n_threads, expected):
    assert points_per_task(n_points, n_threads) == expected


def test_points_per_task_as_requested():
    assert points_per_task(10_000, 2, requested=1) == 1
    assert Execution("serial", points_per_task=5).points_per_task == 5
    with pytest.raises(ExecutionError, match="execution.points_per_task: expected a positive integer"):
        Execution("serial", points_per_task=0)


def double(point_key, point, offset):
    if point < 0:
        raise ValueError("negative")
    return {"key": point_key, "value": 2 * point + offset}


def test_a_task_outside_a_worker_returns_every_record():
    got = run_point_task(double, "tag", ["a", "b", "c"], [1, -1, 3], offset=1)
    assert got == [
        ("a", {"key": "a", "value": 3}),
        ("b", {"key": "b", "error": "ValueError: negative"}),
        ("c", {"key": "c", "value": 7}),
    ]


class EndedTask:
    """What _task_ended reads of a distributed.Future that has ended."""

    def __init__(self, status, result=None, exc=None):
        self.status, self._result, self._exc = status, result, exc

    def result(self):
        return self._result

    def exception(self):
        return self._exc


def test_an_ended_task_adds_only_the_records_no_event_brought():
    records = [("a", {"key": "a"}), ("b", {"key": "b"})]
    assert _task_ended(EndedTask("finished", records), ["a", "b"], {"a", "b"}) == []
    assert _task_ended(EndedTask("finished", records), ["a", "b"], {"a"}) == [("b", {"key": "b"})]
    failed = EndedTask("error", exc=RuntimeError("worker died 3 times"))
    assert _task_ended(failed, ["a", "b"], {"a"}) == [
        ("b", error_record("b", RuntimeError("worker died 3 times")))
    ]
    assert _task_ended(EndedTask("cancelled"), ["a"], set())[0][1]["error"] == "RuntimeError: task cancelled"
