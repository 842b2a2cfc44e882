"""How long ``profiler.load(DIR).syscalls`` takes for N syscall-aggregate rows.

Writes N rows through RunWriter the way the collector does (parts of 500,000 rows, 1-3
non-zero histogram slots a row, a handful of syscall names), then times ``load`` plus the
first access to ``syscalls`` once in each of a few fresh processes and prints the medians
of wall, user and system CPU time. On this VM the first touch of memory the guest never used
costs seconds of system time (a 2 GB numpy array: 9 s the first time, 0.5 s after), so
look at user CPU when wall time jumps.

    .venv/bin/python benchmarks/bench_rundir_load.py [--rows 10000000] [--repeat 5] [--dir D]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from profiler.rundir import RunWriter
from profiler.rundir.schema import HIST_BUCKETS

NAMES = np.array(["read", "write", "recvfrom", "sendto", "epoll_wait", "futex", "openat",
                  "close"], dtype=object)
FAMILIES = np.array(["io", "io", "net", "net", "other", "other", "io", "other"], dtype=object)


def write_syscalls(run_dir: Path, rows: int, part_rows: int = 500_000) -> None:
    rng = np.random.default_rng(1)
    with RunWriter(run_dir, max_buffered_rows=part_rows) as writer:
        for start in range(0, rows, part_rows):
            n = min(part_rows, rows - start)
            hist = np.zeros((n, HIST_BUCKETS), dtype=np.int64)
            slot = rng.integers(8, 20, n)
            hist[np.arange(n), slot] = rng.integers(1, 100, n)
            hist[np.arange(n), slot + rng.integers(1, 3, n)] = rng.integers(0, 10, n)
            which = rng.integers(0, len(NAMES), n)
            writer.append("syscalls", {
                "bucket_ns": (np.arange(start, start + n) // 400) * 100_000_000,
                "pid": rng.integers(1000, 1010, n).astype(np.int32),
                "tid": rng.integers(1000, 1400, n).astype(np.int32),
                "syscall": NAMES[which], "family": FAMILIES[which],
                "calls": rng.integers(1, 1000, n), "errors": np.zeros(n, np.int64),
                "total_ns": rng.integers(1000, 10**8, n), "max_ns": rng.integers(1000, 10**7, n),
                "bytes": rng.integers(0, 10**6, n), "hist": hist,
            })


_TIME_ONE_LOAD = """
import resource, sys, time
import pandas, pyarrow.parquet  # imports are not what is measured
import profiler
before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
rows = len(profiler.load(sys.argv[1]).syscalls)
wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
print(rows, wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)
"""


def time_loads(run_dir: Path, repeat: int) -> list[tuple[int, float, float, float]]:
    """One load per fresh process, as a user (a notebook, a report command) would do it."""
    results = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", _TIME_ONE_LOAD, str(run_dir)], check=True,
                             capture_output=True, text=True).stdout.split()
        results.append((int(out[0]), float(out[1]), float(out[2]), float(out[3])))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="load this run directory instead of writing one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sparkprof-bench-") as tmp:
        run_dir = args.dir or Path(tmp)
        if args.dir is None:
            started = time.perf_counter()
            write_syscalls(run_dir, args.rows)
            print(f"write {args.rows:,} rows: {time.perf_counter() - started:.1f} s")
        size = sum(p.stat().st_size for p in run_dir.rglob("*.parquet"))
        results = time_loads(run_dir, args.repeat)
    rows = results[0][0]
    walls, users, systems = ([r[i] for r in results] for i in (1, 2, 3))
    print(f"rows {rows:,}  on disk {size / 1e6:.0f} MB")
    print(f"load+syscalls wall median {statistics.median(walls):.3f} s "
          f"(min {min(walls):.3f}, max {max(walls):.3f}, n={len(walls)}); "
          f"user CPU median {statistics.median(users):.3f} s, "
          f"system CPU median {statistics.median(systems):.3f} s")


if __name__ == "__main__":
    main()
