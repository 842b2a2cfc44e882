"""Whose waits are task time: thread roles from names, idle pool threads, long waits moved
back to the buckets they blocked in, Python workers' helper threads. Known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from profiler.correlate import CATEGORIES, Sources, compute_breakdown, fill_thread_roles
from profiler.correlate.spill import fit_to_buckets
from tests.unit.test_correlate_breakdown import (
    BUCKET,
    CLOCK,
    MS,
    PERIOD,
    PROCESSES,
    _samples,
    _tasks,
    _timed,
)

RUNNER, IDLE_RUNNER, GC_WORKER, MONITOR = 21, 23, 24, 25
THREADS = pd.DataFrame({
    "pid": [20] * 5 + [31, 31],
    "tid": [RUNNER, IDLE_RUNNER, GC_WORKER, MONITOR, 26, 31, 35],
    "name": ["Executor task launch worker for task 0", "Executor task i", "GC Thread#0",
             "Worker Monitor for /usr/bin/python3", "Executor task l", "python3",
             "jemalloc_bg_thd"],
    # as recorded: the monitor inherited its creator's comm and was kept a task runner
    "role": ["task-runner", "task-runner", "gc", "task-runner", "task-runner", "python-main",
             "other"],
})


def _futex(rows: list[tuple[float, int, int, float]]) -> pd.DataFrame:
    return _timed(rows, syscall="futex")


def _sources(tasks: pd.DataFrame, **tables: object) -> Sources:
    threads, _ = fill_thread_roles(THREADS)
    return Sources(tasks=tasks, clock=CLOCK, bucket_ns=BUCKET, processes=PROCESSES,
                   threads=threads, **tables)  # type: ignore[arg-type]


def test_roles_come_from_names_and_only_task_thread_names_are_task_runners() -> None:
    frame = pd.DataFrame({
        "pid": [1] * 6, "tid": [1, 2, 3, 4, 5, 6],
        "name": ["Executor task l", "Executor task i", "Worker Monitor for /usr/bin/python3",
                 "stdout reader for /usr/bin/python3", None, "Thread-7"],
        "role": [None, "other", "task-runner", "task-runner", "shuffle", "rpc"]})
    filled, changed = fill_thread_roles(frame)
    assert filled["role"].tolist() == ["task-runner", "task-runner", "other", "other",
                                       "shuffle", "rpc"]
    assert changed == 4
    same, unchanged = fill_thread_roles(filled)
    assert unchanged == 0 and same is filled


def test_futex_of_non_task_threads_is_background_not_task_time() -> None:
    # The reported case: a 778 ms stage and 15.7 s of futex waits, nearly all of them of
    # a GC worker and a Python-worker monitor thread; the task thread waited 50 ms.
    waits = [(float(b), 20, tid, 100.0) for b in range(0, 800, 100)
             for tid in (GC_WORKER, MONITOR)]
    sources = _sources(_tasks([("driver", 1, 0, 778)]),
                       syscalls=_futex([*waits, (300, 20, RUNNER, 50.0)]),
                       futex_captured=True)
    result = compute_breakdown(sources)
    row = result.ms.loc[(1, 0)]
    assert row["futex"] == pytest.approx(50.0)
    assert not row["overcommitted"] and row["scale"] == 1.0
    # background: every bucket the stage touches, in full (8 buckets x 2 threads x 100 ms)
    assert result.background_ms.loc[(1, 0), "futex"] == pytest.approx(1600.0)


def test_idle_pool_threads_fill_only_the_room_the_running_tasks_leave() -> None:
    # One task runs 0-100 ms; two pool threads: the busy one on CPU 40 ms and parked
    # 60 ms, the idle one parked 100 ms. One task thread's worth of time is task time: the
    # CPU stays, the waits share the 60 ms left.
    sources = _sources(
        _tasks([("driver", 1, 0, 100)]),
        offcpu=_timed([(0, 20, RUNNER, 60), (0, 20, IDLE_RUNNER, 100)]),
        samples=_samples([(10 * i, 20, RUNNER, 1, False) for i in range(4)]),
        sample_period_ns=PERIOD)
    row = compute_breakdown(sources).ms.loc[(1, 0)]
    assert row["cpu_jvm"] == pytest.approx(40.0)
    assert row["offcpu_other"] == pytest.approx(60.0)
    assert row["unexplained"] == pytest.approx(0.0, abs=1e-9)
    assert not row["overcommitted"]


def test_a_long_wait_is_moved_back_to_the_buckets_it_blocked_in() -> None:
    # Stage 1 runs 0-100 ms, stage 2 100-300 ms; the task thread's 300 ms futex wait ended
    # in bucket 200. It blocked through both stages: 100 ms in stage 1, 200 ms in stage 2.
    sources = _sources(_tasks([("driver", 1, 0, 100), ("driver", 2, 100, 300)]),
                       syscalls=_futex([(200, 20, RUNNER, 300.0)]), futex_captured=True)
    ms = compute_breakdown(sources).ms
    assert ms.loc[(1, 0), "futex"] == pytest.approx(100.0)
    assert ms.loc[(2, 0), "futex"] == pytest.approx(200.0)
    assert not ms["overcommitted"].any()


def test_fit_to_buckets_keeps_cpu_in_place_and_caps_full_buckets() -> None:
    frame = pd.DataFrame({"pid": [1, 1], "tid": [2, 2],
                          "bucket_ns": [0, BUCKET],
                          "futex": [80.0 * MS, 150.0 * MS], "cpu_jvm": [0.0, 30.0 * MS]})
    fitted = fit_to_buckets(frame, ["futex"], ["cpu_jvm"], BUCKET).set_index("bucket_ns")
    # bucket 1 keeps its 30 ms CPU and 70 ms of the wait; 80 ms go back to bucket 0,
    # which already holds 80 ms: 160 ms there are scaled down to the 100 ms it has.
    assert fitted.loc[BUCKET, "cpu_jvm"] == pytest.approx(30 * MS)
    assert fitted.loc[BUCKET, "futex"] == pytest.approx(70 * MS)
    assert fitted.loc[0, "futex"] == pytest.approx(100 * MS)
    totals = fitted[["futex", "cpu_jvm"]].sum(axis=1)
    assert (totals <= BUCKET * (1 + 1e-12)).all()


def test_python_worker_helper_threads_are_background() -> None:
    sources = _sources(
        _tasks([("1", 1, 0, 100)]),
        offcpu=_timed([(0, 31, 31, 30), (0, 31, 35, 100)]))
    result = compute_breakdown(sources)
    assert result.ms.loc[(1, 0), "offcpu_other"] == pytest.approx(30.0)
    assert result.background_ms.loc[(1, 0), "offcpu_other"] == pytest.approx(100.0)


def test_categories_stay_within_task_time_with_idle_threads_and_long_waits() -> None:
    rng = np.random.default_rng(5)
    tasks = _tasks([("driver", int(s), float(a), float(a + d)) for s, a, d in
                    zip(rng.integers(0, 3, 8), rng.uniform(0, 900, 8),
                        rng.uniform(1, 300, 8), strict=True)])
    rows = [(float(b), 20, tid, float(rng.uniform(0, 900)))
            for b in range(0, 1300, 100) for tid in (RUNNER, IDLE_RUNNER, MONITOR)]
    result = compute_breakdown(_sources(tasks, syscalls=_futex(rows), futex_captured=True,
                                        offcpu=_timed(rows)))
    explained = result.measured_ms[list(CATEGORIES)].sum(axis=1)
    assert (explained <= result.ms["task_time_ms"] * (1 + 1e-9)).all()


def test_idle_python_workers_wait_through_pure_jvm_stages_as_background() -> None:
    # Executor 1 runs a Python stage (0-200 ms: its worker on CPU) and then a pure-JVM stage
    # (300-500 ms) through which the kept worker waits on its socket for the next task.
    sources = _sources(
        _tasks([("1", 1, 0, 200), ("1", 2, 300, 500)]),
        offcpu=_timed([(100, 31, 31, 50), (300, 31, 31, 100), (400, 31, 31, 100)]),
        samples=_samples([(10 * i, 31, 31, 1, False) for i in range(5)]),
        sample_period_ns=PERIOD)
    result = compute_breakdown(sources)
    assert result.ms.loc[(1, 0), "cpu_python"] == pytest.approx(50.0)
    assert result.ms.loc[(1, 0), "offcpu_other"] == pytest.approx(50.0)
    assert result.ms.loc[(2, 0), "offcpu_other"] == 0.0
    assert result.background_ms.loc[(2, 0), "offcpu_other"] == pytest.approx(200.0)


def test_threads_that_only_waited_count_for_the_running_tasks_not_seen_working() -> None:
    # Two tasks run 0-100 ms. Three pool threads only waited all bucket long (two of them
    # blocked inside a running task, one idle: they look the same): 200 ms of task time.
    # With one of them seen on CPU, only one more thread's wait counts.
    idle = _sources(_tasks([("driver", 1, 0, 100), ("driver", 1, 0, 100)]),
                    offcpu=_timed([(0, 20, tid, 100) for tid in (RUNNER, IDLE_RUNNER, 26)]))
    assert compute_breakdown(idle).ms.loc[(1, 0), "offcpu_other"] == pytest.approx(200.0)
    one_busy = _sources(_tasks([("driver", 1, 0, 100), ("driver", 1, 0, 100)]),
                        offcpu=_timed([(0, 20, RUNNER, 50), (0, 20, IDLE_RUNNER, 100),
                                       (0, 20, 26, 100)]),
                        samples=_samples([(10 * i, 20, RUNNER, 1, False) for i in range(5)]),
                        sample_period_ns=PERIOD)
    row = compute_breakdown(one_busy).ms.loc[(1, 0)]
    assert (row["cpu_jvm"], row["offcpu_other"]) == (pytest.approx(50.0), pytest.approx(150.0))
