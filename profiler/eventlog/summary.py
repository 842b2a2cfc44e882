"""A summary of an ``EventLog``: one JSON-ready dict, and a plain-text rendering of it.

The dict's keys are a stable interface (``sparkprof eventlog --json``); ``SCHEMA`` changes
when a key changes meaning or goes away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from profiler.eventlog.model import EventLog

SCHEMA = "sparkprof.eventlog.summary/1"
# The text view lists at most this many stages (the ones with the most executor run time).
TEXT_STAGE_LIMIT = 40


def summarize(log: EventLog) -> dict[str, Any]:
    """JSON-ready summary of ``log`` (times as ISO 8601 UTC strings, durations in ms)."""
    tasks, stages, jobs = log.tasks, log.stages, log.jobs
    app = log.app.iloc[0] if not log.app.empty else None
    per_stage = _per_stage_tasks(tasks)
    return {
        "schema": SCHEMA,
        "source": {
            "path": str(log.source.path),
            "files": [str(f) for f in log.source.files],
            "layout": log.source.layout,
            "codec": log.source.codec,
            "in_progress": log.source.in_progress,
            "uncompressed_bytes": log.source.uncompressed_bytes,
        },
        "app": {
            "app_id": _value(app, "app_id"),
            "attempt_id": _value(app, "attempt_id"),
            "name": _value(app, "name"),
            "user": _value(app, "user"),
            "spark_version": log.spark_version,
            "master": _value(app, "master"),
            "start_time": _value(app, "start_time"),
            "end_time": _value(app, "end_time"),
            "duration_ms": _value(app, "duration"),
            "complete": bool(app["complete"]) if app is not None else False,
        },
        "bad_lines": log.bad_lines,
        "warnings": list(log.warnings),
        "counts": {
            "jobs": len(jobs),
            "failed_jobs": int((jobs["status"] == "failed").sum()),
            "stages": int((stages["status"] != "skipped").sum()),
            "failed_stages": int((stages["status"] == "failed").sum()),
            "skipped_stages": int((stages["status"] == "skipped").sum()),
            "task_attempts": len(tasks),
            "failed_task_attempts": int(tasks["failed"].sum()),
            "killed_task_attempts": int(tasks["killed"].sum()),
            "executors": len(log.executors),
            "sql_executions": len(log.sql),
        },
        "jobs": [
            {
                "job_id": _json(job.job_id),
                "name": job.name,
                "status": job.status,
                "submission_time": _json(job.submission_time),
                "completion_time": _json(job.completion_time),
                "duration_ms": _json(job.duration),
                "stage_ids": [int(s) for s in job.stage_ids],  # type: ignore[union-attr]
                "sql_execution_id": _json(job.sql_execution_id),
                "failure_reason": job.failure_reason,
            }
            for job in jobs.itertuples(index=False)
        ],
        "stages": [_stage_entry(stage, per_stage) for stage in stages.itertuples(index=False)],
        "executors": [
            {
                "executor_id": executor.executor_id,
                "host": executor.host,
                "cores": _json(executor.cores),
                "added_time": _json(executor.added_time),
                "removed_time": _json(executor.removed_time),
                "removed_reason": executor.removed_reason,
            }
            for executor in log.executors.itertuples(index=False)
        ],
    }


def _per_stage_tasks(tasks: pd.DataFrame) -> dict[tuple[int, int], dict[Any, Any]]:
    grouped = tasks.groupby(["stage_id", "stage_attempt"], sort=False)
    table = grouped.agg(
        task_attempts=("task_id", "size"),
        failed=("failed", "sum"),
        killed=("killed", "sum"),
        run_time=("executor_run_time", "sum"),
        cpu_time=("executor_cpu_time", "sum"),
        gc_time=("jvm_gc_time", "sum"),
    ).reset_index()
    return {
        (int(row["stage_id"]), int(row["stage_attempt"])): row for row in table.to_dict("records")
    }


def _stage_entry(stage: Any, per_stage: dict[tuple[int, int], dict[Any, Any]]) -> dict[str, Any]:
    agg = per_stage.get((int(stage.stage_id), int(stage.attempt)), {})
    return {
        "stage_id": int(stage.stage_id),
        "attempt": int(stage.attempt),
        "name": stage.name,
        "status": stage.status,
        "num_tasks": _json(stage.num_tasks),
        "task_attempts": int(agg.get("task_attempts", 0)),
        "failed_task_attempts": int(agg.get("failed", 0)),
        "killed_task_attempts": int(agg.get("killed", 0)),
        "executor_run_time_ms": float(agg.get("run_time", 0.0)),
        "executor_cpu_time_ms": float(agg.get("cpu_time", 0.0)),
        "jvm_gc_time_ms": float(agg.get("gc_time", 0.0)),
        "submission_time": _json(stage.submission_time),
        "completion_time": _json(stage.completion_time),
        "duration_ms": _json(stage.duration),
        "job_id": _json(stage.job_id),
        "failure_reason": _first_line(stage.failure_reason),
    }


def _value(row: pd.Series | None, column: str) -> Any:
    return None if row is None else _json(row[column])


def _json(value: Any) -> Any:
    """A DataFrame cell as a JSON value: NaN/NaT/NA -> None, Timestamps -> ISO 8601."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return _json(value.item())
    return value


