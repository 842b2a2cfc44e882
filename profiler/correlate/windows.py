"""Task windows per executor, and how much task time of each stage overlaps given intervals.

Each executor's tasks form a step function of active tasks per stage over time. For an
interval [start, end) on an executor, the overlap with stage s is the integral of that step
function over the interval: the sum over s's tasks of |task window n interval| in ns. A task
covering half the interval counts half. Everything is numpy interval maths: the only Python
loop runs over executors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from profiler.correlate.clock import ClockMap

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TaskWindows:
    """Tasks as monotonic-ns windows, sorted by (executor code, start).

    ``executors[code]`` is an executor id; ``stages`` (RangeIndex = stage code) holds the
    stage_id and stage_attempt of each stage code; ``task_ms`` the task time per stage code.
    """

    executors: tuple[str, ...]
    stages: pd.DataFrame
    executor: I32
    start_ns: I64
    end_ns: I64
    stage: I32

    def executor_codes(self, executor_ids: pd.Series | np.ndarray) -> I32:
        """Executor id per row -> code (-1 for ids with no task, and for None)."""
        codes = pd.Index(self.executors).get_indexer(pd.Index(np.asarray(executor_ids,
                                                                         dtype=object)))
        return codes.astype(np.int32)

    def task_time_ns(self) -> I64:
        """Sum over tasks of (finish - launch) per stage code."""
        return np.bincount(self.stage, weights=self.end_ns - self.start_ns,
                           minlength=len(self.stages)).astype(np.int64)


def build_task_windows(tasks: pd.DataFrame, clock: ClockMap,
                       run_end_ns: int | None = None) -> TaskWindows:
    """Windows from the event log's tasks (launch_time..finish_time, UTC datetimes).

    Tasks with no finish (still running when the log ended) run until ``run_end_ns`` when
    given, else they are left out; tasks with no launch time are left out.
    """
    needed = ["executor_id", "stage_id", "stage_attempt", "launch_time", "finish_time"]
    if tasks is None or tasks.empty:
        frame = pd.DataFrame({column: [] for column in needed})
    else:
        frame = tasks[needed]
    start, has_start = clock.datetimes_to_monotonic(frame["launch_time"])
    end, has_end = clock.datetimes_to_monotonic(frame["finish_time"])
    if run_end_ns is not None:
        end = np.where(has_end, end, np.maximum(start, run_end_ns))
        has_end = np.ones_like(has_end)
    keep = has_start & has_end & frame["executor_id"].notna().to_numpy()
    frame = frame[keep]
    start, end = start[keep], np.maximum(end[keep], start[keep])
    stage_codes, stages = _stage_codes(frame)
    executor_codes, executors = pd.factorize(frame["executor_id"].astype(str), sort=True)
    order = np.lexsort((start, executor_codes))
    return TaskWindows(
        executors=tuple(str(e) for e in executors),
        stages=stages,
        executor=executor_codes[order].astype(np.int32),
        start_ns=start[order].astype(np.int64),
        end_ns=end[order].astype(np.int64),
        stage=stage_codes[order].astype(np.int32),
    )


def _stage_codes(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    if frame.empty:
        empty = pd.DataFrame({"stage_id": pd.Series(dtype=np.int64),
                              "stage_attempt": pd.Series(dtype=np.int64)})
        return np.zeros(0, dtype=np.int32), empty
    keys = frame[["stage_id", "stage_attempt"]].astype(np.int64)
    codes = keys.groupby(["stage_id", "stage_attempt"], sort=True).ngroup().to_numpy()
    stages = (keys.drop_duplicates().sort_values(["stage_id", "stage_attempt"])
              .reset_index(drop=True))
    return codes, stages


@dataclass(frozen=True)
class Overlaps:
    """Task-time overlap per (query, stage code), sorted by query then stage code."""

    query: I64
    stage: I32
    overlap_ns: F64

    def per_query_totals(self, n_queries: int) -> F64:
        return np.bincount(self.query, weights=self.overlap_ns,
                           minlength=n_queries).astype(np.float64)


def overlaps(windows: TaskWindows, executor: I32, start_ns: I64, end_ns: I64) -> Overlaps:
    """For each query interval [start, end) on an executor code: task ns of each stage in it.

    Query pairs are found from the task side: a task [ts, te) meets the queries whose start
    lies in (ts - longest query, te), a searchsorted range over the executor's sorted queries.
    """
    executor = np.asarray(executor, dtype=np.int32)
    start_ns = np.asarray(start_ns, dtype=np.int64)
    end_ns = np.asarray(end_ns, dtype=np.int64)
    parts: list[tuple[I64, I32, F64]] = []
    if len(executor) and len(windows.executor):
        longest = int((end_ns - start_ns).max())
        order = np.lexsort((start_ns, executor))
        sorted_exec = executor[order]
        for code in np.unique(windows.executor):
            q_lo, q_hi = np.searchsorted(sorted_exec, [code, code + 1])
            t_lo, t_hi = np.searchsorted(windows.executor, [code, code + 1])
            if q_lo == q_hi:
                continue
            parts.append(_executor_pairs(windows, slice(t_lo, t_hi), order[q_lo:q_hi],
                                         start_ns, end_ns, longest))
    if not parts:
        return Overlaps(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float64))
    query = np.concatenate([p[0] for p in parts])
    stage = np.concatenate([p[1] for p in parts])
    ns = np.concatenate([p[2] for p in parts])
    return _sum_per_query_stage(query, stage, ns, len(windows.stages))


def _executor_pairs(windows: TaskWindows, tasks: slice, queries: I64, start_ns: I64,
                    end_ns: I64, longest: int) -> tuple[I64, I32, F64]:
    q_start, q_end = start_ns[queries], end_ns[queries]
    t_start, t_end = windows.start_ns[tasks], windows.end_ns[tasks]
    lo = np.searchsorted(q_start, t_start - longest, side="right")
    hi = np.searchsorted(q_start, t_end, side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    task_of_pair = np.repeat(np.arange(len(t_start)), counts)
    first = np.cumsum(counts) - counts
    query_pos = np.arange(total) - np.repeat(first - lo, counts)
    overlap = (np.minimum(t_end[task_of_pair], q_end[query_pos])
               - np.maximum(t_start[task_of_pair], q_start[query_pos]))
    hit = overlap > 0
    stage = windows.stage[tasks][task_of_pair[hit]]
    return queries[query_pos[hit]], stage, overlap[hit].astype(np.float64)


def _sum_per_query_stage(query: I64, stage: I32, ns: F64, n_stages: int) -> Overlaps:
    key = query.astype(np.int64) * max(n_stages, 1) + stage
    unique, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse, weights=ns, minlength=len(unique)).astype(np.float64)
    return Overlaps((unique // max(n_stages, 1)).astype(np.int64),
                    (unique % max(n_stages, 1)).astype(np.int32), sums)
