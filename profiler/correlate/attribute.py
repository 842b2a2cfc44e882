"""Attribute rows of bucketed tables (syscalls, network, file_io, offcpu, ...) to stages.

A row (bucket_ns, pid, tid, amounts) covers [bucket_ns, bucket_ns + bucket length) on the
executor of its pid. Its stages are those with tasks active on that executor during the
bucket, each with a share = its task time in the bucket / all task time in the bucket.
Output is long-form: one row per (source row, stage) with the share and the amounts times
the share; a row with no active task on its executor gets one row with stage NA (outside
stages) and share 1.

Labels say whose time a row is: ``task`` (a task-runner thread, or a Python thread of a
Python worker),
``background`` (other threads of a Spark process: shuffle, rpc, gc, jit, ...), and for rows
that cannot be task time ``driver-python`` (the Python driver) and ``unmapped`` (processes
with no Spark ancestor). Only task and background rows get stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from profiler.correlate.executors import DRIVER_PYTHON
from profiler.correlate.lookup import compact_codes, lookup
from profiler.correlate.windows import I32, I64, TaskWindows, overlaps
from profiler.roles import PYSPARK_DAEMON, PYTHON_WORKER

TASK, BACKGROUND, DRIVER_PYTHON_LABEL, UNMAPPED = "task", "background", DRIVER_PYTHON, "unmapped"
LABELS = (TASK, BACKGROUND, DRIVER_PYTHON_LABEL, UNMAPPED)
_TASK_THREAD_ROLES = ("task-runner",)
_PYTHON_TASK_THREAD_ROLES = ("python-main",)
_NOT_AMOUNTS = frozenset({"bucket_ns", "ts_ns", "start_ns", "end_ns", "max_ns", "pid", "tid",
                          "fd", "local_port", "remote_port", "hist_first_bucket"})


@dataclass(frozen=True)
class RowOwners:
    """Per source row: executor (index in ``executor_ids``, -1: none), executor code in the
    task windows (-1: no task ran there) and label (index in LABELS)."""

    executor_ids: pd.Index
    executor_id: I32
    executor: I32
    label: npt.NDArray[np.int8]


def row_owners(rows: pd.DataFrame, executors: pd.DataFrame, threads: pd.DataFrame | None,
               windows: TaskWindows) -> RowOwners:
    """Executor and label of every row from its pid (``executor_map``) and tid (``threads``).

    Worked out once per distinct (pid, tid) and spread back to the rows: a run has
    thousands of threads but millions of rows.
    """
    pid = rows["pid"].to_numpy(dtype=np.int64)
    tid = rows["tid"].to_numpy(dtype=np.int64)
    inverse, pairs = pd.factorize((pid << 32) | (tid & 0xFFFFFFFF))
    pairs = np.asarray(pairs, dtype=np.int64)
    u_pid, u_tid = pairs >> 32, pairs & 0xFFFFFFFF
    executor_id = lookup(executors["pid"], executors["executor_id"], u_pid)
    role = lookup(executors["pid"], executors["role"], u_pid)
    label = np.full(len(pairs), LABELS.index(UNMAPPED), dtype=np.int8)
    in_spark = pd.notna(executor_id)
    label[in_spark] = LABELS.index(BACKGROUND)
    label[_is_task_thread(u_tid, threads, role) & in_spark] = LABELS.index(TASK)
    label[executor_id == DRIVER_PYTHON] = LABELS.index(DRIVER_PYTHON_LABEL)
    name_codes, names = pd.factorize(pd.Series(executor_id, dtype=object))
    return RowOwners(pd.Index(names), name_codes.astype(np.int32)[inverse],
                     windows.executor_codes(executor_id)[inverse], label[inverse])


def _is_task_thread(tid: I64, threads: pd.DataFrame | None,
                    role: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    # A Python worker runs task code on its Python threads (the main one, and any thread
    # it starts, named "python..." by inheritance); helper threads of native libraries
    # (jemalloc_bg_thd, ...) mostly sleep. The daemon only forks workers.
    python_worker: npt.NDArray[np.bool_] = role == PYTHON_WORKER
    if threads is None or threads.empty:
        return python_worker
    by_tid = threads.drop_duplicates("tid", keep="last")
    thread_role = lookup(by_tid["tid"], by_tid["role"], tid)
    python_thread = np.isin(thread_role, _PYTHON_TASK_THREAD_ROLES) | pd.isna(thread_role)
    task_runner = np.isin(thread_role, _TASK_THREAD_ROLES) & (role != PYSPARK_DAEMON)
    return np.asarray((python_worker & python_thread) | task_runner, dtype=bool)


def amount_columns(rows: pd.DataFrame) -> list[str]:
    """The additive numeric columns of a table (ns totals, bytes, calls, counts)."""
    return [c for c in rows.columns if c not in _NOT_AMOUNTS
            and pd.api.types.is_numeric_dtype(rows[c]) and not pd.api.types.is_bool_dtype(
                rows[c])]


@dataclass(frozen=True)
class Attribution:
    """One entry per (source row, stage): ``source`` row position, ``stage`` code in the task
    windows (-1: outside stages), ``share``, ``shared``; ``owners`` of the source rows."""

    source: I64
    stage: I64
    share: npt.NDArray[np.float64]
    shared: npt.NDArray[np.bool_]
    owners: RowOwners

    def label(self) -> npt.NDArray[np.int8]:
        return self.owners.label[self.source]


def attribute_rows(rows: pd.DataFrame, bucket_len_ns: int, windows: TaskWindows,
                   executors: pd.DataFrame, threads: pd.DataFrame | None = None,
                   amounts: Sequence[str] | None = None, start_column: str = "bucket_ns",
                   keep: Sequence[str] = ("bucket_ns", "pid", "tid")) -> pd.DataFrame:
    """Long-form attribution of ``rows`` (each covering [start, start + bucket_len_ns)).

    Columns: row (position in ``rows``), the ``keep`` columns, executor_id, label, stage_id,
    stage_attempt (Int64, NA outside stages), share, shared (more than one stage got a
    share), then each amount column times the share (float64).
    """
    amounts = amount_columns(rows) if amounts is None else list(amounts)
    found = attribution(rows, bucket_len_ns, windows, executors, threads, start_column)
    return _long_frame(rows, keep, found, windows, amounts)


def attribution(rows: pd.DataFrame, bucket_len_ns: int, windows: TaskWindows,
                executors: pd.DataFrame, threads: pd.DataFrame | None = None,
                start_column: str = "bucket_ns") -> Attribution:
    """``attribute_rows`` as arrays (what the breakdown sums with bincount)."""
    owners = row_owners(rows, executors, threads, windows)
    starts = rows[start_column].to_numpy(dtype=np.int64)
    key, key_exec, key_start = bucket_keys(owners.executor, starts, bucket_len_ns)
    found = overlaps(windows, key_exec, key_start, key_start + bucket_len_ns)
    share = found.overlap_ns / found.per_query_totals(len(key_exec))[found.query]
    # a trailing 0 lets key -1 (no executor with tasks) index "no stage" without a branch
    per_key = np.append(np.bincount(found.query, minlength=len(key_exec)), 0)
    first_of_key = np.append(np.cumsum(per_key[:-1]) - per_key[:-1], 0)

    stages_of_row = per_key[key]
    n_out = np.maximum(stages_of_row, 1)
    source = np.repeat(np.arange(len(rows)), n_out)
    within = np.arange(len(source)) - np.repeat(np.cumsum(n_out) - n_out, n_out)
    attributed = stages_of_row[source] > 0
    pick = np.where(attributed, first_of_key[key[source]] + within, 0)
    out_share = np.where(attributed, share[pick] if len(share) else 1.0, 1.0)
    stage_code = np.where(attributed, found.stage[pick] if len(share) else 0, -1)
    shared = attributed & (stages_of_row[source] > 1)
    return Attribution(source, stage_code.astype(np.int64), out_share, shared, owners)


def bucket_keys(executor: I32, starts: I64, bucket_len_ns: int) -> tuple[I64, I32, I64]:
    """Unique (executor, start) pairs of rows whose executor has tasks; key -1 for others."""
    key = np.full(len(starts), -1, dtype=np.int64)
    with_tasks = executor >= 0
    if not with_tasks.any():
        return key, np.zeros(0, np.int32), np.zeros(0, np.int64)
    exec_sel, start_sel = executor[with_tasks].astype(np.int64), starts[with_tasks]
    base = int(start_sel.min())
    step = bucket_len_ns if not np.any((start_sel - base) % bucket_len_ns) else 1
    relative = (start_sel - base) // step
    shift = max(int(relative.max()).bit_length(), 1)
    if shift + int(exec_sel.max()).bit_length() <= 62:
        codes, uniques = compact_codes((exec_sel << shift) | relative)
        u_exec, u_start = uniques >> shift, (uniques & ((1 << shift) - 1)) * step + base
    else:  # a run too long for one int64 key: factorize the pairs (slower, still vectorised)
        pairs = pd.MultiIndex.from_arrays([exec_sel, start_sel])
        codes, unique_pairs = pd.factorize(pairs)
        u_exec = unique_pairs.get_level_values(0).to_numpy()
        u_start = unique_pairs.get_level_values(1).to_numpy()
    key[with_tasks] = codes
    return key, np.asarray(u_exec, dtype=np.int32), np.asarray(u_start, dtype=np.int64)


def _long_frame(rows: pd.DataFrame, keep: Sequence[str], found: Attribution,
                windows: TaskWindows, amounts: Sequence[str]) -> pd.DataFrame:
    source, share = found.source, found.share
    outside = found.stage < 0
    safe = np.maximum(found.stage, 0)
    stage_ids = windows.stages["stage_id"].to_numpy(dtype=np.int64)
    attempts = windows.stages["stage_attempt"].to_numpy(dtype=np.int64)
    columns: dict[str, object] = {"row": source}
    for name in keep:
        if name in rows.columns:
            columns[name] = rows[name].to_numpy()[source]
    # pandas-stubs want a Sequence[int] of codes; numpy arrays are what pandas takes fastest
    columns["executor_id"] = pd.Categorical.from_codes(
        found.owners.executor_id[source],  # type: ignore[arg-type]
        categories=found.owners.executor_ids)
    columns["label"] = pd.Categorical.from_codes(
        found.label(), categories=pd.Index(LABELS))  # type: ignore[arg-type]
    columns["stage_id"] = pd.arrays.IntegerArray(
        stage_ids[safe] if len(stage_ids) else np.zeros(len(safe), np.int64), outside)
    columns["stage_attempt"] = pd.arrays.IntegerArray(
        attempts[safe] if len(attempts) else np.zeros(len(safe), np.int64), outside)
    columns["share"] = share
    columns["shared"] = found.shared
    for name in amounts:
        columns[name] = rows[name].to_numpy(dtype=np.float64, na_value=np.nan)[source] * share
    return pd.DataFrame(columns, copy=False)  # copy=False: no 2-3 s block consolidation
