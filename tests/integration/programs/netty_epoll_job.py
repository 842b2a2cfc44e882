"""A PySpark job whose driver serves RPC through Netty's native epoll transport, and a known
number of TCP connections to that server, so Netty's registered natives (Socket.accept,
FileDescriptor reads, Native.epollWait) run in the driver JVM.

    python netty_epoll_job.py [--connections N] [--settle-s S] [--io-mode MODE]

Prints ``jvm_pid=... netty_epoll_mapped=... connections=...``.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time


def netty_epoll_mapped(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return any("libnetty_transport_native_epoll" in line for line in maps)


def poke(port: int, count: int) -> None:
    """Connect ``count`` times and send fewer bytes than a frame header: Spark's frame decoder
    waits for more, then sees the connection close, and logs nothing."""
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"\0\0\0")
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--settle-s", type=float, default=2.5)
    parser.add_argument("--io-mode", default="EPOLL")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (SparkSession.builder.master("local[2]").appName("sparkprof-netty-epoll")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.rpc.io.mode", args.io_mode)
             .config("spark.shuffle.io.mode", args.io_mode)
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    jvm_pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    port = int(spark.sparkContext.getConf().get("spark.driver.port"))
    # the recorder scans for new libraries every second: let it attach first
    time.sleep(args.settle_s)
    poke(port, args.connections)
    rows = spark.range(20_000).groupBy(F.col("id") % 100).count().collect()
    time.sleep(0.5)  # the event loop handles the last closes
    print(f"jvm_pid={jvm_pid} netty_epoll_mapped={netty_epoll_mapped(jvm_pid)} "
          f"connections={args.connections} rows={len(rows)}")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
