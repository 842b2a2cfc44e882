"""Stage x category breakdown of task time (ms), coverage, and Spark's own numbers beside it.

Task time of a stage = sum over its tasks of (finish - launch). The categories come from the
task threads (task runners and Python workers) attributed to stages by ``attribute_rows``;
within a thread and bucket each nanosecond lands in one category (``threadtime``); the waits
of idle pool threads are kept to the room the running tasks leave (``idle``). GC pauses
stop every task of the JVM: a stage gets pause duration x its active tasks on that executor.
The stopped task threads show the same time as off-CPU or futex waits, so GC claims it from
other off-CPU first, then from futex waits (stage level).

Invariant: the categories of a stage never sum to more than its task time. When the measured
sum exceeds it (e.g. a Python worker's CPU and the JVM task thread's wait on it are the same
task time seen from two threads), every category is scaled down by the same factor and the
stage is flagged ``overcommitted``. ``unexplained`` = task time - categories (>= 0). A
category whose source was not captured is NaN (absent), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from profiler.correlate.attribute import BACKGROUND, LABELS, TASK, Attribution, attribution
from profiler.correlate.categories import (
    CATEGORIES,
    CPU_JVM,
    CPU_KERNEL,
    CPU_PYTHON,
    FUTEX,
    GC,
    OFFCPU_OTHER,
    UNEXPLAINED,
)
from profiler.correlate.executors import executor_map
from profiler.correlate.idle import cap_idle_task_threads
from profiler.correlate.inputs import Sources
from profiler.correlate.lookup import lookup
from profiler.correlate.threadtime import thread_time
from profiler.correlate.windows import TaskWindows, build_task_windows, overlaps
from profiler.roles import PYTHON_WORKER

STAGE_INDEX = ["stage_id", "stage_attempt"]
_NS_PER_MS = 1e6
_JVM_ROLES = ("driver-jvm", "executor-jvm")
_WAITS = (FUTEX, OFFCPU_OTHER)  # what an idle task thread shows (``idle``)
_IDLE_WAITS = (*_WAITS, "net_python_worker")  # ... and an idle Python worker
_WORKER_MIN_WORK = 0.02  # below this share of their time, a stage's Python workers idle
# Spark's task metric -> the measured figure it is compared with
SPARK_METRICS: dict[str, str] = {
    "jvm_gc_time": "gc",
    "shuffle_fetch_wait_time": "net_shuffle",
    "executor_cpu_time": "cpu_jvm+cpu_kernel",
    "executor_run_time": "task_time",
}


@dataclass(frozen=True)
class Breakdown:
    """Per stage (index stage_id, stage_attempt):

    ``ms``: task_time_ms, one column per category (NaN = not captured), unexplained,
    explained_ms, explained_pct, overcommitted, scale (1.0 unless overcommitted);
    ``measured_ms``: the categories before scaling; ``background_ms``: the same categories
    for non-task threads (not part of task time); ``spark``: Spark's metrics beside the
    measured ones; ``present``: categories whose source was captured.
    """

    ms: pd.DataFrame
    measured_ms: pd.DataFrame
    background_ms: pd.DataFrame
    spark: pd.DataFrame
    present: frozenset[str]
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Stage x category in ms: every category plus unexplained."""
        return self.ms[[*CATEGORIES, UNEXPLAINED]]

    def coverage(self) -> pd.DataFrame:
        return self.ms[["task_time_ms", "explained_ms", UNEXPLAINED, "explained_pct"]]


