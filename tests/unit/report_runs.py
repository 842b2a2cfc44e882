"""Small hand-made run directories with known answers, for the report/compare/plot tests.

One driver JVM (local mode: executor "driver") with a task-runner thread 101, a Python
worker 300, and two jobs of one stage each:

- stage 0 "udf at job.py:10" (job 0): one task from 1.0 s to 1.0 s + udf_task_ms; the task
  thread waits ``worker_wait_ms`` on the Python worker socket (100 ms buckets) and the
  worker waits 200 ms on an unknown local peer.
- stage 1 "sql at job.py:20" (job 1): one task from 3.0 s to 3.5 s with 100 ms off-CPU and a
  50 ms GC pause (which claims 50 ms of the off-CPU time).

syscalls were traced for the net and io families only (futex: not captured); no samples,
no JNI. meta: self-cost 1.5%, 3 lost events, one failed probe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from profiler.rundir import RunWriter
from profiler.rundir.schema import HIST_BUCKETS

MS = 1_000_000
MONO0 = 5_000_000_000
REAL0_MS = 1_790_000_000_000
UDF_STAGE = "udf at job.py:10"
SQL_STAGE = "sql at job.py:20"


def _job(job_id: int, stage_id: int, name: str, start_ms: int, end_ms: int,
         metrics: dict[str, Any]) -> list[dict[str, Any]]:
    info = {"Stage ID": stage_id, "Stage Attempt ID": 0, "Stage Name": name,
            "Number of Tasks": 1, "Parent IDs": [], "Submission Time": REAL0_MS + start_ms}
    task = {"Task ID": stage_id, "Index": 0, "Attempt": 0, "Partition ID": 0,
            "Launch Time": REAL0_MS + start_ms, "Executor ID": "driver", "Host": "localhost",
            "Locality": "PROCESS_LOCAL", "Speculative": False}
    return [
        {"Event": "SparkListenerJobStart", "Job ID": job_id,
         "Submission Time": REAL0_MS + start_ms, "Stage Infos": [info], "Stage IDs": [stage_id]},
        {"Event": "SparkListenerStageSubmitted", "Stage Info": info},
        {"Event": "SparkListenerTaskStart", "Stage ID": stage_id, "Stage Attempt ID": 0,
         "Task Info": task},
        {"Event": "SparkListenerTaskEnd", "Stage ID": stage_id, "Stage Attempt ID": 0,
         "Task Type": "ResultTask", "Task End Reason": {"Reason": "Success"},
         "Task Info": {**task, "Finish Time": REAL0_MS + end_ms, "Failed": False,
                       "Killed": False},
         "Task Metrics": metrics},
        {"Event": "SparkListenerStageCompleted",
         "Stage Info": {**info, "Completion Time": REAL0_MS + end_ms}},
        {"Event": "SparkListenerJobEnd", "Job ID": job_id, "Completion Time": REAL0_MS + end_ms,
         "Job Result": {"Result": "JobSucceeded"}},
    ]


def write_eventlog(folder: Path, udf_task_ms: int, app_end_ms: int) -> None:
    events: list[dict[str, Any]] = [
        {"Event": "SparkListenerLogStart", "Spark Version": "4.0.0"},
        {"Event": "SparkListenerApplicationStart", "App Name": "report-test",
         "App ID": "local-42", "Timestamp": REAL0_MS, "User": "u"},
        *_job(0, 0, UDF_STAGE, 1000, 1000 + udf_task_ms,
              {"Executor Run Time": udf_task_ms - 50, "Executor CPU Time": 10 * MS,
               "JVM GC Time": 0}),
        *_job(1, 1, SQL_STAGE, 3000, 3500,
              {"Executor Run Time": 480, "Executor CPU Time": 300 * MS, "JVM GC Time": 40}),
        {"Event": "SparkListenerApplicationEnd", "Timestamp": REAL0_MS + app_end_ms},
    ]
    folder.mkdir()
    (folder / "local-42").write_text("".join(json.dumps(e) + "\n" for e in events))


def _bucket(ms: int) -> int:
    return MONO0 + ms * MS


def make_run(path: Path, worker_wait_ms: int = 600, udf_task_ms: int = 1000,
             eventlog: bool = True) -> Path:
    """A run directory at ``path`` (see the module docstring)."""
    path.mkdir(parents=True)
    app_end_ms = 4000 + udf_task_ms
    writer = RunWriter(path)
    writer.update_meta(
        clock={"start": {"monotonic_ns": MONO0, "realtime_ns": REAL0_MS * MS},
               "end": {"monotonic_ns": MONO0 + app_end_ms * MS,
                       "realtime_ns": (REAL0_MS + app_end_ms) * MS}},
        eventlog={"path": "eventlog", "app_id": "local-42"},
        options={"syscalls": ["net", "io"], "offcpu": True, "gc": True},
        self_cost={"pct": 1.5}, lost_events={"buffer": 3},
        probes={"attached": ["syscalls", "sched"], "failed": {"hotspot_jni": "no USDT"}})
    writer.append("processes", {
        "pid": [100, 250, 300], "ppid": [1, 100, 250], "start_ns": [MONO0] * 3,
        "exit_ns": [None] * 3, "exit_code": [None] * 3, "comm": ["java", "python3", "python3"],
        "exe": [None] * 3, "cmdline": ["java SparkSubmit", "python3 -m pyspark.daemon",
                                       "python3 -m pyspark.daemon"],
        "role": ["driver-jvm", "pyspark-daemon", "python-worker"],
        "executor_id": [None] * 3, "app_id": [None] * 3})
    writer.append("threads", {
        "pid": [100, 100, 300], "tid": [101, 102, 300],
        "name": ["Executor task launch worker for task 0", "shuffle-client-1", "python3"],
        "role": ["task-runner", "shuffle", "python-main"],
        "start_ns": [None] * 3, "end_ns": [None] * 3})
    waits = [min(100, worker_wait_ms - done) for done in range(0, worker_wait_ms, 100)]
    rows = [(1000 + 100 * i, 100, 101, "python-worker", wait) for i, wait in enumerate(waits)]
    rows.append((1700, 300, 300, "unknown", 200))
    writer.append("network", {
        "bucket_ns": [_bucket(r[0]) for r in rows], "pid": [r[1] for r in rows],
        "tid": [r[2] for r in rows], "fd": [7] * len(rows),
        "local_addr": ["127.0.0.1"] * len(rows), "local_port": [40000] * len(rows),
        "remote_addr": ["127.0.0.1"] * len(rows), "remote_port": [41000] * len(rows),
        "peer_class": [r[3] for r in rows], "bytes_sent": [10] * len(rows),
        "bytes_received": [10] * len(rows), "send_calls": [1] * len(rows),
        "recv_calls": [1] * len(rows), "send_ns": [0] * len(rows),
        "recv_ns": [r[4] * MS for r in rows]})
    writer.append("offcpu", {"bucket_ns": [_bucket(3100)], "pid": [100], "tid": [101],
                             "state": ["sleeping"], "count": [4], "total_ns": [100 * MS],
                             "max_ns": [40 * MS]})
    writer.append("gc", {"pid": [100], "tid": [5], "start_ns": [_bucket(3200)],
                         "end_ns": [_bucket(3250)], "duration_ns": [50 * MS], "kind": ["gc"],
                         "pool": [None]})
    hist = np.zeros((2, HIST_BUCKETS), dtype=np.int64)
    hist[0, 12], hist[1, 28] = 5, 1
    writer.append("syscalls", {
        "bucket_ns": [_bucket(1000), _bucket(1100)], "pid": [100, 300], "tid": [101, 300],
        "syscall": ["read", "recvfrom"], "family": ["io", "net"], "calls": [5, 1],
        "errors": [0, 0], "total_ns": [20_000, 200 * MS], "max_ns": [5_000, 200 * MS],
        "bytes": [500, 1], "hist": hist})
    writer.close("complete")
    if eventlog:
        write_eventlog(path / "eventlog", udf_task_ms, app_end_ms)
    return path
