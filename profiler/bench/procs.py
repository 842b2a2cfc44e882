"""Running a workload as a child process tree and counting all of its CPU.

PySpark's JVM outlives its Python parent; as a child subreaper we inherit such orphans, and
reaping them adds their CPU to RUSAGE_CHILDREN. benchmarks/bench_record_overhead.py uses these
helpers too."""

from __future__ import annotations

import ctypes
import os
import resource
import shlex
import sys
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_all() -> None:
    """Wait for every remaining descendant (all ours once we are their subreaper)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def job_env() -> dict[str, str]:
    """The caller's environment minus sudo's and Spark-submit overrides; workers run this
    interpreter (it has pandas and pyarrow)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SUDO_") and k not in ("SPARK_SUBMIT_OPTS", "PYSPARK_SUBMIT_ARGS")}
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def timed_command(argv: list[str], wall_file: Path, stdout_file: Path,
                  stderr_file: Path) -> list[str]:
    """``argv`` in a shell that writes its wall time (ns) to ``wall_file``: timed inside the
    profiled command, so BCC compile time and the recorder's finalization stay out of it."""
    job = shlex.join(argv)
    script = (f"s=$(date +%s%N); {job} >{shlex.quote(str(stdout_file))} "
              f"2>{shlex.quote(str(stderr_file))}; c=$?; e=$(date +%s%N); "
              f"echo $((e - s)) > {shlex.quote(str(wall_file))}; exit $c")
    return ["/bin/sh", "-c", script]
