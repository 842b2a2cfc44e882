"""Workload 1, the aggregation baseline: SELECT category, COUNT(*), AVG(value) FROM events
GROUP BY category over generated rows.

    python benchmarks/workloads/aggregation.py --rows 1000000
"""

from __future__ import annotations

import _common

QUERY = "SELECT category, COUNT(*) AS n, AVG(value) AS mean FROM events GROUP BY category"


def main() -> None:
    args = _common.parse_args(__doc__.splitlines()[0], ["sql"])
    spark = _common.session("aggregation")
    try:
        _common.events(spark, args.rows, args.partitions)
        times = {"sql": _common.timed(lambda: spark.sql(QUERY).collect())}
    finally:
        spark.stop()
    _common.emit("aggregation", args.rows, times)


if __name__ == "__main__":
    main()
