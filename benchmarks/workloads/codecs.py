"""Workload 4, shuffle compression through JNI: the same repartition of compressible rows with
spark.io.compression.codec = lz4, zstd or snappy. The codec is fixed per SparkContext, so
"all" restarts the context per codec inside one Python process (the JVM is reused).

    python benchmarks/workloads/codecs.py --rows 1000000 [--variant zstd]
"""

from __future__ import annotations

from typing import Any

import _common

CODECS = ["lz4", "zstd", "snappy"]


def shuffle_payload(spark: Any, rows: int, partitions: int) -> None:
    from pyspark.sql import functions as F

    frame = spark.range(0, rows, numPartitions=partitions).select(
        (F.col("id") % 1000).alias("key"),
        F.concat_ws("-", F.lit("payload"), (F.col("id") % 977).cast("string"),
                    F.sha2((F.col("id") % 101).cast("string"), 256)).alias("text"))
    frame.repartition(8, "key").write.format("noop").mode("overwrite").save()


def main() -> None:
    args = _common.parse_args(__doc__.splitlines()[0], CODECS)
    times = {}
    for codec in args.variants:
        spark = _common.session(f"codecs-{codec}", {"spark.io.compression.codec": codec})
        try:
            times[codec] = _common.timed(
                lambda s=spark: shuffle_payload(s, args.rows, args.partitions))
        finally:
            spark.stop()
    _common.emit("codecs", args.rows, times)


if __name__ == "__main__":
    main()