def compute_breakdown(sources: Sources) -> Breakdown:
    windows = build_task_windows(sources.tasks, sources.clock, sources.run_end_ns)
    executors = executor_map(sources.processes)
    per_thread = thread_time(sources, executors)
    present = set(per_thread.present) | ({GC} if sources.gc is not None else set())
    amounts = [c for c in CATEGORIES if c in per_thread.frame.columns]
    frame = cap_idle_task_threads(per_thread.frame, executors, sources.threads, windows,
                                  sources.bucket_ns, _WAITS,
                                  [c for c in amounts if c not in _WAITS])
    found = attribution(frame, sources.bucket_ns, windows, executors, sources.threads)
    index = pd.MultiIndex.from_frame(windows.stages) if len(windows.stages) else \
        pd.MultiIndex.from_arrays([[], []], names=STAGE_INDEX)
    labels = _idle_python_workers_to_background(frame, found, executors, len(index))
    task_ns = _per_stage(frame, found, labels, TASK, amounts, index)
    background = _per_stage(frame, found, labels, BACKGROUND, amounts, index) / _NS_PER_MS
    if sources.gc is not None:
        task_ns[GC] = _gc_ns(sources.gc, windows, executors)
    task_ns = _gc_claims_waits(task_ns)
    measured = task_ns.reindex(columns=list(CATEGORIES)) / _NS_PER_MS
    task_time = pd.Series(windows.task_time_ns() / _NS_PER_MS, index=index)
    ms = _fit_to_task_time(measured, task_time)
    spark = spark_comparison(sources.tasks, measured, task_time)
    notes = [*sources.notes, *_task_thread_notes(sources.threads, windows, executors)]
    return Breakdown(ms, measured, background.reindex(columns=list(CATEGORIES)), spark,
                     frozenset(present), notes)


def _task_thread_notes(threads: pd.DataFrame | None, windows: TaskWindows,
                       executors: pd.DataFrame) -> list[str]:
    """Say so when an executor's JVM has no known task-runner thread: its task threads'
    time then counts as background and the breakdown of its stages is mostly unexplained."""
    jvms = executors[executors["role"].isin(_JVM_ROLES)
                     & executors["executor_id"].isin(windows.executors)]
    if jvms.empty:
        return []
    runners = set() if threads is None or threads.empty else set(
        threads.loc[threads["role"] == "task-runner", "pid"].astype(int))
    missing = sorted(str(e) for e, pid in zip(jvms["executor_id"], jvms["pid"], strict=True)
                     if int(pid) not in runners)
    if not missing:
        return []
    return [f"no task-runner thread was seen in the JVM of executor(s) {', '.join(missing)}: "
            "their JVM time counts as background, not task time"]


def _idle_python_workers_to_background(frame: pd.DataFrame, found: Attribution,
                                       executors: pd.DataFrame, n_stages: int) -> np.ndarray:
    """Labels of the attributed rows, with Python workers' time in stages where the Python
    workers did next to nothing but wait (CPU, calls to other peers and file I/O under 2%
    of their time there) made background.

    Spark keeps Python workers between tasks; an idle one waits on its socket for the next
    task, through the pure-JVM stages in between. Without CPU samples (not captured) the
    workers' time stays task time.
    """
    labels = found.label().copy()
    if not any(name in frame.columns for name in (CPU_PYTHON, CPU_KERNEL)) \
            or not len(found.source):
        return labels
    # an idle worker only waits (on its socket to the JVM): anything else is work
    work = [name for name in CATEGORIES if name in frame.columns and name not in _IDLE_WAITS]
    role = lookup(executors["pid"], executors["role"], frame["pid"].to_numpy(np.int64))
    worker = (np.isin(role, (PYTHON_WORKER,))[found.source]
              & (labels == LABELS.index(TASK)) & (found.stage >= 0))
    values = frame[[c for c in CATEGORIES if c in frame.columns]].to_numpy(np.float64)
    ran = frame[work].to_numpy(np.float64).sum(axis=1)[found.source] * found.share
    spent = values.sum(axis=1)[found.source] * found.share
    stage_ran = np.bincount(found.stage[worker], weights=ran[worker], minlength=n_stages)
    stage_spent = np.bincount(found.stage[worker], weights=spent[worker], minlength=n_stages)
    # a sample or two of a bucket shared with the previous (Python) stage is no work
    idle_stage = stage_ran <= _WORKER_MIN_WORK * stage_spent
    idle = worker & idle_stage[np.maximum(found.stage, 0)]
    labels[idle] = LABELS.index(BACKGROUND)
    return labels


def _per_stage(frame: pd.DataFrame, found: Attribution, labels: np.ndarray, label: str,
               amounts: list[str], index: pd.MultiIndex) -> pd.DataFrame:
    """Sum of share x amount per stage code over the attributed rows with ``label``."""
    chosen = (labels == LABELS.index(label)) & (found.stage >= 0)
    stage, source, share = found.stage[chosen], found.source[chosen], found.share[chosen]
    return pd.DataFrame({
        name: np.bincount(stage, weights=frame[name].to_numpy(np.float64)[source] * share,
                          minlength=len(index))
        for name in amounts}, index=index, dtype=np.float64)


