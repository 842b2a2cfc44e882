"""Write real Spark event logs for the reader's tests: one application per layout and codec.

Usage: python generate_spark_logs.py OUT_DIR

Runs every application in this one Python process (one JVM: later SparkContexts reuse the
Py4J gateway and pick up their own conf). Each application runs the same jobs:
  job 0  2 tasks; partition 0 raises on its first attempt and succeeds on the retry
  job 1  reduceByKey: a shuffle map stage and a result stage
  job 2  1 task that raises on every attempt: a failed stage and a failed job
  job 3+ a SQL aggregation (SQL execution events, adaptive query execution)
Logs land in OUT_DIR/rolling (eventlog_v2_* directories) and OUT_DIR/single (one file per
application). Afterwards Spark's own reader (EventLogFileReader.openEventLog, which picks the
codec by file extension) decodes every log file into OUT_DIR/decoded/<app_id>/, so tests can
check the reader against text Spark itself decompressed. OUT_DIR/manifest.json lists all.
"""

from __future__ import annotations

import contextlib
import json
import sys
from operator import add
from pathlib import Path

from pyspark import SparkContext, TaskContext
from pyspark.sql import SparkSession

LAYOUTS = ("rolling", "single")
CODECS = ("none", "zstd", "lz4", "snappy")


def flaky(x: int) -> int:
    context = TaskContext.get()
    if context is not None and context.partitionId() == 0 and context.attemptNumber() == 0:
        raise RuntimeError("deliberate failure on the first attempt")
    return x


def always_fails(x: int) -> int:
    raise RuntimeError("deliberate failure on every attempt")


def run_app(out: Path, layout: str, codec: str) -> str:
    log_dir = out / layout
    log_dir.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.master("local[2,2]")  # 2 cores, 2 attempts per task
        .appName(f"eventlog-test-{layout}-{codec}")
        .config("spark.ui.enabled", "false")
        .config("spark.task.maxFailures", "2")
        .config("spark.sql.shuffle.partitions", "3")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", log_dir.as_uri())
        .config("spark.eventLog.rolling.enabled", str(layout == "rolling").lower())
        .config("spark.eventLog.compress", str(codec != "none").lower())
    )
    if codec != "none":
        builder = builder.config("spark.eventLog.compression.codec", codec)
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    app_id = sc.applicationId
    try:
        sc.parallelize(range(100), 2).map(flaky).count()
        sc.parallelize(range(1000), 4).map(lambda x: (x % 10, 1)).reduceByKey(add, 3).collect()
        with contextlib.suppress(Exception):  # the job is meant to fail
            sc.parallelize(range(10), 1).map(always_fails).count()
        spark.range(1000).selectExpr("id % 7 AS k").groupBy("k").count().collect()
    finally:
        spark.stop()
    return app_id


def decode_with_spark(log_files: list[Path], target: Path) -> list[str]:
    """Decompress each file with Spark's own event-log reader; returns the written paths."""
    jvm = SparkContext._jvm
    assert jvm is not None
    hadoop_conf = jvm.org.apache.hadoop.conf.Configuration()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for log_file in log_files:
        hadoop_path = jvm.org.apache.hadoop.fs.Path(log_file.as_uri())
        fs = hadoop_path.getFileSystem(hadoop_conf)
        stream = jvm.org.apache.spark.deploy.history.EventLogFileReader.openEventLog(
            hadoop_path, fs
        )
        plain = target / (log_file.name + ".json")
        sink = jvm.java.io.FileOutputStream(str(plain))
        try:
            jvm.org.apache.commons.io.IOUtils.copy(stream, sink)
        finally:
            sink.close()
            stream.close()
        written.append(str(plain))
    return written


def log_files_of(out: Path, layout: str, app_id: str) -> tuple[Path, list[Path]]:
    if layout == "rolling":
        log = out / "rolling" / f"eventlog_v2_{app_id}"
        parts = sorted(log.glob("events_*"), key=lambda p: int(p.name.split("_")[1]))
        return log, parts
    (log,) = [p for p in (out / "single").iterdir() if p.name.startswith(app_id)]
    return log, [log]


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    runs = [(layout, codec, run_app(out, layout, codec)) for layout in LAYOUTS for codec in CODECS]
    manifest = []
    for layout, codec, app_id in runs:
        log, parts = log_files_of(out, layout, app_id)
        decoded = decode_with_spark(parts, out / "decoded" / app_id)
        manifest.append(
            {
                "layout": layout,
                "codec": codec,
                "app_id": app_id,
                "log": str(log),
                "decoded": decoded,
            }
        )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
