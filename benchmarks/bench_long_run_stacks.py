"""Whether stacks keep being taken on a long run: a PySpark loop (aggregation, Python UDF,
join) recorded for ``--seconds``, then how many off-CPU blocks and slow syscalls ended up
without a user stack, and the failed stack walks meta.json counts. A stack table that is never
emptied fills up as JIT code changes, and its new stacks then collide. Root needed::

    sudo .venv/bin/python benchmarks/bench_long_run_stacks.py --seconds 150
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd

import profiler

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
LOOP_JOB = textwrap.dedent("""
    import os, sys, time
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession, functions as F
    from pyspark.sql.types import DoubleType
    spark = (SparkSession.builder.master("local[2]").appName("long-run-stacks")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    scaled = F.udf(lambda value: value * 1.5 + 1.0, DoubleType())
    end, rounds = time.monotonic() + float(sys.argv[1]), 0
    while time.monotonic() < end:
        events = spark.range(0, 300_000, numPartitions=4).select(
            (F.col("id") % 16).alias("c"), (F.rand(seed=rounds) * 100).alias("v"))
        events.groupBy("c").agg(F.avg("v")).collect()
        events.select("c", scaled("v").alias("s")).groupBy("c").agg(F.avg("s")).collect()
        events.join(events.select("c").distinct(), "c").orderBy("v").limit(5).collect()
        rounds += 1
    spark.stop()
    print("rounds", rounds)
""")


def missing_user_stacks(frame: pd.DataFrame) -> int:
    return int(frame["user_stack"].map(
        lambda stack: len(stack) > 0 and stack[0].startswith("[missing")).sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-long-stacks-") as tmp:
        job, run = Path(tmp) / "loop_job.py", Path(tmp) / "run"
        job.write_text(LOOP_JOB)
        done = subprocess.run([str(BIN / "sparkprof"), "record", "-o", str(run), "--force",
                               "--", str(BIN / "python"), str(job), str(args.seconds)],
                              capture_output=True, text=True, timeout=args.seconds + 600,
                              check=False)
        if done.returncode != 0:
            raise SystemExit(f"record failed ({done.returncode}):\n{done.stderr[-3000:]}")
        profile = profiler.load(run)
        blocks, slow = profile.offcpu_blocks, profile.slow_syscalls
        unmatched = profile.meta.get("unmatched", {})
        print(f"{args.seconds:g} s recorded: off-CPU blocks without a user stack "
              f"{missing_user_stacks(blocks):,} of {len(blocks):,}; slow syscalls without one "
              f"{missing_user_stacks(slow):,} of {len(slow):,}; user_stack_failed "
              f"{unmatched.get('user_stack_failed', 0):,}; sample_user_stack_failed "
              f"{profile.meta['sampling']['stats'].get('sample_user_stack_failed', 0):,} of "
              f"{profile.meta['sampling']['samples']:,} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
