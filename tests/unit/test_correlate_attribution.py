"""Stage windows and bucket attribution on hand-made frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from profiler.correlate import (
    ClockMap,
    attribute_rows,
    build_task_windows,
    executor_map,
    overlaps,
)

REAL0 = 1_763_700_000_000_000_000
MONO0 = 9_000_000_000
MS = 1_000_000
BUCKET = 100 * MS
CLOCK = ClockMap(MONO0, REAL0)


def _utc(ms: float, clock: ClockMap = CLOCK) -> pd.Timestamp:
    return pd.Timestamp(clock.realtime0 + round(ms * MS), unit="ns", tz="UTC")


def _tasks(rows: list[tuple[str, int, float, float]], clock: ClockMap = CLOCK) -> pd.DataFrame:
    """(executor, stage, launch ms, finish ms) after the clock's start anchor."""
    return pd.DataFrame({
        "executor_id": [r[0] for r in rows],
        "stage_id": [r[1] for r in rows],
        "stage_attempt": [0] * len(rows),
        "launch_time": pd.Series([_utc(r[2], clock) for r in rows], dtype="datetime64[ns, UTC]"),
        "finish_time": pd.Series([_utc(r[3], clock) for r in rows], dtype="datetime64[ns, UTC]"),
    })


PROCESSES = pd.DataFrame({
    "pid": [10, 20, 30, 31, 40],
    "ppid": [1, 10, 1, 30, 1],
    "role": ["python-driver", "driver-jvm", "executor-jvm", "python-worker", "other"],
    "executor_id": [None, None, "1", None, None],
})
THREADS = pd.DataFrame({
    "pid": [20, 20, 30, 30],
    "tid": [21, 22, 32, 33],
    "name": ["Executor task launch worker for task 0", "shuffle-client-1-1",
             "Executor task launch worker for task 1", "dispatcher-event-loop-0"],
    "role": ["task-runner", "shuffle", "task-runner", "rpc"],
})


def _rows(rows: list[tuple[float, int, int, int]]) -> pd.DataFrame:
    """(bucket start ms, pid, tid, total_ns) relative to the start anchor."""
    return pd.DataFrame({
        "bucket_ns": [MONO0 + round(r[0] * MS) for r in rows],
        "pid": np.array([r[1] for r in rows], dtype=np.int32),
        "tid": np.array([r[2] for r in rows], dtype=np.int32),
        "calls": [1] * len(rows),
        "total_ns": [r[3] for r in rows],
    })


def _attribute(tasks: pd.DataFrame, rows: pd.DataFrame, clock: ClockMap = CLOCK,
               ) -> pd.DataFrame:
    windows = build_task_windows(tasks, clock)
    return attribute_rows(rows, BUCKET, windows, executor_map(PROCESSES), THREADS)


def test_overlapping_stages_on_one_executor_split_half_half_and_are_shared() -> None:
    tasks = _tasks([("driver", 1, 0, 100), ("driver", 2, 0, 100)])
    out = _attribute(tasks, _rows([(0, 20, 21, 1000)]))
    assert out["stage_id"].tolist() == [1, 2]
    assert out["share"].tolist() == [0.5, 0.5]
    assert out["shared"].tolist() == [True, True]
    assert out["total_ns"].tolist() == [500.0, 500.0]
    assert out["label"].tolist() == ["task", "task"]
    assert out["row"].tolist() == [0, 0]


def test_task_spanning_a_bucket_boundary_is_overlap_weighted() -> None:
    # stage 1 covers the second half of bucket 0 and the first half of bucket 1;
    # stage 2 covers all of bucket 0.
    tasks = _tasks([("driver", 1, 50, 150), ("driver", 2, 0, 100)])
    out = _attribute(tasks, _rows([(0, 20, 21, 900), (100, 20, 21, 600)]))
    first = out[out["row"] == 0].set_index("stage_id")
    assert first["share"].round(9).to_dict() == {1: round(1 / 3, 9), 2: round(2 / 3, 9)}
    assert first["total_ns"].to_dict() == {1: 300.0, 2: 600.0}
    assert first["shared"].all()
    second = out[out["row"] == 1]
    assert second["stage_id"].tolist() == [1]
    assert second["share"].tolist() == [1.0]
    assert not second["shared"].any()
    assert second["total_ns"].tolist() == [600.0]


def test_rows_outside_tasks_go_to_stage_na_with_full_share() -> None:
    tasks = _tasks([("driver", 1, 0, 100)])
    out = _attribute(tasks, _rows([(500, 20, 21, 70)]))
    assert out["stage_id"].isna().all()
    assert out["share"].tolist() == [1.0]
    assert out["total_ns"].tolist() == [70.0]


def test_only_the_rows_executor_counts() -> None:
    tasks = _tasks([("1", 5, 0, 100), ("driver", 6, 0, 100)])
    out = _attribute(tasks, _rows([(0, 30, 32, 10), (0, 20, 21, 10)]))
    assert out["stage_id"].tolist() == [5, 6]
    assert out["executor_id"].astype(str).tolist() == ["1", "driver"]
    assert not out["shared"].any()


