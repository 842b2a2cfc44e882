"""Event-log reader throughput and memory: ``python benchmarks/bench_eventlog.py [--size-mb N]``.

Builds a big event log from a real one (a small PySpark SQL job run here, or ``--source``):
its non-task events are kept and its task-start/task-end pairs are replicated with fresh
task ids until the log reaches ``--size-mb`` of uncompressed text. The log is written plain
and in each codec Spark uses (zstd frames, lz4-java and snappy-java streams), then each is read
``--runs`` times, every run in a fresh subprocess so that its peak RSS is its own. Prints a
markdown table: median wall and CPU time (CPU time is the steadier number on a shared
machine), MB/s of uncompressed log text for each, peak RSS and peak RSS above the
interpreter's baseline (imports of pandas/numpy/profiler).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cramjam
import orjson
import zstandard

from profiler.eventlog.codecs import StreamDamage, decode
from profiler.eventlog.locate import locate

_TASK_START = b'{"Event":"SparkListenerTaskStart"'
_TASK_END = b'{"Event":"SparkListenerTaskEnd"'
_BLOCK = 64 * 1024

_SOURCE_APP = """
import sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").appName("bench-eventlog-source")
         .config("spark.ui.enabled", "false").config("spark.eventLog.enabled", "true")
         .config("spark.eventLog.dir", sys.argv[1]).config("spark.eventLog.compress", "false")
         .config("spark.eventLog.rolling.enabled", "false")
         .config("spark.sql.shuffle.partitions", "16").getOrCreate())
left = spark.range(200000, numPartitions=16).selectExpr("id", "id % 1000 AS k")
right = spark.range(1000).selectExpr("id AS k", "id * 2 AS v")
left.join(right, "k").groupBy("k").agg({"v": "sum", "id": "max"}).collect()
spark.stop()
"""

_READ_ONE = """
import json, resource, sys, time
import profiler.eventlog
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start, cpu_start = time.perf_counter(), time.process_time()
log = profiler.eventlog.read_eventlog(sys.argv[1])
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "cpu": cpu, "tasks": len(log.tasks),
                  "bad_lines": log.bad_lines, "uncompressed": log.source.uncompressed_bytes,
                  "peak_kb": peak, "baseline_kb": baseline}))
"""


def make_source_log(workdir: Path) -> Path:
    """Run a small PySpark SQL job that writes a plain single-file event log."""
    log_dir = workdir / "source"
    log_dir.mkdir()
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    subprocess.run(
        [sys.executable, "-c", _SOURCE_APP, log_dir.as_uri()],
        env=env,
        check=True,
        capture_output=True,
    )
    (log,) = [p for p in log_dir.iterdir() if not p.name.startswith(".")]
    return log


def source_lines(path: Path) -> list[bytes]:
    """The decoded lines of a real event log (any layout or codec the reader supports)."""
    log = locate(path, None, lambda _: None)
    data = bytearray()
    for part, codec in zip(log.parts, log.codecs, strict=True):
        with part.open("rb") as fh:
            for chunk in decode(fh, codec, StreamDamage()):
                data += chunk
    return bytes(data).splitlines()


def build_log(lines: list[bytes], size_mb: float, target: Path) -> tuple[int, int]:
    """Write the replicated log; returns (bytes, task-end events)."""
    head = [line for line in lines if not line.startswith((_TASK_START, _TASK_END))]
    ends = [orjson.loads(line) for line in lines if line.startswith(_TASK_END)]
    if not ends:
        raise SystemExit("the source log has no task-end events to replicate")
    app_end = [line for line in head if b'"SparkListenerApplicationEnd"' in line]
    body = [line for line in head if line not in app_end]
    limit = int(size_mb * 1e6)
    written = tasks = 0
    task_id = 10_000_000
    with target.open("wb") as out:
        for line in body:
            out.write(line + b"\n")
            written += len(line) + 1
        while written < limit:
            for event in ends:
                task_id += 1
                event["Task Info"]["Task ID"] = task_id
                start = {
                    "Event": "SparkListenerTaskStart",
                    "Stage ID": event["Stage ID"],
                    "Stage Attempt ID": event["Stage Attempt ID"],
                    "Task Info": dict(event["Task Info"], **{"Finish Time": 0}),
                }
                for record in (start, event):
                    data = orjson.dumps(record) + b"\n"
                    out.write(data)
                    written += len(data)
                tasks += 1
        for line in app_end:
            out.write(line + b"\n")
            written += len(line) + 1
    return written, tasks


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            yield block


def write_zstd(src: Path, dst: Path) -> None:
    # One frame per block, as zstd-jni writes one frame per flush.
    compressor = zstandard.ZstdCompressor(level=1)
    with dst.open("wb") as out:
        for block in _blocks(src):
            out.write(compressor.compress(block))


def write_lz4_java(src: Path, dst: Path) -> None:
    with dst.open("wb") as out:
        for block in _blocks(src):
            body = bytes(cramjam.lz4.compress_block(block, store_size=False))
            out.write(b"LZ4Block" + struct.pack("<Biii", 0x20, len(body), len(block), 0) + body)
        out.write(b"LZ4Block" + struct.pack("<Biii", 0x10, 0, 0, 0))


def write_snappy_java(src: Path, dst: Path) -> None:
    with dst.open("wb") as out:
        out.write(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
        for block in _blocks(src):
            body = bytes(cramjam.snappy.compress_raw(block))
            out.write(struct.pack(">i", len(body)) + body)


WRITERS: dict[str, Callable[[Path, Path], None]] = {
    ".zstd": write_zstd,
    ".lz4": write_lz4_java,
    ".snappy": write_snappy_java,
}


def read_once(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _READ_ONE, str(path)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=300.0, help="uncompressed log size")
    parser.add_argument("--runs", type=int, default=3, help="reads per codec (median)")
    parser.add_argument("--source", type=Path, help="a real event log to replicate")
    parser.add_argument(
        "--codecs", default="none,zstd,lz4,snappy", help="comma-separated subset to measure"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-eventlog-"))
    try:
        source = args.source or make_source_log(workdir)
        plain = workdir / "app-bench"
        size, tasks = build_log(source_lines(source), args.size_mb, plain)
        rows = []
        for codec in args.codecs.split(","):
            path = plain if codec == "none" else plain.with_name(plain.name + "." + codec)
            if codec != "none":
                WRITERS["." + codec](plain, path)
            runs = [read_once(path) for _ in range(args.runs)]
            if any(run["tasks"] != tasks or run["bad_lines"] for run in runs):
                raise SystemExit(f"{codec}: wrong task count or bad lines: {runs}")
            seconds = statistics.median(run["seconds"] for run in runs)
            cpu = statistics.median(run["cpu"] for run in runs)
            peak = max(run["peak_kb"] for run in runs) / 1024
            baseline = statistics.median(run["baseline_kb"] for run in runs) / 1024
            rows.append(
                f"| {codec} | {size / 1e6:.0f} | {path.stat().st_size / 1e6:.0f} | {tasks} "
                f"| {seconds:.2f} | {size / 1e6 / seconds:.0f} | {cpu:.2f} "
                f"| {size / 1e6 / cpu:.0f} | {peak:.0f} "
                f"| {peak - baseline:.0f} |"
            )
            if codec != "none":
                path.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"Event-log reader, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}), "
        f"median of {args.runs} runs, each in a fresh process\n"
    )
    print(
        "| codec | log MB | file MB | tasks | wall s | MB/s | CPU s | MB/CPU-s "
        "| peak RSS MB | RSS over base MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
