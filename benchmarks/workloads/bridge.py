"""Workload 2, the Python bridge: one per-row computation (value * 1.5 + 1, then the mean per
category) as built-in SQL, as a Python UDF (pickled rows to Python workers) and as a pandas UDF
(Arrow batches). All variants run in one application by default.

    python benchmarks/workloads/bridge.py --rows 1000000 [--variant python-udf]
"""

# No `from __future__ import annotations`: pandas_udf reads the real type hints.
from typing import Any

import _common


def scaled_mean(spark: Any, variant: str) -> list[Any]:
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    frame = spark.table("events")
    if variant == "sql":
        scaled = F.col("value") * 1.5 + 1
    elif variant == "python-udf":
        scaled = F.udf(lambda v: v * 1.5 + 1, DoubleType())(F.col("value"))
    else:
        @F.pandas_udf(DoubleType())  # type: ignore[call-overload]
        def scale(values: pd.Series) -> pd.Series:
            return values * 1.5 + 1

        scaled = scale(F.col("value"))
    return frame.groupBy("category").agg(F.avg(scaled).alias("mean")).collect()


def main() -> None:
    args = _common.parse_args(__doc__.splitlines()[0], ["sql", "python-udf", "pandas-udf"])
    spark = _common.session("bridge")
    try:
        _common.events(spark, args.rows, args.partitions)
        times = {v: _common.timed(lambda v=v: scaled_mean(spark, v)) for v in args.variants}
    finally:
        spark.stop()
    _common.emit("bridge", args.rows, times)


if __name__ == "__main__":
    main()
