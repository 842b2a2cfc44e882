"""Workload 5, client paths: the aggregation baseline through classic PySpark (Py4J, driver
in-process) and through Spark Connect (gRPC to the Connect server shipped with pyspark,
started on 127.0.0.1 on a free port and stopped afterwards). Connect needs grpcio,
grpcio-status, googleapis-common-protos and zstandard; without them the connect variant is
reported under "errors" instead of timed.

    python benchmarks/workloads/client_paths.py --rows 1000000 [--variant connect]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

QUERY = "SELECT category, COUNT(*) AS n, AVG(value) AS mean FROM events GROUP BY category"
SERVER_START_TIMEOUT_S = 120


def run_query(spark: Any, rows: int, partitions: int) -> float:
    _common.events(spark, rows, partitions)
    return _common.timed(lambda: spark.sql(QUERY).collect())


def classic(rows: int, partitions: int) -> float:
    spark = _common.session("client-classic")
    try:
        return run_query(spark, rows, partitions)
    finally:
        spark.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, server_log_dir: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    logs = "".join(p.read_text(errors="replace")[-1500:] for p in server_log_dir.glob("*.out"))
    raise RuntimeError(f"Connect server not listening after {SERVER_START_TIMEOUT_S} s: {logs}")


def connect(rows: int, partitions: int) -> float:
    from pyspark.sql.connect.utils import check_dependencies

    check_dependencies()  # ImportError naming the missing package
    import pyspark
    from pyspark.sql import SparkSession

    spark_home = Path(pyspark.__file__).parent
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-connect-") as folder:
        env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_PID_DIR": folder,
               "SPARK_LOG_DIR": folder, "SPARK_IDENT_STRING": f"bench{port}"}
        sbin = spark_home / "sbin"
        subprocess.run([str(sbin / "start-connect-server.sh"), "--master", "local[2]",
                        "--conf", f"spark.connect.grpc.binding.port={port}",
                        "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
                        "--conf", "spark.ui.enabled=false",
                        "--conf", "spark.sql.shuffle.partitions=8"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, Path(folder))
            spark = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").getOrCreate()
            try:
                return run_query(spark, rows, partitions)
            finally:
                spark.stop()
        finally:
            subprocess.run([str(sbin / "stop-connect-server.sh")], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    args = _common.parse_args(__doc__.splitlines()[0], ["classic", "connect"])
    times: dict[str, float] = {}
    errors: dict[str, str] = {}
    for variant in args.variants:
        try:
            times[variant] = (classic if variant == "classic" else connect)(
                args.rows, args.partitions)
        except Exception as error:  # reported in the JSON line: the bench goes on
            errors[variant] = f"{type(error).__name__}: {error}"[:500]
            print(f"{variant}: {errors[variant]}", file=sys.stderr)
    _common.emit("client_paths", args.rows, times, errors)


if __name__ == "__main__":
    main()
