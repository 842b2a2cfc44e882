"""A PySpark job for the JVM/native boundary tests: a zstd-compressed shuffle (zstd-jni's
``Java_*`` methods run in the driver JVM) and a CPU-bound Python UDF (Python workers on CPU).

    python boundary_job.py [--rows N] [--udf-rows N]
"""

from __future__ import annotations

import argparse
import os
import sys


def burn(value: int) -> int:
    """CPU-bound on purpose: a few hundred microseconds of pure Python per row."""
    total = 0
    for step in range(400):
        total = (total * 31 + value + step) % 1_000_003
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--udf-rows", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    spark = (SparkSession.builder.master("local[2]").appName("sparkprof-boundary")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.io.compression.codec", "zstd")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.adaptive.enabled", "false")
             .getOrCreate())
    frame = spark.range(args.rows).withColumn("key", F.col("id") % 1000)
    shuffled = frame.groupBy("key").agg(F.sum("id").alias("total")).collect()
    burned = F.udf(burn, LongType())
    udf_sum = (spark.range(args.udf_rows).repartition(2)
               .select(F.sum(burned("id")).alias("s")).collect()[0]["s"])
    print(f"groups={len(shuffled)} udf_sum={udf_sum}")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
