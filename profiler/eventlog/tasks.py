"""Task table: the hot path of the reader (task-end events are most of a log's bytes).

Each task-end event becomes one fixed-width row of int64 appended to a single flat
``array('q')``: one C call per task, 8 bytes per value, no parsed dicts kept. Strings
(executor, host, ...) are stored as codes into small per-column dictionaries.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pandas as pd

from profiler.eventlog.columns import datetimes, duration_ms, masked_ints

# Row layout. Identity and scheduling fields first, then Spark's task metrics.
_ID_FIELDS = (
    "task_id",
    "stage_id",
    "stage_attempt",
    "index",
    "attempt",
    "partition_id",
    "launch_time",
    "finish_time",
    "getting_result_time",
    "executor_id",
    "host",
    "locality",
    "task_type",
    "end_reason",
    "speculative",
    "failed",
    "killed",
    "has_metrics",
)
_STRING_FIELDS = ("executor_id", "host", "locality", "task_type", "end_reason")
_METRIC_FIELDS = (
    "executor_deserialize_time",
    "executor_deserialize_cpu_time",
    "executor_run_time",
    "executor_cpu_time",
    "result_size",
    "jvm_gc_time",
    "result_serialization_time",
    "memory_bytes_spilled",
    "disk_bytes_spilled",
    "peak_execution_memory",
    "bytes_read",
    "records_read",
    "bytes_written",
    "records_written",
    "shuffle_remote_blocks_fetched",
    "shuffle_local_blocks_fetched",
    "shuffle_fetch_wait_time",
    "shuffle_remote_bytes_read",
    "shuffle_remote_bytes_read_to_disk",
    "shuffle_local_bytes_read",
    "shuffle_records_read",
    "shuffle_remote_reqs_duration",
    "shuffle_bytes_written",
    "shuffle_write_time",
    "shuffle_records_written",
)
_FIELDS = _ID_FIELDS + _METRIC_FIELDS
_WIDTH = len(_FIELDS)
_COL = {name: i for i, name in enumerate(_FIELDS)}
_NO_METRICS = (0,) * len(_METRIC_FIELDS)

# Metrics Spark reports in ns; everything else that is a duration is already ms.
_NS_METRICS = frozenset(
    {"executor_deserialize_cpu_time", "executor_cpu_time", "shuffle_write_time"}
)
_MS_METRICS = frozenset(
    {
        "executor_deserialize_time",
        "executor_run_time",
        "jvm_gc_time",
        "result_serialization_time",
        "shuffle_fetch_wait_time",
        "shuffle_remote_reqs_duration",
    }
)
# Keys of a task-end reason that carry the failure text, in order of preference.
_ERROR_KEYS = ("Description", "Message", "Loss Reason", "Kill Reason")
_EMPTY: dict[str, Any] = {}


class _Codes:
    """Interns the strings of one column as small integer codes."""

    def __init__(self) -> None:
        self.codes: dict[str | None, int] = {None: 0}
        self.values: list[str | None] = [None]

    def code(self, value: str | None) -> int:
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.values)
            self.values.append(value)
        return code

    def decode(self, codes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        values: np.ndarray[Any, Any] = np.array(self.values, dtype=object)[codes]
        return values


class TaskTable:
    """Accumulates task-start and task-end events; ``frame()`` builds the tasks DataFrame."""

    def __init__(self) -> None:
        self._rows = array("q")
        self._codes = {name: _Codes() for name in _STRING_FIELDS}
        self._errors: dict[int, str] = {}  # row -> failure text (failures are rare)
        self._running: dict[int, array[int]] = {}  # task id -> row of a started task

    def __len__(self) -> int:
        return len(self._rows) // _WIDTH

    def add_start(self, event: dict[str, Any]) -> None:
        info = event["Task Info"]
        # array() checks every value now, so frame() cannot fail on a bad start event later.
        row = array("q", self._identity(event, info, None, has_metrics=0) + _NO_METRICS)
        self._running[info["Task ID"]] = row

    def add_end(self, event: dict[str, Any]) -> None:
        """Append one task-end event; raises KeyError/TypeError/... when it is malformed."""
        info = event["Task Info"]
        reason = event.get("Task End Reason") or _EMPTY
        metrics = event.get("Task Metrics")
        if metrics:
            row = self._identity(event, info, reason, has_metrics=1) + _metrics(metrics)
        else:
            row = self._identity(event, info, reason, has_metrics=0) + _NO_METRICS
        size = len(self._rows)
        try:
            self._rows.extend(row)
        except (TypeError, OverflowError):
            del self._rows[size:]  # keep the table rectangular
            raise
        self._running.pop(info["Task ID"], None)
        if reason.get("Reason", "Success") != "Success":
            error = next((reason[k] for k in _ERROR_KEYS if reason.get(k)), None)
            if isinstance(error, str):
                self._errors[size // _WIDTH] = error

    def _identity(
        self,
        event: dict[str, Any],
        info: dict[str, Any],
        reason: dict[str, Any] | None,
        has_metrics: int,
    ) -> tuple[int, ...]:
        codes = self._codes
        return (
            info["Task ID"],
            event["Stage ID"],
            event.get("Stage Attempt ID", 0),
            info.get("Index", -1),
            info.get("Attempt", 0),
            info.get("Partition ID", -1),
            info.get("Launch Time", 0),
            info.get("Finish Time", 0),
            info.get("Getting Result Time", 0),
            codes["executor_id"].code(info.get("Executor ID")),
            codes["host"].code(info.get("Host")),
            codes["locality"].code(info.get("Locality")),
            codes["task_type"].code(event.get("Task Type")),
            codes["end_reason"].code(None if reason is None else reason.get("Reason", "Unknown")),
            info.get("Speculative", False),
            info.get("Failed", False),
            info.get("Killed", False),
            has_metrics,
        )

    def frame(self) -> pd.DataFrame:
        """The tasks DataFrame (columns documented in ``model.COLUMNS['tasks']``)."""
        rows = self._rows
        if self._running:  # started, never ended: still running
            rows = array("q", rows)
            for row in self._running.values():
                rows.extend(row)
        table = np.frombuffer(rows, dtype=np.int64).reshape(-1, _WIDTH) if rows else None
        if table is None:
            table = np.zeros((0, _WIDTH), dtype=np.int64)

        def col(name: str) -> np.ndarray[Any, Any]:
            return table[:, _COL[name]]

        launch = datetimes(np.ascontiguousarray(col("launch_time")))
        finish = datetimes(np.ascontiguousarray(col("finish_time")))
        failed = col("failed").astype(bool)
        killed = col("killed").astype(bool)
        ended = col("end_reason") != 0
        status = np.where(failed, "FAILED", np.where(killed, "KILLED", "SUCCESS")).astype(object)
        status[~ended] = "RUNNING"
        errors = np.full(len(table), None, dtype=object)
        for row_index, text in self._errors.items():
            errors[row_index] = text
        data: dict[str, Any] = {
            name: col(name).copy()
            for name in ("task_id", "stage_id", "stage_attempt", "index", "attempt")
        }
        data["partition_id"] = col("partition_id").copy()
        for name in ("executor_id", "host", "locality", "task_type"):
            data[name] = self._codes[name].decode(col(name))
        data["launch_time"] = launch
        data["finish_time"] = finish
        data["getting_result_time"] = datetimes(np.ascontiguousarray(col("getting_result_time")))
        data["duration"] = duration_ms(launch, finish)
        data["status"] = status
        data["failed"] = failed
        data["killed"] = killed
        data["speculative"] = col("speculative").astype(bool)
        data["end_reason"] = self._codes["end_reason"].decode(col("end_reason"))
        data["error"] = errors
        data.update(_metric_columns(table))
        return pd.DataFrame(data)


def _metrics(m: dict[str, Any]) -> tuple[int, ...]:
    read = m.get("Shuffle Read Metrics") or _EMPTY
    write = m.get("Shuffle Write Metrics") or _EMPTY
    inp = m.get("Input Metrics") or _EMPTY
    out = m.get("Output Metrics") or _EMPTY
    return (
        m.get("Executor Deserialize Time", 0),
        m.get("Executor Deserialize CPU Time", 0),
        m.get("Executor Run Time", 0),
        m.get("Executor CPU Time", 0),
        m.get("Result Size", 0),
        m.get("JVM GC Time", 0),
        m.get("Result Serialization Time", 0),
        m.get("Memory Bytes Spilled", 0),
        m.get("Disk Bytes Spilled", 0),
        m.get("Peak Execution Memory", 0),
        inp.get("Bytes Read", 0),
        inp.get("Records Read", 0),
        out.get("Bytes Written", 0),
        out.get("Records Written", 0),
        read.get("Remote Blocks Fetched", 0),
        read.get("Local Blocks Fetched", 0),
        read.get("Fetch Wait Time", 0),
        read.get("Remote Bytes Read", 0),
        read.get("Remote Bytes Read To Disk", 0),
        read.get("Local Bytes Read", 0),
        read.get("Total Records Read", 0),
        read.get("Remote Requests Duration", 0),
        write.get("Shuffle Bytes Written", 0),
        write.get("Shuffle Write Time", 0),
        write.get("Shuffle Records Written", 0),
    )


def _metric_columns(table: np.ndarray[Any, Any]) -> dict[str, Any]:
    missing = table[:, _COL["has_metrics"]] == 0
    columns: dict[str, Any] = {}
    for name in _METRIC_FIELDS:
        values = table[:, _COL[name]]
        if name in _NS_METRICS or name in _MS_METRICS:
            ms = values.astype(np.float64)
            if name in _NS_METRICS:
                ms /= 1e6
            ms[missing] = np.nan
            columns[name] = ms
        else:
            columns[name] = masked_ints(values, missing)
        if name == "shuffle_local_bytes_read":
            total = table[:, _COL["shuffle_remote_bytes_read"]] + values
            columns["shuffle_total_bytes_read"] = masked_ints(total, missing)
    return columns