def _first_line(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip().splitlines()[0]


def render_text(summary: dict[str, Any]) -> str:
    """The summary as a few aligned plain-text lines and tables."""
    app, counts, source = summary["app"], summary["counts"], summary["source"]
    parts = len(source["files"])
    lines = [
        f"Event log   {source['path']}  ({source['layout']}, codec {source['codec']}, "
        f"{parts} file{'s' if parts != 1 else ''}"
        f"{', in progress' if source['in_progress'] else ''})",
        f"App         {app['name']} ({app['app_id']}), user {app['user']}, "
        f"Spark {app['spark_version']}, master {app['master']}",
        f"Time        {_time(app['start_time'])} -> {_time(app['end_time'])}"
        f"  ({_seconds(app['duration_ms'])})",
        f"Jobs        {counts['jobs']} ({counts['failed_jobs']} failed)",
        f"Stages      {counts['stages']} run ({counts['failed_stages']} failed), "
        f"{counts['skipped_stages']} skipped",
        f"Tasks       {counts['task_attempts']} attempts ({counts['failed_task_attempts']} "
        f"failed, {counts['killed_task_attempts']} killed)",
        f"SQL         {counts['sql_executions']} executions",
    ]
    if summary["bad_lines"]:
        lines.append(f"Bad lines   {summary['bad_lines']} malformed or truncated lines skipped")
    lines.extend(f"Warning     {warning}" for warning in summary["warnings"])
    lines += ["", *_stage_table(summary["stages"]), "", *_executor_table(summary["executors"])]
    return "\n".join(lines)


def _stage_table(stages: list[dict[str, Any]]) -> list[str]:
    shown = [s for s in stages if s["status"] != "skipped"]
    note = []
    if len(shown) > TEXT_STAGE_LIMIT:
        note = [
            f"(the {TEXT_STAGE_LIMIT} of {len(shown)} stages with the most executor run "
            "time; --json lists all)"
        ]
        top = sorted(shown, key=lambda s: -s["executor_run_time_ms"])[:TEXT_STAGE_LIMIT]
        shown = sorted(top, key=lambda s: (s["stage_id"], s["attempt"]))
    header = ("stage", "att", "status", "tasks", "attempts", "failed", "run time", "name")
    rows = [
        (
            str(s["stage_id"]),
            str(s["attempt"]),
            s["status"],
            "-" if s["num_tasks"] is None else str(s["num_tasks"]),
            str(s["task_attempts"]),
            str(s["failed_task_attempts"]),
            _seconds(s["executor_run_time_ms"]),
            _clip(str(s["name"] or ""), 60),
        )
        for s in shown
    ]
    return ["Stages", *_table(header, rows), *note]


def _executor_table(executors: list[dict[str, Any]]) -> list[str]:
    header = ("executor", "host", "cores", "added", "removed", "reason")
    rows = [
        (
            str(e["executor_id"]),
            str(e["host"] or "-"),
            "-" if e["cores"] is None else str(e["cores"]),
            _time(e["added_time"]),
            _time(e["removed_time"]),
            _clip(str(e["removed_reason"] or ""), 50),
        )
        for e in executors
    ]
    return ["Executors", *_table(header, rows)]


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    numeric = {"att", "tasks", "attempts", "failed", "run time", "stage", "cores"}

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if name in numeric else cell.ljust(w)
            for cell, w, name in zip(cells, widths, header, strict=True)
        ).rstrip()

    return [fmt(header), *(fmt(row) for row in rows)]


def _time(iso: str | None) -> str:
    if iso is None:
        return "-"
    return pd.Timestamp(iso).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def _clip(text: str, width: int) -> str:
    # Cut the middle: call sites read "count at /long/path/app.py:30", both ends matter.
    text = text.replace("\n", " ")
    if len(text) <= width:
        return text
    head = width // 3
    return text[:head] + "…" + text[len(text) - (width - head - 1) :]
