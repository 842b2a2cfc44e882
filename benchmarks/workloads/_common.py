"""Shared by the workload scripts: arguments, the local SparkSession, generated data and the
one JSON line each script prints (its own timing per variant)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_ROWS = 1_000_000


def parse_args(description: str, variants: Iterable[str]) -> argparse.Namespace:
    names = list(variants)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"generated rows (default {DEFAULT_ROWS:,})")
    parser.add_argument("--variant", choices=[*names, "all"], default="all",
                        help="run one variant, or all of them in one application (default)")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    args.variants = names if args.variant == "all" else [args.variant]
    # Python workers must run the driver's interpreter (it has pandas/pyarrow).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return args


def session(app: str, conf: dict[str, str] | None = None) -> Any:
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master("local[2]").appName(f"bench-{app}")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "8"))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # A small shuffle first, so the first timed variant does not pay the JVM's warm-up alone.
    spark.range(0, 10_000, numPartitions=2).selectExpr("id % 4 AS k").groupBy("k").count() \
        .collect()
    return spark


def events(spark: Any, rows: int, partitions: int) -> Any:
    """The generated ``events`` table: 16 categories, a uniform value in [0, 100)."""
    from pyspark.sql import functions as F

    frame = spark.range(0, rows, numPartitions=partitions).select(
        (F.col("id") % 16).alias("category"), (F.rand(seed=7) * 100).alias("value"))
    frame.createOrReplaceTempView("events")
    return frame


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def emit(workload: str, rows: int, times: dict[str, float],
         errors: dict[str, str] | None = None) -> None:
    """The script's result: one JSON line on stdout (the bench runner reads the last one)."""
    print(json.dumps({"workload": workload, "rows": rows,
                      "variants": {name: {"wall_s": round(s, 4)} for name, s in times.items()},
                      "wall_s": round(sum(times.values()), 4), "errors": errors or {}}),
          flush=True)
