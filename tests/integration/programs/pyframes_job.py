"""A PySpark job whose Python UDF burns CPU in a function with a name found nowhere else, for
the Python-frame sampling test.

    python pyframes_job.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import sys


def burn_cpu_sparkprof_test(value: int) -> int:
    """About a millisecond of pure Python per row."""
    total = 0
    for step in range(20_000):
        total = (total * 31 + value + step) % 1_000_003
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3_000)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    spark = (SparkSession.builder.master("local[2]").appName("sparkprof-pyframes")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    burned = F.udf(burn_cpu_sparkprof_test, LongType())
    total = (spark.range(args.rows).repartition(2)
             .select(F.sum(burned("id")).alias("s")).collect()[0]["s"])
    print(f"udf_sum={total}")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
