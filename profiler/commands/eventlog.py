"""``sparkprof eventlog PATH [--app-id ID] [--json]``: summarize a Spark event log."""

from __future__ import annotations

import json

import click

from profiler.eventlog import read_eventlog
from profiler.eventlog.summary import render_text, summarize


@click.command(name="eventlog")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--app-id", default=None, help="Application to read when PATH holds several logs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def command(path: str, app_id: str | None, as_json: bool) -> None:
    """Summarize the Spark event log at PATH: application, jobs, stages with their task
    attempts, failed tasks and executor run time, and executors.

    PATH is a log file (plain, .zstd, .lz4, .snappy; .inprogress allowed), a rolling
    eventlog_v2_* directory, or a directory of logs (spark.eventLog.dir): then the log of
    --app-id, else the newest application.

    \b
    --json prints one object with these keys (schema "sparkprof.eventlog.summary/1"):
      schema      "sparkprof.eventlog.summary/1"
      source      path, files, layout ("file"|"rolling"), codec, in_progress,
                  uncompressed_bytes
      app         app_id, attempt_id, name, user, spark_version, master, start_time,
                  end_time, duration_ms, complete
      bad_lines   malformed or truncated lines skipped
      warnings    damage found (compressed streams cut short, ...)
      counts      jobs, failed_jobs, stages (run), failed_stages, skipped_stages,
                  task_attempts, failed_task_attempts, killed_task_attempts, executors,
                  sql_executions
      jobs[]      job_id, name, status, submission_time, completion_time, duration_ms,
                  stage_ids, sql_execution_id, failure_reason
      stages[]    stage_id, attempt, name, status, num_tasks, task_attempts,
                  failed_task_attempts, killed_task_attempts, executor_run_time_ms,
                  executor_cpu_time_ms, jvm_gc_time_ms, submission_time, completion_time,
                  duration_ms, job_id, failure_reason (first line)
      executors[] executor_id, host, cores, added_time, removed_time, removed_reason
    Times are ISO 8601 UTC strings, durations milliseconds, unknown values null.
    """
    summary = summarize(read_eventlog(path, app_id=app_id))
    if as_json:
        click.echo(json.dumps(summary, indent=None, sort_keys=False))
    else:
        click.echo(render_text(summary))
