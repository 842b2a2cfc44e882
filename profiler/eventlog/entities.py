"""The small tables of an event log: application, jobs, stages, executors and SQL queries.

These events are few (one per job, stage, executor or query), so each is kept as a small
record until the end; only task events need the lean path in ``tasks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from profiler.eventlog.columns import datetimes, duration_ms, nullable_ints, objects


@dataclass
class _Job:
    job_id: int
    submission_time: int | None = None
    completion_time: int | None = None
    result: str | None = None
    failure_reason: str | None = None
    stage_ids: list[int] = field(default_factory=list)
    num_tasks: int = 0
    name: str | None = None
    sql_execution_id: int | None = None
    job_group: str | None = None
    description: str | None = None


@dataclass
class _Stage:
    stage_id: int
    attempt: int
    name: str | None = None
    num_tasks: int | None = None
    parent_ids: list[int] = field(default_factory=list)
    submitted: bool = False
    submission_time: int | None = None
    completion_time: int | None = None
    failure_reason: str | None = None


@dataclass
class _Executor:
    executor_id: str
    host: str | None = None
    cores: int | None = None
    added_time: int | None = None
    removed_time: int | None = None
    removed_reason: str | None = None
    max_memory: int | None = None
    resource_profile_id: int | None = None


@dataclass
class _Query:
    execution_id: int
    root_execution_id: int | None = None
    description: str | None = None
    details: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    error_message: str | None = None
    query_id: str | None = None


def _text(value: Any) -> str | None:
    """A string field of an event as str (or None): event JSON is not trusted to be typed."""
    return value if isinstance(value, str) or value is None else str(value)


def _id(value: Any) -> int:
    """An id field (job, stage, attempt, execution): an int64-sized int, else ValueError."""
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise ValueError(f"not an id: {value!r}")
    return value


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class EntityTables:
    """Accumulates every event except the task ones; ``frames()`` builds the DataFrames."""

    def __init__(self) -> None:
        self.spark_version: str | None = None
        self.spark_properties: dict[str, str] = {}
        self.app: dict[str, Any] = {}
        self.jobs: dict[int, _Job] = {}
        self.stages: dict[tuple[int, int], _Stage] = {}
        self.stage_jobs: dict[int, list[int]] = {}
        self.executors: dict[str, _Executor] = {}
        self.queries: dict[int, _Query] = {}

    # --- application -------------------------------------------------------------------
    def log_start(self, event: dict[str, Any]) -> None:
        self.spark_version = _text(event["Spark Version"])

    def application_start(self, event: dict[str, Any]) -> None:
        self.app.update(
            app_id=_text(event.get("App ID")),
            attempt_id=_text(event.get("App Attempt ID")),
            name=_text(event.get("App Name")),
            user=_text(event.get("User")),
            start_time=event.get("Timestamp"),
        )

    def application_end(self, event: dict[str, Any]) -> None:
        self.app.update(end_time=event.get("Timestamp"), exit_code=event.get("ExitCode"))
        self.app["complete"] = True

    def environment_update(self, event: dict[str, Any]) -> None:
        props = event.get("Spark Properties") or {}
        if isinstance(props, list):  # Spark < 3.4 wrote [key, value] pairs
            props = dict(props)
        self.spark_properties = {str(k): str(v) for k, v in props.items()}

    # --- jobs and stages -----------------------------------------------------------------
    def job_start(self, event: dict[str, Any]) -> None:
        job = _Job(job_id=_id(event["Job ID"]), submission_time=event.get("Submission Time"))
        props = event.get("Properties") or {}
        job.name = _text(props.get("callSite.short"))
        job.sql_execution_id = _int_or_none(props.get("spark.sql.execution.id"))
        job.job_group = _text(props.get("spark.jobGroup.id"))
        job.description = _text(props.get("spark.job.description"))
        infos = event.get("Stage Infos") or []
        job.stage_ids = [_id(s) for s in event.get("Stage IDs", [i["Stage ID"] for i in infos])]
        for info in infos:
            stage = self._stage(info)
            if type(stage.num_tasks) is int:
                job.num_tasks += stage.num_tasks
        if job.name is None and infos:
            job.name = _text(max(infos, key=lambda info: _id(info["Stage ID"])).get("Stage Name"))
        for stage_id in job.stage_ids:
            self.stage_jobs.setdefault(stage_id, []).append(job.job_id)
        self.jobs[job.job_id] = job

    def job_end(self, event: dict[str, Any]) -> None:
        job_id = _id(event["Job ID"])
        job = self.jobs.setdefault(job_id, _Job(job_id=job_id))
        job.completion_time = event.get("Completion Time")
        result = event.get("Job Result") or {}
        job.result = _text(result.get("Result"))
        exception = result.get("Exception") or {}
        job.failure_reason = _text(exception.get("Message"))

    def stage_submitted(self, event: dict[str, Any]) -> None:
        stage = self._stage(event["Stage Info"])
        stage.submitted = True

    def stage_completed(self, event: dict[str, Any]) -> None:
        self._stage(event["Stage Info"]).submitted = True

    def _stage(self, info: dict[str, Any]) -> _Stage:
        key = (_id(info["Stage ID"]), _id(info.get("Stage Attempt ID", 0)))
        stage = self.stages.get(key)
        if stage is None:
            stage = self.stages[key] = _Stage(stage_id=key[0], attempt=key[1])
        stage.name = _text(info.get("Stage Name", stage.name))
        stage.num_tasks = info.get("Number of Tasks", stage.num_tasks)
        stage.parent_ids = list(info.get("Parent IDs", stage.parent_ids))
        stage.submission_time = info.get("Submission Time", stage.submission_time)
        stage.completion_time = info.get("Completion Time", stage.completion_time)
        stage.failure_reason = _text(info.get("Failure Reason", stage.failure_reason))
        return stage

    # --- executors ----------------------------------------------------------------------
    def executor_added(self, event: dict[str, Any]) -> None:
        executor = self._executor(event["Executor ID"])
        info = event.get("Executor Info") or {}
        executor.host = _text(info.get("Host", executor.host))
        executor.cores = info.get("Total Cores", executor.cores)
        executor.resource_profile_id = info.get("Resource Profile Id", 0)
        executor.added_time = event.get("Timestamp")

    def executor_removed(self, event: dict[str, Any]) -> None:
        executor = self._executor(event["Executor ID"])
        executor.removed_time = event.get("Timestamp")
        executor.removed_reason = _text(event.get("Removed Reason"))

    def block_manager_added(self, event: dict[str, Any]) -> None:
        manager = event["Block Manager ID"]
        executor = self._executor(manager["Executor ID"])
        executor.host = executor.host or _text(manager.get("Host"))
        executor.max_memory = event.get("Maximum Memory", executor.max_memory)

    def _executor(self, executor_id: Any) -> _Executor:
        key = str(executor_id)
        executor = self.executors.get(key)
        if executor is None:
            executor = self.executors[key] = _Executor(executor_id=key)
        return executor

    # --- SQL -----------------------------------------------------------------------------
    def sql_start(self, event: dict[str, Any]) -> None:
        query = self._query(event["executionId"])
        query.root_execution_id = _int_or_none(event.get("rootExecutionId"))
        query.description = _text(event.get("description"))
        query.details = _text(event.get("details"))
        query.start_time = event.get("time")
        query.query_id = _text(event.get("queryId"))

    def sql_end(self, event: dict[str, Any]) -> None:
        query = self._query(event["executionId"])
        query.end_time = event.get("time")
        query.error_message = _text(event.get("errorMessage")) or None

    def _query(self, execution_id: Any) -> _Query:
        key = _id(execution_id)
        query = self.queries.get(key)
        if query is None:
            query = self.queries[key] = _Query(execution_id=key)
        return query

    # --- DataFrames ------------------------------------------------------------------------
    def app_frame(self) -> pd.DataFrame:
        app = self.app
        start = datetimes([app.get("start_time")])
        end = datetimes([app.get("end_time")])
        if not app:
            start, end = start[:0], end[:0]
        rows = 1 if app else 0
        return pd.DataFrame(
            {
                "app_id": objects([app.get("app_id")] * rows),
                "attempt_id": objects([app.get("attempt_id")] * rows),
                "name": objects([app.get("name")] * rows),
                "user": objects([app.get("user")] * rows),
                "spark_version": objects([self.spark_version] * rows),
                "master": objects([self.spark_properties.get("spark.master")] * rows),
                "start_time": start,
                "end_time": end,
                "duration": duration_ms(start, end),
                "exit_code": nullable_ints([_int_or_none(app.get("exit_code"))] * rows),
                "complete": [bool(app.get("complete"))] * rows,
            }
        )

    def jobs_frame(self) -> pd.DataFrame:
        jobs = sorted(self.jobs.values(), key=lambda j: j.job_id)
        start = datetimes([j.submission_time for j in jobs])
        end = datetimes([j.completion_time for j in jobs])
        return pd.DataFrame(
            {
                "job_id": pd.array([j.job_id for j in jobs], dtype="int64"),
                "name": objects([j.name for j in jobs]),
                "submission_time": start,
                "completion_time": end,
                "duration": duration_ms(start, end),
                "status": objects([_job_status(j) for j in jobs]),
                "failure_reason": objects([j.failure_reason for j in jobs]),
                "stage_ids": objects([j.stage_ids for j in jobs]),
                "num_stages": pd.array([len(j.stage_ids) for j in jobs], dtype="int64"),
                "num_tasks": nullable_ints([j.num_tasks for j in jobs]),
                "sql_execution_id": nullable_ints([j.sql_execution_id for j in jobs]),
                "job_group": objects([j.job_group for j in jobs]),
                "description": objects([j.description for j in jobs]),
            }
        )

    def stages_frame(self) -> pd.DataFrame:
        stages = sorted(self.stages.values(), key=lambda s: (s.stage_id, s.attempt))
        start = datetimes([s.submission_time for s in stages])
        end = datetimes([s.completion_time for s in stages])
        job_ids = [sorted(set(self.stage_jobs.get(s.stage_id, []))) for s in stages]
        return pd.DataFrame(
            {
                "stage_id": pd.array([s.stage_id for s in stages], dtype="int64"),
                "attempt": pd.array([s.attempt for s in stages], dtype="int64"),
                "name": objects([s.name for s in stages]),
                "num_tasks": nullable_ints([s.num_tasks for s in stages]),
                "parent_ids": objects([s.parent_ids for s in stages]),
                "submission_time": start,
                "completion_time": end,
                "duration": duration_ms(start, end),
                "status": objects([self._stage_status(s) for s in stages]),
                "failure_reason": objects([s.failure_reason for s in stages]),
                "job_id": nullable_ints([ids[0] if ids else None for ids in job_ids]),
                "job_ids": objects(job_ids),
            }
        )

    def _stage_status(self, stage: _Stage) -> str:
        if stage.failure_reason is not None:
            return "failed"
        if stage.completion_time is not None:
            return "complete"
        if stage.submitted:
            return "active"
        jobs = [self.jobs.get(j) for j in self.stage_jobs.get(stage.stage_id, [])]
        if jobs and all(j is not None and j.completion_time is not None for j in jobs):
            return "skipped"
        return "pending"

    def executors_frame(self) -> pd.DataFrame:
        executors = sorted(self.executors.values(), key=_executor_order)
        return pd.DataFrame(
            {
                "executor_id": objects([e.executor_id for e in executors]),
                "host": objects([e.host for e in executors]),
                "cores": nullable_ints([e.cores for e in executors]),
                "added_time": datetimes([e.added_time for e in executors]),
                "removed_time": datetimes([e.removed_time for e in executors]),
                "removed_reason": objects([e.removed_reason for e in executors]),
                "max_memory": nullable_ints([e.max_memory for e in executors]),
                "resource_profile_id": nullable_ints([e.resource_profile_id for e in executors]),
            }
        )

    def sql_frame(self) -> pd.DataFrame:
        queries = sorted(self.queries.values(), key=lambda q: q.execution_id)
        start = datetimes([q.start_time for q in queries])
        end = datetimes([q.end_time for q in queries])
        jobs_by_query: dict[int, list[int]] = {}
        for job in sorted(self.jobs.values(), key=lambda j: j.job_id):
            if job.sql_execution_id is not None:
                jobs_by_query.setdefault(job.sql_execution_id, []).append(job.job_id)
        return pd.DataFrame(
            {
                "execution_id": pd.array([q.execution_id for q in queries], dtype="int64"),
                "root_execution_id": nullable_ints([q.root_execution_id for q in queries]),
                "description": objects([q.description for q in queries]),
                "details": objects([q.details for q in queries]),
                "start_time": start,
                "end_time": end,
                "duration": duration_ms(start, end),
                "error_message": objects([q.error_message for q in queries]),
                "query_id": objects([q.query_id for q in queries]),
                "job_ids": objects([jobs_by_query.get(q.execution_id, []) for q in queries]),
            }
        )


def _job_status(job: _Job) -> str:
    if job.completion_time is None and job.result is None:
        return "running"
    return "succeeded" if job.result == "JobSucceeded" else "failed"


def _executor_order(executor: _Executor) -> tuple[int, int, str]:
    # The driver first, then numeric ids in numeric order.
    key = executor.executor_id
    if key == "driver":
        return (0, 0, key)
    return (1, int(key), key) if key.isdigit() else (2, 0, key)
