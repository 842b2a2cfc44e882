"""The ``EventLog`` record: what one Spark application's event log says, as pandas DataFrames.

Conventions for every table: times are ``datetime64[ns, UTC]`` (NaT when unknown), durations
are float64 milliseconds (NaN when unknown; Spark's nanosecond metrics are converted), byte
and record counts are nullable ``Int64`` (NA when Spark sent no metrics for the task), and
names are Spark's own metric names in snake_case. ``COLUMNS`` documents each column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

_TIME = "datetime64[ns, UTC]"

# table -> column -> description (units included). The builders produce exactly these columns.
COLUMNS: dict[str, dict[str, str]] = {
    "app": {
        "app_id": "application id (SparkListenerApplicationStart 'App ID')",
        "attempt_id": "application attempt id (cluster mode), else None",
        "name": "application name",
        "user": "user the application ran as",
        "spark_version": "Spark version that wrote the log",
        "master": "spark.master from the environment, else None",
        "start_time": f"application start ({_TIME})",
        "end_time": f"application end ({_TIME}); NaT when the log has no end event",
        "duration": "end_time - start_time in ms",
        "exit_code": "driver exit code (Spark 4+), else NA",
        "complete": "True when the log holds SparkListenerApplicationEnd",
    },
    "jobs": {
        "job_id": "job id",
        "name": "call site of the action (callSite.short), else the last stage's name",
        "submission_time": f"job submission ({_TIME})",
        "completion_time": f"job completion ({_TIME}); NaT while running",
        "duration": "completion_time - submission_time in ms",
        "status": "'succeeded', 'failed' or 'running'",
        "failure_reason": "the JobFailed exception message, else None",
        "stage_ids": "list of the job's stage ids (including stages it skipped)",
        "num_stages": "number of stages in stage_ids",
        "num_tasks": "sum of the stages' task counts as planned at job start",
        "sql_execution_id": "spark.sql.execution.id of the SQL query that ran the job, else NA",
        "job_group": "spark.jobGroup.id, else None",
        "description": "spark.job.description, else None",
    },
    "stages": {
        "stage_id": "stage id",
        "attempt": "stage attempt number (0 first)",
        "name": "stage name (call site)",
        "num_tasks": "number of tasks (partitions) in the stage attempt",
        "parent_ids": "list of parent stage ids",
        "submission_time": f"stage attempt submission ({_TIME}); NaT when never submitted",
        "completion_time": f"stage attempt completion ({_TIME})",
        "duration": "completion_time - submission_time in ms",
        "status": "'complete', 'failed', 'active', 'skipped' (its job ended without running "
        "it) or 'pending'",
        "failure_reason": "why the stage attempt failed, else None",
        "job_id": "lowest id of the jobs that include the stage, else NA",
        "job_ids": "list of the ids of all jobs that include the stage",
    },
    "tasks": {
        "task_id": "task id (unique per application)",
        "stage_id": "stage id",
        "stage_attempt": "stage attempt the task ran in",
        "index": "task index within the stage (partition slot)",
        "attempt": "task attempt number (0 first; retries and speculative copies count up)",
        "partition_id": "partition id (-1 when the log predates it)",
        "executor_id": "executor id ('driver' in local mode)",
        "host": "host the executor ran on",
        "locality": "locality level, e.g. PROCESS_LOCAL",
        "task_type": "ResultTask or ShuffleMapTask",
        "launch_time": f"task launch ({_TIME})",
        "finish_time": f"task end ({_TIME}); NaT while running",
        "getting_result_time": f"when the driver began fetching the result ({_TIME}), else NaT",
        "duration": "finish_time - launch_time in ms",
        "status": "'SUCCESS', 'FAILED', 'KILLED' or 'RUNNING' (no task-end event)",
        "failed": "True when the attempt failed",
        "killed": "True when the attempt was killed",
        "speculative": "True for a speculative copy",
        "end_reason": "Spark's task end reason: Success, ExceptionFailure, FetchFailed, "
        "TaskKilled, ExecutorLostFailure, ...; None while running",
        "error": "failure text (exception description, fetch-failure message, kill or "
        "loss reason), else None",
        "executor_deserialize_time": "ms spent deserializing the task",
        "executor_deserialize_cpu_time": "CPU ms spent deserializing (Spark reports ns; "
        "converted to ms)",
        "executor_run_time": "ms the task ran on the executor",
        "executor_cpu_time": "CPU ms of the task (Spark reports ns; converted to ms)",
        "result_size": "bytes of the serialized task result",
        "jvm_gc_time": "ms the executor JVM spent in GC while the task ran",
        "result_serialization_time": "ms spent serializing the result",
        "memory_bytes_spilled": "bytes spilled, in-memory size",
        "disk_bytes_spilled": "bytes spilled, on-disk size",
        "peak_execution_memory": "peak bytes of execution memory (sort/aggregate/join buffers)",
        "bytes_read": "input bytes read (Input Metrics)",
        "records_read": "input records read",
        "bytes_written": "output bytes written (Output Metrics)",
        "records_written": "output records written",
        "shuffle_remote_blocks_fetched": "shuffle blocks fetched from other executors",
        "shuffle_local_blocks_fetched": "shuffle blocks read locally",
        "shuffle_fetch_wait_time": "ms the task waited for shuffle data",
        "shuffle_remote_bytes_read": "shuffle bytes fetched from other executors",
        "shuffle_remote_bytes_read_to_disk": "remote shuffle bytes fetched to disk",
        "shuffle_local_bytes_read": "shuffle bytes read locally",
        "shuffle_total_bytes_read": "shuffle_remote_bytes_read + shuffle_local_bytes_read",
        "shuffle_records_read": "shuffle records read",
        "shuffle_remote_reqs_duration": "ms spent in remote shuffle fetch requests",
        "shuffle_bytes_written": "shuffle bytes written",
        "shuffle_write_time": "ms spent writing shuffle data (Spark reports ns; converted to ms)",
        "shuffle_records_written": "shuffle records written",
    },
    "executors": {
        "executor_id": "executor id",
        "host": "executor host",
        "cores": "total cores of the executor",
        "added_time": f"when the executor was added ({_TIME})",
        "removed_time": f"when it was removed ({_TIME}); NaT while alive",
        "removed_reason": "why it was removed, else None",
        "max_memory": "bytes of storage+execution memory of its block manager, else NA",
        "resource_profile_id": "resource profile id (0 = default)",
    },
    "sql": {
        "execution_id": "SQL execution id",
        "root_execution_id": "id of the root execution (nested executions), else NA",
        "description": "query description (call site or SQL text)",
        "details": "call stack that started the query",
        "start_time": f"query start ({_TIME})",
        "end_time": f"query end ({_TIME}); NaT while running",
        "duration": "end_time - start_time in ms",
        "error_message": "the query's error, else None",
        "query_id": "query UUID (Spark 3.4+), else None",
        "job_ids": "list of the ids of the jobs the query ran",
    },
}


@dataclass(frozen=True)
class EventLogSource:
    """Where the events came from."""

    path: Path  # what the user asked for
    files: tuple[Path, ...]  # the files read, in order
    layout: str  # "file" (single-file log) or "rolling" (eventlog_v2_* directory)
    codec: str  # "none", "zstd", "lz4", "snappy" (of the first file; parts share it in practice)
    in_progress: bool  # the application was still running when the log was written
    compressed_bytes: int  # bytes read from disk
    uncompressed_bytes: int  # bytes of decoded log text


@dataclass
class EventLog:
    """One Spark application's event log as DataFrames; see ``COLUMNS`` for every column."""

    app: pd.DataFrame
    jobs: pd.DataFrame
    stages: pd.DataFrame
    tasks: pd.DataFrame
    executors: pd.DataFrame
    sql: pd.DataFrame
    spark_version: str | None
    source: EventLogSource
    bad_lines: int = 0  # malformed or truncated lines that were skipped
    warnings: list[str] = field(default_factory=list)  # damage found (streams cut short, ...)
    event_counts: dict[str, int] = field(default_factory=dict)  # events seen, by name
    spark_properties: dict[str, str] = field(default_factory=dict)  # from the environment event

    @property
    def app_id(self) -> str | None:
        return _first(self.app, "app_id")

    @property
    def app_name(self) -> str | None:
        return _first(self.app, "name")

    @staticmethod
    def describe(table: str) -> dict[str, str]:
        """Column -> description for one table ('app', 'jobs', 'stages', 'tasks', ...)."""
        return dict(COLUMNS[table])


def _first(frame: pd.DataFrame, column: str) -> str | None:
    if frame.empty:
        return None
    value = frame[column].iloc[0]
    return value if isinstance(value, str) else None