def _gc_ns(gc: pd.DataFrame, windows: TaskWindows, executors: pd.DataFrame) -> np.ndarray:
    """Pause ns x active tasks, per stage code: a pause stops every task of its JVM."""
    pauses = gc[(gc["kind"] == "gc").to_numpy(bool)] if "kind" in gc.columns else gc
    jvms = executors[executors["role"].isin(_JVM_ROLES)]
    executor_ids = lookup(jvms["pid"], jvms["executor_id"], pauses["pid"].to_numpy(np.int64))
    codes = windows.executor_codes(executor_ids)
    start = pauses["start_ns"].to_numpy(np.int64)
    end = np.maximum(pauses["end_ns"].to_numpy(np.int64), start)
    keep = (codes >= 0) & (end > start)
    found = overlaps(windows, codes[keep], start[keep], end[keep])
    return np.bincount(found.stage, weights=found.overlap_ns, minlength=len(windows.stages))


def _gc_claims_waits(task_ns: pd.DataFrame) -> pd.DataFrame:
    if GC not in task_ns.columns:
        return task_ns
    remaining = task_ns[GC].to_numpy(np.float64).copy()
    for wait in (OFFCPU_OTHER, FUTEX):
        if wait in task_ns.columns:
            values = task_ns[wait].to_numpy(np.float64)
            taken = np.minimum(values, remaining)
            task_ns[wait] = values - taken
            remaining -= taken
    return task_ns


def _fit_to_task_time(measured: pd.DataFrame, task_time: pd.Series) -> pd.DataFrame:
    total = measured.sum(axis=1, skipna=True, min_count=0).to_numpy(np.float64)
    limit = task_time.to_numpy(np.float64)
    over = total > limit * (1 + 1e-9)  # not float noise of sums that fit exactly
    scale = np.where(over & (total > 0), limit / np.where(total > 0, total, 1.0), 1.0)
    fitted = measured.mul(scale, axis=0)
    explained = np.minimum(total * scale, limit)
    out = pd.DataFrame({"task_time_ms": limit}, index=measured.index)
    for name in CATEGORIES:
        out[name] = fitted[name]
    out[UNEXPLAINED] = np.maximum(limit - explained, 0.0)
    out["explained_ms"] = explained
    with np.errstate(invalid="ignore", divide="ignore"):
        out["explained_pct"] = np.where(limit > 0, 100.0 * explained / limit, np.nan)
    out["overcommitted"] = over
    out["scale"] = scale
    return out


def spark_comparison(tasks: pd.DataFrame, measured: pd.DataFrame,
                     task_time: pd.Series) -> pd.DataFrame:
    """Per stage: Spark's summed task metrics (ms), the measured counterpart, the difference.

    Columns spark_<metric>, measured_<metric>, diff_<metric> (measured - Spark) for the
    metrics in ``SPARK_METRICS``; executor_cpu_time is compared with JVM + kernel CPU.
    """
    out = pd.DataFrame(index=measured.index)
    metrics = [m for m in SPARK_METRICS if m in tasks.columns]
    spark = (tasks.assign(stage_id=tasks["stage_id"].astype(np.int64),
                          stage_attempt=tasks["stage_attempt"].astype(np.int64))
             .groupby(STAGE_INDEX)[metrics].sum(min_count=1)
             if len(tasks) and metrics else pd.DataFrame(index=measured.index))
    counterparts = {
        "jvm_gc_time": measured[GC],
        "shuffle_fetch_wait_time": measured["net_shuffle"],
        "executor_cpu_time": measured[CPU_JVM] + measured[CPU_KERNEL],
        "executor_run_time": task_time,
    }
    for metric, mine in counterparts.items():
        theirs = (spark[metric].reindex(measured.index).astype(np.float64)
                  if metric in spark.columns else pd.Series(np.nan, index=measured.index))
        out[f"spark_{metric}"] = theirs
        out[f"measured_{metric}"] = mine
        out[f"diff_{metric}"] = mine - theirs
    return out
