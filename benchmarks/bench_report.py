"""How long ``sparkprof report`` (text, json) and ``profiler.load`` take on a big run.

Synthesizes a run directory: 1,000 stages (one job each, 4 tasks on 2 executors' worth of
task-runner threads of the driver JVM, as in local mode), a matching Spark event log written
as JSON lines in Spark's own format, and N syscall aggregate rows (default 10 million) spread
over the run's 100 ms buckets, plus off-CPU and network rows for the task threads. Then it
times, each in a fresh process, ``--repeat`` times (median):

- load: ``profiler.load(DIR)`` plus the first access to ``syscalls`` (what a notebook does),
  timed inside the process (interpreter start and imports excluded, as a notebook has them);
- report text / report json: ``sparkprof report DIR --format F -o FILE``, end to end as a
  user runs it (interpreter start and imports included).

Prints wall and CPU (user + system) seconds. The machine is shared (2 cores, other jobs
running): wall time swings with the neighbours, CPU time is the fair number to compare with
the targets (report < 10 s, load < 2 s).

    .venv/bin/python benchmarks/bench_report.py [--rows 10000000] [--stages 1000]
        [--repeat 3] [--dir D] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from profiler.rundir import RunWriter
from profiler.rundir.schema import HIST_BUCKETS

MS = 1_000_000
MONO0 = 1_000 * 1_000_000_000
REAL0_MS = 1_790_000_000_000
STAGE_MS = 1_000  # every stage runs 1 s of wall time
TASKS = 4
JVM, WORKER = 100, 200
RUNNERS = (101, 102)  # two task-runner threads (local[2])
OTHER_TIDS = tuple(range(110, 150))  # shuffle, rpc, gc, ... threads
NAMES = np.array(["read", "write", "recvfrom", "sendto", "epoll_wait", "futex", "openat",
                  "close", "poll", "lseek"], dtype=object)
FAMILIES = np.array(["io", "io", "net", "net", "other", "other", "io", "other", "other", "io"],
                    dtype=object)


def _stage_events(stage: int) -> list[dict[str, Any]]:
    start = REAL0_MS + 1_000 + stage * STAGE_MS
    info = {"Stage ID": stage, "Stage Attempt ID": 0, "Stage Name": f"collect at job.py:{stage}",
            "Number of Tasks": TASKS, "Parent IDs": [], "Submission Time": start}
    events: list[dict[str, Any]] = [
        {"Event": "SparkListenerJobStart", "Job ID": stage, "Submission Time": start,
         "Stage Infos": [info], "Stage IDs": [stage]},
        {"Event": "SparkListenerStageSubmitted", "Stage Info": info},
    ]
    for task in range(TASKS):
        task_id = stage * TASKS + task
        launch = start + (task // 2) * (STAGE_MS // 2)
        task_info = {"Task ID": task_id, "Index": task, "Attempt": 0, "Partition ID": task,
                     "Launch Time": launch, "Executor ID": "driver", "Host": "localhost",
                     "Locality": "PROCESS_LOCAL", "Speculative": False}
        events.append({"Event": "SparkListenerTaskStart", "Stage ID": stage,
                       "Stage Attempt ID": 0, "Task Info": task_info})
        events.append({
            "Event": "SparkListenerTaskEnd", "Stage ID": stage, "Stage Attempt ID": 0,
            "Task Type": "ResultTask", "Task End Reason": {"Reason": "Success"},
            "Task Info": {**task_info, "Finish Time": launch + STAGE_MS // 2 - 10,
                          "Failed": False, "Killed": False},
            "Task Metrics": {"Executor Run Time": STAGE_MS // 2 - 20,
                             "Executor CPU Time": 200 * MS, "JVM GC Time": 5}})
    end = start + STAGE_MS - 5
    events.append({"Event": "SparkListenerStageCompleted",
                   "Stage Info": {**info, "Completion Time": end}})
    events.append({"Event": "SparkListenerJobEnd", "Job ID": stage, "Completion Time": end,
                   "Job Result": {"Result": "JobSucceeded"}})
    return events


def write_eventlog(folder: Path, stages: int) -> None:
    folder.mkdir()
    with open(folder / "local-1", "wb") as out:
        head = [{"Event": "SparkListenerLogStart", "Spark Version": "4.0.0"},
                {"Event": "SparkListenerApplicationStart", "App Name": "bench",
                 "App ID": "local-1", "Timestamp": REAL0_MS, "User": "bench"}]
        for event in head:
            out.write(orjson.dumps(event) + b"\n")
        for stage in range(stages):
            for event in _stage_events(stage):
                out.write(orjson.dumps(event) + b"\n")
        out.write(orjson.dumps({"Event": "SparkListenerApplicationEnd",
                                "Timestamp": REAL0_MS + 2_000 + stages * STAGE_MS}) + b"\n")


def _processes(writer: RunWriter) -> None:
    writer.append("processes", {
        "pid": [JVM, WORKER], "ppid": [1, JVM], "start_ns": [MONO0, MONO0],
        "exit_ns": [None, None], "exit_code": [None, None], "comm": ["java", "python3"],
        "exe": [None, None], "cmdline": ["java SparkSubmit", "python3 -m pyspark.worker"],
        "role": ["driver-jvm", "python-worker"], "executor_id": [None, None],
        "app_id": [None, None]})
    tids = [*RUNNERS, *OTHER_TIDS, WORKER]
    writer.append("threads", {
        "pid": [JVM] * (len(tids) - 1) + [WORKER], "tid": tids,
        "name": [f"Executor task launch worker for task {t}" if t in RUNNERS else f"t{t}"
                 for t in tids],
        "role": ["task-runner"] * len(RUNNERS) + ["shuffle"] * len(OTHER_TIDS) + ["python-main"],
        "start_ns": [None] * len(tids), "end_ns": [None] * len(tids)})


def write_run(run_dir: Path, rows: int, stages: int, part_rows: int = 500_000) -> None:
    rng = np.random.default_rng(1)
    run_ns = (stages * STAGE_MS + 2_000) * MS
    buckets = run_ns // (100 * MS)
    tids = np.array([*RUNNERS, *OTHER_TIDS, WORKER], dtype=np.int32)
    with RunWriter(run_dir, max_buffered_rows=part_rows) as writer:
        writer.update_meta(clock={"start": {"monotonic_ns": MONO0, "realtime_ns": REAL0_MS * MS},
                                  "end": {"monotonic_ns": MONO0 + run_ns,
                                          "realtime_ns": REAL0_MS * MS + run_ns}},
                           eventlog={"path": "eventlog", "app_id": "local-1"},
                           options={"syscalls": ["net", "io", "other"], "offcpu": True},
                           self_cost={"pct": 2.5}, lost_events={"buffer": 0},
                           probes={"attached": ["syscalls"], "failed": {}})
        _processes(writer)
        for start in range(0, rows, part_rows):
            n = min(part_rows, rows - start)
            hist = np.zeros((n, HIST_BUCKETS), dtype=np.int64)
            slot = rng.integers(8, 20, n)
            hist[np.arange(n), slot] = rng.integers(1, 100, n)
            which = rng.integers(0, len(NAMES), n)
            tid = tids[rng.integers(0, len(tids), n)]
            writer.append("syscalls", {
                "bucket_ns": MONO0 + (np.arange(start, start + n) * buckets // rows) * 100 * MS,
                "pid": np.where(tid == WORKER, WORKER, JVM).astype(np.int32), "tid": tid,
                "syscall": NAMES[which], "family": FAMILIES[which],
                "calls": rng.integers(1, 100, n), "errors": np.zeros(n, np.int64),
                "total_ns": rng.integers(1000, 10**5, n), "max_ns": rng.integers(1000, 10**5, n),
                "bytes": rng.integers(0, 10**5, n), "hist": hist})
        bucket_starts = MONO0 + np.arange(buckets) * 100 * MS
        for thread in (*RUNNERS, WORKER):
            pid = WORKER if thread == WORKER else JVM
            writer.append("offcpu", {
                "bucket_ns": bucket_starts, "pid": np.full(buckets, pid, np.int32),
                "tid": np.full(buckets, thread, np.int32), "state": ["sleeping"] * buckets,
                "count": np.full(buckets, 10), "total_ns": np.full(buckets, 30 * MS),
                "max_ns": np.full(buckets, 5 * MS)})
            writer.append("network", {
                "bucket_ns": bucket_starts, "pid": np.full(buckets, pid, np.int32),
                "tid": np.full(buckets, thread, np.int32), "fd": np.full(buckets, 9, np.int32),
                "local_addr": ["127.0.0.1"] * buckets, "local_port": np.full(buckets, 1, np.int32),
                "remote_addr": ["127.0.0.1"] * buckets,
                "remote_port": np.full(buckets, 2, np.int32),
                "peer_class": ["python-worker"] * buckets, "bytes_sent": np.full(buckets, 100),
                "bytes_received": np.full(buckets, 100), "send_calls": np.ones(buckets, np.int64),
                "recv_calls": np.ones(buckets, np.int64), "send_ns": np.full(buckets, MS),
                "recv_ns": np.full(buckets, 20 * MS)})
        writer.close("complete")
    write_eventlog(run_dir / "eventlog", stages)


_LOAD = """
import sys, time
import pandas, pyarrow.parquet, profiler  # imports are not what is measured
wall, cpu = time.perf_counter(), time.process_time()
rows = len(profiler.load(sys.argv[1]).syscalls)
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def timed_load(run_dir: Path) -> tuple[float, float]:
    """(wall s, CPU s) of load + first syscalls access, measured inside a fresh process."""
    out = subprocess.run([sys.executable, "-c", _LOAD, str(run_dir)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _import_cost() -> tuple[float, float]:
    return timed([sys.executable, "-c", "import pandas, pyarrow.parquet, profiler"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--stages", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="use (or create) this run directory")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-report-"))
    run_dir = args.dir or scratch / "run"
    try:
        if not (run_dir / "meta.json").exists():
            started = time.perf_counter()
            run_dir.mkdir(parents=True, exist_ok=True)
            write_run(run_dir, args.rows, args.stages)
            print(f"wrote {run_dir} ({args.rows:,} syscall rows, {args.stages:,} stages) in "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        sparkprof = str(Path(sys.executable).with_name("sparkprof"))
        commands = {
            "report --format text": [sparkprof, "report", str(run_dir), "-q", "--force",
                                     "-o", str(scratch / "r.txt")],
            "report --format json": [sparkprof, "report", str(run_dir), "-q", "--force",
                                     "--format", "json", "-o", str(scratch / "r.json")],
        }
        print("| what | wall s (median) | CPU s (median) | runs |")
        print("|---|---:|---:|---:|")
        base = [_import_cost() for _ in range(args.repeat)]
        print(f"| python + imports only | {statistics.median(b[0] for b in base):.2f} | "
              f"{statistics.median(b[1] for b in base):.2f} | {args.repeat} |")
        loads = [timed_load(run_dir) for _ in range(args.repeat)]
        print(f"| load + syscalls, in process | {statistics.median(x[0] for x in loads):.2f} | "
              f"{statistics.median(x[1] for x in loads):.2f} | {args.repeat} |", flush=True)
        for name, argv in commands.items():
            runs = [timed(argv) for _ in range(args.repeat)]
            print(f"| {name} | {statistics.median(r[0] for r in runs):.2f} | "
                  f"{statistics.median(r[1] for r in runs):.2f} | {args.repeat} |", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
