"""Idle task threads: a JVM runs one task thread per running task, but keeps more of them.

Spark's task threads live in a pool; between tasks they wait in it (a futex wait, off-CPU)
and are still named as task threads. Which pool thread ran which task is not in the event
log, so the idle ones cannot be told apart by name. What is known is how many tasks ran:
per (executor, bucket) the task threads' time cannot exceed the task time of that bucket
(the sum of the running tasks' overlap with it). What they did (CPU, calls, JNI) is kept
(scaled down only when it alone is more: a bucket the tasks cover in part, sampling noise);
the waits of the threads that did something in the bucket fill the room left first; the
threads that only waited get what is left, up to as many threads as running tasks were not
seen working (a thread blocked through the whole bucket looks like an idle one).
Python workers are left alone: their time and the JVM thread waiting on them are the same
task time seen twice, which the stage-level fit handles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from profiler.correlate.attribute import LABELS, TASK, bucket_keys, row_owners
from profiler.correlate.lookup import lookup
from profiler.correlate.windows import TaskWindows, overlaps
from profiler.roles import DRIVER_JVM, EXECUTOR_JVM


def cap_idle_task_threads(frame: pd.DataFrame, executors: pd.DataFrame,
                          threads: pd.DataFrame | None, windows: TaskWindows,
                          bucket_ns: int, waits: Sequence[str],
                          work: Sequence[str]) -> pd.DataFrame:
    """``frame`` (per thread and bucket, ns columns) with JVM task threads' ``waits``, then
    ``work``, scaled so that per (executor, bucket) work + waits <= its task time."""
    waits = [name for name in waits if name in frame.columns]
    work = [name for name in work if name in frame.columns]
    if frame.empty or not waits:
        return frame
    owners = row_owners(frame, executors, threads, windows)
    role = lookup(executors["pid"], executors["role"], frame["pid"].to_numpy(np.int64))
    chosen = np.flatnonzero((owners.label == LABELS.index(TASK)) & (owners.executor >= 0)
                            & np.isin(role, (DRIVER_JVM, EXECUTOR_JVM)))
    if chosen.size == 0:
        return frame
    key, key_exec, key_start = bucket_keys(owners.executor[chosen],
                                           frame["bucket_ns"].to_numpy(np.int64)[chosen],
                                           bucket_ns)
    found = overlaps(windows, key_exec, key_start, key_start + bucket_ns)
    task_ns = found.per_query_totals(len(key_exec))
    wait_ns = frame[waits].to_numpy(np.float64)[chosen]
    work_ns = (frame[work].to_numpy(np.float64)[chosen].sum(axis=1) if work
               else np.zeros(chosen.size))
    n_keys = len(key_exec)
    busy = work_ns > 0
    work_per_key = np.bincount(key, weights=work_ns, minlength=n_keys)
    keep_work = _fit(work_per_key, task_ns)
    room = np.maximum(task_ns - work_per_key * keep_work, 0.0)
    # the waits of threads that worked in the bucket first (they ran a task) ...
    busy_wait = np.bincount(key, weights=wait_ns.sum(axis=1) * busy, minlength=n_keys)
    keep_busy = _fit(busy_wait, room)
    room = np.maximum(room - busy_wait * keep_busy, 0.0)
    # ... then the threads that only waited: only as many as tasks ran beyond the busy ones
    # (a task thread blocked through the whole bucket looks just like an idle one)
    n_busy = np.bincount(key, weights=busy.astype(np.float64), minlength=n_keys)
    unseen_tasks = np.maximum(task_ns / bucket_ns - n_busy, 0.0) * bucket_ns
    idle_wait = np.bincount(key, weights=wait_ns.sum(axis=1) * ~busy, minlength=n_keys)
    keep_idle = _fit(idle_wait, np.minimum(room, unseen_tasks))
    keep_wait = np.where(busy, keep_busy[key], keep_idle[key])
    out = frame.copy()
    for columns, keep in ((waits, keep_wait), (work, keep_work[key])):
        if columns:
            scaled = out[columns].to_numpy(np.float64)
            scaled[chosen] *= keep[:, None]
            out[columns] = scaled
    return out


def _fit(total: np.ndarray, limit: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > limit, limit / np.where(total > 0, total, 1.0), 1.0)
