"""A small PySpark job for the quick start: a SQL aggregation with a shuffle, then the same
per-row computation as a Python UDF, so a profile shows both the JVM and the Python bridge.

    python examples/demo_job.py [--rows N] [--eventlog-dir DIR]

Under ``sparkprof record`` the event log is configured by the profiler; ``--eventlog-dir`` is
for running the job alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--eventlog-dir", help="write Spark's event log here")
    args = parser.parse_args(argv)

    # Python workers must run the same interpreter as the driver (it has the project's packages).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    builder = SparkSession.builder.master("local[2]").appName("sparkprof-demo")
    builder = builder.config("spark.ui.enabled", "false").config(
        "spark.ui.showConsoleProgress", "false"
    )
    if args.eventlog_dir:
        os.makedirs(args.eventlog_dir, exist_ok=True)
        builder = builder.config("spark.eventLog.enabled", "true").config(
            "spark.eventLog.dir", os.path.abspath(args.eventlog_dir)
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        events = spark.range(0, args.rows, numPartitions=args.partitions).select(
            (F.col("id") % 16).alias("category"), (F.rand(seed=7) * 100).alias("value")
        )
        events.createOrReplaceTempView("events")

        started = time.perf_counter()
        sql_rows = spark.sql(
            "SELECT category, COUNT(*) AS n, AVG(value) AS avg_value "
            "FROM events GROUP BY category ORDER BY category"
        ).collect()
        sql_s = time.perf_counter() - started

        # No type hints on purpose: Spark 4 reads them to pick a UDF kind, and this one is a
        # plain row-at-a-time Python UDF.
        @F.udf(returnType=DoubleType())  # type: ignore[misc]
        def scaled(value):  # type: ignore[no-untyped-def]
            return value * 1.5 + 1.0

        started = time.perf_counter()
        udf_rows = (
            events.select("category", scaled("value").alias("scaled"))
            .groupBy("category")
            .agg(F.avg("scaled").alias("avg_scaled"))
            .collect()
        )
        udf_s = time.perf_counter() - started
    finally:
        spark.stop()

    print(f"demo: {len(sql_rows)} groups by SQL in {sql_s:.2f}s, "
          f"{len(udf_rows)} groups by Python UDF in {udf_s:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
