"""A PySpark job whose kernel-visible effects are known exactly, for `sparkprof record` tests.

    python truth_job.py --port P --bytes K --gcs G [--exit-code N] [--marker FILE --hold S]

- One Python worker task connects to 127.0.0.1:P and sends exactly K bytes.
- The driver JVM runs System.gc() G times through Py4J.
- With --marker, a file is created once the job is running and a stage then sleeps S
  seconds in Python workers (a window to interrupt the job).
- Exits with --exit-code after stopping Spark.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession


def send_exactly(port: int, size: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"s" * size)
        connection.shutdown(socket.SHUT_WR)
        connection.recv(1)  # wait for the server's close: every byte has arrived
    return size


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--gcs", type=int, default=0)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--marker", type=Path)
    parser.add_argument("--hold", type=float, default=0.0)
    args = parser.parse_args()

    spark = SparkSession.builder.master("local[2]").appName("sparkprof-truth").getOrCreate()
    context = spark.sparkContext
    port, size = args.port, args.bytes
    sent = context.parallelize([0], 1).map(lambda _: send_exactly(port, size)).collect()
    assert sent == [size], sent
    jvm = context._jvm
    assert jvm is not None
    for _ in range(args.gcs):
        jvm.System.gc()
    print(context.parallelize(range(10_000), 2).map(lambda x: x * x).sum(), flush=True)
    if args.marker is not None:
        args.marker.write_text("running\n")
        hold = args.hold
        context.parallelize(range(2), 2).foreach(lambda _: time.sleep(hold))
    spark.stop()
    return int(args.exit_code)


if __name__ == "__main__":
    sys.exit(main())