def test_non_task_threads_are_attributed_the_same_way_but_labelled_background() -> None:
    tasks = _tasks([("driver", 1, 0, 100), ("driver", 2, 0, 100), ("1", 3, 0, 100)])
    rows = _rows([(0, 20, 22, 100), (0, 30, 33, 100), (0, 30, 32, 100), (0, 31, 99, 100)])
    out = _attribute(tasks, rows)
    labels = out.groupby("row")["label"].first().astype(str).tolist()
    assert labels == ["background", "background", "task", "task"]  # python worker = task
    shuffle = out[out["row"] == 0]
    assert shuffle["stage_id"].tolist() == [1, 2]
    assert shuffle["share"].tolist() == [0.5, 0.5]
    assert out[out["row"] == 3]["stage_id"].tolist() == [3]  # worker -> executor "1"


def test_python_driver_and_unknown_processes_never_get_a_stage() -> None:
    tasks = _tasks([("driver", 1, 0, 100)])
    out = _attribute(tasks, _rows([(0, 10, 10, 5), (0, 40, 40, 5), (0, 77, 77, 5)]))
    assert out["label"].astype(str).tolist() == ["driver-python", "unmapped", "unmapped"]
    assert out["stage_id"].isna().all()


def test_clock_offset_moves_tasks_onto_the_right_buckets() -> None:
    # The same tasks in UTC; a clock whose monotonic origin is 1 s later shifts them by +1 s
    # on the monotonic axis, so they now cover the bucket at +1000 ms, not the one at 0.
    tasks = _tasks([("driver", 4, 0, 100)])
    shifted = ClockMap(MONO0 + 1000 * MS, REAL0)
    rows = _rows([(0, 20, 21, 10), (1000, 20, 21, 10)])
    assert _attribute(tasks, rows)["stage_id"].tolist()[0] == 4
    assert _attribute(tasks, rows)["stage_id"].isna().tolist() == [False, True]
    moved = _attribute(tasks, rows, shifted)
    assert moved["stage_id"].isna().tolist() == [True, False]


def test_no_tasks_no_rows_no_error() -> None:
    windows = build_task_windows(_tasks([]), CLOCK)
    out = attribute_rows(_rows([]), BUCKET, windows, executor_map(PROCESSES), THREADS)
    assert out.empty
    assert {"row", "stage_id", "stage_attempt", "share", "shared", "label"} <= set(out.columns)
    out = attribute_rows(_rows([(0, 20, 21, 5)]), BUCKET, windows, executor_map(PROCESSES))
    assert out["stage_id"].isna().all()


def test_unfinished_tasks_run_to_the_run_end_when_given() -> None:
    tasks = _tasks([("driver", 1, 0, 100)])
    tasks.loc[0, "finish_time"] = pd.NaT
    assert len(build_task_windows(tasks, CLOCK).start_ns) == 0
    windows = build_task_windows(tasks, CLOCK, run_end_ns=MONO0 + 300 * MS)
    assert windows.end_ns.tolist() == [MONO0 + 300 * MS]


def test_overlaps_match_a_brute_force_sum_on_random_windows() -> None:
    rng = np.random.default_rng(7)
    n_tasks = 60
    executors = rng.choice(["a", "b", "c"], n_tasks)
    launch = rng.uniform(0, 2000, n_tasks)
    tasks = _tasks([(str(executors[i]), int(rng.integers(0, 5)), float(launch[i]),
                     float(launch[i] + rng.uniform(0, 400))) for i in range(n_tasks)])
    windows = build_task_windows(tasks, CLOCK)
    q_exec = rng.integers(0, 3, 200).astype(np.int32)
    q_start = MONO0 + rng.integers(0, 2_400, 200) * MS
    q_end = q_start + rng.integers(1, 150, 200) * MS
    found = overlaps(windows, q_exec, q_start, q_end)
    fast = {(int(q), int(s)): v for q, s, v in zip(found.query, found.stage, found.overlap_ns,
                                                    strict=True)}
    slow: dict[tuple[int, int], float] = {}
    for q in range(200):
        for t in range(len(windows.start_ns)):
            if windows.executor[t] != q_exec[q]:
                continue
            ns = min(windows.end_ns[t], q_end[q]) - max(windows.start_ns[t], q_start[q])
            if ns > 0:
                key = (q, int(windows.stage[t]))
                slow[key] = slow.get(key, 0.0) + float(ns)
    assert fast == slow
    assert len(slow) > 50  # the random case really exercises overlaps


def test_compact_codes_agree_for_dense_and_sparse_values() -> None:
    from profiler.correlate.lookup import compact_codes

    dense = np.array([7, 3, 7, 9, 3], dtype=np.int64)
    sparse = dense * 10**15  # too wide a range to count: factorized instead
    for values in (dense, sparse):
        codes, uniques = compact_codes(values)
        assert uniques.tolist() == sorted(set(values.tolist()))
        assert uniques[codes].tolist() == values.tolist()
    assert compact_codes(np.zeros(0, np.int64))[0].size == 0


def test_rows_with_unaligned_starts_far_apart_still_attribute() -> None:
    # starts not on bucket boundaries and hours apart take the factorize path
    tasks = _tasks([("driver", 1, 0, 100), ("driver", 2, 7_200_000, 7_200_100)])
    rows = _rows([(10.5, 20, 21, 10), (7_200_010.25, 20, 21, 10)])
    out = _attribute(tasks, rows)
    assert out["stage_id"].tolist() == [1, 2]
