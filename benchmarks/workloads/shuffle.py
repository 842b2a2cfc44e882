"""Workload 3, shuffle-heavy: a sort-merge join of the events with a dimension table (broadcast
joins off so both sides shuffle), then a global sort; written to the no-op sink.

    python benchmarks/workloads/shuffle.py --rows 1000000
"""

from __future__ import annotations

from typing import Any

import _common


def join_and_sort(spark: Any, rows: int, partitions: int) -> None:
    from pyspark.sql import functions as F

    keys = max(rows // 4, 1)
    facts = spark.range(0, rows, numPartitions=partitions).select(
        (F.col("id") % keys).alias("key"), (F.rand(seed=3) * 100).alias("value"))
    dims = spark.range(0, keys, numPartitions=partitions).select(
        F.col("id").alias("key"), F.sha2(F.col("id").cast("string"), 256).alias("label"))
    joined = facts.join(dims, "key").orderBy("value")
    joined.write.format("noop").mode("overwrite").save()


def main() -> None:
    args = _common.parse_args(__doc__.splitlines()[0], ["join-sort"])
    spark = _common.session("shuffle", {"spark.sql.autoBroadcastJoinThreshold": "-1"})
    try:
        times = {"join-sort": _common.timed(
            lambda: join_and_sort(spark, args.rows, args.partitions))}
    finally:
        spark.stop()
    _common.emit("shuffle", args.rows, times)


if __name__ == "__main__":
    main()
