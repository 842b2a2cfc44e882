"""A two-stage PySpark job for the report end-to-end test.

    python report_job.py --port P [--requests N]

- Job 1 (Python UDF stage): N rows, each asks the test's slow server on 127.0.0.1:P and
  blocks in recv until it answers (~200 ms a request), so the stage's task time is mostly a
  Python worker waiting in a socket read.
- Job 2 (pure SQL stage): an aggregation over a range, no Python worker involved.
"""

from __future__ import annotations

import argparse
import socket
import sys

from pyspark.sql import SparkSession


def ask(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"?")
        return len(connection.recv(16))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, default=8)
    args = parser.parse_args()
    spark = (SparkSession.builder.master("local[2]").appName("sparkprof-report-e2e")
             .config("spark.ui.enabled", "false").getOrCreate())
    context = spark.sparkContext
    port = args.port
    answers = context.parallelize(range(args.requests), 2).map(lambda _: ask(port)).sum()
    assert answers == args.requests, answers
    total = spark.range(0, 2_000_000, numPartitions=2).selectExpr("sum(id % 7) AS s").collect()
    print(answers, total[0]["s"], flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
